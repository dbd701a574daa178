"""Masked training from dense checkpoints: replay, pairing, rewinding, timing."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import TINY
from imbcl.core.masks import n_pruned
from imbcl.core.params import replace as replace_config
from imbcl.pruning.jobs import Job, params_at, resolve_step, run_jobs
from imbcl.pruning.masks import magnitude_mask
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams
from imbcl.synthetic.train import RunSpec, train_group


def tiny() -> tuple[DataParams, ModelParams, TrainParams]:
    """The suite's tiny configuration (conftest.TINY), 40 steps, with a strong weight decay."""
    data = replace_config(DataParams(), **TINY["data"])
    model = replace_config(ModelParams(), **TINY["model"])
    train = replace_config(TrainParams(), **TINY["train"], weight_decay=0.05)
    return data, model, replace_config(train, steps=40)


def test_masked_weights_stay_zero_through_training_and_weight_decay() -> None:
    data, model, train = tiny()
    M = make_dictionary(data, 0).M
    specs = [RunSpec(10.0, 8, 0), RunSpec(10.0, 8, 1)]
    dense = train_group(specs, data, model, replace_config(train, steps=20), M, progress=False)
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
        [spec], data, model, replace_config(train, checkpoint_steps=[0, 15]), M, progress=False
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
        assert (kept == data.dim - n_pruned(data.dim, 0.5)).all()


def test_job_names_say_variant_ratio_and_step() -> None:
    job = Job(RunSpec(10.0, 8, 2, tag="sweep_shared"), "magnitude_input", False, 0.8, 200)
    assert job.spec.name == "rho10_m8_s2_sweep_shared_magnitude_input_p0.8_t200"
    assert job.paired().spec.name == "rho10_m8_s2_sweep_shared_magnitude_input_random_p0.8_t200"
    assert replace(job, rewind=True).spec.name.endswith("_t200_rewind")
    assert job.paired().paired() == job


def test_resolve_step() -> None:
    assert resolve_step("init", None) == 0
    assert resolve_step(120, None) == 120
    assert resolve_step("120", None) == 120
    assert resolve_step("stage1", 340) == 340
    with pytest.raises(ValueError):
        resolve_step("stage1", None)


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
