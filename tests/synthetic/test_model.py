import pytest
import torch

from imbcl.synthetic.model import (
    attention,
    backward,
    bias_at,
    brelu,
    effective_directions,
    encode,
    forward,
    init_params,
    is_identity,
    readout,
    softmax_rows,
)
from imbcl.synthetic.params import ModelParams


def test_brelu_is_zero_inside_the_band_and_odd():
    s = torch.linspace(-2, 2, 401)
    out = brelu(s, 0.5)
    assert torch.all(out[s.abs() <= 0.5] == 0)
    assert torch.allclose(brelu(-s, 0.5), -out)
    assert torch.allclose(out[s > 0.5], s[s > 0.5] - 0.5)


def test_shapes_and_attention_rows_sum_to_one():
    cfg = ModelParams(width=5, attn_init_std=0.5)
    params = init_params(cfg, dim=6, run_seeds=[0, 1, 2])
    assert params["qkv"].shape == (3, 18, 6) and params["w"].shape == (3, 5, 6)
    x = torch.randn(3, 4, 7, 6)  # (R, B, L, d)
    qkv = params["qkv"]
    d = 6
    q, k = x @ qkv[:, None, :d].transpose(-1, -2), x @ qkv[:, None, d : 2 * d].transpose(-1, -2)
    weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 7))
    a = attention(x, qkv)
    v = x @ qkv[:, None, 2 * d :].transpose(-1, -2)
    assert torch.allclose(a, weights @ v, atol=1e-5)
    assert encode(params, x, 0.1).shape == (3, 4, 5)


def test_encode_matches_a_per_neuron_loop():
    cfg = ModelParams(width=3, init_std=1.0, attn_init_std=0.3)
    params = init_params(cfg, dim=4, run_seeds=[7])
    x = torch.randn(1, 2, 5, 4)
    a = attention(x, params["qkv"])[0]  # (B, L, d)
    expect = torch.stack([brelu(a @ params["w"][0, i], 0.05).sum(-1) for i in range(3)], -1)
    assert torch.allclose(encode(params, x, 0.05)[0], expect, atol=1e-6)


def test_runs_get_their_own_initialisation_and_identity_value_map():
    params = init_params(ModelParams(width=4), dim=5, run_seeds=[0, 1])
    assert not torch.equal(params["w"][0], params["w"][1])
    assert torch.equal(init_params(ModelParams(width=4), 5, [1])["w"][0], params["w"][1])
    assert torch.equal(effective_directions(params), params["w"])  # W_V = I at init


def test_bias_ramp():
    cfg = ModelParams(bias_final=0.3, bias_ramp_steps=100)
    assert bias_at(cfg, 0) == 0 and bias_at(cfg, 50) == 0.15 and bias_at(cfg, 500) == 0.3


