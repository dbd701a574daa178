"""A small Vision Transformer for tiny images, SimCLR views, NT-Xent, and neuron masks.

Encoder: non-overlapping p x p patches -> linear embedding + learned positions -> `depth`
pre-LayerNorm blocks (multi-head self-attention, then an MLP of `mlp_neurons` GELU neurons)
-> final LayerNorm -> mean over tokens = the representation f(x) the probe reads. A 2-layer
projection head maps f(x) to the space where the contrastive loss is computed (SimCLR).

The MLP neurons are the rows of each block's `fc1.weight` (mlp_neurons, embed_dim): neuron i
reads the token through w_i, the analogue of the synthetic model's neuron weights. A mask
per block acts on these neurons only, in the forward pass (`forward(x, masks)`), so that the
weights themselves stay whole (the paper's Algorithm 1, and SDCLR's pruned branch):
- a neuron mask (mlp_neurons,) multiplies the neurons' activations: a masked neuron adds
  nothing to the block's output;
- an entry mask (mlp_neurons, embed_dim) multiplies fc1's weights.
With `dense` (`real.masked_grad: dense`, the word of the synthetic track's `prune.masked_grad`)
the forward pass is masked and the mask's backward pass is the identity: a masked unit gets
the gradient it would get if present (loss-side gradients from the masked forward pass);
with `exact` the gradient of a masked weight is exactly zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from imbcl.core.masks import keep_top, n_pruned
from imbcl.longtail.params import RealParams


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, neurons: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        # no bias: a key bias adds the same score to a query's every key, so softmax removes
        # it and its gradient is pure rounding noise, which Adam would turn into steps
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, neurons)  # rows = MLP neurons w_i
        self.fc2 = nn.Linear(neurons, dim)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None, dense: bool = False
    ) -> torch.Tensor:
        B, T, D = h.shape  # h (B, T, D)
        q, k, v = self.qkv(self.ln1(h)).view(B, T, 3, self.heads, D // self.heads).unbind(2)
        a = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        )  # (B, heads, T, D / heads)
        h = h + self.out(a.transpose(1, 2).reshape(B, T, D))
        w1 = self.fc1.weight  # (neurons, D)
        if mask is not None and mask.dim() == 2:  # entries
            w1 = masked(w1, mask, dense)
        act = F.gelu(F.linear(self.ln2(h), w1, self.fc1.bias))  # (B, T, neurons)
        if mask is not None and mask.dim() == 1:  # whole neurons
            act = masked(act, mask, dense)
        return h + self.fc2(act)


def masked(t: torch.Tensor, mask: torch.Tensor, dense: bool) -> torch.Tensor:
    """t * mask in the forward pass; the backward pass is mask-weighted (exact) or the
    identity (dense: the gradient reaches t as if nothing were masked)."""
    if dense:
        return t + (t * mask - t).detach()
    return t * mask


class ViT(nn.Module):
    def __init__(self, channels: int, side: int, cfg: RealParams) -> None:
        super().__init__()
        if side % cfg.patch:
            raise ValueError(f"real.patch = {cfg.patch} must divide the image side {side}")
        tokens = (side // cfg.patch) ** 2
        self.patch = cfg.patch
        self.embed = nn.Linear(channels * cfg.patch**2, cfg.embed_dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, tokens, cfg.embed_dim))
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.heads, cfg.mlp_neurons) for _ in range(cfg.depth)
        )
        self.ln = nn.LayerNorm(cfg.embed_dim)
        self.head = nn.Sequential(
            nn.Linear(cfg.embed_dim, cfg.embed_dim),
            nn.ReLU(),
            nn.Linear(cfg.embed_dim, cfg.proj_dim),
        )

    def features(
        self,
        x: torch.Tensor,
        masks: list[torch.Tensor] | None = None,
        dense: bool = False,
    ) -> torch.Tensor:
        """x (B, C, H, W) normalised pixels -> f(x) (B, embed_dim), before the head."""
        p = self.patch
        patches = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)  # (B, T, C p p)
        h = self.embed(patches) + self.pos  # (B, T, D)
        for k, block in enumerate(self.blocks):
            h = block(h, None if masks is None else masks[k], dense)
        return self.ln(h).mean(dim=1)

    def forward(
        self,
        x: torch.Tensor,
        masks: list[torch.Tensor] | None = None,
        dense: bool = False,
    ) -> torch.Tensor:
        """x (B, C, H, W) -> projection z (B, proj_dim), the input of the loss."""
        return self.head(self.features(x, masks, dense))


def neuron_weights(model: ViT) -> list[torch.Tensor]:
    """Each block's MLP neuron weights fc1.weight (mlp_neurons, embed_dim)."""
    blocks: list[Block] = list(model.blocks)  # type: ignore[arg-type]
    return [b.fc1.weight for b in blocks]


# --- SimCLR views for tiny images ----------------------------------------------------------


