"""Contrastive training of stacked runs, with the neuron dynamics logged as it goes.

A *run* is one (imbalance ratio, width, seed). Runs that share shapes train together as one
program (see model.py); `train.batched_runs` bounds how many. Every `log_every` steps the
trainer records, per run and neuron, the projections <u_i, M_j> of the effective direction
u_i = W_V^T w_i on the features, ||u_i||, and the noise residual ||u_i - M M^T u_i||.

Plain SGD on loss + (lambda / 2)||theta||^2. An optional mask on the neuron weights w (from
the pruning stage) is applied to the gradient and to the weights after each update, so
pruned entries stay exactly zero under both the loss and the weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from imbcl.core.errors import DivergenceError
from imbcl.core.io import load_npz, read_json, save_npz, write_json
from imbcl.core.params import replace
from imbcl.synthetic.data import RunStream, stacked_steps
from imbcl.synthetic.loss import info_nce_and_grad
from imbcl.synthetic.model import (
    Params,
    backward,
    bias_at,
    effective_directions,
    forward,
    init_params,
)
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams


@dataclass(frozen=True)
class RunSpec:
    """What distinguishes one run from another in a sweep."""

    imbalance_ratio: float
    width: int
    seed: int
    tag: str = ""  # extra label, e.g. a pruning variant

    @property
    def name(self) -> str:
        base = f"rho{self.imbalance_ratio:g}_m{self.width}_s{self.seed}"
        return f"{base}_{self.tag}" if self.tag else base


@dataclass
class Trajectory:
    """Logged dynamics of one run. S logged steps, m neurons, K features."""

    steps: np.ndarray  # (S,) int
    proj: np.ndarray  # (S, m, K) float32: <u_i, M_j>
    norm: np.ndarray  # (S, m) float32: ||u_i||
    noise: np.ndarray  # (S, m) float32: ||u_i - M M^T u_i||
    loss: np.ndarray  # (S,) float32: InfoNCE (without penalty) on the step's batch
    bias: np.ndarray  # (S,) float32: b(t)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("steps", "proj", "norm", "noise", "loss", "bias")}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Trajectory:
        return cls(**{k: np.asarray(arrays[k]) for k in cls.__dataclass_fields__})


@dataclass
class RunResult:
    spec: RunSpec
    trajectory: Trajectory
    checkpoints: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)  # step -> params


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def dynamics(params: Params, M: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Projections (R, m, K), norms (R, m) and noise residuals (R, m) of every neuron."""
    U = effective_directions(params)  # (R, m, d)
    proj = U @ M  # (R, m, K)
    residual = U - proj @ M.T  # (R, m, d): the part of u_i outside span(M)
    return proj, U.norm(dim=-1), residual.norm(dim=-1)


