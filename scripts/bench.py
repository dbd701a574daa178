"""Benchmark of the training step against its peers, measured in one process (`make bench`).

Three paths train the same runs (same configuration, init, batches, update), side by side:

    plain   what one writes first: an nn.Module encoder with the same mathematics, InfoNCE
            with a stop-gradient second view, loss.backward() and torch.optim.SGD with
            weight_decay; one run at a time
    vmap    torch.func: the runs' modules stacked (stack_module_state), torch.func.grad of
            functional_call under torch.func.vmap; one program for all runs
    imbcl   train_group with the runs stacked (hand-written gradient, stacked data)

Every path draws its batches from the runs' own streams (data drawing is part of a step).
First, one step of each path from the same init on the same batch must give the same
updated weights. Then, on the default configuration (params.yaml's data, model, train) and
on the sweep's small model (params.yaml's `small`) at 1, 16 and 64 runs, it prints
run-steps/s per path (best of `--repeats`, the paths interleaved), and the float32
matrix-multiply rate of this process (1024² GEMM). Where the default attention is fixed (the
paper's W_Q = W_K = W_V = I), the default size with trained attention is measured too, for
scale. The last line gives the ratios at 16 small runs and the share of that GEMM rate
reached by the default configuration's whole step (data included), counting the FLOPs the
step executes (`step_flops`); the line before it gives the time the step spends drawing its
data, and the share the step could reach at best were its arithmetic at the GEMM rate.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from imbcl.core.params import load, replace
from imbcl.core.runtime import resolve_device, tune_allocator
from imbcl.imbalance.params import SweepStage
from imbcl.synthetic.data import RunStream, make_dictionary, stacked_steps
from imbcl.synthetic.model import attention_trained, bias_at, init_params
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams, scaled
from imbcl.synthetic.train import RunSpec, train_group

SMALL_WIDTH = 16  # m of the small model here: the middle of sweep.widths, prune.width


@dataclass(frozen=True)
class Config:
    name: str
    data: DataParams
    model: ModelParams
    train: TrainParams
    runs: int

    @property
    def attention_grad(self) -> bool:
        return attention_trained(self.model)


# --- (1) the plain PyTorch loop ----------------------------------------------------------


class Encoder(nn.Module):
    """The same encoder, written plainly: softmax attention (no 1/sqrt(d)), m BReLU neurons
    summed over tokens. x (B, L, d) -> (B, m)."""

    def __init__(self, wq: torch.Tensor, wk: torch.Tensor, wv: torch.Tensor, w: torch.Tensor):
        super().__init__()
        self.wq, self.wk, self.wv = nn.Parameter(wq), nn.Parameter(wk), nn.Parameter(wv)
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor, b: float) -> torch.Tensor:
        q, k, v = x @ self.wq.T, x @ self.wk.T, x @ self.wv.T
        attended = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        pre = attended @ self.w.T  # (B, L, m)
        h = torch.relu(pre - b) - torch.relu(-pre - b)
        return h.sum(dim=-2)


def info_nce(f1: torch.Tensor, f2: torch.Tensor, tau: float, target: torch.Tensor) -> torch.Tensor:
    """InfoNCE with the second view under stop-gradient. f1, f2 (B, m) -> ()."""
    return F.cross_entropy(f1 @ f2.detach().T / tau, target)


def encoder_of(init: dict[str, torch.Tensor], r: int, cfg: Config, device) -> Encoder:
    """Run r's stacked imbcl init as a plain module (attention frozen unless trained)."""
    d = init["qkv"].shape[-1]
    qkv = init["qkv"][r].to(device)
    wq, wk, wv = (qkv[i * d : (i + 1) * d].clone() for i in range(3))
    enc = Encoder(wq, wk, wv, init["w"][r].to(device))
    for p in (enc.wq, enc.wk, enc.wv):
        p.requires_grad_(cfg.attention_grad)
    return enc


