"""Runs as data: what distinguishes a run (RunSpec), what it logs (Trajectory), what
training returns (RunResult), and one directory of runs on disk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imbcl.core.errors import DivergenceError
from imbcl.core.io import load_npz, read_json, save_npz, write_json


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


@dataclass(frozen=True)
class SavedRuns:
    """The train stage's runs as read back: specs, trajectories (same order) and roles."""

    specs: list[RunSpec]
    trajectories: list[Trajectory]
    roles: dict[str, float]  # role name -> imbalance ratio

    def roles_of(self, spec: RunSpec) -> list[str]:
        """The roles a run plays: one, or every role when two share a ratio (the runs at
        data.imbalance_ratio = train.control_ratio serve as imbalanced and balanced)."""
        return [k for k, v in self.roles.items() if float(v) == spec.imbalance_ratio]


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


def results_from_logs(
    specs: list[RunSpec],
    logs: dict[str, list],
    log_steps: list[int],
    checkpoints: dict[int, dict[str, torch.Tensor]],
    lr: float,
) -> list[RunResult]:
    """One RunResult per run from the training loop's stacked logs (key -> one (R, ...)
    tensor per logged step) and checkpoints (step -> name -> (R, ...)); DivergenceError
    for a run whose logged weights are not finite."""
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
                f"run {spec.name} produced non-finite weights; lower train.lr (now {lr:g})"
            )
        ckpts = {step: {k: v[r] for k, v in ps.items()} for step, ps in checkpoints.items()}
        results.append(RunResult(spec=spec, trajectory=traj, checkpoints=ckpts))
    return results
