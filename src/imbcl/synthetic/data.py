"""The sparse-coding data model: imbalanced features, tokens, positive pairs.

A sample is L tokens in R^d. Token r of a sample is

    x_r = sum_j z_rj M_j + xi_r,     z_rj in {-1, 0, +1},   xi_r ~ N(0, noise_std^2 I_d)

where M (d x K) has orthonormal columns (the features) and each feature j is active in a
token independently with probability p_j, with a random sign. The first `n_majority`
features form the majority group with p_j = p_majority; the others, the minority group,
have p_j = p_majority / imbalance_ratio. rho = 1 is the balanced control.

Two scales for p_majority and noise_std (`data.frequency`, `data.noise`): `fixed` takes them
as given; `paper` follows the orders of the paper's Assumption 3.1, in which d is the number
of features (our K = n_features; the ambient dimension d1 is our `dim`):

    p_j      ~ eps_j log log d / d        ->  p_maj = frequency_scale * log log K / K
    sigma^2  ~ sqrt(log d) / d            ->  noise_std^2 = noise_scale * sqrt(log K) / K

with eps_max / eps_min = rho, so p_min = p_maj / rho as in the fixed scale. At the default
K = 20, p_maj = 0.055 and noise_std = 0.294 (scales 1).

Positive pairs share the latent z and differ in their corruption: `view = noise` redraws the
Gaussian noise for each view; `view = mask` (Wen & Li 2021) applies complementary random
coordinate masks, scaled by 2, to one noisy token matrix.

Randomness is drawn in blocks of steps. Block b of a run comes from its own generator, seeded
by (run seed, b): a run can resume at any step, and a run gives the same stream whether it
trains alone or beside others.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from imbcl.core.runtime import parallel_map
from imbcl.synthetic.params import DataParams

# Stream tags keep the seeds of unrelated random draws apart.
_DICTIONARY, _EVAL, _TRAIN, INIT_STREAM, MASK_STREAM, _HELDOUT = 11, 13, 17, 19, 23, 29


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


def make_dictionary(cfg: DataParams, seed: int) -> Dictionary:
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


def p_majority(cfg: DataParams) -> float:
    """Per-token activation probability of a majority feature.

    fixed: data.p_majority. paper: frequency_scale * log log K / K (Assumption 3.1, p_j of
    order eps_j log log d / d with d the number of features).
    """
    if cfg.frequency == "fixed":
        return cfg.p_majority
    k = cfg.n_features
    return cfg.frequency_scale * math.log(math.log(k)) / k


def noise_std(cfg: DataParams) -> float:
    """Per-coordinate std of the Gaussian token noise.

    fixed: data.noise_std. paper: sqrt(noise_scale * sqrt(log K) / K) (Assumption 3.1,
    sigma^2 of order sqrt(log d) / d with d the number of features).
    """
    if cfg.noise == "fixed":
        return cfg.noise_std
    k = cfg.n_features
    return math.sqrt(cfg.noise_scale * math.sqrt(math.log(k)) / k)


def feature_probs(cfg: DataParams, imbalance_ratio: float) -> np.ndarray:
    """(K,) per-token activation probability of each feature: p_maj, then p_maj / rho."""
    p = np.full(cfg.n_features, p_majority(cfg), dtype=np.float64)
    p[cfg.n_majority :] /= imbalance_ratio
    return p


def sample_latent(probs: torch.Tensor, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """Signed sparse codes z of shape (*shape, K) with P(z_j != 0) = probs[j]."""
    # One uniform draw u per entry decides both: active when u < p, and then u < p/2 (an
    # event of probability 1/2 given activity) picks the sign.
    return latent_from_uniform(torch.rand((*shape, probs.shape[-1]), generator=g), probs)


def latent_from_uniform(u: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """The signed codes for given uniforms u (..., K); probs (K,) or broadcast against u."""
    plus, minus = torch.ones(()), -torch.ones(())
    return torch.where(u < probs / 2, plus, torch.where(u < probs, minus, 0.0))


def sample_tokens(z: torch.Tensor, M: torch.Tensor, noise_std: float, g: torch.Generator):
    """One noisy token matrix (..., L, d) for the latent z (..., L, K)."""
    clean = z @ M.T
    return clean + noise_std * torch.randn(clean.shape, generator=g)


class RunStream:
    """Training batches of one run, drawn a block of steps at a time.

    A block's random numbers come from the generator (run seed, block) in a fixed order:
    the latent uniforms (S, B, L, K), then the standard normals of view 1 (S, B, L, d), then
    those of view 2 (`view = noise`) or the mask uniforms (S, B, 1, d) (`view = mask`).
    """

    def __init__(
        self,
        cfg: DataParams,
        M: np.ndarray,
        imbalance_ratio: float,
        run_seed: int,
        batch: int,
        block_steps: int,
        stream: int = _TRAIN,
    ):
        self.cfg = cfg
        self.M = torch.as_tensor(M)
        self.probs = torch.as_tensor(feature_probs(cfg, imbalance_ratio), dtype=torch.float32)
        self.run_seed = run_seed
        self.batch = batch
        self.block_steps = block_steps
        self.stream = stream  # a tag keeping e.g. held-out pairs apart from training batches

    def draw(self, b: int, u: torch.Tensor, n1: torch.Tensor, n2: torch.Tensor) -> None:
        """Block b's random numbers, written into the caller's buffers in stream order."""
        g = generator(self.run_seed, self.stream, b)
        torch.rand(u.shape, generator=g, out=u)
        torch.randn(n1.shape, generator=g, out=n1)
        if self.cfg.view == "noise":
            torch.randn(n2.shape, generator=g, out=n2)
        else:
            torch.rand(n2.shape, generator=g, out=n2)


def _is_axes(M: torch.Tensor) -> bool:
    """True when M is the first K coordinate axes, so z @ M^T just places z in front."""
    return bool(torch.equal(M, torch.eye(*M.shape)))


def _add_clean(x: torch.Tensor, z: torch.Tensor, M: torch.Tensor, axes: bool) -> torch.Tensor:
    """x += z M^T in place; with the identity basis, adding z to the first K coordinates
    gives the same numbers without the product."""
    if axes:
        x[..., : M.shape[1]].add_(z)
    else:
        x.add_(z @ M.T)
    return x


# Views are formed, and consumers work on them, a few steps at a time: about this many bytes
# of one view's tokens for all runs, so a chunk stays in cache between the passes over it.
CHUNK_BYTES = 2 << 20


def chunk_steps(per_step: torch.Tensor) -> int:
    """How many steps of tensors like `per_step` (one step's worth) fit CHUNK_BYTES (>= 1)."""
    return max(1, CHUNK_BYTES // (per_step.numel() * per_step.element_size()))


def stacked_blocks(
    streams: list[RunStream], start: int, stop: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The runs' batches side by side, a few steps at a time: yields (x1, x2), each
    (R, n, B, L, d), the next n consecutive steps in [start, stop), n at most a chunk
    (`chunk_steps`) and never crossing a block. The streams share one DataParams and M;
    each keeps its own generator.

    Per block, every run draws its random numbers into its slice of reused stacked buffers
    (generators are sequential, so the runs draw on parallel threads); the views are then
    formed a chunk at a time for all runs, by whole-chunk operations on all cores. The
    yielded tensors are views into the buffers, valid until the next chunk is drawn. A
    run's numbers are the same whether it is drawn alone or beside others.
    """
    first = streams[0]
    cfg, M, R, S = first.cfg, first.M, len(streams), first.block_steps
    K, d = M.shape[1], cfg.dim
    lead = (R, S, first.batch, cfg.tokens)  # (R, S, B, L)
    u = torch.empty((*lead, K))
    x1, x2 = torch.empty((*lead, d)), torch.empty((*lead, d))
    mask_u = torch.empty((R, S, first.batch, 1, d)) if cfg.view == "mask" else x2
    probs = torch.stack([s.probs for s in streams]).view(R, 1, 1, 1, K)
    sigma = noise_std(cfg)
    axes = _is_axes(M)
    chunk = chunk_steps(x1[:, 0])
    b, offset = divmod(start, S)
    step = start
    while step < stop:
        parallel_map(lambda r: streams[r].draw(b, u[r], x1[r], mask_u[r]), range(R))  # noqa: B023
        end = min(S, offset + stop - step)
        for lo in range(offset, end, chunk):
            c = slice(lo, min(end, lo + chunk))
            z = latent_from_uniform(u[:, c], probs)  # (R, n, B, L, K)
            v1, v2 = x1[:, c], x2[:, c]
            if cfg.view == "noise":
                for x in (v1, v2):  # x = sigma * N(0, 1) + z M^T
                    _add_clean(x.mul_(sigma), z, M, axes)
            else:  # x1 = 2 keep (z M^T + noise), x2 = 2 (1 - keep) (z M^T + noise)
                noisy = _add_clean(v1.mul_(sigma), z, M, axes)
                keep = (mask_u[:, c] < 0.5).to(noisy.dtype)
                torch.mul(2 * (1 - keep), noisy, out=v2)
                noisy.mul_(2 * keep)
            yield v1, v2
        step += end - offset
        b, offset = b + 1, 0


def stacked_steps(
    streams: list[RunStream], start: int, stop: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The runs' batches side by side, one step at a time: yields (x1, x2), each
    (R, B, L, d), for steps [start, stop); views into `stacked_blocks`' buffers, valid until
    the next chunk is drawn."""
    for x1, x2 in stacked_blocks(streams, start, stop):
        for i in range(x1.shape[1]):
            yield x1[:, i], x2[:, i]


def eval_set(cfg: DataParams, M: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """A balanced held-out set (rho = 1) for probes: tokens, which features are present, and
    the signed token-summed latent.

    Returns x (n, L, d) float32, z (n, L, K) int8, present (n, K) bool and
    z_sum (n, K) int16: z_hat_j = sum_r z_rj, what an odd encoder can show linearly.
    """
    g = generator(seed, _EVAL)
    probs = torch.as_tensor(feature_probs(cfg, 1.0), dtype=torch.float32)
    z = sample_latent(probs, (cfg.eval_samples, cfg.tokens), g)  # (n, L, K)
    x = sample_tokens(z, torch.as_tensor(M), noise_std(cfg), g)  # (n, L, d)
    present = (z != 0).any(dim=1)  # (n, K)
    return {
        "x": x.numpy().astype(np.float32),
        "z": z.numpy().astype(np.int8),
        "present": present.numpy(),
        "z_sum": z.sum(dim=1).numpy().astype(np.int16),
    }


@dataclass(frozen=True)
class HeldoutPairs:
    """Held-out positive pairs in batches: the two views x1, x2 (n_batches, B, L, d) float32
    and the latent's signed token sums z_sum (n_batches, B, K) int16, which the oracle
    encoder reads (health.oracle_loss)."""

    x1: np.ndarray
    x2: np.ndarray
    z_sum: np.ndarray


def heldout_pairs(
    cfg: DataParams,
    M: np.ndarray,
    seed: int,
    batch: int,
    n_batches: int,
    imbalance_ratio: float = 1.0,
) -> HeldoutPairs:
    """Positive pairs at `imbalance_ratio` (1: balanced) drawn as the training views are, from
    a stream of their own (seed, held-out tag): for a held-out InfoNCE loss. Every ratio
    draws the same uniforms, so the pairs of two ratios differ only where a minority
    feature's activation probability does.
    """
    stream = RunStream(cfg, M, imbalance_ratio, seed, batch, n_batches, stream=_HELDOUT)
    views = [(a[0].clone(), b[0].clone()) for a, b in stacked_steps([stream], 0, n_batches)]
    x1 = torch.stack([a for a, _ in views])  # (n_batches, B, L, d)
    x2 = torch.stack([b for _, b in views])
    u = torch.empty((n_batches, batch, cfg.tokens, cfg.n_features))  # the same draw's uniforms
    stream.draw(0, u, torch.empty(x1.shape), torch.empty(x1.shape))
    z = latent_from_uniform(u, stream.probs)  # (n_batches, B, L, K)
    z_sum = z.sum(dim=2).numpy().astype(np.int16)
    return HeldoutPairs(x1.numpy(), x2.numpy(), z_sum)
