"""Evaluation of the long-tail runs and their baselines: frozen features, linear probe and
kNN accuracy per many / medium / few group and Delta20, for every trained run, for the raw
pixels and for the untrained encoder.

Features are the ViT's mean-pooled output f(x) before the projection head; the raw-pixel
baseline reads the normalised pixels themselves, the untrained baseline the ViT at each
seed's initialisation (the dense run's own starting point). The probe is a full-batch
multinomial logistic regression (scikit-learn, L-BFGS, deterministic) on standardised
features of the balanced probe split; kNN is the weighted vote of the k nearest probe images
by cosine similarity, each weighted exp(cos / T) (solo-learn / DINO). Both are scored on the
balanced test split. Balancedness is the (population) std of the three group accuracies, as
in SDCLR; the head-tail gap is many - few; Delta20 is the mean accuracy of the 20% most
frequent classes minus that of the 20% least frequent (the paper's measure). Groups and the
Delta20 classes come from the training counts at C7's rho and hold at every rho (a class
keeps its place; at rho = 1 the order is the label order, as the counts tie).

`run` is the whole evaluation stage: scores, table, claim C7 and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from imbcl.core.claims import Claim
from imbcl.core.errors import ParamError
from imbcl.core.progress import track
from imbcl.core.runtime import resolve_device
from imbcl.longtail import claims, results, splits
from imbcl.longtail.distributed import DEVICE_KEY, set_threads
from imbcl.longtail.feed import normalise
from imbcl.longtail.figures import plot_curve, plot_groups
from imbcl.longtail.loop import init_model
from imbcl.longtail.params import RealParams
from imbcl.longtail.splits import GROUPS
from imbcl.longtail.storage import load_model, load_state, read_index
from imbcl.longtail.vit import ViT


@torch.no_grad()
def features(model: ViT, x: torch.Tensor, chunk: int = 1024) -> np.ndarray:
    """x (N, C, H, W) normalised -> f(x) (N, embed_dim) float64."""
    model.eval()
    parts = [model.features(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    return torch.cat(parts).double().cpu().numpy()


def linear_probe(f_fit: np.ndarray, y_fit: np.ndarray, f_test: np.ndarray, c: float) -> np.ndarray:
    """Predicted labels (N_test,) of a logistic regression fitted on (f_fit, y_fit)."""
    scaler = StandardScaler().fit(f_fit)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(scaler.transform(f_fit), y_fit)
    return clf.predict(scaler.transform(f_test))


def knn_predict(
    f_fit: np.ndarray,
    y_fit: np.ndarray,
    f_test: np.ndarray,
    k: int,
    temperature: float,
    n_classes: int,
    chunk: int = 1024,
) -> np.ndarray:
    """Weighted kNN on cosine similarity; (N_test,) predicted labels.

    Test rows go in chunks so the similarity matrix stays (chunk, N_fit) at CIFAR sizes.
    """
    a = f_fit / np.linalg.norm(f_fit, axis=1, keepdims=True).clip(1e-12)
    b = f_test / np.linalg.norm(f_test, axis=1, keepdims=True).clip(1e-12)
    k = min(k, len(a))
    pred = np.empty(len(b), dtype=np.int64)
    for lo in range(0, len(b), chunk):
        sim = b[lo : lo + chunk] @ a.T  # (chunk, N_fit)
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (chunk, k)
        weight = np.exp(np.take_along_axis(sim, top, axis=1) / temperature)
        votes = np.zeros((len(sim), n_classes))
        np.add.at(votes, (np.arange(len(sim))[:, None], y_fit[top]), weight)
        pred[lo : lo + chunk] = votes.argmax(axis=1)
    return pred


def group_scores(
    pred: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    top: np.ndarray | None = None,
    bottom: np.ndarray | None = None,
) -> dict[str, float]:
    """Overall accuracy, mean per-class accuracy within each group, balancedness, gap and
    (with the `top` and `bottom` classes) Delta20."""
    n_classes = len(groups)
    per_class = np.array([(pred[y == c] == c).mean() for c in range(n_classes)])
    out = {"overall": float((pred == y).mean())}
    for g, name in enumerate(GROUPS):
        out[name] = float(per_class[groups == g].mean())
    three = np.array([out[g] for g in GROUPS])
    out["balancedness"] = float(np.std(three))
    out["gap"] = out["many"] - out["few"]
    if top is not None and bottom is not None:
        out["d20"] = float(per_class[top].mean() - per_class[bottom].mean())
    return out


@dataclass
class Bench:
    """The fixed part of every scoring: probe and test splits, groups, Delta20 classes."""

    x_probe: torch.Tensor  # (N_probe, C, H, W) normalised
    y_probe: np.ndarray
    x_test: torch.Tensor
    y_test: np.ndarray
    groups: np.ndarray  # (C,) 0 many, 1 medium, 2 few
    top: np.ndarray  # the Delta20 classes
    bottom: np.ndarray
    cfg: RealParams

    def score(self, f_probe: np.ndarray, f_test: np.ndarray) -> dict[str, float]:
        """probe_<score> and knn_<score> of one feature map."""
        cfg, n_classes = self.cfg, len(self.groups)
        pred = linear_probe(f_probe, self.y_probe, f_test, cfg.probe_c)
        knn = knn_predict(f_probe, self.y_probe, f_test, cfg.knn_k, cfg.knn_temperature, n_classes)
        parts = (self.groups, self.top, self.bottom)
        row = {f"probe_{k}": v for k, v in group_scores(pred, self.y_test, *parts).items()}
        row |= {f"knn_{k}": v for k, v in group_scores(knn, self.y_test, *parts).items()}
        return row

    def probe_accuracy(self, model: ViT) -> float:
        """Balanced-test probe accuracy of one encoder (the curve's points)."""
        f_probe, f_test = features(model, self.x_probe), features(model, self.x_test)
        pred = linear_probe(f_probe, self.y_probe, f_test, self.cfg.probe_c)
        return float((pred == self.y_test).mean())


@dataclass
class Scores:
    """The probe and kNN scores of every run and baseline, the dense curve, the groups."""

    rows: pd.DataFrame  # one row per run: rho (nan for baselines), variant, seed, scores
    curve: pd.DataFrame  # dense runs at C7's rho: seed, step, probe_overall
    groups: np.ndarray  # (C,) 0 many, 1 medium, 2 few
    group_names: dict[str, list[str]]  # group -> its class names


def bench(data: str | Path, cfg: RealParams, device: torch.device) -> tuple[Bench, dict]:
    """The probe and test splits of `data`, normalised, with the groups of C7's rho."""
    meta = splits.read_meta(data)
    probe, test = splits.load(data, "probe"), splits.load(data, "test")
    counts = np.asarray(meta["counts"][splits.rho_key(cfg.imbalance_ratio)])
    groups = splits.class_groups(counts, cfg.split_rule, cfg.many_min, cfg.few_max)
    top, bottom = splits.top_bottom(counts)
    x_probe = normalise(probe.x, meta["mean"], meta["std"]).to(device)
    x_test = normalise(test.x, meta["mean"], meta["std"]).to(device)
    return Bench(x_probe, probe.y, x_test, test.y, groups, top, bottom, cfg), meta


def score_runs(data: str | Path, runs: str | Path, cfg: RealParams, seed: int) -> Scores:
    """Linear probe and kNN of every run in `runs` (the training stage's output), of the raw
    pixels and of the untrained encoder of every seed, on the splits in `data` (the data
    stage's output), scored per class group; and the dense runs' curve at C7's rho."""
    set_threads(cfg.threads)
    # the probe's L-BFGS is tiny: BLAS threads only spin (cfg.threads 0: the default)
    with threadpool_limits(cfg.threads or None):
        return _score_runs(data, runs, cfg, seed)


def _score_runs(data: str | Path, runs: str | Path, cfg: RealParams, seed: int) -> Scores:
    device = resolve_device(cfg.device, key=DEVICE_KEY)
    b, meta = bench(data, cfg, device)
    index = read_index(runs)
    channels, side = meta["shape"][0], meta["shape"][1]
    nan = float("nan")
    flat_probe = b.x_probe.flatten(1).double().cpu().numpy()
    rows = [{"rho": nan, "variant": "raw", "seed": seed} | b.score(flat_probe, _flat(b.x_test))]
    seeds = sorted({r["seed"] for r in index})
    curve = []
    for s in seeds:
        model = init_model(channels, side, cfg, s).to(device).eval()
        f_probe, f_test = features(model, b.x_probe), features(model, b.x_test)
        rows.append({"rho": nan, "variant": "untrained", "seed": s} | b.score(f_probe, f_test))
    for run in track(index, "ViT runs evaluated"):
        state = load_state(runs, run["variant"], run["rho"], run["seed"])
        model = load_model(state, channels, side, cfg).to(device)
        f_probe, f_test = features(model, b.x_probe), features(model, b.x_test)
        row = {"rho": run["rho"], "variant": run["variant"], "seed": run["seed"]}
        rows.append(row | b.score(f_probe, f_test))
        if run["variant"] == "dense" and run["rho"] == cfg.imbalance_ratio:
            for step in run.get("curve", []):
                point = load_state(runs, "dense", run["rho"], run["seed"], step)
                acc = b.probe_accuracy(load_model(point, channels, side, cfg).to(device))
                curve.append({"seed": run["seed"], "step": step, "probe_overall": acc})
            curve.append(
                {"seed": run["seed"], "step": cfg.steps, "probe_overall": rows[-1]["probe_overall"]}
            )
    table = pd.DataFrame(rows)
    for s in seeds:  # step 0 of the curve is the untrained encoder
        start = table[(table.variant == "untrained") & (table.seed == s)].probe_overall
        curve.append({"seed": s, "step": 0, "probe_overall": float(start.iloc[0])})
    group_names = {
        name: [meta["classes"][c] for c in np.flatnonzero(b.groups == g)]
        for g, name in enumerate(GROUPS)
    }
    curve_df = pd.DataFrame(curve, columns=["seed", "step", "probe_overall"])
    curve_df = curve_df.sort_values(["seed", "step"], kind="stable").reset_index(drop=True)
    return Scores(table, curve_df, b.groups, group_names)


def _flat(x: torch.Tensor) -> np.ndarray:
    """Normalised pixels as features (N, C * H * W) float64: the raw-pixel baseline."""
    return x.flatten(1).double().cpu().numpy()


def check(cfg: RealParams, data: str | Path) -> None:
    """Refuse, before anything is written, what the evaluation cannot honour: a device this
    machine lacks, class groups that leave one empty."""
    resolve_device(cfg.device, key=DEVICE_KEY)
    counts = splits.read_meta(data)["counts"]
    key = splits.rho_key(cfg.imbalance_ratio)
    if key not in counts:
        raise ParamError(
            f"real.imbalance_ratio = {cfg.imbalance_ratio:g}: the data stage drew no split at "
            f"this rho (it drew {', '.join(counts)}); rerun longtail_data"
        )
    splits.class_groups(np.asarray(counts[key]), cfg.split_rule, cfg.many_min, cfg.few_max)


@dataclass
class Evaluation:
    """What the evaluation stage writes (the figures themselves are saved by `run`)."""

    scores: pd.DataFrame  # one row per run and baseline
    curve: pd.DataFrame  # the dense runs' probe accuracy by step at C7's rho
    table: pd.DataFrame  # per (rho, variant): seeds, <score>_mean, <score>_std
    claim: Claim  # C7 at real.imbalance_ratio (the evidence fields)
    row: dict  # C7's claims.json row: decided per rho where the precondition holds
    metrics: dict[str, float]
    figures: dict  # the report's section: figure file names and captions
    markdown: str  # the table as the report shows it
    latex: str
    paper: str  # the paper's rows beside ours (markdown)

    def summary(self) -> str:
        c = self.claim
        why = f"; {c.reason}" if c.reason else ""
        return (
            results.formatted(self.table).to_string(index=False)
            + f"\nC7: {c.verdict} ({c.value:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}]{why})"
        )


def run(
    data: str | Path,
    runs: str | Path,
    cfg: RealParams,
    seed: int,
    figure: str | Path,
    curve_figure: str | Path,
) -> Evaluation:
    """Score every run and baseline, summarise per (rho, variant), decide C7 and draw the
    group figure at `figure` and the training curve at `curve_figure`."""
    s = score_runs(data, runs, cfg, seed)
    table = results.table(s.rows, cfg)
    title = f"{cfg.dataset}-LT, rho = {cfg.imbalance_ratio:g}"
    claim = claims.claim_c7(s.rows, cfg, seed)
    row = claims.c7_row(claim, s.rows, cfg, seed)
    captions = [
        {
            "file": Path(figure).name,
            "caption": plot_groups(s.rows, figure, title, s.group_names, cfg),
        },
        {
            "file": Path(curve_figure).name,
            "caption": plot_curve(s.curve, s.rows, curve_figure, title, cfg),
        },
    ]
    return Evaluation(
        scores=s.rows,
        curve=s.curve,
        table=table,
        claim=claim,
        row=row,
        metrics=results.metrics(table, claim),
        figures={"section": "Real long-tailed images (C7)", "figures": captions},
        markdown=results.markdown(table, cfg),
        latex=results.latex(table, cfg),
        paper=results.paper_table(table, cfg),
    )
