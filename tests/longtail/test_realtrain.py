"""Training variants of the long-tail track on a tiny config (one process)."""

import numpy as np
import pytest
import torch

from imbcl.core.errors import ParamError
from imbcl.core.params import replace
from imbcl.longtail import train as realtrain
from imbcl.longtail.distributed import Context, check_world, gather, set_threads
from imbcl.longtail.params import RealParams

CFG = replace(
    RealParams(),
    extra_ratios=[1.0],
    steps=40,
    sdclr_every=10,
    batch=32,
    embed_dim=16,
    depth=1,
    mlp_neurons=16,
    proj_dim=8,
    lr=3.0e-3,
)


def _data() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    protos = torch.randn(4, 1, 8, 8, generator=g)  # four 'classes'
    return protos.repeat(16, 1, 1, 1) + 0.3 * torch.randn(64, 1, 8, 8, generator=g)


def test_training_lowers_the_loss_and_is_deterministic():
    ctx = Context(torch.device("cpu"))
    a = realtrain.train_seed(_data(), CFG, seed=1, ctx=ctx, variants=("dense",))[0]
    b = realtrain.train_seed(_data(), CFG, seed=1, ctx=ctx, variants=("dense",))[0]
    assert np.mean(a.losses[-5:]) < np.mean(a.losses[:5])
    assert a.losses == b.losses


def test_normalise_centres_each_channel():
    x = np.random.default_rng(0).integers(0, 256, (50, 3, 4, 4), dtype=np.uint8)
    mean = (x / 255).mean(axis=(0, 2, 3)).tolist()
    std = (x / 255).std(axis=(0, 2, 3)).tolist()
    t = realtrain.normalise(x, mean, std)
    assert torch.allclose(t.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(t.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)


def test_chains_in_worker_processes_equal_one_after_another(monkeypatch):
    ctx = Context(torch.device("cpu"))
    cfg = replace(CFG, steps=12, sdclr_every=4, threads=1, extra_ratios=[1.0])
    xs = {10.0: _data(), 1.0: _data()[:48]}
    monkeypatch.setattr(realtrain, "chain_workers", lambda cfg, ctx: 1)
    threads = torch.get_num_threads()
    set_threads(cfg.threads)  # as the stage does; a worker sets the same
    try:
        serial = realtrain.train_all(xs, cfg, [3, 4], ctx)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(realtrain, "chain_workers", lambda cfg, ctx: 2)
    parallel = realtrain.train_all(xs, cfg, [3, 4], ctx)
    assert [(r.rho, r.seed, r.variant) for r in parallel] == [
        (10.0, s, v) for s in (3, 4) for v in realtrain.VARIANTS
    ] + [(1.0, s, v) for s in (3, 4) for v in ("dense", "pruned")]
    for a, b in zip(serial, parallel, strict=True):
        assert a.losses == b.losses
        assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)


def test_the_batch_must_split_over_the_processes():
    check_world(CFG, Context(torch.device("cpu"), rank=0, world=2))  # 32 over 2: fine
    with pytest.raises(ParamError, match=r"real.batch = 32: expected a multiple of the 3"):
        check_world(CFG, Context(torch.device("cpu"), rank=0, world=3))


def test_one_process_gathers_nothing():
    z = torch.randn(4, 3)
    assert gather(z, Context(torch.device("cpu"))) is z
