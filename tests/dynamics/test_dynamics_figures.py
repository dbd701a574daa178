"""The figures of the dense runs on hand-built trajectories."""

import numpy as np

from imbcl.dynamics.figures import draw
from imbcl.synthetic.runs import RunSpec, SavedRuns, Trajectory

K, M, S = 4, 6, 5
MAJORITY = np.array([True, True, False, False])


def trajectory(seed: int) -> Trajectory:
    rng = np.random.default_rng(seed)
    grow = np.linspace(0.01, 1.0, S)[:, None, None]
    proj = (grow * rng.uniform(0.1, 1.0, (1, M, K))).astype(np.float32)
    return Trajectory(
        steps=np.arange(S) * 10,
        proj=proj,
        norm=np.ones((S, M), np.float32),
        noise=np.full((S, M), 0.1, np.float32),
        loss=np.linspace(5.0, 2.0, S).astype(np.float32),
        bias=np.zeros(S, np.float32),
    )


def saved(roles: dict[str, float]) -> SavedRuns:
    specs = [RunSpec(rho, M, seed) for rho in dict.fromkeys(roles.values()) for seed in (0, 1)]
    return SavedRuns(specs, [trajectory(s.seed) for s in specs], roles)


def stage_steps(runs: SavedRuns) -> dict[str, list[int]]:
    return {s.name: [0, 20, 40] for s in runs.specs}


def test_both_roles_have_columns_and_panels(tmp_path):
    runs = saved({"imbalanced": 10.0, "balanced": 1.0})
    wide, index = draw(runs, MAJORITY, stage_steps(runs), tmp_path)
    assert {"imbalanced_majority", "imbalanced_minority", "balanced_majority"} <= set(wide)
    assert [i["file"] for i in index] == ["trajectories.png", "final_alignment.png"]
    assert (tmp_path / "trajectories.png").stat().st_size > 0


def test_a_ratio_equal_to_the_control_keeps_the_balanced_columns(tmp_path):
    """Issue 15, case 6: with data.imbalance_ratio = train.control_ratio the runs serve both
    roles, so `dvc plots` still finds every declared column and both panels are drawn."""
    runs = saved({"imbalanced": 1.0, "balanced": 1.0})
    assert runs.roles_of(runs.specs[0]) == ["imbalanced", "balanced"]
    wide, _ = draw(runs, MAJORITY, stage_steps(runs), tmp_path)
    for role in ("imbalanced", "balanced"):
        for group in ("majority", "minority"):
            assert f"{role}_{group}" in wide
    np.testing.assert_array_equal(wide.imbalanced_minority, wide.balanced_minority)
