"""The paper's Algorithm 1 in the long-tail track: forward-only masks on the MLP neurons,
every weight updated, the mask recomputed; its random control; the schedule and sampler."""

import numpy as np
import pytest
import torch

from imbcl.core.masks import n_pruned
from imbcl.core.params import replace
from imbcl.longtail import train as realtrain
from imbcl.longtail.distributed import Context
from imbcl.longtail.params import RealParams
from imbcl.longtail.vit import magnitude_masks, neuron_weights

CFG = replace(
    RealParams(),
    extra_ratios=[1.0],
    steps=8,
    warmup_steps=2,
    batch=16,
    embed_dim=16,
    depth=2,
    mlp_neurons=10,
    proj_dim=8,
    prune_alpha=0.5,
    prune_unit="neuron",
    prune_every=1,
)
CPU = Context(torch.device("cpu"))


def _data() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 1, 8, 8, generator=g).repeat(8, 1, 1, 1) + 0.3 * torch.randn(
        32, 1, 8, 8, generator=g
    )


def _steps(cfg: RealParams, how: realtrain.Loop, stop: int, seed: int = 0):
    """The model before, the model after `stop` steps, and the loop's record."""
    model = realtrain.init_model(1, 8, cfg, seed)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    losses, _ = realtrain._loop(model, opt, gen, seed, _data(), None, cfg, CPU, 0, stop, how)
    return before, model, losses


@pytest.mark.parametrize("unit, ratio", [("neuron", 0.5), ("neuron", 0.25), ("entry", 0.5)])
def test_the_forward_mask_leaves_out_floor_alpha_units(unit, ratio):
    cfg = replace(CFG, prune_unit=unit, prune_alpha=ratio, prune_granularity="global")
    how = realtrain.Loop(forward="magnitude", record_masks=True)
    _, model, _ = _steps(cfg, how, 3)
    assert len(how.masks_seen) == 3  # recomputed at every step (prune_every 1)
    for masks in how.masks_seen:
        for m in masks:
            units = m.numel()
            assert int((m == 0).sum()) == n_pruned(units, ratio)
    # the weights themselves are whole: nothing is zeroed in place
    assert all((w != 0).all() for w in neuron_weights(model))


def test_exact_gradient_moves_a_masked_neuron_by_weight_decay_alone():
    cfg = replace(CFG, masked_grad="exact", weight_decay=0.1, lr=1.0e-2, warmup_steps=0)
    how = realtrain.Loop(forward="magnitude", record_masks=True)
    before, model, _ = _steps(cfg, how, 1)
    masks = how.masks_seen[0]
    for k, (w, m) in enumerate(zip(neuron_weights(model), masks, strict=True)):
        w0 = before[f"blocks.{k}.fc1.weight"]
        off, on = m == 0, m == 1
        # AdamW: a zero gradient leaves only the decoupled decay theta <- (1 - lr wd) theta
        decayed = w0[off] * (1 - cfg.lr * realtrain.lr_factor(0, cfg) * cfg.weight_decay)
        assert torch.allclose(w.detach()[off], decayed, rtol=0, atol=1e-7)
        assert not torch.equal(w.detach()[off], w0[off])  # it did change
        assert (w.detach()[on] - w0[on] * (1 - cfg.lr * cfg.weight_decay)).abs().max() > 1e-4


def test_dense_gives_a_masked_neuron_its_gradient():
    cfg = replace(CFG, masked_grad="dense", weight_decay=0.1, warmup_steps=0)
    how = realtrain.Loop(forward="magnitude", record_masks=True)
    before, model, _ = _steps(cfg, how, 1)
    for k, (w, m) in enumerate(zip(neuron_weights(model), how.masks_seen[0], strict=True)):
        w0 = before[f"blocks.{k}.fc1.weight"]
        decayed = w0[m == 0] * (1 - cfg.lr * cfg.weight_decay)
        assert (w.detach()[m == 0] - decayed).abs().max() > 1e-4  # more than the decay


@pytest.mark.parametrize("gradient", ["exact", "dense"])
def test_alpha_zero_is_the_dense_run_bit_for_bit(gradient):
    cfg = replace(CFG, prune_alpha=0.0, masked_grad=gradient, steps=6)
    dense, pruned = realtrain.train_seed(_data(), cfg, 5, CPU, ("dense", "pruned"))
    assert dense.losses == pruned.losses
    assert all(torch.equal(dense.state[k], pruned.state[k]) for k in dense.state)


def test_a_positive_alpha_changes_the_run():
    dense, pruned = realtrain.train_seed(_data(), CFG, 5, CPU, ("dense", "pruned"))
    assert dense.losses[0] != pruned.losses[0]  # masked from the first step on


def test_the_random_control_draws_a_fresh_seeded_mask_at_each_recomputation():
    cfg = replace(CFG, prune_every=2)
    first = realtrain.Loop(forward="random", record_masks=True)
    _steps(cfg, first, 6, seed=3)
    again = realtrain.Loop(forward="random", record_masks=True)
    _steps(cfg, again, 6, seed=3)
    other = realtrain.Loop(forward="random", record_masks=True)
    _steps(cfg, other, 6, seed=4)
    assert len(first.masks_seen) == 3  # steps 0, 2, 4
    block0 = [masks[0] for masks in first.masks_seen]
    assert not torch.equal(block0[0], block0[1]) and not torch.equal(block0[1], block0[2])
    for a, b in zip(first.masks_seen, again.masks_seen, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))  # seeded
    assert not torch.equal(first.masks_seen[0][0], other.masks_seen[0][0])
    counts = {int((m == 0).sum()) for masks in first.masks_seen for m in masks}
    assert counts == {n_pruned(cfg.mlp_neurons, cfg.prune_alpha)}  # the magnitude count


def test_the_magnitude_mask_follows_the_current_weights():
    cfg = replace(CFG, prune_every=1)
    how = realtrain.Loop(forward="magnitude", record_masks=True)
    _, model, _ = _steps(cfg, how, 4)
    last = magnitude_masks(model, cfg)  # from the weights after the last step
    assert len(how.masks_seen) == 4 and all(m.shape == (cfg.mlp_neurons,) for m in last)


def test_the_learning_rate_warms_up_then_follows_a_cosine():
    cfg = replace(RealParams(), steps=100, warmup_steps=10, lr=1.0)
    f = [realtrain.lr_factor(k, cfg) for k in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[10] == pytest.approx(1.0) and f[55] == pytest.approx(0.5)
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False)) and f[-1] < 0.001
    flat = replace(cfg, schedule="constant")
    assert realtrain.lr_factor(50, flat) == 1.0


def test_a_batch_never_repeats_an_image_at_the_default():
    draw = realtrain.Batches(503, 128, seed=0)
    for step in range(20):
        idx = draw(step).numpy()
        assert len(np.unique(idx)) == 128
