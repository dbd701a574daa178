"""The chains of a stage in worker processes (longtail.pool)."""

import torch

from conftest import TINY
from imbcl.core.params import replace
from imbcl.longtail import pool
from imbcl.longtail.distributed import Context, set_threads
from imbcl.longtail.loop import VARIANTS
from imbcl.longtail.params import RealParams


def test_chains_in_worker_processes_equal_one_after_another(monkeypatch):
    ctx = Context(torch.device("cpu"))
    cfg = replace(RealParams(), **TINY["real"], threads=1, extra_ratios=[1.0])
    x = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))  # (N, C, H, W)
    xs = {10.0: x, 1.0: x[:48]}
    monkeypatch.setattr(pool, "chain_workers", lambda cfg, ctx: 1)
    threads = torch.get_num_threads()
    set_threads(cfg.threads)  # as the stage does; a worker sets the same
    try:
        serial = pool.train_all(xs, cfg, [3, 4], ctx)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(pool, "chain_workers", lambda cfg, ctx: 2)
    parallel = pool.train_all(xs, cfg, [3, 4], ctx)
    assert [(r.rho, r.seed, r.variant) for r in parallel] == [
        (10.0, s, v) for s in (3, 4) for v in VARIANTS
    ] + [(1.0, s, v) for s in (3, 4) for v in ("dense", "pruned")]
    for a, b in zip(serial, parallel, strict=True):
        assert a.losses == b.losses
        assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
