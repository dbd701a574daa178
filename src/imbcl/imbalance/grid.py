"""The imbalance sweep: a (rho x width x seed) grid of small runs, trained stacked, of which
only the final neuron state is kept, and the state at the start of the plateau window (the
last `sweep.plateau_window` of training) that tells a converged value from a dated one.

The grid uses the `sweep` section's smaller model (d, K, L, steps, batch, lr, init) and takes
every other setting from `data`, `model` and `train`. Runs of equal width train together as
one program (train.train_runs), which on a CPU is far faster than one process per run.

Storage: one `m<width>.npz` per width with the runs of that width stacked, plus index.json.
A few coarse files keep `dvc status` fast (hundreds of per-run files would not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imbcl.core.blocks import run_seeds
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
    step: int = 0  # the training step of this state
    previous: FinalState | None = None  # the same run at the start of the plateau window


def window_start(steps: int, window: float) -> int:
    """The first step of the last `window` share of `steps` (steps itself for window 0)."""
    return steps - round(window * steps)


def sweep_configs(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    window: float = 0.0,
) -> tuple[DataParams, ModelParams, TrainParams]:
    """The data, model and train settings of the sweep runs: the small model, the rest shared.

    Logged: the final step and window_start(steps, window) (log_every their gcd; logging
    changes no number of the run); no intermediate checkpoints.
    """
    data_s, model_s, train_s = scaled(data, model, train, small)
    steps = train_s.steps
    every = math.gcd(steps, window_start(steps, window)) or steps
    return data_s, model_s, replace(train_s, log_every=every, checkpoint_steps=[])


def grid_specs(sweep: SweepParams, seed: int) -> list[RunSpec]:
    """Every (rho, width, seed) of the grid; run seeds seed .. seed + 2n - 1 (n =
    sweep.seeds_per_block): the discovery block, then the confirmation block."""
    return [
        RunSpec(float(rho), int(m), s)
        for rho in sweep.ratios
        for m in sweep.widths
        for s in run_seeds(seed, sweep.seeds_per_block)
    ]


def final_state(result: RunResult, health: dict[str, float], start: int) -> FinalState:
    """The run's last logged state, with its state at step `start` as `previous` (None
    when `start` is the last step)."""
    traj = result.trajectory
    cert = {k: float(health[k]) for k in CERTIFICATE}

    def at(i: int, previous: FinalState | None = None) -> FinalState:
        return FinalState(
            result.spec,
            traj.proj[i],
            traj.norm[i],
            traj.noise[i],
            float(traj.loss[i]),
            cert,
            int(traj.steps[i]),
            previous,
        )

    last = len(traj.steps) - 1
    earlier = [i for i, t in enumerate(traj.steps) if t == start and i < last]
    return at(last, at(earlier[0]) if earlier else None)


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
    data_s, model_s, train_s = sweep_configs(data, model, train, small, sweep.plateau_window)
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
    start = window_start(train_s.steps, sweep.plateau_window)
    states = [final_state(r, c, start) for r, c in zip(results, certs, strict=True)]
    return states, dictionary.majority


def save_sweep(directory: Path, states: list[FinalState], majority: np.ndarray) -> None:
    """Write the states into `directory` (the caller makes it atomic with io.atomic_dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    widths = sorted({s.spec.width for s in states})
    for m in widths:
        group = [s for s in states if s.spec.width == m]
        before = [s.previous for s in group if s.previous is not None]
        window = (
            {
                "step": np.array([s.step for s in group], dtype=np.int64),  # (N,)
                "prev_step": np.array([s.step for s in before], dtype=np.int64),  # (N,)
                "prev_proj": np.stack([s.proj for s in before]),  # (N, m, K)
                "prev_norm": np.stack([s.norm for s in before]),  # (N, m)
                "prev_noise": np.stack([s.noise for s in before]),  # (N, m)
                "prev_loss": np.array([s.loss for s in before], dtype=np.float64),  # (N,)
            }
            if len(before) == len(group)
            else {}
        )
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
            **window,
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
            previous = None
            if "prev_step" in a:  # a sweep written without its plateau window has none
                previous = FinalState(
                    spec,
                    a["prev_proj"][n],
                    a["prev_norm"][n],
                    a["prev_noise"][n],
                    float(a["prev_loss"][n]),
                    health,
                    int(a["prev_step"][n]),
                )
            step = int(a["step"][n]) if "step" in a else 0
            states.append(
                FinalState(
                    spec,
                    a["proj"][n],
                    a["norm"][n],
                    a["noise"][n],
                    float(a["loss"][n]),
                    health,
                    step,
                    previous,
                )
            )
    return states, np.asarray(index["majority"], dtype=bool)
