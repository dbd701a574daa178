"""The sparse-coding data model: imbalanced features, tokens, positive pairs.

A sample is L tokens in R^d. Token r of a sample is

    x_r = sum_j z_rj M_j + xi_r,     z_rj in {-1, 0, +1},   xi_r ~ N(0, noise_std^2 I_d)

where M (d x K) has orthonormal columns (the features) and each feature j is active in a
token independently with probability p_j, with a random sign. The first `n_majority`
features form the majority group with p_j = p_majority; the others, the minority group,
have p_j = p_majority / imbalance_ratio. rho = 1 is the balanced control.

Positive pairs share the latent z and differ in their corruption: `view = noise` redraws the
Gaussian noise for each view; `view = mask` (Wen & Li 2021) applies complementary random
coordinate masks, scaled by 2, to one noisy token matrix.

Randomness is drawn in blocks of steps. Block b of a run comes from its own generator, seeded
by (run seed, b): a run can resume at any step, and a run gives the same stream whether it
trains alone or beside others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from imbcl.config import DataConfig

# Stream tags keep the seeds of unrelated random draws apart.
_DICTIONARY, _EVAL, _TRAIN, _INIT = 11, 13, 17, 19


def generator(*key: int) -> torch.Generator:
    """A torch generator seeded from a tuple of integers (via numpy's SeedSequence)."""
    state = np.random.SeedSequence([int(k) for k in key]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


@dataclass(frozen=True)
class Dictionary:
    """The feature dictionary and its groups."""

    M: np.ndarray  # (d, K) orthonormal columns
    majority: np.ndarray  # (K,) bool: True for the majority group

    @property
    def minority(self) -> np.ndarray:
        return ~self.majority


def make_dictionary(cfg: DataConfig, seed: int) -> Dictionary:
    """M = the first K coordinate axes (`identity`) or a random orthonormal d x K matrix."""
    d, k = cfg.dim, cfg.n_features
    if cfg.basis == "identity":
        M = np.eye(d, k)
    else:
        g = generator(seed, _DICTIONARY)
        A = torch.randn(d, k, generator=g, dtype=torch.float64)
        Q, R = torch.linalg.qr(A)  # (d, K), sign-fixed so the draw is unique
        M = (Q * torch.sign(torch.diagonal(R))).numpy()
    majority = np.arange(k) < cfg.n_majority
    return Dictionary(M=M.astype(np.float32), majority=majority)


def feature_probs(cfg: DataConfig, imbalance_ratio: float) -> np.ndarray:
    """(K,) per-token activation probability of each feature."""
    p = np.full(cfg.n_features, cfg.p_majority, dtype=np.float64)
    p[cfg.n_majority :] /= imbalance_ratio
    return p


def sample_latent(probs: torch.Tensor, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """Signed sparse codes z of shape (*shape, K) with P(z_j != 0) = probs[j]."""
    # One uniform draw u per entry decides both: active when u < p, and then u < p/2 (an
    # event of probability 1/2 given activity) picks the sign.
    u = torch.rand((*shape, probs.shape[-1]), generator=g)
    plus, minus = torch.ones(()), -torch.ones(())
    return torch.where(u < probs / 2, plus, torch.where(u < probs, minus, 0.0))


def make_views(
    z: torch.Tensor,
    M: torch.Tensor,
    cfg: DataConfig,
    g: torch.Generator,
    out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two corrupted views of the latent z (..., L, K) -> two (..., L, d) token matrices.

    `out` lets a caller have the views written straight into its own buffers.
    """
    clean = z @ M.T  # (..., L, d)
    x1, x2 = out if out is not None else (torch.empty_like(clean), torch.empty_like(clean))
    if cfg.view == "noise":
        for x in (x1, x2):  # x = noise_std * N(0, 1) + clean, drawn in place
            torch.randn(clean.shape, generator=g, out=x).mul_(cfg.noise_std).add_(clean)
        return x1, x2
    noisy = clean + cfg.noise_std * torch.randn(clean.shape, generator=g)
    mask_shape = (*clean.shape[:-2], 1, clean.shape[-1])  # one mask per sample, all tokens
    keep = (torch.rand(mask_shape, generator=g) < 0.5).to(clean.dtype)
    x1.copy_(2 * keep * noisy)
    x2.copy_(2 * (1 - keep) * noisy)
    return x1, x2


def sample_tokens(z: torch.Tensor, M: torch.Tensor, noise_std: float, g: torch.Generator):
    """One noisy token matrix (..., L, d) for the latent z (..., L, K)."""
    clean = z @ M.T
    return clean + noise_std * torch.randn(clean.shape, generator=g)


class RunStream:
    """Training batches of one run, drawn a block of steps at a time.

    Yields (x1, x2), each (batch, L, d), for steps start, start + 1, ... .
    """

    def __init__(
        self,
        cfg: DataConfig,
        M: np.ndarray,
        imbalance_ratio: float,
        run_seed: int,
        batch: int,
        block_steps: int,
    ):
        self.cfg = cfg
        self.M = torch.as_tensor(M)
        self.probs = torch.as_tensor(feature_probs(cfg, imbalance_ratio), dtype=torch.float32)
        self.run_seed = run_seed
        self.batch = batch
        self.block_steps = block_steps

    def block(
        self, b: int, out: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both views for the steps of block b: two (block_steps, batch, L, d) tensors."""
        g = generator(self.run_seed, _TRAIN, b)
        z = sample_latent(self.probs, (self.block_steps, self.batch, self.cfg.tokens), g)
        return make_views(z, self.M, self.cfg, g, out)


def stacked_steps(
    streams: list[RunStream], start: int, stop: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The runs' batches side by side: yields (x1, x2), each (R, B, L, d), for steps
    [start, stop).

    Each run writes its block of steps straight into its slice of one reused buffer
    (R, S, B, L, d), so stacking the runs costs no copy; a step's batch is a view, valid
    until the next one is drawn.
    """
    first = streams[0]
    S = first.block_steps
    shape = (len(streams), S, first.batch, first.cfg.tokens, first.cfg.dim)
    buf1, buf2 = torch.empty(shape), torch.empty(shape)
    b, offset = divmod(start, S)
    step = start
    while step < stop:
        for r, stream in enumerate(streams):
            stream.block(b, out=(buf1[r], buf2[r]))
        for i in range(offset, min(S, offset + stop - step)):
            yield buf1[:, i], buf2[:, i]
        step += S - offset
        b, offset = b + 1, 0


def eval_set(cfg: DataConfig, M: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """A balanced held-out set (rho = 1) for probes: tokens and which features are present.

    Returns x (n, L, d) float32, z (n, L, K) int8 and present (n, K) bool.
    """
    g = generator(seed, _EVAL)
    probs = torch.as_tensor(feature_probs(cfg, 1.0), dtype=torch.float32)
    z = sample_latent(probs, (cfg.eval_samples, cfg.tokens), g)
    x = sample_tokens(z, torch.as_tensor(M), cfg.noise_std, g)
    present = (z != 0).any(dim=1)
    return {
        "x": x.numpy().astype(np.float32),
        "z": z.numpy().astype(np.int8),
        "present": present.numpy(),
    }