def views(
    x: torch.Tensor, cfg: RealParams, gen: torch.Generator, fill: torch.Tensor | None = None
) -> torch.Tensor:
    """One random view per image. x (B, C, H, W) normalised -> (B, C, H, W).

    A random affine map per image (rotation up to `rotate` degrees, zoom by a factor in
    [1 - scale, 1 + scale], translation up to `shift` pixels each way; bilinear, the area
    outside the image filled with `fill` (C,), the normalised value of a black pixel, else
    0), a horizontal flip with probability 1/2 when `flip`, Gaussian pixel noise of std
    `noise_std`, and a random `mask_patches` share of the patch grid set to zero. Flips are
    off for digits (a mirrored 2 is no digit). All draws come from `gen` (on the CPU), so a
    batch's views do not depend on the device or on how the batch is later split over
    processes.
    """
    B, C, H, W = x.shape
    if cfg.shift or cfg.rotate or cfg.scale:
        angle = (2 * torch.rand(B, generator=gen) - 1) * math.radians(cfg.rotate)
        zoom = 1 + (2 * torch.rand(B, generator=gen) - 1) * cfg.scale
        move = (2 * torch.rand(B, 2, generator=gen) - 1) * cfg.shift
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(  # (B, 2, 3): output -> input coordinates in [-1, 1]
            [
                torch.stack([cos, -sin, 2 * move[:, 0] / W], dim=1),
                torch.stack([sin, cos, 2 * move[:, 1] / H], dim=1),
            ],
            dim=1,
        ).to(x.device, x.dtype)
        grid = F.affine_grid(theta, [B, C, H, W], align_corners=False)
        base = (
            torch.zeros(1, C, 1, 1, device=x.device, dtype=x.dtype)
            if fill is None
            else fill.to(x.device, x.dtype).view(1, C, 1, 1)
        )
        x = F.grid_sample(x - base, grid, mode="bilinear", align_corners=False) + base
    if cfg.flip:
        flip = (torch.rand(B, generator=gen) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if cfg.noise_std > 0:
        x = x + cfg.noise_std * torch.randn(x.shape, generator=gen).to(x.device)
    if cfg.mask_patches > 0:
        gh, gw = H // cfg.patch, W // cfg.patch
        keep = (torch.rand(B, 1, gh, gw, generator=gen) >= cfg.mask_patches).to(x.dtype)
        keep = keep.repeat_interleave(cfg.patch, 2).repeat_interleave(cfg.patch, 3)
        x = x * keep.to(x.device)
    return x


# --- NT-Xent ---------------------------------------------------------------------------------


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent loss of N positive pairs (z1[a], z2[a]); z1, z2 (N, p) -> scalar.

    The 2N projections are L2-normalised; s_ab = cos(z_a, z_b) / tau. Each of the 2N views is
    an anchor whose positive is its pair and whose 2N - 2 negatives are all other views
    (self-similarity excluded):

        loss = (1 / 2N) sum_a -log( exp(s_a,pos(a)) / sum_{b != a} exp(s_ab) )

    i.e. the *mean* over all 2N anchors, both directions (lightly's normalisation; SimCLR's
    reference code reports twice this value, the sum of the two directions' means).
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, p)
    n = len(z1)
    logits = z @ z.T / temperature  # (2N, 2N)
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -torch.inf)
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)  # (2N,)
    return F.cross_entropy(logits, positive)


# --- neuron masks ----------------------------------------------------------------------------


def prune_mask(scores: torch.Tensor, ratio: float, granularity: str) -> torch.Tensor:
    """0/1 mask of `scores` (neurons, D) pruning a `ratio` share of its entries.

    global: floor(ratio * neurons * D) entries of the whole matrix; neuron: within each row
    (each neuron keeps its largest input weights); input: within each column (each input
    coordinate keeps the neurons that read it most strongly). The count is
    `core.masks.n_pruned` and ties go to the lower index (`core.masks.keep_top`), the rule of
    every track, so masks are exact.
    """
    if granularity == "global":
        flat = scores.flatten()
        return keep_top(flat, flat.numel() - n_pruned(flat.numel(), ratio)).view_as(scores)
    dim = {"neuron": 1, "input": 0}[granularity]
    n = scores.shape[dim]
    return keep_top(scores, n - n_pruned(n, ratio), dim=dim)


def unit_mask(scores: torch.Tensor, cfg: RealParams, ratio: float) -> torch.Tensor:
    """The mask of one block from per-entry scores (neurons, D), larger = kept.

    prune_unit neuron: a (neurons,) mask leaving out the floor(ratio * neurons) neurons of
    smallest row norm of the scores; entry: a (neurons, D) mask at `prune_granularity`.
    """
    if cfg.prune_unit == "neuron":
        norms = scores.norm(dim=1)  # (neurons,)
        return keep_top(norms, len(norms) - n_pruned(len(norms), ratio))
    return prune_mask(scores, ratio, cfg.prune_granularity)


def magnitude_masks(
    model: ViT, cfg: RealParams, ratio: float | None = None, unit: str | None = None
) -> list[torch.Tensor]:
    """Per block, the mask keeping the MLP units of largest magnitude (float, 1 = kept):
    neurons by ||w_i||, or entries by |w_ij| (`unit` overrides cfg.prune_unit)."""
    ratio = cfg.prune_alpha if ratio is None else ratio
    if unit is not None:
        cfg = cfg.model_copy(update={"prune_unit": unit})
    return [unit_mask(w.detach().abs(), cfg, ratio).to(w.dtype) for w in neuron_weights(model)]


def random_masks(model: ViT, cfg: RealParams, gen: torch.Generator) -> list[torch.Tensor]:
    """The control: same units, shapes and kept count, the units chosen at random (uniform
    scores drawn from `gen`, a fresh draw at each call)."""
    return [
        unit_mask(torch.rand(w.shape, generator=gen).to(w.device), cfg, cfg.prune_alpha).to(w.dtype)
        for w in neuron_weights(model)
    ]
