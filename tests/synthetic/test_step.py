"""The two gradient backends and the attention modes, through the trainer."""

import numpy as np
import pytest
import torch

from imbcl.core.params import replace
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.masking import ForwardMask
from imbcl.synthetic.model import init_params
from imbcl.synthetic.params import ModelParams
from imbcl.synthetic.step import loss_and_grads
from imbcl.synthetic.train import RunSpec, train_group

SPECS = [RunSpec(4.0, 8, 0), RunSpec(1.0, 8, 5)]


def per_neuron_bias(t, params):
    """A bias that differs by neuron and step: b_i = 0.02 + 0.05 * ||w_i||."""
    return 0.02 + 0.05 * params["w"].norm(dim=-1)


def _run(tiny, backend, dtype, steps, model_kw=None, forward_mask=None, bias_fn=None):
    data, model, train = tiny
    # trained attention unless a case says otherwise: the backends' attention gradients too
    kw = {"attention": "uniform_trained", **(model_kw or {})}
    model = replace(model, init_std=1.0, attn_init_std=0.5, **kw)
    train = replace(train, steps=steps, backend=backend, checkpoint_steps=[0], log_every=1)
    M = make_dictionary(data, 0).M
    start = {k: v.to(dtype) for k, v in init_params(model, data.dim, [0, 5]).items()}
    return train_group(
        SPECS,
        data,
        model,
        train,
        M,
        start=start,
        forward_mask=forward_mask,
        bias_fn=bias_fn,
        progress=False,
    )


CASES = {
    "dense": {},
    "per_neuron_bias": {"bias_fn": per_neuron_bias},
    "identity_trained": {"model_kw": {"attention": "identity_trained"}},
    "neuron_mask": {"forward_mask": ForwardMask("magnitude", "neuron", 0.5, every=2)},
    "entry_mask_dense": {
        "forward_mask": ForwardMask("magnitude", "entry", 0.3, masked_grad="dense")
    },
    "neuron_mask_dense": {
        "forward_mask": ForwardMask("magnitude", "neuron", 0.5, every=2, masked_grad="dense")
    },
    "identity_trained_neuron_mask_dense": {
        "model_kw": {"attention": "identity_trained"},
        "forward_mask": ForwardMask("magnitude", "neuron", 0.5, masked_grad="dense"),
    },
    "random_entry_mask": {"forward_mask": ForwardMask("random", "entry", 0.5, every=2)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_backends_agree_in_float64(tiny, case):
    """Five steps of the hand-written and the autograd step: the same update, rounded apart."""
    manual = _run(tiny, "manual", torch.float64, 5, **CASES[case])
    auto = _run(tiny, "autograd", torch.float64, 5, **CASES[case])
    for a, b in zip(manual, auto, strict=True):
        for name in ("qkv", "w"):
            wa, wb = a.checkpoints[5][name], b.checkpoints[5][name]
            assert not torch.equal(wa, a.checkpoints[0][name])  # attention trains too
            torch.testing.assert_close(wa, wb, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.trajectory.loss, b.trajectory.loss, rtol=1e-10)
        if "mask" in a.checkpoints[5]:
            assert torch.equal(a.checkpoints[5]["mask"], b.checkpoints[5]["mask"])


def test_backends_agree_loosely_in_float32(tiny):
    manual = _run(
        tiny, "manual", torch.float32, 30, forward_mask=CASES["neuron_mask"]["forward_mask"]
    )
    auto = _run(
        tiny, "autograd", torch.float32, 30, forward_mask=CASES["neuron_mask"]["forward_mask"]
    )
    for a, b in zip(manual, auto, strict=True):
        np.testing.assert_allclose(a.trajectory.loss, b.trajectory.loss, rtol=1e-4)
        np.testing.assert_allclose(a.trajectory.proj, b.trajectory.proj, rtol=1e-3, atol=1e-5)


def test_trained_attention_gets_a_gradient_in_both_backends(tiny):
    data, model, _ = tiny
    g = torch.Generator().manual_seed(0)
    params = {
        k: v.double()
        for k, v in init_params(
            replace(model, init_std=1.0, attn_init_std=0.5), data.dim, [0]
        ).items()
    }
    x1 = torch.randn(1, 6, data.tokens, data.dim, generator=g, dtype=torch.float64)
    x2 = x1 + 0.1 * torch.randn(x1.shape, generator=g, dtype=torch.float64)
    out = {}
    for backend in ("manual", "autograd"):
        loss, grads = loss_and_grads(params, x1, x2, 0.05, 0.5, True, backend)
        out[backend] = (loss, grads())
    torch.testing.assert_close(out["manual"][0], out["autograd"][0], rtol=1e-12, atol=0)
    for name in ("qkv", "w"):
        assert out["manual"][1][name].abs().max() > 0
        torch.testing.assert_close(
            out["manual"][1][name], out["autograd"][1][name], rtol=1e-10, atol=1e-13
        )
    _, grads = loss_and_grads(params, x1, x2, 0.05, 0.5, False, "autograd")
    assert grads().keys() == {"w"}
    with pytest.raises(ValueError, match="backend"):
        loss_and_grads(params, x1, x2, 0.05, 0.5, False, "jax")


@pytest.mark.parametrize("backend", ["manual", "autograd"])
def test_identity_fixed_attention_stays_exactly_at_the_identity(tiny, backend):
    data, model, train = tiny
    model = replace(model, attention="identity_fixed")
    train = replace(train, backend=backend, weight_decay=0.1, checkpoint_steps=[0, 20])
    M = make_dictionary(data, 0).M
    (res,) = train_group([RunSpec(4.0, model.width, 0)], data, model, train, M, progress=False)
    eye = torch.eye(data.dim).repeat(3, 1)  # (3d, d)
    for step, ckpt in res.checkpoints.items():
        assert torch.equal(ckpt["qkv"], eye), step
    assert not torch.equal(res.checkpoints[train.steps]["w"], res.checkpoints[0]["w"])


def test_identity_trained_attention_leaves_the_identity(tiny):
    data, model, train = tiny
    model = replace(model, attention="identity_trained")
    M = make_dictionary(data, 0).M
    (res,) = train_group([RunSpec(4.0, model.width, 0)], data, model, train, M, progress=False)
    qkv = res.checkpoints[train.steps]["qkv"]
    assert not torch.equal(qkv, torch.eye(data.dim).repeat(3, 1))


def test_attention_outputs_cannot_give_an_attention_gradient():
    params = init_params(ModelParams(attention="uniform_trained", width=5), 6, [0])
    a = torch.randn(1, 4, 7, 6)
    with pytest.raises(ValueError, match="attention gradient"):
        loss_and_grads(params, a, a, 0.05, 0.5, True, attended=True)
