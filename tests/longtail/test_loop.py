"""Training variants of the long-tail track on a tiny config (one process)."""

import numpy as np
import pytest
import torch

from imbcl.core.errors import ParamError
from imbcl.core.params import replace
from imbcl.longtail import train as realtrain
from imbcl.longtail.distributed import Context, check_world, gather
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


def test_the_batch_must_split_over_the_processes():
    check_world(CFG, Context(torch.device("cpu"), rank=0, world=2))  # 32 over 2: fine
    with pytest.raises(ParamError, match=r"real.batch = 32: expected a multiple of the 3"):
        check_world(CFG, Context(torch.device("cpu"), rank=0, world=3))


def test_one_process_gathers_nothing():
    z = torch.randn(4, 3)
    assert gather(z, Context(torch.device("cpu"))) is z
