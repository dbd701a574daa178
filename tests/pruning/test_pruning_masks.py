"""Pruning masks: how many entries each granularity keeps, and which."""

from __future__ import annotations

import pytest
import torch

from imbcl.core.masks import n_pruned
from imbcl.pruning.masks import GRANULARITY, magnitude_mask, random_mask

R, M_WIDTH, D = 2, 10, 12


def weights(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(R, M_WIDTH, D, generator=g)  # (R, m, d), distinct magnitudes


@pytest.mark.parametrize("method", list(GRANULARITY))
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8, 0.95])
def test_mask_keeps_the_intended_fraction_per_unit(method: str, ratio: float) -> None:
    w = weights()
    mask = (
        magnitude_mask(w, method, ratio)
        if method != "random"
        else random_mask(tuple(w.shape), method, ratio, [(0,), (1,)])
    )
    assert mask.shape == w.shape
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    granularity = GRANULARITY[method]
    if granularity == "global":
        kept = mask.sum(dim=(1, 2))
        assert (kept == M_WIDTH * D - n_pruned(M_WIDTH * D, ratio)).all()
    elif granularity == "neuron":
        assert (mask.sum(dim=2) == D - n_pruned(D, ratio)).all()
    elif granularity == "input":
        assert (mask.sum(dim=1) == M_WIDTH - n_pruned(M_WIDTH, ratio)).all()
    else:  # whole neurons: rows all kept or all pruned
        rows = mask.sum(dim=2)
        assert set(rows.unique().tolist()) <= {0.0, float(D)}
        assert ((rows > 0).sum(dim=1) == M_WIDTH - n_pruned(M_WIDTH, ratio)).all()


def test_magnitude_masks_keep_the_largest_entries_of_their_unit() -> None:
    w = weights()
    a = w.abs()
    glob = magnitude_mask(w, "magnitude_global", 0.7).bool()
    for r in range(R):
        assert a[r][glob[r]].min() > a[r][~glob[r]].max()
    per_input = magnitude_mask(w, "magnitude_input", 0.7).bool()
    for r in range(R):
        for j in range(D):
            col, keep = a[r, :, j], per_input[r, :, j]
            assert col[keep].min() > col[~keep].max()
    per_neuron = magnitude_mask(w, "magnitude_neuron", 0.7).bool()
    for r in range(R):
        for i in range(M_WIDTH):
            row, keep = a[r, i], per_neuron[r, i]
            assert row[keep].min() > row[~keep].max()
    whole = magnitude_mask(w, "magnitude_neuron_whole", 0.7).bool()[..., 0]  # (R, m)
    norms = w.norm(dim=-1)
    for r in range(R):
        assert norms[r][whole[r]].min() > norms[r][~whole[r]].max()


def test_hand_made_input_mask() -> None:
    w = torch.tensor([[[1.0, -5.0], [3.0, 0.5], [-2.0, 4.0]]])  # (1, m=3, d=2)
    mask = magnitude_mask(w, "magnitude_input", 0.7)  # prune floor(2.1) = 2 of 3 per coordinate
    expected = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]])
    assert torch.equal(mask, expected)
    mask = magnitude_mask(w, "magnitude_input", 0.6)  # floor(1.8) = 1: the smallest goes
    expected = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]])
    assert torch.equal(mask, expected)


@pytest.mark.parametrize("method", list(GRANULARITY))
def test_counts_round_down(method: str) -> None:
    """0.8 of 16 prunes floor(12.8) = 12 of each unit of 16, not 13; 0.8 of 256 prunes 204."""
    w = torch.randn(1, 16, 16, generator=torch.Generator().manual_seed(1))
    mask = (
        random_mask((1, 16, 16), method, 0.8, [(0,)])
        if method == "random"
        else magnitude_mask(w, method, 0.8)
    )
    kept = 256 - 204 if GRANULARITY[method] == "global" else 16 * (16 - 12)
    assert int(mask.sum()) == kept


def test_ties_keep_the_lower_index() -> None:
    w = torch.ones(1, 4, 3)
    mask = magnitude_mask(w, "magnitude_input", 0.5)  # 2 of 4 neurons per coordinate
    assert torch.equal(mask[0, :, 0], torch.tensor([1.0, 1.0, 0.0, 0.0]))
    whole = magnitude_mask(w, "magnitude_neuron_whole", 0.25)  # 1 of 4 neurons
    assert torch.equal(whole[0, :, 0], torch.tensor([1.0, 1.0, 1.0, 0.0]))


def test_random_mask_is_seeded_and_differs_from_magnitude() -> None:
    shape = (R, M_WIDTH, D)
    a = random_mask(shape, "magnitude_input", 0.8, [(0, 5), (1, 5)])
    b = random_mask(shape, "magnitude_input", 0.8, [(0, 5), (1, 5)])
    c = random_mask(shape, "magnitude_input", 0.8, [(2, 5), (3, 5)])
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, magnitude_mask(weights(), "magnitude_input", 0.8))
