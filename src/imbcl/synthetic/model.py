"""The Transformer-MLP encoder, with a leading run dimension R on every parameter.

One layer of single-head softmax self-attention followed by m neurons with a bilateral ReLU,
summed over tokens:

    Attn(X) = softmax(X W_Q^T (X W_K^T)^T) X W_V^T                       (L, d)
    h_i(X)  = sum_r BReLU_b( <w_i, Attn(X)_r> ),  BReLU_b(s) = ReLU(s - b) - ReLU(-s - b)

As in the paper's formula there is no 1/sqrt(d) scaling of the scores. All R runs of a sweep
that share shapes are one set of stacked tensors, so one run alone is the case R = 1 and
the batched path is the only path. W_Q, W_K and W_V live in one (R, 3d, d) tensor so the
three projections are one matrix product.

`model.attention` sets W_Q, W_K, W_V at init and whether they train: `uniform_*` draws
W_Q, W_K ~ N(0, attn_init_std^2) (scores near 0, so near-uniform attention) with W_V = I;
`identity_*` sets W_Q = W_K = W_V = I, the paper's theory (there kept fixed), so that
Attn(X) = softmax(X X^T) X. Either way the neuron weights are the same draws.

A params dict may carry a forward mask "mask" (R, m, d) (masking.py): the encoder then
uses w * mask, and the effective directions are those of the masked weights.

Training needs the gradient of one branch only (the other is stop-gradient), so `forward`
keeps what `backward` needs and `backward` writes the chain rule out by hand: no autograd
graph, and nothing computed that the update does not use.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from imbcl.synthetic.data import INIT_STREAM, generator
from imbcl.synthetic.params import ModelParams

Params = dict[str, torch.Tensor]  # "qkv": (R, 3d, d), "w": (R, m, d); optional "mask": (R, m, d)

ATTENTION_TRAINED = {
    "uniform_trained": True,
    "uniform_fixed": False,
    "identity_fixed": False,
    "identity_trained": True,
}


def attention_trained(cfg: ModelParams) -> bool:
    """Whether W_Q, W_K, W_V get gradient and weight-decay updates."""
    return ATTENTION_TRAINED[cfg.attention]


def masked(params: Params) -> Params:
    """The weights the encoder uses: w * mask where params carry a forward mask."""
    if "mask" not in params:
        return params
    return {"qkv": params["qkv"], "w": params["w"] * params["mask"]}


def brelu(s: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """Bilateral ReLU: zero on [-b, b], s - b above, s + b below (odd in s).

    Written as s - clamp(s, -b, b), which equals ReLU(s - b) - ReLU(-s - b) exactly in
    floating point and costs two elementwise passes instead of five.
    """
    if isinstance(b, torch.Tensor):
        return s - torch.maximum(torch.minimum(s, b), -b)
    return s - s.clamp(-b, b)


def init_params(cfg: ModelParams, dim: int, run_seeds: list[int]) -> Params:
    """Stacked initial parameters, one slice per run, each from that run's own seed.

    qkv (R, 3d, d): W_Q, W_K ~ N(0, attn_init_std^2) (uniform_*) or I (identity_*), W_V = I.
    w (R, m, d) ~ N(0, init_std^2 / d), the same draws whatever the attention.
    """
    qkv, w = [], []
    for seed in run_seeds:
        g = generator(seed, INIT_STREAM)
        wq = cfg.attn_init_std * torch.randn(dim, dim, generator=g)  # drawn in every mode,
        wk = cfg.attn_init_std * torch.randn(dim, dim, generator=g)  # so w is the same draw
        if cfg.attention.startswith("identity"):
            wq, wk = torch.eye(dim), torch.eye(dim)
        wv = torch.eye(dim)  # the value map starts as the identity: u_i = w_i at init
        qkv.append(torch.cat([wq, wk, wv], dim=0))  # (3d, d)
        w.append(cfg.init_std / math.sqrt(dim) * torch.randn(cfg.width, dim, generator=g))
    return {"qkv": torch.stack(qkv), "w": torch.stack(w)}


def bias_at(cfg: ModelParams, step: int) -> float:
    """The BReLU threshold b(t) at a training step."""
    if cfg.bias_schedule == "constant":
        return cfg.bias_final
    return cfg.bias_final * min(1.0, step / cfg.bias_ramp_steps)


# exp() of arguments below about -87.3 underflows to denormals, which the vectorised kernel
# handles on a scalar path 25-40x slower; every entry below this floor contributes less
# than 1e-34 of a row's softmax sum, far under float32 resolution.
EXP_FLOOR = -80.0


def softmax_rows(s: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim, in place on a fresh temporary. s (..., n) -> (..., n).

    torch.softmax is 3-5x slower than these four passes on the attention's 8-wide rows;
    it is used only where autograd records the graph (the in-place passes would break it).
    """
    if s.requires_grad and torch.is_grad_enabled():
        return torch.softmax(s, dim=-1)
    e = (s - s.amax(dim=-1, keepdim=True)).clamp_(min=EXP_FLOOR).exp_()
    return e.div_(e.sum(dim=-1, keepdim=True))