def plain_runs(cfg: Config, M: np.ndarray, steps: int, device, runs: int | None = None) -> list:
    """Train `runs` runs (default cfg.runs) one after another, `steps` steps each."""
    init = init_params(cfg.model, cfg.data.dim, list(range(cfg.runs)))
    target = torch.arange(cfg.train.batch, device=device)
    out = []
    for r in range(cfg.runs if runs is None else runs):
        enc = encoder_of(init, r, cfg, device)
        trained = [p for p in enc.parameters() if p.requires_grad]
        opt = torch.optim.SGD(trained, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        stream = stream_of(cfg, M, r)
        for t, (x1, x2) in enumerate(stacked_steps([stream], 0, steps)):
            x1, x2 = x1[0].to(device), x2[0].to(device)
            b = bias_at(cfg.model, t)
            loss = info_nce(enc(x1, b), enc(x2, b), cfg.train.temperature, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out.append(enc)
    return out


# --- (2) torch.func: vmap over functional_call with grad ---------------------------------


def vmap_runs(cfg: Config, M: np.ndarray, steps: int, device) -> dict[str, torch.Tensor]:
    """Train cfg.runs runs as one vmapped program; returns the stacked weights."""
    init = init_params(cfg.model, cfg.data.dim, list(range(cfg.runs)))
    mods = [encoder_of(init, r, cfg, device) for r in range(cfg.runs)]
    stacked, _ = stack_module_state(mods)  # type: ignore[arg-type]
    names = ["wq", "wk", "wv", "w"] if cfg.attention_grad else ["w"]
    trained = {k: v.detach() for k, v in stacked.items() if k in names}
    fixed = {k: v.detach() for k, v in stacked.items() if k not in names}
    base = mods[0].to("meta")
    target = torch.arange(cfg.train.batch, device=device)
    tau, lr, wd = cfg.train.temperature, cfg.train.lr, cfg.train.weight_decay

    def loss(tr, fx, x1, x2, b):
        f1 = functional_call(base, (tr, fx), (x1, b))
        f2 = functional_call(base, (tr, fx), (x2, b))
        return info_nce(f1, f2, tau, target)

    step_grad = vmap(grad(loss), in_dims=(0, 0, 0, 0, None))
    streams = [stream_of(cfg, M, r) for r in range(cfg.runs)]
    for t, (x1, x2) in enumerate(stacked_steps(streams, 0, steps)):
        g = step_grad(trained, fixed, x1.to(device), x2.to(device), bias_at(cfg.model, t))
        for k, p in trained.items():  # torch.optim.SGD's update: p -= lr (g + wd p)
            p.sub_(g[k].add_(p, alpha=wd), alpha=lr)
    return trained | fixed


# --- (3) imbcl ----------------------------------------------------------------------------


def imbcl_runs(cfg: Config, M: np.ndarray, steps: int, device) -> dict[str, torch.Tensor]:
    """train_group on cfg.runs stacked runs; returns the stacked weights after `steps`."""
    specs = [RunSpec(cfg.data.imbalance_ratio, cfg.model.width, s) for s in range(cfg.runs)]
    train = replace(cfg.train, steps=steps, checkpoint_steps=[], device=str(device))
    res = train_group(specs, cfg.data, cfg.model, train, M, progress=False)
    return {k: torch.stack([r.checkpoints[steps][k] for r in res]) for k in ("qkv", "w")}


def stream_of(cfg: Config, M: np.ndarray, seed: int) -> RunStream:
    t = cfg.train
    return RunStream(cfg.data, M, cfg.data.imbalance_ratio, seed, t.batch, t.block_steps)


# --- the check and the measurements -------------------------------------------------------


def same_update(cfg: Config, M: np.ndarray, device) -> float:
    """Largest difference, relative to the weights' scale, between the three paths' weights
    after one step from the same init on the same batch (every run of cfg)."""
    ours = imbcl_runs(cfg, M, 1, device)
    theirs = vmap_runs(cfg, M, 1, device)
    plain = plain_runs(cfg, M, 1, device)
    plain_qkv = torch.stack([torch.cat([e.wq, e.wk, e.wv]) for e in plain]).detach().cpu()
    plain_w = torch.stack([e.w for e in plain]).detach().cpu()
    vmap_qkv = torch.cat([theirs["wq"], theirs["wk"], theirs["wv"]], dim=1).cpu()
    worst = 0.0
    for a, b in ((ours["qkv"], plain_qkv), (ours["w"], plain_w), (ours["qkv"], vmap_qkv)):
        worst = max(worst, float((a - b).abs().max() / b.abs().max()))
    worst = max(worst, float((ours["w"] - theirs["w"].cpu()).abs().max() / plain_w.abs().max()))
    return worst


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device: torch.device, n: int = 1024, repeats: int = 20) -> float:
    """Best-of float32 GEMM throughput of this process: the machine's practical peak."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    best, inner = float("inf"), 1 if device.type == "cpu" else 20
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(inner):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - t0) / inner)
    return 2 * n**3 / best / 1e9


def step_flops(R: int, B: int, L: int, d: int, m: int, trained: bool, identity: bool) -> float:
    """Multiply-add FLOPs (2 per MAC) of one imbcl training step of R stacked runs, as executed.

    Forward, per view (both views): the Q, K, V projection B*L*d*3d MACs, unless the
    attention is fixed at W_Q = W_K = W_V = I (`identity`), where imbcl does not form it;
    scores Q K^T and the weighted sum A V, B*L*L*d each; neurons B*L*d*m. With fixed
    attention these are computed once per chunk of steps, the same count per step. Logits
    f1 f2^T: B*B*m. Backward by hand (model.backward, loss.info_nce_and_grad), first view
    only: df1 B*B*m; dw B*L*m*d; with `trained` attention also d(Attn) B*L*m*d, dV, dA, dQ
    and dK B*L*L*d each, dW_Q, dW_K, dW_V d*B*L*d each. Nothing is formed for the input
    tokens or the stop-gradient view. Elementwise work is not counted.
    """
    projection = 0 if identity and not trained else 3 * B * L * d * d
    forward_view = projection + 2 * B * L * L * d + B * L * d * m
    logits = B * B * m
    backward = B * B * m + B * L * m * d
    if trained:
        backward += B * L * m * d + 4 * B * L * L * d + 3 * B * L * d * d
    return float(2 * R * (2 * forward_view + logits + backward))


def config_flops(cfg: Config) -> float:
    """step_flops of one run of cfg."""
    d, t, mo = cfg.data, cfg.train, cfg.model
    identity = mo.attention.startswith("identity")
    return step_flops(1, t.batch, d.tokens, d.dim, mo.width, cfg.attention_grad, identity)


def draw_seconds(cfg: Config, M: np.ndarray, steps: int, repeats: int) -> float:
    """Best-of seconds per step spent drawing cfg's batches alone (stacked_steps, one run)."""
    stream = stream_of(cfg, M, 0)
    best = float("inf")
    for _ in range(repeats + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        for _ in stacked_steps([stream], 0, steps):
            pass
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


PATHS: dict[str, Callable] = {"plain": plain_runs, "vmap": vmap_runs, "imbcl": imbcl_runs}


def timed(path: str, cfg: Config, M: np.ndarray, steps: int, device) -> float:
    """Run-steps per second of one measurement. The plain loop's runs are independent and
    sequential, so it times at most 4 of them (its rate does not depend on how many)."""
    runs = min(cfg.runs, 4) if path == "plain" else cfg.runs
    kwargs = {"runs": runs} if path == "plain" else {}
    sync(device)
    t0 = time.perf_counter()
    PATHS[path](cfg, M, steps, device, **kwargs)
    sync(device)
    return runs * steps / (time.perf_counter() - t0)


def measure(cfg: Config, M: np.ndarray, device, seconds: float, repeats: int) -> dict[str, float]:
    """Best-of run-steps/s per path; each measurement sized to about `seconds`, in whole data
    blocks, and the paths interleaved in every repeat (the machine's speed drifts)."""
    S = cfg.train.block_steps
    steps = {}
    for path in PATHS:  # warm-up (threads, allocator, vmap tracing) and sizing
        rate = timed(path, cfg, M, S, device)
        runs = min(cfg.runs, 4) if path == "plain" else cfg.runs
        steps[path] = S * max(1, round(seconds * rate / runs / S))
    best = dict.fromkeys(PATHS, 0.0)
    for _ in range(repeats):
        for path in PATHS:
            best[path] = max(best[path], timed(path, cfg, M, steps[path], device))
    return best


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--device", default="auto", help="cpu | cuda | auto (as train.device)")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats, best kept")
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 16, 64], help="small runs")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch's)")
    return parser.parse_args()