def _autograd_grads(params, x, bias, df):
    """The oracle: the gradients of sum(f * df) from torch.autograd."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    f, _ = forward(leaves, x, bias)
    return dict(
        zip(leaves, torch.autograd.grad((f * df).sum(), list(leaves.values())), strict=True)
    )


@pytest.mark.parametrize("per_neuron_bias", [False, True])
def test_hand_written_backward_matches_autograd(per_neuron_bias):
    g = torch.Generator().manual_seed(0)
    cfg = ModelParams(width=5, init_std=3.0, attn_init_std=0.7)
    params = {k: v.double() for k, v in init_params(cfg, dim=6, run_seeds=[0, 1]).items()}
    x = torch.randn(2, 3, 4, 6, generator=g, dtype=torch.float64)  # (R, B, L, d)
    df = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)  # (R, B, m)
    bias = torch.rand(2, 5, generator=g, dtype=torch.float64) if per_neuron_bias else 0.2
    f, saved = forward(params, x, bias, keep=True)
    assert saved is not None and 0 < saved.active.double().mean() < 1  # both BReLU regions
    got = backward(params, saved, df)
    expect = _autograd_grads(params, x, bias, df)
    for name in ("qkv", "w"):
        torch.testing.assert_close(got[name], expect[name])
    assert backward(params, saved, df, attention_grad=False).keys() == {"w"}


def test_softmax_rows_matches_torch_and_survives_large_scores():
    s = torch.randn(7, 8) * torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1e3])[:, None]
    torch.testing.assert_close(softmax_rows(s), torch.softmax(s, dim=-1))


@pytest.mark.parametrize("mode", ["identity_fixed", "identity_trained"])
def test_identity_attention_starts_at_the_identity_with_the_same_neurons(mode):
    uniform = init_params(ModelParams(width=4), dim=5, run_seeds=[0, 1])
    ident = init_params(ModelParams(width=4, attention=mode), dim=5, run_seeds=[0, 1])
    assert torch.equal(ident["qkv"], torch.eye(5).repeat(2, 3, 1))  # W_Q = W_K = W_V = I
    assert torch.equal(ident["w"], uniform["w"])  # the neuron init does not depend on it


def test_identity_attention_is_softmax_of_token_similarities():
    """With W_Q = W_K = W_V = I, Attn(X) = softmax(X X^T) X, row by row."""
    params = init_params(ModelParams(width=3, attention="identity_fixed"), 6, [0, 1])
    x = torch.randn(2, 4, 5, 6, generator=torch.Generator().manual_seed(0))  # (R, B, L, d)
    expect = torch.softmax(x @ x.transpose(-1, -2), dim=-1) @ x
    torch.testing.assert_close(attention(x, params["qkv"]), expect)
    a = attention(x, params["qkv"])  # and the encoder reads those tokens
    f = torch.stack([brelu(a[r] @ params["w"][r].T, 0.1).sum(1) for r in range(2)])
    torch.testing.assert_close(encode(params, x, 0.1), f)


def test_a_forward_mask_in_params_is_applied_to_the_neuron_weights():
    params = init_params(ModelParams(width=4, init_std=2.0), 5, [0])
    mask = (torch.arange(20).view(1, 4, 5) % 3 != 0).float()
    x = torch.randn(1, 3, 2, 5, generator=torch.Generator().manual_seed(1))
    pruned = {"qkv": params["qkv"], "w": params["w"] * mask}
    assert torch.equal(encode({**params, "mask": mask}, x, 0.05), encode(pruned, x, 0.05))
    assert torch.equal(effective_directions({**params, "mask": mask}), params["w"] * mask)


@pytest.mark.parametrize("mode", ["identity_fixed", "uniform_fixed"])
def test_attention_over_a_block_equals_the_forward_pass_step_by_step(mode):
    # Fixed attention is computed once for a chunk of steps (R, n, B, L, d); with the
    # identity the projections are skipped. Either way the neurons see the same numbers.
    params = init_params(ModelParams(width=5, attention=mode, attn_init_std=0.5), 6, [0, 1])
    x = torch.randn(2, 3, 4, 7, 6)  # (R, n steps, B, L, d)
    block = attention(x, params["qkv"])
    assert block.shape == x.shape
    for i in range(3):
        f, saved = forward(params, x[:, i], 0.1, keep=True)
        g, kept = readout(params, block[:, i], 0.1, keep=True)
        assert saved is not None and kept is not None
        if mode == "identity_fixed":
            assert torch.equal(f, g) and torch.equal(saved.attended, kept.attended)
        else:
            assert torch.allclose(f, g, atol=1e-6)
    assert is_identity(params["qkv"]) == (mode == "identity_fixed")


def test_the_attention_gradient_needs_the_tokens():
    params = init_params(ModelParams(width=5), 6, [0])
    _, saved = readout(params, torch.randn(1, 4, 7, 6), 0.1, keep=True)
    assert saved is not None
    assert set(backward(params, saved, torch.randn(1, 4, 5), attention_grad=False)) == {"w"}
    with pytest.raises(ValueError, match="attention gradient"):
        backward(params, saved, torch.randn(1, 4, 5), attention_grad=True)