def train_group(
    specs: list[RunSpec],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    *,
    start: Params | None = None,
    start_step: int = 0,
    mask: torch.Tensor | None = None,
    progress: bool = True,
    bias_fn: Callable[[int, Params], torch.Tensor | float] | None = None,
) -> list[RunResult]:
    """Train runs of equal width together from `start_step` to `train_cfg.steps`.

    start: stacked parameters to resume from (default: each run's seeded init).
    mask: (R, m, d) 0/1 mask on the neuron weights, held fixed for the whole call.
    bias_fn: b(t) as a float or per-neuron (R, m) tensor; default the schedule of model_cfg.
    """
    widths = {s.width for s in specs}
    if len(widths) != 1:
        raise ValueError(f"runs of one group must share a width, got {sorted(widths)}")
    device = resolve_device(train_cfg.device)
    cfg_m = replace(model_cfg, width=widths.pop())
    params = init_params(cfg_m, data_cfg.dim, [s.seed for s in specs]) if start is None else start
    params = {k: v.detach().clone().to(device) for k, v in params.items()}
    if mask is not None:
        mask = mask.to(device)
        params["w"].mul_(mask)
    Mt = torch.as_tensor(M, device=device)
    streams = [
        RunStream(data_cfg, M, s.imbalance_ratio, s.seed, train_cfg.batch, train_cfg.block_steps)
        for s in specs
    ]
    steps = train_cfg.steps
    log_steps = sorted(
        {t for t in range(start_step, steps + 1) if t % train_cfg.log_every == 0} | {steps}
    )
    logs: dict[str, list] = {k: [] for k in ("proj", "norm", "noise", "loss", "bias")}
    checkpoints: dict[int, dict[str, torch.Tensor]] = {}
    save_at = set(train_cfg.checkpoint_steps) | {steps}
    bias_fn = bias_fn or (lambda t, _p: bias_at(model_cfg, t))

    # One extra batch after the last update gives the loss logged at the final step.
    batches = (
        (x1.to(device), x2.to(device)) for x1, x2 in stacked_steps(streams, start_step, steps + 1)
    )
    names = ", ".join(s.name for s in specs[:3]) + (" ..." if len(specs) > 3 else "")
    bar = tqdm(
        total=steps - start_step,
        desc=f"train [{names}]",
        disable=not progress,
        mininterval=1.0,
        leave=False,
    )
    for t, (x1, x2) in zip(range(start_step, steps + 1), batches, strict=True):
        b = bias_fn(t, params)
        f1, saved = forward(params, x1, b, keep=True)  # (R, B, m)
        assert saved is not None  # keep=True always returns the activations
        f2, _ = forward(params, x2, b)  # the stop-gradient branch: no activations kept
        nce, df1 = info_nce_and_grad(f1, f2, train_cfg.temperature)  # (R,), (R, B, m)
        if not bool(torch.isfinite(nce).all()):
            bad = int((~torch.isfinite(nce)).nonzero()[0])
            raise DivergenceError(
                f"run {specs[bad].name} diverged at step {t} (loss is not finite); "
                f"lower train.lr (now {train_cfg.lr:g}) or train.temperature"
            )
        if t in log_steps:
            proj, norm, noise = dynamics(params, Mt)
            logs["proj"].append(proj.cpu())
            logs["norm"].append(norm.cpu())
            logs["noise"].append(noise.cpu())
            logs["loss"].append(nce.cpu())
            per_run_bias = (
                b.mean(dim=1) if isinstance(b, torch.Tensor) else torch.full((len(specs),), b)
            )
            logs["bias"].append(per_run_bias.float().cpu())
        if t in save_at:
            checkpoints[t] = {k: v.cpu().clone() for k, v in params.items()}
        if t == steps:
            break
        grads = backward(params, saved, df1, attention_grad=model_cfg.train_attention)
        for p, g in grads.items():
            # The penalty (lambda / 2)||theta||^2 contributes lambda * theta to the gradient.
            g.add_(params[p], alpha=train_cfg.weight_decay)
            if p == "w" and mask is not None:
                g.mul_(mask)
            params[p].sub_(g, alpha=train_cfg.lr)
        bar.update(1)
    bar.close()

    results = []
    for r, spec in enumerate(specs):

        def stack(key: str, r: int = r) -> np.ndarray:
            return torch.stack([x[r] for x in logs[key]]).numpy().astype(np.float32)

        traj = Trajectory(
            steps=np.asarray(log_steps, dtype=np.int64),
            proj=stack("proj"),
            norm=stack("norm"),
            noise=stack("noise"),
            loss=stack("loss"),
            bias=stack("bias"),
        )
        if not (np.isfinite(traj.proj).all() and np.isfinite(traj.norm).all()):
            raise DivergenceError(
                f"run {spec.name} produced non-finite weights; lower train.lr "
                f"(now {train_cfg.lr:g})"
            )
        ckpts = {step: {k: v[r] for k, v in ps.items()} for step, ps in checkpoints.items()}
        results.append(RunResult(spec=spec, trajectory=traj, checkpoints=ckpts))
    return results


