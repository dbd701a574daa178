"""Forward-only masks on the neuron weights: the paper's Algorithm 1.

Every `every` steps from step `start`, a 0/1 mask is recomputed from the current weights w
(R, m, d); the loss and its gradient are computed with w * mask, and the update

    w <- w - lr * (g + lambda * w)

is applied to *all* entries of w, the masked ones included (no retraining, no rewinding).
The mask leaves out floor(ratio * units) units (core.masks.n_pruned):

    unit = neuron   whole rows of w, the smallest ||w_i||              (units = m)
    unit = entry    single weights, the smallest |w_ij| over the matrix  (units = m * d)

`method = random` is the control: a fresh mask of the same count at every recomputation,
from the generator (run seed, MASK_STREAM, recomputation index), so a run draws the same
masks alone or stacked with others.

What the gradient g of a masked unit is, is a choice (`masked_grad`; the paper's text does
not settle it; the same key and words in the track `real`):

    exact   the exact gradient of the masked loss: 0 for a masked unit, so only the weight
            decay moves it. For a whole neuron this is forced anyway: its output is 0 in both
            branches, so the loss does not depend on its weights.
    dense   forward masked, backward unmasked (step.py): each neuron's gradient is that of
            the loss with its own row present at its dense weights w_i and every other unit
            as masked. A kept neuron gets its masked-loss gradient; a masked neuron the
            gradient it would get if present (pre-activation at w_i, outside the BReLU dead
            zone, its own logit included), so it can grow back into the kept set.

`method = random`, `redraw = False` is the matched control: a random mask of the same count,
drawn from the generator (run seed, MASK_STREAM, recomputation index) at the steps where the
magnitude mask is recomputed and fixed in between, so a run draws the same masks alone or
stacked with others. `redraw = True` ("dropout") draws a fresh one at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from imbcl.core.masks import keep_top, n_pruned
from imbcl.synthetic.data import MASK_STREAM, generator

METHODS = ("magnitude", "random")
UNITS = ("neuron", "entry")
MASKED_GRADS = ("exact", "dense")


@dataclass(frozen=True)
class ForwardMask:
    """A forward-only mask schedule (Algorithm 1). ratio in [0, 1); every, start in steps."""

    method: str = "magnitude"  # magnitude | random
    unit: str = "neuron"  # neuron (rows of w) | entry (single weights)
    ratio: float = 0.0  # share of units left out of the forward pass
    every: int = 1  # recompute the mask every this many steps
    start: int = 0  # first step with a mask; dense before it
    masked_grad: str = "exact"  # exact | dense
    redraw: bool = False  # random only: a fresh mask at every step (dropout)

    def __post_init__(self) -> None:
        for name, options in (
            ("method", METHODS),
            ("unit", UNITS),
            ("masked_grad", MASKED_GRADS),
        ):
            if getattr(self, name) not in options:
                raise ValueError(
                    f"ForwardMask.{name} = {getattr(self, name)!r}: expected one of {options}"
                )
        if not 0 <= self.ratio < 1:
            raise ValueError(f"ForwardMask.ratio = {self.ratio}: expected a number in [0, 1)")
        if self.redraw and self.method != "random":
            raise ValueError("ForwardMask.redraw: expected only with method random")
        if self.every < 1 or self.start < 0:
            raise ValueError(
                f"ForwardMask.every = {self.every}, start = {self.start}: "
                "expected every >= 1 and start >= 0"
            )

    def active(self, step: int) -> bool:
        """True from `start` on: the forward pass at this step uses a mask."""
        return step >= self.start

    def due(self, step: int) -> bool:
        """True at the steps where the mask is recomputed: start, start + every, ...
        (every step for a redrawn random mask)."""
        every = 1 if self.redraw else self.every
        return self.active(step) and (step - self.start) % every == 0

    def index(self, step: int) -> int:
        """The recomputation index of the mask used at `step` (0 for the first)."""
        return step - self.start if self.redraw else (step - self.start) // self.every


def _mask_from_scores(
    scores: torch.Tensor, unit: str, ratio: float, shape: tuple[int, ...]
) -> torch.Tensor:
    """Keep the largest scores: neuron scores (R, m) or entry scores (R, m*d) -> (R, m, d)."""
    R, m, d = shape
    n = scores.shape[1]
    keep = keep_top(scores, n - n_pruned(n, ratio), dim=1)  # (R, n)
    if unit == "neuron":
        return keep[:, :, None].expand(R, m, d).contiguous()
    return keep.view(R, m, d)


def magnitude_mask(w: torch.Tensor, unit: str, ratio: float) -> torch.Tensor:
    """0/1 mask (R, m, d) leaving out the floor(ratio * units) smallest units of w (R, m, d):
    rows by ||w_i|| (neuron) or entries by |w_ij| over the whole matrix (entry)."""
    R = w.shape[0]
    scores = w.norm(dim=2) if unit == "neuron" else w.abs().reshape(R, -1)  # (R, m) | (R, m*d)
    return _mask_from_scores(scores, unit, ratio, w.shape)


def random_mask(
    shape: tuple[int, int, int], unit: str, ratio: float, seeds: list[int], index: int
) -> torch.Tensor:
    """A seeded random mask (R, m, d) of the magnitude mask's count: run r's scores come from
    the generator (seeds[r], MASK_STREAM, index), so a run's masks do not depend on its
    neighbours in a stack."""
    R, m, d = shape
    n = m if unit == "neuron" else m * d
    scores = torch.stack([torch.rand(n, generator=generator(s, MASK_STREAM, index)) for s in seeds])
    return _mask_from_scores(scores, unit, ratio, shape)


def compute_mask(fm: ForwardMask, w: torch.Tensor, seeds: list[int], step: int) -> torch.Tensor:
    """The mask (R, m, d), in w's dtype and device, that `fm` sets at `step` from w (R, m, d)."""
    if fm.method == "magnitude":
        return magnitude_mask(w, fm.unit, fm.ratio)
    R, m, d = w.shape
    mask = random_mask((R, m, d), fm.unit, fm.ratio, seeds, fm.index(step))
    return mask.to(device=w.device, dtype=w.dtype)
