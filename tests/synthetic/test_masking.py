"""Forward-only masks (Algorithm 1): counts, what a masked weight receives, the controls."""

import numpy as np
import pytest
import torch

from imbcl.core.masks import n_pruned
from imbcl.core.params import replace
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.masking import ForwardMask, compute_mask, magnitude_mask, random_mask
from imbcl.synthetic.train import RunSpec, train_group


def test_magnitude_mask_leaves_out_the_smallest_units():
    w = torch.tensor([[[3.0, 0.0], [0.1, 0.1], [-2.0, 2.0], [0.0, -0.5]]])  # (1, 4, 2)
    rows = magnitude_mask(w, "neuron", 0.5)
    assert torch.equal(rows[0, :, 0], torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert torch.equal(rows[0, :, 0], rows[0, :, 1])  # whole rows
    entries = magnitude_mask(w, "entry", 0.5)  # 4 of 8 entries: the three zeros and one 0.1
    assert torch.equal(entries[0], torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))


@pytest.mark.parametrize("unit", ["neuron", "entry"])
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.9])
def test_masks_leave_out_exactly_floor_ratio_units(unit, ratio):
    w = torch.randn(3, 7, 5, generator=torch.Generator().manual_seed(0))
    units = 7 if unit == "neuron" else 35
    for mask in (magnitude_mask(w, unit, ratio), random_mask((3, 7, 5), unit, ratio, [0, 1, 2], 4)):
        out = (mask[..., 0] == 0).sum(1) if unit == "neuron" else (mask == 0).flatten(1).sum(1)
        assert out.tolist() == [n_pruned(units, ratio)] * 3
        if unit == "neuron":
            assert torch.equal(mask, mask[..., :1].expand_as(mask))


def test_random_masks_are_fresh_at_each_recomputation_and_seeded_per_run():
    fm = ForwardMask("random", "entry", 0.5, every=3, start=2)
    w = torch.zeros(2, 6, 4)
    first, again, later = (compute_mask(fm, w, [7, 8], t) for t in (2, 4, 5))
    assert torch.equal(first, again)  # one recomputation index until the next due step
    assert not torch.equal(first[0], later[0])  # a fresh draw at the next recomputation
    assert not torch.equal(first[0], first[1])  # runs draw their own masks
    alone = compute_mask(fm, w[1:], [8], 5)
    assert torch.equal(alone[0], later[1])  # the same mask alone or stacked
    assert fm.due(2) and fm.due(5) and not fm.due(4) and not fm.active(1)


def test_forward_mask_arguments_are_checked():
    with pytest.raises(ValueError, match="ForwardMask.unit"):
        ForwardMask(unit="layer")
    with pytest.raises(ValueError, match="ForwardMask.ratio"):
        ForwardMask(ratio=1.0)
    with pytest.raises(ValueError, match="every"):
        ForwardMask(every=0)


def _train(tiny, forward_mask, specs=None, steps=None, **train_kw):
    data, model, train = tiny
    model = replace(model, init_std=0.5)
    train = replace(train, **train_kw) if train_kw else train
    if steps is not None:
        train = replace(train, steps=steps)
    M = make_dictionary(data, 0).M
    specs = specs or [RunSpec(4.0, model.width, 0)]
    return train_group(specs, data, model, train, M, forward_mask=forward_mask, progress=False)


def test_zero_ratio_is_the_dense_run_bit_for_bit(tiny):
    dense = _train(tiny, None)[0]
    masked = _train(tiny, ForwardMask("magnitude", "entry", 0.0))[0]
    for key, value in dense.trajectory.arrays().items():
        np.testing.assert_array_equal(value, getattr(masked.trajectory, key))
    for step, ckpt in dense.checkpoints.items():
        assert torch.equal(ckpt["w"], masked.checkpoints[step]["w"])
        assert torch.equal(masked.checkpoints[step]["mask"], torch.ones_like(ckpt["w"]))


@pytest.mark.parametrize("unit", ["neuron", "entry"])
def test_the_forward_pass_leaves_out_floor_ratio_units(tiny, unit):
    data, model, train = tiny
    (res,) = _train(tiny, ForwardMask("magnitude", unit, 0.4, every=7, start=10))
    assert "mask" not in res.checkpoints[0]  # dense before start
    mask = res.checkpoints[train.steps]["mask"][None]  # (1, m, d)
    units = model.width if unit == "neuron" else model.width * data.dim
    left_out = (mask[..., 0] == 0).sum() if unit == "neuron" else (mask == 0).sum()
    assert int(left_out) == n_pruned(units, 0.4)
    w = res.checkpoints[train.steps]["w"]
    assert torch.all(w[mask[0] == 0] != 0)  # the masked weights live on ...
    norm = res.trajectory.norm[-1]  # ... but the logged (forward) neurons are masked
    if unit == "neuron":
        assert int((norm == 0).sum()) == n_pruned(model.width, 0.4)


def _decay_only(w: torch.Tensor, lr: float, wd: float) -> torch.Tensor:
    """The trainer's update with a zero loss gradient, in its order of operations."""
    g = torch.zeros_like(w).add_(w, alpha=wd)
    return w.clone().sub_(g, alpha=lr)


def _one_update(tiny, fm, weight_decay=0.1):
    """w before and after the update of step 10, and the mask used in it."""
    (res,) = _train(tiny, fm, steps=11, checkpoint_steps=[10], weight_decay=weight_decay)
    w0, w1, mask = res.checkpoints[10]["w"], res.checkpoints[11]["w"], res.checkpoints[10]["mask"]
    return w0, w1, mask


