"""The figures of the dense runs on hand-built trajectories."""

import numpy as np

from imbcl.dynamics.figures import draw, lucky_curves
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
    files = ["trajectories.png", "neuron_projections.png", "final_alignment.png"]
    assert [i["file"] for i in index] == files
    assert all((tmp_path / f).stat().st_size > 0 for f in files)
    # Captions state measured numbers: the stage ends drawn (20 for every seed here).
    assert "ending at steps 20 (median)" in index[0]["caption"]
    assert "final bias 0" in index[1]["caption"]


def test_lucky_neuron_is_the_largest_initial_alignment_and_ordinary_the_median():
    proj = np.zeros((2, 3, 2), np.float32)  # S=2, m=3, K=2 (feature 0 majority)
    proj[0, :, 0] = [0.1, -0.5, 0.2]  # neuron 1 is lucky for feature 0 (by |.|)
    proj[1, :, 0] = [0.3, -2.0, 0.7]
    proj[0, :, 1] = [0.4, 0.1, 0.0]  # neuron 0 is lucky for feature 1
    proj[1, :, 1] = [0.1, 0.6, 0.2]
    noise = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    traj = Trajectory(
        np.array([0, 10]),
        proj,
        np.ones((2, 3), np.float32),
        noise,
        np.zeros(2, np.float32),
        np.zeros(2, np.float32),
    )
    c = lucky_curves(traj, np.array([True, False]))
    np.testing.assert_allclose(c["lucky_majority"], [0.5, 2.0])
    np.testing.assert_allclose(c["ordinary_majority"], [0.15, 0.5])  # median of the others
    np.testing.assert_allclose(c["noise_majority"], [2.0, 5.0])
    np.testing.assert_allclose(c["lucky_minority"], [0.4, 0.1])
    np.testing.assert_allclose(c["noise_minority"], [1.0, 4.0])


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
