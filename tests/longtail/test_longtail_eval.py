"""The evaluation stage's library call on a tiny trained set: files in, results out, and the
same bytes on a second run."""

from pathlib import Path

import numpy as np
import pytest
import torch

from imbcl.core.params import replace
from imbcl.longtail import evaluate, splits, train
from imbcl.longtail.figures import plot_groups
from imbcl.longtail.params import RealParams

TINY = replace(
    RealParams(),
    steps=6,
    prune_at=3,
    sdclr_every=2,
    batch=16,
    seeds=2,
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
    assert [(r["variant"], r["seed"]) for r in index] == [
        (v, s) for s in (0, 1) for v in train.VARIANTS
    ]
    assert all(r["loss_first"] > 0 and r["loss_last"] > 0 for r in index)
    state = train.load_state(runs, "pruned", 1)
    meta = splits.read_meta(data)
    model = train.load_model(state, meta["shape"][0], meta["shape"][1], TINY)
    kept = (model.blocks[0].fc1.weight != 0).sum(dim=0)  # granularity input: per column
    assert torch.all(kept == 2)  # 8 neurons, floor(0.8 * 8) = 6 pruned


def test_run_scores_every_run_and_decides_c7(trained, tmp_path):
    data, runs = trained
    ev = evaluate.run(data, runs, TINY, tmp_path / "groups.png")
    assert len(ev.scores) == 2 * len(train.VARIANTS)
    assert ev.table.variant.tolist() == list(train.VARIANTS)
    assert ev.table.seeds.tolist() == [2] * 4
    assert ev.claim.id == "C7" and "digits-LT" in ev.claim.statistic
    assert ev.metrics["dense.probe_overall"] == pytest.approx(
        ev.scores[ev.scores.variant == "dense"].probe_overall.mean()
    )
    assert ev.figures["figures"][0]["file"] == "groups.png"
    assert (tmp_path / "groups.png").stat().st_size > 10_000
    assert ev.markdown.startswith("| variant") and r"\begin{table}" in ev.latex
    assert "C7: " in ev.summary()


def test_plot_groups_names_the_groups_and_is_byte_stable(trained, tmp_path):
    data, runs = trained
    rows = evaluate.score_runs(data, runs, TINY).rows
    names = {"many": ["0", "1"], "medium": ["2"], "few": ["3"]}
    first = plot_groups(rows, tmp_path / "a.png", "tiny", names)
    second = plot_groups(rows, tmp_path / "b.png", "tiny", names)
    assert "many: 0, 1; medium: 2; few: 3" in first and first == second
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_score_runs_groups_the_classes_by_training_count(trained):
    data, runs = trained
    s = evaluate.score_runs(data, runs, TINY)
    counts = np.asarray(splits.read_meta(data)["counts"])
    assert s.groups.tolist() == splits.class_groups(counts, "thirds", 100, 20).tolist()
    assert sum(len(c) for c in s.group_names.values()) == 10
    assert s.group_names["many"][0] == "0"  # the largest class leads