@pytest.mark.parametrize("unit", ["neuron", "entry"])
def test_exact_reading_moves_masked_weights_by_weight_decay_only(tiny, unit):
    lr, wd = tiny[2].lr, 0.1
    w0, w1, mask = _one_update(tiny, ForwardMask("magnitude", unit, 0.5, masked_grad="exact"), wd)
    off = mask == 0
    decayed = _decay_only(w0, lr, wd)
    assert torch.equal(w1[off], decayed[off]) and not torch.equal(w1[off], w0[off])
    assert not torch.allclose(w1[~off], decayed[~off])  # kept weights follow the loss


@pytest.mark.parametrize("unit", ["neuron", "entry"])
def test_dense_reading_gives_masked_units_a_loss_gradient(tiny, unit):
    lr, wd = tiny[2].lr, 0.1
    fm = ForwardMask("magnitude", unit, 0.5, masked_grad="dense")
    w0, w1, mask = _one_update(tiny, fm, wd)
    off = mask == 0
    decayed = _decay_only(w0, lr, wd)
    moved = (w1[off] - decayed[off]).abs() > 1e-6
    assert moved.float().mean() > 0.5  # most masked weights move by more than the decay


def test_dense_gradient_is_the_masked_one_for_kept_neurons_and_the_present_one_for_masked():
    """g of step.py: a kept neuron gets exactly the masked loss's gradient; a masked neuron
    the gradient of the loss with it present (here: the only masked neuron, so the dense
    loss), by either backend."""
    from imbcl.synthetic.step import loss_and_grads

    gen = torch.Generator().manual_seed(3)
    R, B, L, d, m, tau, b = 2, 6, 3, 5, 4, 0.5, 0.05
    x1, x2 = (torch.randn(R, B, L, d, generator=gen, dtype=torch.float64) for _ in range(2))
    w = torch.randn(R, m, d, generator=gen, dtype=torch.float64)
    qkv = torch.eye(d, dtype=torch.float64).repeat(3, 1)[None].expand(R, -1, -1)
    mask = torch.ones(R, m, d, dtype=torch.float64)
    mask[:, 1] = 0  # neuron 1 masked
    used, full = {"qkv": qkv, "w": w * mask}, {"qkv": qkv, "w": w}
    g_masked = loss_and_grads(used, x1, x2, b, tau, False, "autograd")[1]()["w"]
    g_full = loss_and_grads(full, x1, x2, b, tau, False, "autograd")[1]()["w"]
    keep = [0, 2, 3]
    for backend in ("manual", "autograd"):
        g = loss_and_grads(used, x1, x2, b, tau, False, backend, dense=full)[1]()["w"]
        torch.testing.assert_close(g[:, keep], g_masked[:, keep])
        torch.testing.assert_close(g[:, 1], g_full[:, 1])
    assert torch.all(g_masked[:, 1] == 0) and g_full[:, 1].abs().max() > 1e-3


def test_a_masked_neuron_returns_to_the_kept_set_under_the_dense_reading(tiny):
    """With the exact gradient the neuron mask of step 0 never changes (a masked neuron only
    decays); with the dense one a masked neuron grows back into the kept set."""
    steps = list(range(0, 41, 4))
    for grad, changes in (("exact", False), ("dense", True)):
        fm = ForwardMask("magnitude", "neuron", 0.5, every=4, masked_grad=grad)
        (res,) = _train(tiny, fm, steps=40, checkpoint_steps=steps)
        first = res.checkpoints[0]["mask"][:, 0]
        returned = [
            bool(((first == 0) & (res.checkpoints[t]["mask"][:, 0] == 1)).any()) for t in steps
        ]
        assert any(returned) is changes, grad


def test_random_forward_masks_are_the_same_alone_or_stacked(tiny):
    fm = ForwardMask("random", "entry", 0.5, every=4, start=4)
    steps = [8, 12, 20]
    specs = [RunSpec(1.0, 8, 0), RunSpec(4.0, 8, 3)]
    together = _train(tiny, fm, specs=specs, checkpoint_steps=steps)
    alone = _train(tiny, fm, specs=specs[1:], checkpoint_steps=steps)[0]
    for t in steps:
        assert torch.equal(together[1].checkpoints[t]["mask"], alone.checkpoints[t]["mask"])
    assert not torch.equal(alone.checkpoints[8]["mask"], alone.checkpoints[12]["mask"])


def test_a_forward_masked_run_resumes_from_its_checkpoint(tiny):
    fm = ForwardMask("magnitude", "entry", 0.5, every=7)
    data, model, train = tiny
    full = _train(tiny, fm)[0]
    start = {k: v[None] for k, v in full.checkpoints[20].items()}  # mask of step 14 included
    M = make_dictionary(data, 0).M
    resumed = train_group(
        [RunSpec(4.0, model.width, 0)],
        data,
        replace(model, init_std=0.5),
        train,
        M,
        start=start,
        start_step=20,
        forward_mask=fm,
        progress=False,
    )[0]
    np.testing.assert_allclose(
        resumed.trajectory.proj[-1], full.trajectory.proj[-1], rtol=1e-4, atol=1e-6
    )
    with pytest.raises(ValueError, match="forward mask"):
        train_group(
            [RunSpec(4.0, model.width, 0)], data, model, train, M, start=start, start_step=20
        )
