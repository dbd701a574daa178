import numpy as np
import pytest
import torch

import imbcl.synthetic.data as data_module
from imbcl.core.errors import ParamError
from imbcl.core.params import replace
from imbcl.synthetic.data import (
    RunStream,
    _add_clean,
    eval_set,
    feature_probs,
    make_dictionary,
    noise_std,
    p_majority,
    sample_latent,
    stacked_blocks,
    stacked_steps,
)
from imbcl.synthetic.params import DataParams


def active_rate(cfg: DataParams, rho: float, n: int = 50000) -> np.ndarray:
    probs = torch.as_tensor(feature_probs(cfg, rho), dtype=torch.float32)
    z = sample_latent(probs, (n,), torch.Generator().manual_seed(1))
    return (z != 0).float().mean(0).numpy()


@pytest.mark.parametrize("rho", [1.0, 4.0, 10.0])
def test_feature_frequencies_follow_rho(rho):
    cfg = DataParams()
    rate = active_rate(cfg, rho)
    maj, mino = rate[: cfg.n_majority].mean(), rate[cfg.n_majority :].mean()
    assert maj == pytest.approx(p_majority(cfg), rel=0.05)
    assert maj / mino == pytest.approx(rho, rel=0.1)


def test_balanced_control_has_equal_frequencies():
    cfg = DataParams()
    rate = active_rate(cfg, 1.0)
    assert np.allclose(rate, p_majority(cfg), atol=0.015)


def test_signs_are_symmetric():
    probs = torch.full((5,), 0.5)
    z = sample_latent(probs, (40000,), torch.Generator().manual_seed(0))
    assert abs(float(z.sum()) / float((z != 0).sum())) < 0.02


@pytest.mark.parametrize("basis", ["identity", "random"])
def test_dictionary_is_orthonormal(basis):
    D = make_dictionary(replace(DataParams(), basis=basis), seed=3)
    assert np.allclose(D.M.T @ D.M, np.eye(D.M.shape[1]), atol=1e-5)
    assert D.majority.sum() == DataParams().n_majority


def test_same_seed_same_data_and_resume_mid_block():
    cfg = DataParams()
    M = make_dictionary(cfg, 0).M
    a = RunStream(cfg, M, 10.0, run_seed=5, batch=4, block_steps=7)
    b = RunStream(cfg, M, 10.0, run_seed=5, batch=4, block_steps=7)
    full = [x1[0].clone() for x1, _ in stacked_steps([a], 0, 20)]
    resumed = [x1[0].clone() for x1, _ in stacked_steps([b], 9, 20)]
    assert all(torch.equal(x, y) for x, y in zip(full[9:], resumed, strict=True))
    other = RunStream(cfg, M, 10.0, run_seed=6, batch=4, block_steps=7)
    assert not torch.equal(next(stacked_steps([other], 0, 1))[0][0], full[0])


@pytest.mark.parametrize("view", ["noise", "mask"])
def test_views_share_the_latent(view):
    cfg = replace(DataParams(), view=view, noise="fixed", noise_std=0.0)
    M = make_dictionary(cfg, 0).M
    x1, x2 = next(stacked_steps([RunStream(cfg, M, 1.0, 0, batch=8, block_steps=2)], 0, 1))
    if view == "noise":
        assert torch.equal(x1, x2)  # without noise the two views are the same tokens
    else:
        assert float((x1 * x2).abs().sum()) == 0.0  # complementary masks never overlap
        clean = (x1 + x2) / 2  # identity basis: integer codes on the feature coordinates
        assert torch.equal(clean, clean.round()) and clean.abs().sum() > 0


def test_eval_set_is_balanced_and_labels_match_tokens():
    cfg = replace(DataParams(), eval_samples=4000)
    M = make_dictionary(cfg, 0).M
    ev = eval_set(cfg, M, seed=0)
    assert ev["x"].shape == (4000, cfg.tokens, cfg.dim)
    rate = ev["present"].mean(0)
    assert abs(rate[: cfg.n_majority].mean() - rate[cfg.n_majority :].mean()) < 0.03
    assert np.array_equal(ev["present"], (ev["z"] != 0).any(1))


@pytest.mark.parametrize("view", ["noise", "mask"])
@pytest.mark.parametrize("basis", ["identity", "random"])
def test_a_run_draws_the_same_numbers_alone_and_beside_others(view, basis):
    # Runs draw on parallel threads and the views are formed on the stacked buffers; run r
    # of a stack must still see exactly the batches it sees alone.
    cfg = replace(DataParams(), view=view, basis=basis, dim=12, n_features=4, n_majority=2)
    M = make_dictionary(cfg, 0).M
    specs = [(1.0, 0), (10.0, 1), (3.0, 2)]

    def stream(rho, seed):
        return RunStream(cfg, M, rho, seed, batch=5, block_steps=3)

    together = [(a.clone(), b.clone()) for a, b in stacked_steps([stream(*s) for s in specs], 1, 8)]
    for r, s in enumerate(specs):
        alone = [(a.clone(), b.clone()) for a, b in stacked_steps([stream(*s)], 1, 8)]
        for (a, b), (x1, x2) in zip(together, alone, strict=True):
            assert torch.equal(a[r], x1[0]) and torch.equal(b[r], x2[0])


