"""The health certificate: a dead encoder reads as dead, a trained one as alive."""

import numpy as np
import pytest
import torch

from imbcl.core.params import replace
from imbcl.synthetic.data import RunStream, eval_set, heldout_pairs, make_dictionary, stacked_steps
from imbcl.synthetic.health import health
from imbcl.synthetic.model import init_params
from imbcl.synthetic.train import RunSpec, train_group


def test_heldout_pairs_are_seeded_and_apart_from_the_training_stream(tiny):
    data, _, _ = tiny
    M = make_dictionary(data, 0).M
    a1, a2 = heldout_pairs(data, M, seed=0, batch=8, n_batches=3)
    b1, _ = heldout_pairs(data, M, seed=0, batch=8, n_batches=3)
    assert a1.shape == (3, 8, data.tokens, data.dim) and np.array_equal(a1, b1)
    assert not np.array_equal(a1, a2)  # two views, noise redrawn
    train_x1, _ = next(stacked_steps([RunStream(data, M, 1.0, 0, 8, 3)], 0, 1))
    assert not np.array_equal(a1[0], train_x1[0].numpy())


def test_health_of_a_dead_and_of_a_trained_encoder(tiny):
    data, model, train = tiny
    D = make_dictionary(data, 0)
    ev = eval_set(replace(data, eval_samples=512), D.M, seed=0)
    pairs = heldout_pairs(data, D.M, seed=0, batch=32, n_batches=4)
    (res,) = train_group([RunSpec(1.0, model.width, 0)], data, model, train, D.M, progress=False)
    final = {k: v[None] for k, v in res.checkpoints[train.steps].items()}
    dead = {"qkv": final["qkv"], "w": torch.zeros_like(final["w"])}
    stacked = {k: torch.cat([final[k], dead[k]]) for k in ("qkv", "w")}
    alive, gone = health(
        stacked, pairs, ev["x"], ev["z_sum"], D.majority, model.bias_final, train.temperature
    )
    assert gone["nonzero_share"] == 0 and gone["live_share"] == 0
    assert gone["loss_ratio"] == pytest.approx(1.0, abs=1e-6) and gone["chance_loss"] == np.log(32)
    assert abs(gone["probe_majority_sign_accuracy"] - 0.5) < 0.1
    assert alive["loss_ratio"] < 0.9 and alive["nonzero_share"] > 0.05
    assert alive["probe_majority_r2"] > 0.3 and alive["probe_majority_sign_accuracy"] > 0.8


def test_health_applies_a_forward_mask(tiny):
    data, model, _ = tiny
    D = make_dictionary(data, 0)
    ev = eval_set(replace(data, eval_samples=64), D.M, seed=0)
    pairs = heldout_pairs(data, D.M, seed=0, batch=8, n_batches=1)
    params = init_params(replace(model, init_std=3.0), data.dim, [0])
    (masked,) = health(
        {**params, "mask": torch.zeros_like(params["w"])},
        pairs,
        ev["x"],
        ev["z_sum"],
        D.majority,
        0.01,
        0.5,
    )
    assert masked["nonzero_share"] == 0
