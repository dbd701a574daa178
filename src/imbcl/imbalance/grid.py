"""The imbalance sweep: a (rho x width x seed) grid of small runs, trained stacked, of which
only the final neuron state is kept.

The grid uses the `sweep` section's smaller model (d, K, L, steps, batch, lr, init) and takes
every other setting from `data`, `model` and `train`. Runs of equal width train together as
one program (train.train_runs), which on a CPU is far faster than one process per run.

Storage: one `m<width>.npz` per width with the runs of that width stacked, plus index.json.
A few coarse files keep `dvc status` fast (hundreds of per-run files would not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imbcl.core.io import load_npz, read_json, save_npz, write_json
from imbcl.core.params import replace
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.bias import Bias
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.health import CERTIFICATE, run_health
from imbcl.synthetic.params import (
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
    scaled,
)
from imbcl.synthetic.train import RunResult, RunSpec, train_runs


@dataclass(frozen=True)
class FinalState:
    """One run's neurons at the end of training. m neurons, K features."""

    spec: RunSpec
    proj: np.ndarray  # (m, K): <u_i, M_j>
    norm: np.ndarray  # (m,): ||u_i||
    noise: np.ndarray  # (m,): ||u_i - M M^T u_i||
    loss: float  # the final logged training InfoNCE loss (its chance value: log B)
    health: dict[str, float]  # the certificate (synthetic.health.health), keys CERTIFICATE


def sweep_configs(
    data: DataParams, model: ModelParams, train: TrainParams, small: SmallParams
) -> tuple[DataParams, ModelParams, TrainParams]:
    """The data, model and train settings of the sweep runs: the small model, the rest shared.

    Only the final state is kept: log once at the end, no intermediate checkpoints.
    """
    data_s, model_s, train_s = scaled(data, model, train, small)
    return data_s, model_s, replace(train_s, log_every=train_s.steps, checkpoint_steps=[])


def grid_specs(sweep: SweepParams, seed: int) -> list[RunSpec]:
    """Every (rho, width, seed) of the grid; run seeds seed .. seed + 2n - 1 (n =
    sweep.seeds_per_block): the discovery block, then the confirmation block."""
    return [
        RunSpec(float(rho), int(m), seed + s)
        for rho in sweep.ratios
        for m in sweep.widths
        for s in range(sweep.seeds)
    ]


def final_state(result: RunResult, health: dict[str, float]) -> FinalState:
    traj = result.trajectory
    return FinalState(
        result.spec,
        traj.proj[-1],
        traj.norm[-1],
        traj.noise[-1],
        float(traj.loss[-1]),
        {k: float(health[k]) for k in CERTIFICATE},
    )


def run_sweep(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
    progress: bool = True,
    bias: Bias | None = None,
) -> tuple[list[FinalState], np.ndarray]:
    """Train the grid and certify every run's health (synthetic.health.run_health: held-out
    pairs at its own rho, hp's sizes); returns the final states and the majority mask (K,).

    bias: the calibrated bias (its level replaces model.bias_final); None: model's schedule."""
    if bias is not None:
        model = bias.model(model)
    data_s, model_s, train_s = sweep_configs(data, model, train, small)
    dictionary = make_dictionary(data_s, seed)
    bias_fn = bias.fn(model_s, dictionary.M) if bias is not None else None
    results = train_runs(
        grid_specs(sweep, seed),
        data_s,
        model_s,
        train_s,
        dictionary.M,
        progress=progress,
        bias_fn=bias_fn,
    )
    certs = run_health(
        results, data_s, model_s, train_s, bias, dictionary.M, dictionary.majority, hp, seed
    )
    states = [final_state(r, c) for r, c in zip(results, certs, strict=True)]
    return states, dictionary.majority


def save_sweep(directory: Path, states: list[FinalState], majority: np.ndarray) -> None:
    """Write the states into `directory` (the caller makes it atomic with io.atomic_dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    widths = sorted({s.spec.width for s in states})
    for m in widths:
        group = [s for s in states if s.spec.width == m]
        save_npz(
            directory / f"m{m}.npz",
            ratio=np.array([s.spec.imbalance_ratio for s in group], dtype=np.float64),
            seed=np.array([s.spec.seed for s in group], dtype=np.int64),
            proj=np.stack([s.proj for s in group]),  # (N, m, K)
            norm=np.stack([s.norm for s in group]),  # (N, m)
            noise=np.stack([s.noise for s in group]),  # (N, m)
            loss=np.array([s.loss for s in group], dtype=np.float64),  # (N,)
            **{
                f"health_{k}": np.array([s.health[k] for s in group], dtype=np.float64)
                for k in CERTIFICATE
            },  # (N,) each
        )
    write_json(
        directory / "index.json",
        {"widths": widths, "runs": len(states), "majority": [bool(v) for v in majority]},
    )


def load_sweep(directory: str | Path) -> tuple[list[FinalState], np.ndarray]:
    """The final states saved by save_sweep, and the majority mask (K,)."""
    directory = Path(directory)
    index = read_json(directory / "index.json")
    states = []
    for m in index["widths"]:
        a = load_npz(directory / f"m{m}.npz")
        for n in range(len(a["ratio"])):
            spec = RunSpec(float(a["ratio"][n]), int(m), int(a["seed"][n]))
            health = {k: float(a[f"health_{k}"][n]) for k in CERTIFICATE}
            states.append(
                FinalState(
                    spec, a["proj"][n], a["norm"][n], a["noise"][n], float(a["loss"][n]), health
                )
            )
    return states, np.asarray(index["majority"], dtype=bool)
