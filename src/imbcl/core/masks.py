"""One rule for how many units a pruning ratio removes, and one top-k mask, for every track.

The paper's Algorithm 1 masks "the fraction alpha of smallest-magnitude units": of n units,
floor(alpha * n) are removed and the rest kept. Ties in the scores are broken by position
(the lower index is kept first), so a mask is a function of the scores alone.
"""

from __future__ import annotations

import math

import torch

# alpha * n is computed in binary floating point: 0.29 * 100 = 28.999999999999996. A tolerance
# far below one unit keeps floor() from losing a unit to rounding.
_EPS = 1e-9


def n_pruned(n: int, ratio: float) -> int:
    """Units of n that ratio removes: floor(ratio * n), in [0, n]. ratio in [0, 1]."""
    return max(0, min(n, math.floor(ratio * n + _EPS)))


def keep_top(scores: torch.Tensor, n_keep: int, dim: int = -1) -> torch.Tensor:
    """0/1 mask of `scores`' shape keeping the n_keep largest along `dim` (ties: lower index).

    scores (..., n, ...) float; returns a tensor of the same dtype and shape.
    """
    order = torch.argsort(scores, dim=dim, descending=True, stable=True)
    kept = order.narrow(dim, 0, n_keep)
    return torch.zeros_like(scores).scatter_(dim, kept, 1.0)
