"""Pruning masks on the neuron weights w, from scores, at one of five granularities.

A mask is a 0/1 tensor shaped like the neuron weights w (R, m, d). Every method prunes the
same share of its unit, by the one rule of imbcl.core.masks: of n units, floor(ratio * n)
are pruned and the rest kept (ties: the lower index is kept):

    magnitude_global        the largest |w_ij| among all m*d entries of a run
    magnitude_neuron        the largest |w_ij| within each neuron i (each row keeps the same)
    magnitude_input         the largest |w_ij| within each input coordinate j: each coordinate
                            keeps only its largest-magnitude neurons
    magnitude_neuron_whole  the neurons of largest norm ||w_i||; the others lose every entry
    random                  uniform entries among all m*d (unstructured)

The random *control* of a variant draws scores at random at the variant's own granularity
(same number kept per neuron / per coordinate / whole neurons), so the only difference from
the magnitude mask is which entries survive, not how many per unit.
"""

from __future__ import annotations

import torch

from imbcl.core.masks import keep_top, n_pruned
from imbcl.synthetic.data import generator

GRANULARITY = {
    "magnitude_global": "global",
    "magnitude_neuron": "neuron",
    "magnitude_input": "input",
    "magnitude_neuron_whole": "neuron_whole",
    "random": "global",
}
MAGNITUDE = tuple(m for m in GRANULARITY if m.startswith("magnitude_"))
_RANDOM_MASK = 23  # stream tag of the random-control masks (see imbcl.synthetic.data)


def mask_from_scores(scores: torch.Tensor, granularity: str, ratio: float) -> torch.Tensor:
    """Keep the top 1 - ratio of `scores` (R, m, d) within each unit of `granularity`.

    For `neuron_whole` the scores are per neuron, (R, m), and the mask is (R, m, 1).
    """
    if granularity == "neuron_whole":
        R, m = scores.shape
        return keep_top(scores, m - n_pruned(m, ratio))[..., None]  # (R, m, 1), broadcast on d
    R, m, d = scores.shape
    if granularity == "global":
        flat = keep_top(scores.reshape(R, m * d), m * d - n_pruned(m * d, ratio))
        return flat.reshape(R, m, d)
    if granularity == "neuron":
        return keep_top(scores, d - n_pruned(d, ratio), dim=2)  # rows of d entries
    if granularity == "input":
        return keep_top(scores, m - n_pruned(m, ratio), dim=1)  # columns of m neurons
    raise ValueError(f"unknown granularity {granularity!r}")


def magnitude_mask(w: torch.Tensor, method: str, ratio: float) -> torch.Tensor:
    """Magnitude mask (R, m, d) of `method` on the neuron weights w (R, m, d)."""
    granularity = GRANULARITY[method]
    scores = w.norm(dim=-1) if granularity == "neuron_whole" else w.abs()
    return mask_from_scores(scores, granularity, ratio).expand_as(w).contiguous()


def random_mask(
    shape: tuple[int, int, int], method: str, ratio: float, keys: list[tuple[int, ...]]
) -> torch.Tensor:
    """Random mask (R, m, d) at the granularity of `method`; run r draws from keys[r]."""
    R, m, d = shape
    granularity = GRANULARITY[method]
    unit = (m,) if granularity == "neuron_whole" else (m, d)
    scores = torch.stack([torch.rand(unit, generator=generator(*k, _RANDOM_MASK)) for k in keys])
    return mask_from_scores(scores, granularity, ratio).expand(R, m, d).contiguous()
