"""Benchmark of the training step, measured in one process (`make bench`).

Prints (1) for the default configuration of params.yaml: steps/s, the achieved GFLOP/s
from the FLOP count written out in `step_flops`, and that as a fraction of this machine's
float32 matrix-multiply GFLOP/s, measured here in the same process; (2) for a small
configuration (batch 64, d = 32, m = 16): steps/s of one run alone against 4, 16 and 64
runs trained together as one stacked program; (3) peak memory. Ratios, not absolute times,
are the result: both sides of each ratio run in this process, minutes apart at most.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from imbcl.core.params import load, replace
from imbcl.core.runtime import tune_allocator
from imbcl.synthetic.data import RunStream, make_dictionary, stacked_steps
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams, TrainStage
from imbcl.synthetic.train import RunSpec, train_group


def step_flops(R: int, B: int, L: int, d: int, m: int) -> float:
    """Multiply-add FLOPs (2 per MAC) of one training step of R stacked runs, as executed.

    Forward, per view (both views): Q, K, V projection B*L*d*3d MACs; scores Q K^T and the
    weighted sum A V, B*L*L*d each; neurons B*L*d*m. Logits f1 f2^T: B*B*m. Backward by hand
    (model.backward, loss.info_nce_and_grad), first view only: df1 B*B*m; dw and d(Attn)
    B*L*m*d each; dV, dA, dQ and dK B*L*L*d each; dW_Q, dW_K, dW_V d*B*L*d each. Nothing is
    formed for the input tokens or the stop-gradient view. Elementwise work is not counted.
    """
    forward_view = 3 * B * L * d * d + 2 * B * L * L * d + B * L * d * m
    logits = B * B * m
    backward = B * B * m + 2 * B * L * m * d + 4 * B * L * L * d + 3 * B * L * d * d
    return float(2 * R * (2 * forward_view + logits + backward))


def matmul_gflops(n: int = 1024, repeats: int = 20) -> float:
    """Best-of float32 GEMM throughput of this process: the machine's practical peak."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def steps_per_second(
    data: DataParams, model: ModelParams, train: TrainParams, R: int, steps: int
) -> float:
    """Steps per second of R runs trained together (each step advances all R runs), data
    drawing included."""
    M = make_dictionary(data, 0).M
    specs = [RunSpec(data.imbalance_ratio, model.width, s) for s in range(R)]
    warm = replace(train, steps=min(10, steps))
    train_group(specs, data, model, warm, M, progress=False)  # allocator and thread warm-up
    t0 = time.perf_counter()
    train_group(specs, data, model, replace(train, steps=steps), M, progress=False)
    return steps / (time.perf_counter() - t0)


def data_seconds_per_step(data: DataParams, train: TrainParams, steps: int) -> float:
    """Seconds per step spent drawing one run's two views (the data part of a step)."""
    M = make_dictionary(data, 0).M
    stream = RunStream(data, M, data.imbalance_ratio, 0, train.batch, train.block_steps)
    for _ in stacked_steps([stream], 0, train.block_steps):  # warm-up
        pass
    t0 = time.perf_counter()
    for _ in stacked_steps([stream], 0, steps):
        pass
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="alternations per speedup")
    args = parser.parse_args()
    p = load(args.params, TrainStage)
    data, model, train = p.data, p.model, replace(p.train, checkpoint_steps=[0], device="cpu")

    tuned = tune_allocator()  # as every stage does (imbcl.cli.run)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, allocator tuned: {tuned}")
    peak = matmul_gflops()
    sps = steps_per_second(data, model, train, 1, args.steps)
    data_s = data_seconds_per_step(data, train, args.steps)
    flops = step_flops(1, train.batch, data.tokens, data.dim, model.width)
    achieved = sps * flops / 1e9
    model_only = flops / (1 / sps - data_s) / 1e9
    print(
        "\n(1) default configuration "
        f"(batch {train.batch}, d {data.dim}, L {data.tokens}, m {model.width})"
    )
    rows = [
        ("steps/s (data drawing included)", f"{sps:8.1f}"),
        ("FLOP per step (executed)", f"{flops / 1e6:8.1f} M"),
        ("achieved GFLOP/s", f"{achieved:8.1f}"),
        ("float32 matmul GFLOP/s", f"{peak:8.1f}"),
        ("fraction of matmul peak", f"{achieved / peak:8.1%}"),
        ("drawing the views: share of a step", f"{data_s * sps:8.1%}"),
        ("model arithmetic alone: of peak", f"{model_only / peak:8.1%}"),
    ]
    for label, value in rows:
        print(f"  {label:>36}: {value}")

    small_data = replace(data, dim=32, n_features=10, n_majority=5)
    small_model = replace(model, width=16)
    small_train = replace(train, batch=64)
    print("\n(2) small configuration (batch 64, d 32, m 16): runs trained together")
    print(f"  {'runs':>5} {'steps/s':>9} {'run-steps/s':>12} {'1 run alone':>12} {'speedup':>8}")
    # The machine's speed drifts, so each row measures the single run right beside the
    # stacked runs, alternating, and keeps the best of `repeats` of each.
    speedups = {}
    for R in (4, 16, 64):
        alone, stacked = 0.0, 0.0
        for _ in range(args.repeats):
            alone = max(
                alone, steps_per_second(small_data, small_model, small_train, 1, args.steps)
            )
            stacked = max(
                stacked, steps_per_second(small_data, small_model, small_train, R, args.steps)
            )
        speedups[R] = R * stacked / alone
        print(f"  {R:>5} {stacked:9.1f} {R * stacked:12.1f} {alone:12.1f} {speedups[R]:7.1f}x")

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(3) peak resident memory of this process: {rss_mb:.0f} MiB")
    print(f"\nspeedup@16 runs: {speedups[16]:.1f}x; matmul-peak fraction: {achieved / peak:.0%}")


if __name__ == "__main__":
    main()