def test_identity_shortcut_equals_the_product():
    z = sample_latent(torch.full((4,), 0.5), (6, 3), torch.Generator().manual_seed(0))
    M = torch.eye(9, 4)
    fast = torch.ones(6, 3, 9)
    _add_clean(fast, z, M, axes=True)
    assert torch.equal(fast, torch.ones(6, 3, 9) + z @ M.T)


def test_paper_frequency_follows_assumption_3_1():
    """p_maj = frequency_scale * log log K / K, p_min = p_maj / rho."""
    cfg = replace(DataParams(), frequency="paper", frequency_scale=2.0, n_features=20)
    p_maj = 2.0 * np.log(np.log(20)) / 20
    assert p_majority(cfg) == pytest.approx(p_maj) and p_majority(cfg) == pytest.approx(
        0.10972, 1e-4
    )
    probs = feature_probs(cfg, 10.0)
    np.testing.assert_allclose(probs[: cfg.n_majority], p_maj)
    np.testing.assert_allclose(probs[cfg.n_majority :], p_maj / 10.0)
    rate = active_rate(cfg, 10.0, n=200000)
    assert rate[: cfg.n_majority].mean() == pytest.approx(p_maj, rel=0.03)
    fixed = replace(DataParams(), frequency="fixed")
    assert feature_probs(fixed, 4.0)[0] == fixed.p_majority  # fixed: as given


def test_paper_noise_follows_assumption_3_1():
    """noise_std^2 = noise_scale * sqrt(log K) / K, K the number of features."""
    cfg = replace(DataParams(), noise="paper", noise_scale=0.5, n_features=20)
    assert noise_std(cfg) ** 2 == pytest.approx(0.5 * np.sqrt(np.log(20)) / 20)
    assert noise_std(replace(DataParams(), noise="fixed")) == DataParams().noise_std
    M = make_dictionary(cfg, 0).M
    x1, x2 = next(stacked_steps([RunStream(cfg, M, 1.0, 0, batch=64, block_steps=1)], 0, 1))
    noise = (x1 - x2).flatten() / np.sqrt(2)  # the views share the latent; noise redrawn
    assert float(noise.std()) == pytest.approx(noise_std(cfg), rel=0.03)
    ev = eval_set(replace(cfg, eval_samples=256), M, seed=0)
    resid = ev["x"] - ev["z"].astype(np.float32) @ M.T
    assert float(resid.std()) == pytest.approx(noise_std(cfg), rel=0.03)


def test_paper_frequency_is_checked():
    def parse(**change):
        return DataParams.parse({**DataParams().model_dump(), **change}, "data")

    with pytest.raises(ParamError, match="data.n_features = 2: expected at least 3"):
        parse(frequency="paper", n_features=2, n_majority=1, dim=4)
    with pytest.raises(ParamError, match="data.frequency_scale = 50: expected at most"):
        parse(frequency="paper", frequency_scale=50.0)
    with pytest.raises(ParamError, match="data.noise = 'loud': expected one of fixed, paper"):
        parse(noise="loud")
    assert parse(frequency="paper", noise="paper").frequency == "paper"


def test_eval_set_carries_the_signed_token_summed_latent():
    cfg = replace(DataParams(), eval_samples=300)
    ev = eval_set(cfg, make_dictionary(cfg, 0).M, seed=0)
    assert ev["z_sum"].shape == (300, cfg.n_features)
    np.testing.assert_array_equal(ev["z_sum"], ev["z"].astype(np.int64).sum(axis=1))
    assert set(ev) == {"x", "z", "present", "z_sum"}


@pytest.mark.parametrize("view", ["noise", "mask"])
@pytest.mark.parametrize("basis", ["identity", "random"])
def test_chunks_cover_the_steps_within_blocks_and_do_not_change_the_numbers(
    view, basis, monkeypatch
):
    # The views are formed a chunk of steps at a time; the chunk size changes the speed,
    # not the numbers, and a chunk never crosses a block.
    cfg = replace(DataParams(), view=view, basis=basis, dim=12, n_features=4, n_majority=2)
    M = make_dictionary(cfg, 0).M

    def chunks(chunk_bytes):
        monkeypatch.setattr(data_module, "CHUNK_BYTES", chunk_bytes)
        streams = [RunStream(cfg, M, rho, s, batch=5, block_steps=7) for rho, s in ((1, 0), (4, 1))]
        return [(a.clone(), b.clone()) for a, b in stacked_blocks(streams, 3, 19)]

    per_step = 2 * 5 * cfg.tokens * cfg.dim * 4  # bytes of one step's view, both runs
    small, whole = chunks(2 * per_step), chunks(1 << 30)
    assert [a.shape[1] for a, _ in whole] == [4, 7, 5]  # blocks of 7: steps 3-6, 7-13, 14-18
    assert [a.shape[1] for a, _ in small] == [2, 2, 2, 2, 2, 1, 2, 2, 1]
    for i in (0, 1):  # both views
        assert torch.equal(torch.cat([c[i] for c in small], 1), torch.cat([c[i] for c in whole], 1))
