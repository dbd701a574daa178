"""Pruning masks, masked training, timing and the separation measure."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import TINY
from imbcl.core import config
from imbcl.core.config import DataConfig, ModelConfig, ParamError, PruneConfig, TrainConfig
from imbcl.pruning.jobs import Job, params_at, resolve_step, run_jobs
from imbcl.pruning.masks import GRANULARITY, magnitude_mask, n_pruned, random_mask
from imbcl.pruning.measures import neuron_separation
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.train import RunSpec, train_group

R, M_WIDTH, D = 2, 10, 12


def weights(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(R, M_WIDTH, D, generator=g)  # (R, m, d), distinct magnitudes


@pytest.mark.parametrize("method", list(GRANULARITY))
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8, 0.95])
def test_mask_keeps_the_intended_fraction_per_unit(method: str, ratio: float) -> None:
    w = weights()
    mask = (
        magnitude_mask(w, method, ratio)
        if method != "random"
        else random_mask(tuple(w.shape), method, ratio, [(0,), (1,)])
    )
    assert mask.shape == w.shape
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    granularity = GRANULARITY[method]
    if granularity == "global":
        kept = mask.sum(dim=(1, 2))
        assert (kept == M_WIDTH * D - n_pruned(M_WIDTH * D, ratio)).all()
    elif granularity == "neuron":
        assert (mask.sum(dim=2) == D - n_pruned(D, ratio)).all()
    elif granularity == "input":
        assert (mask.sum(dim=1) == M_WIDTH - n_pruned(M_WIDTH, ratio)).all()
    else:  # whole neurons: rows all kept or all pruned
        rows = mask.sum(dim=2)
        assert set(rows.unique().tolist()) <= {0.0, float(D)}
        assert ((rows > 0).sum(dim=1) == M_WIDTH - n_pruned(M_WIDTH, ratio)).all()


def test_magnitude_masks_keep_the_largest_entries_of_their_unit() -> None:
    w = weights()
    a = w.abs()
    glob = magnitude_mask(w, "magnitude_global", 0.7).bool()
    for r in range(R):
        assert a[r][glob[r]].min() > a[r][~glob[r]].max()
    per_input = magnitude_mask(w, "magnitude_input", 0.7).bool()
    for r in range(R):
        for j in range(D):
            col, keep = a[r, :, j], per_input[r, :, j]
            assert col[keep].min() > col[~keep].max()
    per_neuron = magnitude_mask(w, "magnitude_neuron", 0.7).bool()
    for r in range(R):
        for i in range(M_WIDTH):
            row, keep = a[r, i], per_neuron[r, i]
            assert row[keep].min() > row[~keep].max()
    whole = magnitude_mask(w, "magnitude_neuron_whole", 0.7).bool()[..., 0]  # (R, m)
    norms = w.norm(dim=-1)
    for r in range(R):
        assert norms[r][whole[r]].min() > norms[r][~whole[r]].max()


def test_hand_made_input_mask() -> None:
    w = torch.tensor([[[1.0, -5.0], [3.0, 0.5], [-2.0, 4.0]]])  # (1, m=3, d=2)
    mask = magnitude_mask(w, "magnitude_input", 0.6)  # prune 2 of 3 neurons per coordinate
    expected = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]])
    assert torch.equal(mask, expected)


def test_random_mask_is_seeded_and_differs_from_magnitude() -> None:
    shape = (R, M_WIDTH, D)
    a = random_mask(shape, "magnitude_input", 0.8, [(0, 5), (1, 5)])
    b = random_mask(shape, "magnitude_input", 0.8, [(0, 5), (1, 5)])
    c = random_mask(shape, "magnitude_input", 0.8, [(2, 5), (3, 5)])
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, magnitude_mask(weights(), "magnitude_input", 0.8))


def tiny() -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """The suite's tiny configuration (conftest.TINY), 40 steps, with a strong weight decay."""
    data = replace(DataConfig(), **TINY["data"])
    model = replace(ModelConfig(), **TINY["model"])
    train = replace(TrainConfig(), **TINY["train"], weight_decay=0.05)
    return data, model, replace(train, steps=40)


