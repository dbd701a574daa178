"""The health certificate: a dead encoder reads as dead, a trained one as alive; the oracle
against a hand-computed loss; held-out pairs at a run's own rho."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from imbcl.core.errors import InputError
from imbcl.core.params import replace
from imbcl.synthetic.data import RunStream, eval_set, heldout_pairs, make_dictionary, stacked_steps
from imbcl.synthetic.health import (
    REQUIRED,
    health,
    oracle_loss,
    read_certificates,
    with_majority_oracle,
)
from imbcl.synthetic.health_rule import failure
from imbcl.synthetic.model import init_params
from imbcl.synthetic.params import HealthParams
from imbcl.synthetic.train import RunSpec, train_group


def test_heldout_pairs_are_seeded_and_apart_from_the_training_stream(tiny):
    data, _, _ = tiny
    M = make_dictionary(data, 0).M
    a = heldout_pairs(data, M, seed=0, batch=8, n_batches=3)
    a1, a2, b1 = a.x1, a.x2, heldout_pairs(data, M, seed=0, batch=8, n_batches=3).x1
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
    assert gone["gap_closed"] == pytest.approx(0.0, abs=1e-6)  # no way from chance at all
    assert alive["gap_closed"] > 0.3 and 0 < alive["oracle_ratio"] < alive["loss_ratio"]
    # the majority oracle reads fewer features: it tells fewer samples apart
    assert alive["oracle_majority_ratio"] > alive["oracle_ratio"]
    assert alive["gap_closed_majority"] > alive["gap_closed"]
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


def _info_nce_by_hand(f: np.ndarray, tau: float) -> float:
    """-log softmax of the diagonal of f f^T / tau, averaged: the loss with f1 = f2 = f."""
    logits = f @ f.T / tau
    top = logits.max(axis=1, keepdims=True)
    lse = (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))).ravel()
    return float(np.mean(lse - np.diag(logits)))


def test_the_oracle_is_the_best_scale_of_the_hand_written_loss():
    rng = np.random.default_rng(0)
    z = rng.choice([-1, 0, 0, 0, 1], size=(2, 16, 5)).astype(np.int16)  # (batches, B, K)
    grid = [
        np.mean([_info_nce_by_hand(s * zb.astype(float), 0.5) for zb in z])
        for s in np.exp(np.linspace(-3, 3, 601))
    ]
    assert oracle_loss(z, 0.5) == pytest.approx(min(grid), abs=1e-4)
    assert oracle_loss(z, 0.5) <= min(grid) + 1e-9  # the search finds at least the grid's best


def test_the_oracle_cannot_tell_identical_samples_apart():
    same = np.ones((1, 8, 3), dtype=np.int16)  # every sample the same latent
    assert oracle_loss(same, 0.5) == pytest.approx(math.log(8), abs=1e-9)
    distinct = np.eye(8, dtype=np.int16)[None]  # one feature each, orthogonal
    assert oracle_loss(distinct, 0.5) < 0.01 * math.log(8)


def test_heldout_pairs_carry_their_latent_and_follow_rho(tiny):
    data, _, _ = tiny
    clean = replace(data, noise="fixed", noise_std=0.0)
    M = make_dictionary(clean, 0).M  # the identity basis: x's first K coordinates are z
    balanced = heldout_pairs(clean, M, seed=0, batch=64, n_batches=2)
    k = clean.n_features
    np.testing.assert_array_equal(balanced.x1[..., :k].sum(axis=2), balanced.z_sum)
    rare = heldout_pairs(clean, M, seed=0, batch=64, n_batches=2, imbalance_ratio=50.0)
    head = np.arange(k) < clean.n_majority
    np.testing.assert_array_equal(rare.z_sum[..., head], balanced.z_sum[..., head])
    assert np.abs(rare.z_sum[..., ~head]).sum() < np.abs(balanced.z_sum[..., ~head]).sum() / 5


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not a readable CSV"),
        ("run,loss_ratio\nx,0.1\n", "missing columns"),
        (
            "run,"
            + ",".join(REQUIRED)
            + "\nx,"
            + ",".join(["0.5"] * (len(REQUIRED) - 1))
            + ",oops\n",
            "numbers",
        ),
    ],
)
def test_a_damaged_certificate_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "health.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_certificates(path)


def _cert(rho: float, loss_ratio: float, minority_acc: float) -> dict:
    """A certificate whose full oracle sits at 0.2 log B and majority oracle at 0.5 log B."""
    return {
        "imbalance_ratio": rho,
        "loss_ratio": loss_ratio,
        "oracle_ratio": 0.2,
        "gap_closed": (1 - loss_ratio) / 0.8,
        "oracle_majority_ratio": 0.5,
        "gap_closed_majority": (1 - loss_ratio) / 0.5,
        "probe_majority_sign_accuracy": 0.99,
        "probe_minority_sign_accuracy": minority_acc,
        "nonzero_share": 0.3,
    }


def test_an_encoder_that_reads_only_the_majority_is_healthy_where_imbalanced():
    """Loss at the majority oracle's (0.5 log B), minority sign accuracy at chance: at
    rho = 10 the minority is the claims' outcome and the run is healthy. At rho = 1 the
    recipe is judged against the oracle of every feature."""
    hp = HealthParams()
    assert failure(_cert(10.0, 0.5, minority_acc=0.5), hp) == ""
    assert failure(_cert(10.0, 0.5, minority_acc=0.99), hp) == ""  # the minority is not read
    assert failure(_cert(10.0, 0.8, minority_acc=0.99), hp).startswith("gap closed 0.4")
    # rho = 1 is judged against the oracle of every feature: 0.7 log B closes 0.375 of it,
    # while against the majority oracle it would close 0.6
    assert failure(_cert(1.0, 0.7, 0.99), hp).startswith("gap closed 0.375")
    assert failure(_cert(10.0, 0.7, 0.5), hp) == ""
    assert failure({**_cert(10.0, 0.5, 0.5), "gap_closed_majority": float("nan")}, hp) == (
        "no majority-oracle loss in the certificate"
    )
    old = {k: v for k, v in _cert(10.0, 0.7, 0.5).items() if k != "gap_closed_majority"}
    assert failure(old, hp).startswith("gap closed 0.375")  # no column: the full oracle


def test_a_certificate_is_completed_with_the_numbers_health_writes(tiny):
    data, model, train = tiny
    D = make_dictionary(data, 0)
    hp = HealthParams(heldout_batches=2)
    pairs = heldout_pairs(data, D.M, seed=0, batch=32, n_batches=2, imbalance_ratio=10.0)
    ev = eval_set(replace(data, eval_samples=64), D.M, seed=0)
    params = init_params(model, data.dim, [0])
    (cert,) = health(
        params, pairs, ev["x"], ev["z_sum"], D.majority, model.bias_final, train.temperature
    )
    old = pd.DataFrame([{"imbalance_ratio": 10.0, "loss_ratio": cert["loss_ratio"]}])
    done = with_majority_oracle(old, data, D.M, D.majority, train.temperature, 32, hp, 0)
    assert done.oracle_majority_ratio[0] == pytest.approx(cert["oracle_majority_ratio"])
    assert done.gap_closed_majority[0] == pytest.approx(cert["gap_closed_majority"])
