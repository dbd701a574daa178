"""Claim C6 with the paper's Algorithm 1: forward-only masks on the small model.

A *cell* is one (rho, alpha, every, unit). Every cell holds three arms trained on the same
seeds and the same data stream (the stream is keyed by (seed, rho) only):

    dense      no mask (shared by every cell of the same rho)
    magnitude  Algorithm 1: the floor(alpha * units) smallest units masked in the forward
               pass, recomputed every `every` steps, every parameter updated
    random     the matched control: a seeded random mask of the same count, unit and schedule,
               fixed between recomputations, redrawn only when the magnitude mask is recomputed
    dropout    the second control: the same random mask redrawn at every step

Per run (on the weights the forward pass uses, w * mask):

    growth       log-growth of the minority strength over the first `early` steps minus that
                 of the majority (strength = mean over a group's features of the feature's
                 best-neuron alignment); a ratio over time of one run, so scale-free
    log_ratio    log(minority strength / majority strength) at the end
    specialists  specialised neurons per minority feature, counted with a strength floor:
                 normalised alignment >= threshold, the feature the neuron's best, and its
                 alignment >= floor x the feature's best neuron
    sign         the signed probe's minority sign accuracy (synthetic.probe.signed_probe)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from imbcl.core.params import replace
from imbcl.synthetic.data import eval_set, make_dictionary
from imbcl.synthetic.health import run_health
from imbcl.synthetic.health_rule import mark
from imbcl.synthetic.masking import ForwardMask
from imbcl.synthetic.measures import normalised_alignment, specialisation
from imbcl.synthetic.model import bias_at
from imbcl.synthetic.params import (
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
    scaled,
)
from imbcl.synthetic.probe import encoder_features, group_summary, signed_probe
from imbcl.synthetic.runs import RunResult, RunSpec
from imbcl.synthetic.train import train_runs

ARMS = ("dense", "magnitude", "random", "dropout")


@dataclass(frozen=True)
class Arm:
    """One trained variant at one rho: dense, or a forward mask (magnitude | random)."""

    rho: float
    arm: str  # dense | magnitude | random | dropout
    alpha: float = 0.0
    every: int = 1
    unit: str = "neuron"
    start: int = 0
    masked_grad: str = "exact"

    def forward_mask(self) -> ForwardMask | None:
        if self.arm == "dense":
            return None
        method = "magnitude" if self.arm == "magnitude" else "random"
        return ForwardMask(
            method,
            self.unit,
            self.alpha,
            self.every,
            self.start,
            self.masked_grad,
            redraw=self.arm == "dropout",
        )

    @property
    def tag(self) -> str:
        if self.arm == "dense":
            return "dense"
        return f"{self.arm}_{self.unit}_a{self.alpha:g}_e{self.every}"


def design(
    rhos: Iterable[float],
    alphas: Iterable[float],
    everys: Iterable[int],
    units: Iterable[str],
    start: int = 0,
    masked_grad: str = "exact",
    dropout: bool = False,
) -> list[Arm]:
    """Every arm of the grid rho x alpha x every x unit: one dense arm per rho, and a
    magnitude and a random arm per cell (and a dropout arm with `dropout`). No arm appears
    twice."""
    masked = ("magnitude", "random", "dropout") if dropout else ("magnitude", "random")
    arms: list[Arm] = []
    for rho in dict.fromkeys(float(r) for r in rhos):
        arms.append(Arm(rho, "dense"))
        for alpha in dict.fromkeys(alphas):
            for every in dict.fromkeys(everys):
                for unit in dict.fromkeys(units):
                    for arm in masked:
                        arms.append(Arm(rho, arm, alpha, every, unit, start, masked_grad))
    return arms


def cells(arms: list[Arm]) -> list[tuple[float, float, int, str]]:
    """The (rho, alpha, every, unit) cells of the masked arms, in order."""
    return list(dict.fromkeys((a.rho, a.alpha, a.every, a.unit) for a in arms if a.arm != "dense"))


@dataclass(frozen=True)
class Setting:
    """The small model as the study runs it, with its dictionary and held-out set."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    M: np.ndarray  # (d, K)
    majority: np.ndarray  # (K,) bool
    eval_x: np.ndarray  # (n, L, d)
    eval_z_sum: np.ndarray  # (n, K)
    width: int
    threshold: float  # analyze.specialise_threshold
    floor: float  # strength floor of a specialist, relative to the feature's best neuron
    early: int  # steps of the growth window


def setting(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    width: int,
    seed: int,
    threshold: float,
    floor: float,
    early: int,
    bias: float | None = None,
    checkpoints: list[int] | None = None,
) -> Setting:
    """The `small` model (scaled) at `width`; bias: a calibrated constant
    b replacing model.bias_final (None keeps the params' schedule); checkpoints: steps whose
    weights (and mask) the runs keep, besides the last."""
    d, m, t = scaled(data, model, train, small)
    if bias is not None:
        m = replace(m, bias_final=bias)
    t = replace(
        t,
        log_every=math.gcd(early, t.steps),
        checkpoint_steps=list(checkpoints or []),
        batched_runs=64,
    )
    D = make_dictionary(d, seed)
    ev = eval_set(d, D.M, seed)
    return Setting(d, m, t, D.M, D.majority, ev["x"], ev["z_sum"], width, threshold, floor, early)


