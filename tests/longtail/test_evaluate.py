"""The evaluation stage's library call on a tiny trained set: files in, results out, and the
same bytes on a second run."""

from pathlib import Path

import numpy as np
import pytest

from imbcl.core.params import replace
from imbcl.longtail import evaluate, splits, train
from imbcl.longtail.figures import plot_groups
from imbcl.longtail.params import RealParams

TINY = replace(
    RealParams(),
    extra_ratios=[1.0],
    steps=6,
    warmup_steps=2,
    sdclr_every=2,
    curve_every=2,
    batch=16,
    seeds_per_block=1,
    embed_dim=8,
    heads=2,
    depth=1,
    mlp_neurons=8,
    proj_dim=4,
    test_per_class=20,
    probe_per_class=10,
    threads=0,  # no chain worker processes, the test process's threads untouched
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("longtail")
    data, runs = root / "data", root / "runs"
    data.mkdir()
    splits.save(data, splits.build(TINY, seed=0))
    runs.mkdir()
    train.save(runs, train.run(data, TINY, seed=0))
    return data, runs


def test_training_files_round_trip(trained):
    data, runs = trained
    index = train.read_index(runs)
    assert [(r["rho"], r["variant"], r["seed"]) for r in index] == [
        (10.0, v, s) for s in (0, 1) for v in train.VARIANTS
    ] + [(1.0, v, s) for s in (0, 1) for v in ("dense", "pruned")]
    assert all(r["loss_first"] > 0 and r["loss_last"] > 0 for r in index)
    assert [r["curve"] for r in index if r["variant"] == "dense"] == [[2, 4], [2, 4], [], []]
    state = train.load_state(runs, "pruned", 10.0, 1)
    meta = splits.read_meta(data)
    model = train.load_model(state, meta["shape"][0], meta["shape"][1], TINY)
    assert (model.blocks[0].fc1.weight != 0).all()  # a forward mask leaves the weights whole
    assert set(meta["counts"]) == {"10", "1"}
    assert meta["sizes"]["train"]["1"] == 10 * meta["counts"]["1"][0]  # balanced


def test_run_scores_every_run_and_baseline_and_decides_c7(trained, tmp_path):
    data, runs = trained
    ev = evaluate.run(data, runs, TINY, 0, tmp_path / "groups.png", tmp_path / "curve.png")
    assert len(ev.scores) == 1 + 2 + 2 * len(train.VARIANTS) + 2 * 2
    assert list(zip(ev.table.rho, ev.table.variant, strict=True))[:3] == [
        ("–", "raw"),
        ("–", "untrained"),
        ("1", "dense"),
    ]
    assert ev.table.seeds.tolist() == [1] + [2] * 7
    assert ev.claim.id == "C7" and "digits-LT" in ev.claim.statistic
    assert ev.claim.verdict == "inconclusive"  # one seed per block: underpowered
    assert ev.metrics["rho10.dense.probe_overall"] == pytest.approx(
        ev.scores[(ev.scores.variant == "dense") & (ev.scores.rho == 10)].probe_overall.mean()
    )
    assert [f["file"] for f in ev.figures["figures"]] == ["groups.png", "curve.png"]
    assert (tmp_path / "groups.png").stat().st_size > 10_000
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    assert ev.curve.step.tolist() == [0, 2, 4, 6] * 2
    assert "| rho" in ev.markdown and r"\begin{table}" in ev.latex
    assert "paper (reported)" in ev.paper and "C7: " in ev.summary()


def test_plot_groups_names_the_groups_and_is_byte_stable(trained, tmp_path):
    data, runs = trained
    rows = evaluate.score_runs(data, runs, TINY, 0).rows
    names = {"many": ["0", "1"], "medium": ["2"], "few": ["3"]}
    first = plot_groups(rows, tmp_path / "a.png", "tiny", names, TINY)
    second = plot_groups(rows, tmp_path / "b.png", "tiny", names, TINY)
    assert "many: 0, 1; medium: 2; few: 3" in first and first == second
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_score_runs_groups_the_classes_by_training_count(trained):
    data, runs = trained
    s = evaluate.score_runs(data, runs, TINY, 0)
    counts = np.asarray(splits.read_meta(data)["counts"]["10"])
    assert s.groups.tolist() == splits.class_groups(counts, "thirds", 100, 20).tolist()
    assert sum(len(c) for c in s.group_names.values()) == 10
    assert s.group_names["many"][0] == "0"  # the largest class leads


def test_the_untrained_baseline_is_each_runs_initialisation(trained):
    data, runs = trained
    s = evaluate.score_runs(data, runs, TINY, 0)
    untrained = s.rows[s.rows.variant == "untrained"].set_index("seed").probe_overall
    start = s.curve[s.curve.step == 0].set_index("seed").probe_overall
    assert untrained.to_dict() == start.to_dict()
    raw = s.rows[s.rows.variant == "raw"]
    assert len(raw) == 1 and 0.8 < float(raw.probe_overall.iloc[0]) <= 1.0
