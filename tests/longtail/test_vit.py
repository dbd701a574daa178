"""The small ViT, SimCLR views, NT-Xent against a hand-written oracle, and neuron masks."""

import math

import pytest
import torch

from imbcl.core.masks import n_pruned
from imbcl.core.params import replace
from imbcl.longtail.params import RealParams
from imbcl.longtail.vit import (
    ViT,
    magnitude_masks,
    neuron_weights,
    nt_xent,
    prune_mask,
    random_masks,
    views,
)

CFG = replace(
    RealParams(), extra_ratios=[1.0], embed_dim=16, heads=2, depth=2, mlp_neurons=10, proj_dim=8
)


def nt_xent_oracle(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """Loops over the 2N anchors: mean of -log(exp(s_pos) / sum_{b != a} exp(s_ab))."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n = len(z1)
    total = 0.0
    for a in range(2 * n):
        pos = a + n if a < n else a - n
        denom = sum(math.exp(float(z[a] @ z[b]) / tau) for b in range(2 * n) if b != a)
        total += -(float(z[a] @ z[pos]) / tau - math.log(denom))
    return total / (2 * n)


def test_nt_xent_matches_the_oracle():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    for tau in (0.1, 0.5, 1.0):
        assert nt_xent(z1, z2, tau).item() == pytest.approx(nt_xent_oracle(z1, z2, tau), rel=1e-5)


def test_nt_xent_is_symmetric_and_scale_free():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert nt_xent(z1, z2, 0.2).item() == pytest.approx(nt_xent(z2, z1, 0.2).item(), rel=1e-6)
    assert nt_xent(3 * z1, 0.5 * z2, 0.2).item() == pytest.approx(
        nt_xent(z1, z2, 0.2).item(), rel=1e-5
    )


def test_nt_xent_is_low_for_matching_pairs():
    z = torch.eye(4)
    aligned = nt_xent(z, z, 0.1).item()
    shuffled = nt_xent(z, z.roll(1, dims=0), 0.1).item()
    assert aligned < 0.01 < shuffled


def test_vit_shapes_and_masked_branch():
    torch.manual_seed(0)
    model = ViT(1, 8, CFG)
    x = torch.randn(3, 1, 8, 8)
    assert model.features(x).shape == (3, 16)
    assert model(x).shape == (3, 8)
    ones = [torch.ones_like(w) for w in neuron_weights(model)]
    assert torch.allclose(model(x, ones), model(x))
    zeros = [torch.zeros_like(w) for w in neuron_weights(model)]
    assert not torch.allclose(model(x, zeros), model(x))
    with pytest.raises(ValueError, match="real.patch"):
        ViT(1, 8, replace(CFG, patch=3))


def test_views_are_seeded_and_keep_shape():
    x = torch.randn(4, 3, 8, 8)
    cfg = replace(CFG, flip=True)
    a = views(x, cfg, torch.Generator().manual_seed(0))
    b = views(x, cfg, torch.Generator().manual_seed(0))
    c = views(x, cfg, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


STILL = dict(shift=0.0, rotate=0.0, scale=0.0, noise_std=0.0, mask_patches=0.0, flip=False)


def test_views_without_any_augmentation_are_the_images():
    x = torch.randn(5, 1, 8, 8)
    assert torch.equal(views(x, replace(CFG, **STILL), torch.Generator().manual_seed(0)), x)


def test_views_move_the_image_and_fill_the_border_with_black():
    x = torch.ones(64, 1, 8, 8)
    moved = replace(CFG, **{**STILL, "shift": 1.0, "rotate": 15.0, "scale": 0.1})
    v = views(x, moved, torch.Generator().manual_seed(0), fill=torch.tensor([-1.0]))
    assert torch.allclose(v[:, :, 2:6, 2:6], torch.ones(64, 1, 4, 4))  # the centre stays
    assert v.min() < 0.9 and v.min() >= -1.0  # the border takes in the black fill
    per_image = v.flatten(1).mean(1)
    assert per_image.unique().numel() > 32  # every image moved its own way


def test_views_mask_patches():
    only_mask = replace(CFG, **{**STILL, "mask_patches": 0.5})
    m = views(torch.ones(200, 1, 8, 8), only_mask, torch.Generator().manual_seed(0))
    assert 0.4 < float((m == 0).float().mean()) < 0.6
    assert set(m.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("granularity, dim", [("global", None), ("neuron", 1), ("input", 0)])
@pytest.mark.parametrize("ratio", [0.5, 0.8, 0.9])
def test_prune_mask_keeps_the_largest_share(granularity, dim, ratio):
    scores = torch.rand(10, 7, generator=torch.Generator().manual_seed(0))
    keep = prune_mask(scores, ratio, granularity).bool()
    if dim is None:
        assert keep.sum() == 70 - n_pruned(70, ratio)
        assert scores[keep].min() > scores[~keep].max()
    else:
        kept = keep.sum(dim=dim)
        assert torch.all(kept == scores.shape[dim] - n_pruned(scores.shape[dim], ratio))
        for i in range(scores.shape[1 - dim]):
            s, k = (scores[i], keep[i]) if dim == 1 else (scores[:, i], keep[:, i])
            assert s[k].min() > s[~k].max()


def test_prune_mask_counts_follow_the_one_rule():
    # floor(ratio * n) pruned: of 7 inputs at 0.5, 3 pruned and 4 kept; of 64 neurons at 0.8,
    # 51 pruned and 13 kept (the default track); of 3 at 0.9, 2 pruned and 1 kept
    for shape, ratio, granularity, kept in [
        ((10, 7), 0.5, "neuron", 4),
        ((64, 32), 0.8, "input", 13),
        ((3, 4), 0.9, "input", 1),
        ((64, 32), 0.8, "global", 410),
    ]:
        mask = prune_mask(torch.rand(shape), ratio, granularity)
        total = mask.sum().item()
        per = {"neuron": shape[0], "input": shape[1], "global": 1}[granularity]
        assert total == kept * per, (shape, ratio, granularity)


def test_prune_mask_breaks_ties_by_position():
    scores = torch.ones(5, 2)
    keep = prune_mask(scores, 0.6, "input")  # 3 of 5 pruned per column: rows 0 and 1 kept
    assert keep[:, 0].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert torch.equal(keep[:, 0], keep[:, 1])


def test_magnitude_and_random_masks_prune_the_same_count():
    torch.manual_seed(0)
    model = ViT(1, 8, CFG)
    entries = replace(CFG, prune_unit="entry", prune_granularity="input", prune_alpha=0.8)
    mag = magnitude_masks(model, entries)
    rnd = random_masks(model, entries, torch.Generator().manual_seed(0))
    for w, a, b in zip(neuron_weights(model), mag, rnd, strict=True):
        assert a.shape == w.shape and a.sum() == b.sum() and not torch.equal(a, b)
        assert w.detach().abs()[a.bool()].mean() > w.detach().abs()[b.bool()].mean()


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.81])
def test_neuron_masks_leave_out_the_smallest_neurons(ratio):
    torch.manual_seed(0)
    model = ViT(1, 8, CFG)  # 10 neurons per block
    cfg = replace(CFG, prune_unit="neuron", prune_alpha=ratio)
    for w, m in zip(neuron_weights(model), magnitude_masks(model, cfg), strict=True):
        assert m.shape == (10,) and int((m == 0).sum()) == n_pruned(10, ratio)
        norms = w.detach().norm(dim=1)
        if 0 < ratio:
            assert norms[m == 1].min() > norms[m == 0].max()
    rnd = random_masks(model, cfg, torch.Generator().manual_seed(0))
    assert all(int((m == 0).sum()) == n_pruned(10, ratio) for m in rnd)


def test_a_masked_neuron_adds_nothing_to_the_forward_pass():
    torch.manual_seed(0)
    model = ViT(1, 8, CFG)
    x = torch.randn(4, 1, 8, 8)
    masks = magnitude_masks(model, replace(CFG, prune_unit="neuron", prune_alpha=0.5))
    expected = ViT(1, 8, CFG)
    expected.load_state_dict(model.state_dict())
    with torch.no_grad():  # the same network with the masked neurons' outputs cut
        for block, m in zip(expected.blocks, masks, strict=True):
            block.fc2.weight[:, m == 0] = 0
    for straight in (False, True):
        assert torch.allclose(model(x, masks, straight), expected(x), atol=1e-6)