class Saved(NamedTuple):
    """What the backward pass needs from a forward pass (R runs, B samples, L tokens).

    tokens, proj and weights are None when the forward pass started from Attn(X) (fixed
    attention: `readout`); the gradient of W_Q, W_K, W_V needs them."""

    attended: torch.Tensor  # (R, B*L, d) Attn(X)
    active: torch.Tensor  # (R, B, L, m) bool: |pre-activation| > b, where BReLU has slope 1
    tokens: torch.Tensor | None = None  # (R, B*L, d) the input x
    proj: torch.Tensor | None = None  # (R*B, L, 3d) x W_Q^T | x W_K^T | x W_V^T
    weights: torch.Tensor | None = None  # (R*B, L, L) softmax attention weights


def _attend(x: torch.Tensor, qkv: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """x (R, B, L, d), qkv (R, 3d, d) -> tokens, proj, weights, attended (shapes as in Saved)."""
    R, B, L, d = x.shape
    tokens = x.reshape(R, B * L, d)
    proj = torch.bmm(tokens, qkv.transpose(1, 2)).view(R * B, L, 3 * d)  # one product for Q, K, V
    q, k, v = proj[..., :d], proj[..., d : 2 * d], proj[..., 2 * d :]  # each (R*B, L, d)
    weights = softmax_rows(torch.bmm(q, k.transpose(1, 2)))  # (R*B, L, L)
    attended = torch.bmm(weights, v).view(R, B * L, d)
    return tokens, proj, weights, attended


def is_identity(qkv: torch.Tensor) -> bool:
    """Whether W_Q = W_K = W_V = I in every run. qkv (R, 3d, d)."""
    d = qkv.shape[-1]
    eye = torch.eye(d, dtype=qkv.dtype, device=qkv.device)
    return bool(torch.equal(qkv, eye.repeat(3, 1).expand_as(qkv)))


def attention(x: torch.Tensor, qkv: torch.Tensor) -> torch.Tensor:
    """Single-head softmax self-attention. x (R, ..., L, d), qkv (R, 3d, d) -> x's shape.

    Every dim between the runs and the tokens is a batch dim (a block of steps' batches is
    (R, S, B, L, d)). With W_Q = W_K = W_V = I (the paper's fixed attention) the three
    projections are the tokens themselves, x I^T = x exactly, so they are not formed:
    Attn(X) = softmax(X X^T) X.
    """
    R, L, d = x.shape[0], x.shape[-2], x.shape[-1]
    if not is_identity(qkv):
        return _attend(x.reshape(R, -1, L, d), qkv)[3].view(x.shape)
    t = x.reshape(-1, L, d)  # (R*N, L, d)
    weights = softmax_rows(torch.bmm(t, t.transpose(1, 2)))  # (R*N, L, L)
    return torch.bmm(weights, t).view(x.shape)


def readout(
    params: Params, attended: torch.Tensor, bias: torch.Tensor | float, keep: bool = False
) -> tuple[torch.Tensor, Saved | None]:
    """The neurons on given attention outputs: f (R, B, m) and, with keep, what `backward`
    needs. attended (R, B, L, d) is Attn(X); bias a float or (R, m)."""
    R, B, L, d = attended.shape
    flat = attended.reshape(R, B * L, d)
    pre = torch.bmm(flat, masked(params)["w"].transpose(1, 2))  # (R, B*L, m)
    if isinstance(bias, torch.Tensor):
        bias = bias[:, None, :]  # (R, 1, m)
    h = brelu(pre, bias).view(R, B, L, -1)  # (R, B, L, m)
    # h != 0 exactly where |pre| > b (gradual underflow keeps pre - b nonzero for pre != b).
    saved = Saved(flat, h != 0) if keep else None
    return h.sum(dim=2), saved


def forward(
    params: Params, x: torch.Tensor, bias: torch.Tensor | float, keep: bool = False
) -> tuple[torch.Tensor, Saved | None]:
    """f(X) and, with keep, the activations for `backward`. x (R, B, L, d) -> (R, B, m).

    bias is a float or one threshold per run and neuron, (R, m).
    """
    tokens, proj, weights, attended = _attend(x, params["qkv"])
    f, saved = readout(params, attended.view(x.shape), bias, keep)
    if saved is not None:
        saved = saved._replace(tokens=tokens, proj=proj, weights=weights)
    return f, saved


def encode(params: Params, x: torch.Tensor, bias: torch.Tensor | float) -> torch.Tensor:
    """f(X) = (h_1 .. h_m). x (R, B, L, d) -> (R, B, m); bias a float or (R, m)."""
    return forward(params, x, bias)[0]


def backward(params: Params, saved: Saved, df: torch.Tensor, attention_grad: bool = True) -> Params:
    """Gradients of sum(f * df) with respect to the parameters, written out by hand.

    df (R, B, m) is dLoss/df of the forward pass that produced `saved`. Returns "w" (R, m, d)
    and, with attention_grad, "qkv" (R, 3d, d) (then `saved` must come from `forward`, not
    `readout`). Autograd checks it in tests/test_model.py; by hand, no graph is built and no
    gradient is formed that the update does not use.
    """
    attended, active, tokens, proj, weights = saved
    params = masked(params)
    R, BL, d = attended.shape
    B, m = df.shape[1], df.shape[2]
    # Every token's neuron gets its sample's df_i, gated by the BReLU slope (0 or 1).
    dpre = (df[:, :, None, :] * active).view(R, BL, m)  # (R, B*L, m)
    grads = {"w": torch.bmm(dpre.transpose(1, 2), attended)}  # (R, m, d)
    if not attention_grad:
        return grads
    if tokens is None or proj is None or weights is None:
        raise ValueError("the attention gradient needs the forward pass's tokens (forward)")
    dattended = torch.bmm(dpre, params["w"]).view(R * B, BL // B, d)  # (R*B, L, d)
    q, k, v = proj[..., :d], proj[..., d : 2 * d], proj[..., 2 * d :]
    dv = torch.bmm(weights.transpose(1, 2), dattended)  # (R*B, L, d)
    dweights = torch.bmm(dattended, v.transpose(1, 2))  # (R*B, L, L)
    # Softmax backward, row by row: dS = A * (dA - <dA, A>).
    dscores = weights * (dweights - (dweights * weights).sum(dim=-1, keepdim=True))
    dq = torch.bmm(dscores, k)  # (R*B, L, d)
    dk = torch.bmm(dscores.transpose(1, 2), q)  # (R*B, L, d)
    # d W_{Q,K,V} = d{q,k,v}^T x, one (R, d, d) product each rather than concatenating
    # the (R, B*L, 3d) gradient of the projections first.
    grads["qkv"] = torch.cat(
        [torch.bmm(g.view(R, BL, d).transpose(1, 2), tokens) for g in (dq, dk, dv)], dim=1
    )
    return grads


def value_matrix(params: Params) -> torch.Tensor:
    """W_V, (R, d, d)."""
    d = params["qkv"].shape[-1]
    return params["qkv"][:, 2 * d :, :]


def effective_directions(params: Params) -> torch.Tensor:
    """u_i = W_V^T w_i for every neuron: (R, m, d), of the masked weights where params carry
    a forward mask (entries pruned by a frozen mask are already zero)."""
    return masked(params)["w"] @ value_matrix(params)