def configurations(p: SweepStage, runs: list[int]) -> list[Config]:
    """The default configuration (1 run), the small model at each count of `runs`, and the
    default size with trained attention where the default's is fixed."""
    data, model, train = p.data, p.model, p.train
    s_data, s_model, s_train = scaled(data, model, train, p.small)
    s_model = replace(s_model, width=SMALL_WIDTH)
    configs = [Config(f"default (1 run, m {model.width})", data, model, train, 1)]
    configs += [Config(f"small ({plural(R, 'run')})", s_data, s_model, s_train, R) for R in runs]
    if not attention_trained(model):  # the same size with W_Q, W_K, W_V trained, for scale
        trained = replace(model, attention="uniform_trained")
        configs.append(Config("default, attention trained", data, trained, train, 1))
    return configs


def check_paths(configs: list[Config], device: torch.device) -> None:
    """One step of every path from the same init on the same batch; exits if they differ."""
    check = [configs[0], replace_runs(configs[1], 3)]
    worst = max(same_update(c, make_dictionary(c.data, 0).M, device) for c in check)
    verdict = "same" if worst < 1e-4 else "DIFFERENT"
    print(
        f"\none step from the same init on the same batch (default, 1 run; small, 3 runs): "
        f"plain, vmap and imbcl weights {verdict} (largest difference {worst:.1e} of the "
        "weights' scale)"
    )
    if worst >= 1e-4:
        raise SystemExit("the paths do not compute the same update")