def test_masked_weights_stay_zero_through_training_and_weight_decay() -> None:
    data, model, train = tiny()
    M = make_dictionary(data, 0).M
    specs = [RunSpec(10.0, 8, 0), RunSpec(10.0, 8, 1)]
    dense = train_group(specs, data, model, replace(train, steps=20), M, progress=False)
    start = {k: torch.stack([r.checkpoints[20][k] for r in dense]) for k in ("qkv", "w")}
    mask = magnitude_mask(start["w"], "magnitude_input", 0.75)
    res = train_group(
        specs, data, model, train, M, start=start, start_step=20, mask=mask, progress=False
    )
    for r, out in enumerate(res):
        w = out.checkpoints[40]["w"]
        assert torch.count_nonzero(w * (1 - mask[r])) == 0  # exactly zero, not just small
        assert not torch.equal(w * mask[r], start["w"][r] * mask[r])  # the rest trained on


def test_replay_from_a_checkpoint_gives_the_dense_run_at_that_step() -> None:
    data, model, train = tiny()
    M = make_dictionary(data, 0).M
    spec = RunSpec(10.0, 8, 3)
    full = train_group(
        [spec], data, model, replace(train, checkpoint_steps=[0, 15]), M, progress=False
    )[0]
    sources = {spec.name: {0: full.checkpoints[0]}}
    at15 = params_at(sources, {(spec, 15)}, data, model, train, M)[(spec.name, 15)]
    for k in ("qkv", "w"):
        torch.testing.assert_close(at15[k], full.checkpoints[15][k])


def test_run_jobs_pairs_magnitude_and_random_from_the_same_start() -> None:
    data, model, train = tiny()
    M = make_dictionary(data, 0).M
    spec = RunSpec(10.0, 8, 0)
    dense = train_group([spec], data, model, train, M, progress=False)[0]
    job = Job(spec, "magnitude_neuron", False, 0.5, 20)
    results = run_jobs([job, job.paired()], {spec.name: dense.checkpoints}, data, model, train, M)
    names = [r.spec.name for r in results]
    assert names == [job.spec.name, job.paired().spec.name] and len(set(names)) == 2
    for r in results:
        assert int(r.trajectory.steps[0]) == 20 and int(r.trajectory.steps[-1]) == 40
        kept = (r.checkpoints[40]["w"] != 0).sum(dim=1)  # per neuron: d - pruned entries
        assert (kept <= data.dim - n_pruned(data.dim, 0.5)).all()


def test_resolve_step() -> None:
    assert resolve_step("init", None) == 0
    assert resolve_step(120, None) == 120
    assert resolve_step("stage1", 340) == 340
    with pytest.raises(ValueError):
        resolve_step("stage1", None)


def test_neuron_separation_in_decades() -> None:
    proj = np.array([[1.0, 0.0], [0.0, 0.1], [0.0, 0.0]])  # neuron 2 is dead
    noise = np.array([0.1, 0.1, 0.0])
    majority = np.array([True, False])
    assert neuron_separation(proj, noise, majority) == pytest.approx(1.0)  # log10(1 / 0.1)
    assert neuron_separation(proj, noise, ~majority) == pytest.approx(0.0)
    assert np.isnan(neuron_separation(proj[:1], noise[:1], ~majority))


def _prune_section(**changes: object) -> dict:
    raw = {k: v for k, v in config.as_dict(PruneConfig()).items()}
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("method", "magnitude"),
        ("ratio", 1.0),
        ("ratio", -0.1),
        ("at", "late"),
        ("at", -5),
        ("at", True),
        ("at", 2.5),
        ("sweep_at", ["init", "end"]),
        ("at", 10_000),
    ],
)
def test_bad_prune_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ParamError, match=f"prune.{key}"):
        config.build(PruneConfig, _prune_section(**{key: value}), "prune")


def test_good_prune_timings_load() -> None:
    for at in ("init", "stage1", 0, 150):
        assert config.build(PruneConfig, _prune_section(at=at), "prune").at == at


def test_rewind_restarts_from_the_init_weights_with_the_later_mask() -> None:
    data, model, train = tiny()
    M = make_dictionary(data, 0).M
    spec = RunSpec(10.0, 8, 0)
    dense = train_group([spec], data, model, train, M, progress=False)[0]
    job = Job(spec, "magnitude_global", False, 0.5, 20, rewind=True)
    (res,) = run_jobs([job], {spec.name: dense.checkpoints}, data, model, train, M)
    assert int(res.trajectory.steps[0]) == 0
    mask = magnitude_mask(dense.checkpoints[20]["w"][None], "magnitude_global", 0.5)[0]
    torch.testing.assert_close(res.checkpoints[0]["w"], dense.checkpoints[0]["w"] * mask)