def train_arms(
    arms: list[Arm], seeds: list[int], s: Setting, progress: bool = False
) -> dict[tuple[Arm, int], RunResult]:
    """Train every (arm, seed); runs of one mask schedule train stacked (any rho)."""
    by_mask: dict[ForwardMask | None, list[Arm]] = {}
    for a in arms:
        by_mask.setdefault(a.forward_mask(), []).append(a)
    out: dict[tuple[Arm, int], RunResult] = {}
    for fm, group in by_mask.items():
        specs = [RunSpec(a.rho, s.width, seed, a.tag) for a in group for seed in seeds]
        results = train_runs(specs, s.data, s.model, s.train, s.M, progress, forward_mask=fm)
        it = iter(results)
        for a in group:
            for seed in seeds:
                out[(a, seed)] = next(it)
    return out


def _strength(proj: np.ndarray, majority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority and minority strengths (...,): mean of each feature's best-neuron alignment."""
    best = np.abs(proj).max(axis=-2)  # (..., K)
    return best[..., majority].mean(axis=-1), best[..., ~majority].mean(axis=-1)


def specialists(proj: np.ndarray, norm: np.ndarray, threshold: float, floor: float) -> np.ndarray:
    """Specialised neurons per feature with a strength floor: (m, K), (m,) -> (K,) int."""
    owner = specialisation(proj, norm, threshold)  # (m,)
    a = np.abs(proj)  # (m, K)
    best = a.max(axis=0)  # (K,)
    ok = owner >= 0
    strong = ok & (a[np.arange(len(owner)), np.where(ok, owner, 0)] >= floor * best[owner])
    return np.bincount(owner[strong], minlength=proj.shape[-1])


def measure(res: RunResult, s: Setting) -> dict[str, float]:
    """The per-run measures of the module docstring (and the health of the run)."""
    tr = res.trajectory
    maj, mino = _strength(tr.proj, s.majority)  # (S,), (S,)
    k = int(np.searchsorted(tr.steps, s.early))
    tiny = 1e-12
    growth = math.log(max(mino[k], tiny) / max(mino[0], tiny)) - math.log(
        max(maj[k], tiny) / max(maj[0], tiny)
    )
    count = specialists(tr.proj[-1], tr.norm[-1], s.threshold, s.floor)
    return {
        "growth": growth,
        "growth_minority": math.log(max(mino[k], tiny) / max(mino[0], tiny)),
        "log_ratio": math.log(max(mino[-1], tiny) / max(maj[-1], tiny)),
        "strength_minority": float(mino[-1]),
        "strength_majority": float(maj[-1]),
        "specialists": float(count[~s.majority].mean()),
        "specialists_majority": float(count[s.majority].mean()),
        "aligned_minority": float(
            normalised_alignment(tr.proj[-1], tr.norm[-1])[:, ~s.majority].max(axis=0).mean()
        ),
        "final_loss": float(tr.loss[-1]),
    }


def probe(results: list[RunResult], s: Setting) -> list[dict[str, float]]:
    """The signed probe of each run's final weights as the forward pass uses them."""
    finals = [r.checkpoints[s.train.steps] for r in results]
    w = torch.stack([f["w"] * f["mask"] if "mask" in f else f["w"] for f in finals])
    qkv = torch.stack([f["qkv"] for f in finals])
    feats = encoder_features({"qkv": qkv, "w": w}, s.eval_x, bias_at(s.model, s.train.steps))
    out = []
    for f in feats:  # (n, m) per run
        summary = group_summary(signed_probe(f, s.eval_z_sum), s.majority, ("sign_accuracy",))
        out.append(
            {
                "sign": summary["probe_minority_sign_accuracy"],
                "sign_majority": summary["probe_majority_sign_accuracy"],
                "nonzero_share": float((f != 0).mean()),
            }
        )
    return out


def certificates(
    results: list[RunResult], s: Setting, hp: HealthParams, seed: int
) -> list[dict[str, float]]:
    """synthetic.health's certificate of each run, on the weights its forward pass uses at
    the end (w * mask), each on held-out pairs at its own rho (health seed `seed`)."""
    step = s.train.steps
    used = [
        RunResult(
            r.spec,
            r.trajectory,
            {
                step: {
                    "qkv": r.checkpoints[step]["qkv"],
                    "w": r.checkpoints[step]["w"] * r.checkpoints[step].get("mask", 1.0),
                }
            },
        )
        for r in results
    ]
    return run_health(used, s.data, s.model, s.train, None, s.M, s.majority, hp, seed)


def run_table(
    arms: list[Arm],
    seeds: list[int],
    s: Setting,
    progress: bool = False,
    health: tuple[HealthParams, int] | None = None,
) -> pd.DataFrame:
    """One row per (arm, seed): the arm's keys and its measures; with `health` (params,
    seed) also each run's health certificate and `healthy` (synthetic.health_rule.mark)."""
    return tabulate(train_arms(arms, seeds, s, progress), s, health)


def tabulate(
    results: dict[tuple[Arm, int], RunResult],
    s: Setting,
    health: tuple[HealthParams, int] | None = None,
) -> pd.DataFrame:
    """`run_table` of trained runs (Arm, seed) -> RunResult."""
    keys = list(results)
    probes = probe([results[k] for k in keys], s)
    certs: list[dict[str, float]] = [{} for _ in keys]
    if health is not None:
        certs = certificates([results[k] for k in keys], s, *health)
    rows = []
    for (a, seed), pr, cert in zip(keys, probes, certs, strict=True):
        rows.append(
            {
                "rho": a.rho,
                "arm": a.arm,
                "alpha": a.alpha,
                "every": a.every,
                "unit": a.unit,
                "seed": seed,
                **measure(results[(a, seed)], s),
                **pr,
                **{f"health_{k}": v for k, v in cert.items() if k != "imbalance_ratio"},
            }
        )
    table = pd.DataFrame(rows)
    if health is None:
        return table
    marked = mark(pd.DataFrame(certs), health[0])
    return table.assign(healthy=marked["healthy"], failure=marked["failure"])