def rate_table(
    configs: list[Config], device: torch.device, seconds: float, repeats: int, gemm: list[float]
) -> dict[str, dict[str, float]]:
    """Run-steps/s of every path per configuration, printed as a table; a GEMM reading is
    appended to `gemm` after each configuration (the speed drifts)."""
    rates = {}
    W = 26
    print(
        f"\n{'configuration':>{W}} {'plain':>9} {'vmap':>9} {'imbcl':>9} {'/plain':>7} {'/vmap':>6}"
    )
    print(f"{'':>{W}} {'run-steps/s':>29}   imbcl over plain, over vmap")
    for cfg in configs:
        r = rates[cfg.name] = measure(cfg, make_dictionary(cfg.data, 0).M, device, seconds, repeats)
        gemm.append(matmul_gflops(device))
        print(
            f"{cfg.name:>{W}} {r['plain']:9.0f} {r['vmap']:9.0f} {r['imbcl']:9.0f} "
            f"{r['imbcl'] / r['plain']:6.1f}x {r['imbcl'] / r['vmap']:5.1f}x"
        )
    return rates


def cpu_bound(cfg: Config, default: float, flops: float, peak: float, threads: int) -> None:
    """The default step's data-drawing time and the share of the GEMM rate it leaves."""
    # The bound the data set: its normals come from one sequential generator per run.
    draw = draw_seconds(cfg, make_dictionary(cfg.data, 0).M, cfg.train.block_steps, 2)
    step = 1 / default
    arithmetic = flops / (peak * 1e9)
    ceiling = arithmetic / (arithmetic + draw / threads)
    print(
        f"default step {step * 1e3:.2f} ms, of which drawing and forming its data "
        f"{draw * 1e3:.2f} ms ({draw / step:.0%}), on one thread (one generator per run)"
    )
    print(
        f"bound: were that draw split over {plural(threads, 'thread')} (it is not) and the "
        f"arithmetic at the GEMM rate ({arithmetic * 1e3:.2f} ms), the default step would "
        f"reach at most {ceiling:.0%} of that rate"
    )


def main() -> None:
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    p = load(args.params, SweepStage)
    device = resolve_device(args.device)
    configs = configurations(p, args.runs)
    model = p.model
    s_data = configs[1].data

    tuned = tune_allocator()  # as every stage does (imbcl.cli.run)
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, device {device}, {plural(threads, 'thread')}, "
        f"glibc allocator thresholds raised as in the stages: {tuned}"
    )
    print(
        f"default: batch {p.train.batch}, d {p.data.dim}, L {p.data.tokens}, m {model.width}; "
        f"small: batch {configs[1].train.batch}, d {s_data.dim}, L {s_data.tokens}, "
        f"m {SMALL_WIDTH}; attention {model.attention}"
    )
    check_paths(configs, device)

    gemm = [matmul_gflops(device)]  # read again after every configuration: the speed drifts
    rates = rate_table(configs, device, args.seconds, args.repeats, gemm)
    peak = max(gemm)
    default = rates[configs[0].name]["imbcl"]
    flops = config_flops(configs[0])
    fraction = default * flops / 1e9 / peak
    print(
        f"\nfloat32 matmul (1024² GEMM) of this process: {peak:.1f} GFLOP/s, the best of "
        f"{len(gemm)} readings spread over the run (lowest {min(gemm):.1f})"
    )
    for cfg in configs[:1] + [c for c in configs if c.name.startswith("default, ")]:
        f, rate = config_flops(cfg), rates[cfg.name]["imbcl"]
        print(
            f"{cfg.name}: {f / 1e6:.1f} MFLOP executed a step, data included "
            f"{rate * f / 1e9:.1f} GFLOP/s ({rate * f / 1e9 / peak:.0%} of the GEMM rate)"
        )
    if device.type == "cpu":
        cpu_bound(configs[0], default, flops, peak, threads)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory of this process: {rss_mb:.0f} MiB")
    small = [c.name for c in configs if c.name.startswith("small")]
    name = "small (16 runs)" if "small (16 runs)" in rates else small[-1]
    at16 = rates[name]
    print(
        f"\nsummary: imbcl at {name} against plain and vmap; the share of the GEMM rate is the "
        f"default step's ({configs[0].name})"
    )
    print(
        f"vs plain: {at16['imbcl'] / at16['plain']:.1f}x; vs vmap: "
        f"{at16['imbcl'] / at16['vmap']:.1f}x; matmul-peak fraction: {fraction:.0%}"
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def replace_runs(cfg: Config, runs: int) -> Config:
    return Config(cfg.name, cfg.data, cfg.model, cfg.train, runs)


if __name__ == "__main__":
    main()