def train_runs(
    specs: list[RunSpec],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    progress: bool = True,
) -> list[RunResult]:
    """Train all runs, grouping those of equal width in chunks of `train.batched_runs`."""
    results: dict[str, RunResult] = {}
    by_width: dict[int, list[RunSpec]] = {}
    for s in specs:
        by_width.setdefault(s.width, []).append(s)
    for group in by_width.values():
        n_chunks = math.ceil(len(group) / train_cfg.batched_runs)
        for c in range(n_chunks):
            chunk = group[c * train_cfg.batched_runs : (c + 1) * train_cfg.batched_runs]
            for res in train_group(chunk, data_cfg, model_cfg, train_cfg, M, progress=progress):
                results[res.spec.name] = res
    return [results[s.name] for s in specs]


# --- storage: one directory of runs ---------------------------------------------------------
# index.json lists the runs and their specs; <name>.npz holds the trajectory and
# <name>.ckpt.npz the checkpoints (npz rather than torch.save: byte-identical on rerun).
# A few coarse files per run keep `dvc status` fast.


def save_runs(
    directory: Path, results: list[RunResult], roles: dict[str, float] | None = None
) -> None:
    """Write runs into `directory` (which the caller makes atomic with io.atomic_dir).

    roles, if given, names the imbalance ratios in index.json (e.g. imbalanced -> 10.0).
    """
    directory.mkdir(parents=True, exist_ok=True)
    index = []
    for res in results:
        name = res.spec.name
        save_npz(directory / f"{name}.npz", **res.trajectory.arrays())
        save_npz(
            directory / f"{name}.ckpt.npz",
            **{
                f"{step}/{k}": v.numpy()
                for step, ps in res.checkpoints.items()
                for k, v in ps.items()
            },
        )
        index.append({"name": name, **asdict(res.spec)})
    write_json(directory / "index.json", {"runs": index, **({"roles": roles} if roles else {})})


def role_runs(
    data: DataParams, model: ModelParams, train: TrainParams, M: np.ndarray, seed: int
) -> tuple[list[RunResult], dict[str, float]]:
    """The dense runs of the default size: train.seeds seeds at data.imbalance_ratio
    ("imbalanced") and at train.control_ratio ("balanced"), trained stacked.

    M (d, K) is the feature dictionary. Returns the runs and the roles' ratios.
    """
    roles = {"imbalanced": data.imbalance_ratio, "balanced": train.control_ratio}
    specs = [
        RunSpec(rho, model.width, seed + i)
        for rho in dict.fromkeys(roles.values())
        for i in range(train.seeds)
    ]
    return train_runs(specs, data, model, train, M), roles


@dataclass(frozen=True)
class SavedRuns:
    """The train stage's runs as read back: specs, trajectories (same order) and roles."""

    specs: list[RunSpec]
    trajectories: list[Trajectory]
    roles: dict[str, float]  # role name -> imbalance ratio

    def role_of(self, spec: RunSpec) -> str:
        return {float(v): k for k, v in self.roles.items()}[spec.imbalance_ratio]


def load_runs(directory: str | Path) -> SavedRuns:
    """Read `save_runs(directory, results, roles)` back (trajectories, not checkpoints)."""
    specs = load_specs(directory)
    roles = read_json(Path(directory) / "index.json").get("roles", {})
    return SavedRuns(specs, [load_trajectory(directory, s) for s in specs], roles)


def load_specs(directory: str | Path) -> list[RunSpec]:
    index = read_json(Path(directory) / "index.json")["runs"]
    return [RunSpec(**{k: v for k, v in row.items() if k != "name"}) for row in index]


def load_trajectory(directory: str | Path, spec: RunSpec) -> Trajectory:
    return Trajectory.from_arrays(load_npz(Path(directory) / f"{spec.name}.npz"))


def load_checkpoints(directory: str | Path, spec: RunSpec) -> dict[int, dict[str, torch.Tensor]]:
    """Checkpoints of a run: step -> {"qkv": (3d, d), "w": (m, d)}."""
    out: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_npz(Path(directory) / f"{spec.name}.ckpt.npz").items():
        step, name = key.split("/")
        out.setdefault(int(step), {})[name] = torch.from_numpy(value)
    return out
