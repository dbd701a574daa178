import numpy as np
import pytest
import torch

from imbcl.core.params import replace
from imbcl.synthetic.data import RunStream, make_dictionary, stacked_steps
from imbcl.synthetic.model import bias_at, init_params
from imbcl.synthetic.step import loss_and_grads
from imbcl.synthetic.train import DivergenceError, RunSpec, train_group, train_runs


def test_logs_every_k_steps_and_saves_checkpoints(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    (res,) = train_group([RunSpec(4.0, model.width, 0)], data, model, train, M, progress=False)
    t = res.trajectory
    assert list(t.steps) == list(range(0, train.steps + 1, train.log_every))
    assert t.proj.shape == (len(t.steps), model.width, data.n_features)
    assert sorted(res.checkpoints) == sorted({*train.checkpoint_steps, train.steps})
    assert np.isfinite(t.loss).all()


def test_run_alone_equals_run_inside_a_batch(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    specs = [RunSpec(rho, model.width, s) for rho in (1.0, 5.0) for s in (0, 1)]
    together = train_group(specs, data, model, train, M, progress=False)
    alone = train_group([specs[3]], data, model, train, M, progress=False)[0]
    np.testing.assert_allclose(
        together[3].trajectory.proj, alone.trajectory.proj, rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(together[3].trajectory.loss, alone.trajectory.loss, rtol=1e-5)


def test_resuming_from_a_checkpoint_continues_the_same_run(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    spec = [RunSpec(4.0, model.width, 3)]
    full = train_group(spec, data, model, train, M, progress=False)[0]
    start = {k: v[None] for k, v in full.checkpoints[20].items()}
    resumed = train_group(spec, data, model, train, M, start=start, start_step=20, progress=False)[
        0
    ]
    np.testing.assert_allclose(
        resumed.trajectory.proj[-1], full.trajectory.proj[-1], rtol=1e-4, atol=1e-6
    )


def test_divergence_names_the_run_step_and_parameter(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    with pytest.raises(DivergenceError, match=r"run rho4_m8_s0 diverged at step \d+.*train\.lr"):
        train_group(
            [RunSpec(4.0, model.width, 0)],
            data,
            replace(model, init_std=5.0),
            replace(train, lr=1.0e4),
            M,
            progress=False,
        )


def test_train_runs_groups_by_width_and_keeps_order(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    specs = [RunSpec(1.0, 4, 0), RunSpec(1.0, 8, 0), RunSpec(2.0, 4, 1)]
    res = train_runs(
        specs, data, model, replace(train, steps=10, batched_runs=1), M, progress=False
    )
    assert [r.spec for r in res] == specs
    assert [r.trajectory.norm.shape[1] for r in res] == [4, 8, 4]


def test_pinned_trajectory(tiny):
    """A fixed tiny run: optimisations of the step must not change its dynamics. Pinned in
    the setting it was recorded in (fixed frequency and noise, trained attention)."""
    data, model, train = tiny
    data = replace(data, frequency="fixed", noise="fixed")
    model = replace(model, attention="uniform_trained")
    M = make_dictionary(data, 0).M
    res = train_group([RunSpec(4.0, model.width, 0)], data, model, train, M, progress=False)[0]
    t = res.trajectory
    got = [float(t.loss[-1]), float(np.abs(t.proj[-1]).sum()), float(t.noise[-1].sum())]
    np.testing.assert_allclose(got, PINNED, rtol=2e-4)


# Recorded from the reference implementation (float32, CPU); loss, sum |proj|, sum noise.
PINNED = [2.429038, 6.098708, 0.890535]


def test_init_is_the_seeded_default(tiny):
    data, model, train = tiny
    M = make_dictionary(data, 0).M
    res = train_group([RunSpec(4.0, model.width, 9)], data, model, train, M, progress=False)[0]
    init = init_params(model, data.dim, [9])
    assert torch.equal(res.checkpoints[0]["w"], init["w"][0])


def test_weight_decay_alone_shrinks_weights_geometrically(tiny):
    """With the loss switched off (lr on a dead encoder), w_t = (1 - lr * lambda)^t w_0."""
    data, model, train = tiny
    model = replace(model, bias_schedule="constant", bias_final=1.0e3, attention="uniform_fixed")
    train = replace(train, steps=10, weight_decay=0.5, lr=0.1)
    M = make_dictionary(data, 0).M
    res = train_group([RunSpec(1.0, model.width, 0)], data, model, train, M, progress=False)[0]
    w0, w10 = res.checkpoints[0]["w"], res.checkpoints[10]["w"]
    torch.testing.assert_close(w10, w0 * (1 - 0.1 * 0.5) ** 10, rtol=1e-5, atol=1e-8)


def test_saved_runs_load_back_identically(tiny, tmp_path):
    from imbcl.synthetic.train import load_checkpoints, load_specs, load_trajectory, save_runs

    data, model, train = tiny
    M = make_dictionary(data, 0).M
    res = train_group([RunSpec(2.0, model.width, 1)], data, model, train, M, progress=False)
    save_runs(tmp_path, res)
    (spec,) = load_specs(tmp_path)
    assert spec == res[0].spec
    np.testing.assert_array_equal(load_trajectory(tmp_path, spec).proj, res[0].trajectory.proj)
    ckpt = load_checkpoints(tmp_path, spec)
    assert sorted(ckpt) == sorted(res[0].checkpoints)
    assert torch.equal(ckpt[20]["w"], res[0].checkpoints[20]["w"])


@pytest.mark.parametrize("attention", ["identity_fixed", "uniform_fixed"])
def test_fixed_attention_computed_per_chunk_equals_the_step_by_step_forward(tiny, attention):
    # The trainer computes a fixed attention once per chunk of steps; a loop that runs the
    # whole forward pass from the tokens at every step must reach the same weights.
    data, model, train = tiny
    model = replace(model, attention=attention, attn_init_std=0.5)
    train = replace(train, steps=7, block_steps=3, checkpoint_steps=[])
    M = make_dictionary(data, 0).M
    specs = [RunSpec(4.0, model.width, 0), RunSpec(1.0, model.width, 3)]
    got = train_group(specs, data, model, train, M, progress=False)
    params = init_params(model, data.dim, [0, 3])
    streams = [RunStream(data, M, s.imbalance_ratio, s.seed, train.batch, 3) for s in specs]
    for t, (x1, x2) in enumerate(stacked_steps(streams, 0, train.steps)):
        b = bias_at(model, t)
        _, grad_fn = loss_and_grads(params, x1, x2, b, train.temperature, False)
        g = grad_fn()["w"].add_(params["w"], alpha=train.weight_decay)
        params["w"].sub_(g, alpha=train.lr)
    w = torch.stack([r.checkpoints[train.steps]["w"] for r in got])
    if attention == "identity_fixed":
        assert torch.equal(w, params["w"])
    else:  # the projections of a chunk and of a step may round apart
        torch.testing.assert_close(w, params["w"], rtol=1e-5, atol=1e-6)
