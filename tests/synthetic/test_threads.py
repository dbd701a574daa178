"""train.threads changes the speed, not the bytes: stacked runs trained with 1 and 2 intra-op
threads end with identical weights and losses (so the thread count need not be part of the
reproducibility promise for the synthetic stages)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from imbcl.core.params import load, replace
from imbcl.core.runtime import set_threads
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.params import TrainStage
from imbcl.synthetic.train import RunSpec, train_group


@pytest.fixture
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_one_and_two_threads_give_the_same_bytes(threads_restored):
    # the default sizes: products large enough to split over threads
    p = load(Path(__file__).parents[2] / "params.yaml", TrainStage)
    train = replace(p.train, steps=6, log_every=2, checkpoint_steps=[0], block_steps=3)
    M = make_dictionary(p.data, p.seed).M
    specs = [RunSpec(rho, p.model.width, s) for rho in (1.0, 10.0) for s in (0, 1)]
    out = {}
    for n in (1, 2):
        set_threads(n)
        assert torch.get_num_threads() == n
        runs = train_group(specs, p.data, p.model, train, M, progress=False)
        out[n] = [(r.trajectory.loss, r.checkpoints[train.steps]["w"].numpy()) for r in runs]
    for (loss1, w1), (loss2, w2) in zip(out[1], out[2], strict=True):
        assert loss1.tobytes() == loss2.tobytes()
        assert w1.tobytes() == w2.tobytes()
    assert np.isfinite(out[1][0][0]).all()


def test_zero_keeps_the_default(threads_restored):
    torch.set_num_threads(1)
    set_threads(0)
    assert torch.get_num_threads() == 1
