"""The Transformer-MLP encoder, with a leading run dimension R on every parameter.

One layer of single-head softmax self-attention followed by m neurons with a bilateral ReLU,
summed over tokens:

    Attn(X) = softmax(X W_Q^T (X W_K^T)^T) X W_V^T                       (L, d)
    h_i(X)  = sum_r BReLU_b( <w_i, Attn(X)_r> ),  BReLU_b(s) = ReLU(s - b) - ReLU(-s - b)

As in the paper's formula there is no 1/sqrt(d) scaling of the scores. All R runs of a sweep
that share shapes are one set of stacked tensors, so one run alone is the case R = 1 and
the batched path is the only path. W_Q, W_K and W_V live in one (R, 3d, d) tensor so the
three projections are one matrix product.
"""

from __future__ import annotations

import math

import torch

from imbcl.config import ModelConfig
from imbcl.data import _INIT, generator

Params = dict[str, torch.Tensor]  # "qkv": (R, 3d, d), "w": (R, m, d)


def brelu(s: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """Bilateral ReLU: zero on [-b, b], s - b above, s + b below (odd in s).

    Written as s - clamp(s, -b, b), which equals ReLU(s - b) - ReLU(-s - b) exactly in
    floating point and costs two elementwise passes instead of five.
    """
    if isinstance(b, torch.Tensor):
        return s - torch.maximum(torch.minimum(s, b), -b)
    return s - s.clamp(-b, b)


def init_params(cfg: ModelConfig, dim: int, run_seeds: list[int]) -> Params:
    """Stacked initial parameters, one slice per run, each from that run's own seed."""
    qkv, w = [], []
    for seed in run_seeds:
        g = generator(seed, _INIT)
        wq = cfg.attn_init_std * torch.randn(dim, dim, generator=g)
        wk = cfg.attn_init_std * torch.randn(dim, dim, generator=g)
        wv = torch.eye(dim)  # the value map starts as the identity: u_i = w_i at init
        qkv.append(torch.cat([wq, wk, wv], dim=0))  # (3d, d)
        w.append(cfg.init_std / math.sqrt(dim) * torch.randn(cfg.width, dim, generator=g))
    return {"qkv": torch.stack(qkv), "w": torch.stack(w)}


def bias_at(cfg: ModelConfig, step: int) -> float:
    """The BReLU threshold b(t) at a training step."""
    if cfg.bias_schedule == "constant":
        return cfg.bias_final
    return cfg.bias_final * min(1.0, step / cfg.bias_ramp_steps)


def attention(x: torch.Tensor, qkv: torch.Tensor) -> torch.Tensor:
    """Single-head softmax self-attention. x (R, B, L, d), qkv (R, 3d, d) -> (R, B, L, d)."""
    R, B, L, d = x.shape
    proj = torch.bmm(x.reshape(R, B * L, d), qkv.transpose(1, 2))  # (R, B*L, 3d)
    q, k, v = proj.view(R, B, L, 3, d).unbind(dim=3)  # each (R, B, L, d)
    scores = q @ k.transpose(-1, -2)  # (R, B, L, L)
    return torch.softmax(scores, dim=-1) @ v  # (R, B, L, d)


def encode(params: Params, x: torch.Tensor, bias: torch.Tensor | float) -> torch.Tensor:
    """f(X) = (h_1 .. h_m). x (R, B, L, d) -> (R, B, m); bias a float or (R, m)."""
    a = attention(x, params["qkv"])  # (R, B, L, d)
    R, B, L, d = a.shape
    pre = torch.bmm(a.reshape(R, B * L, d), params["w"].transpose(1, 2))  # (R, B*L, m)
    if isinstance(bias, torch.Tensor):
        bias = bias[:, None, :]  # (R, 1, m)
    return brelu(pre, bias).view(R, B, L, -1).sum(dim=2)  # (R, B, m)


def value_matrix(params: Params) -> torch.Tensor:
    """W_V, (R, d, d)."""
    d = params["qkv"].shape[-1]
    return params["qkv"][:, 2 * d :, :]


def effective_directions(params: Params) -> torch.Tensor:
    """u_i = W_V^T w_i for every neuron: (R, m, d). Pruned entries of w are already zero."""
    return params["w"] @ value_matrix(params)
