"""Evaluation of the long-tail runs: frozen features, linear probe and kNN accuracy per
many / medium / few group, for every trained run.

Features are the ViT's mean-pooled output f(x) before the projection head. The probe is a
full-batch multinomial logistic regression (scikit-learn, L-BFGS, deterministic) on
standardised features of the balanced probe split; kNN is the weighted vote of the k
nearest probe images by cosine similarity, each weighted exp(cos / T) (solo-learn / DINO).
Both are scored on the balanced test split. Balancedness is the (population) std of the
three group accuracies, as in SDCLR; the head-tail gap is many - few.

`run` is the whole evaluation stage: scores, table, claim C7 and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from imbcl.core.claims import Claim
from imbcl.core.runtime import resolve_device
from imbcl.longtail import claims, splits
from imbcl.longtail import train as realtrain
from imbcl.longtail.distributed import DEVICE_KEY, set_threads
from imbcl.longtail.figures import plot_groups
from imbcl.longtail.params import RealParams
from imbcl.longtail.splits import GROUPS
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


def group_scores(pred: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Overall accuracy, mean per-class accuracy within each group, balancedness, gap."""
    n_classes = len(groups)
    per_class = np.array([(pred[y == c] == c).mean() for c in range(n_classes)])
    out = {"overall": float((pred == y).mean())}
    for g, name in enumerate(GROUPS):
        out[name] = float(per_class[groups == g].mean()) if (groups == g).any() else np.nan
    three = np.array([out[g] for g in GROUPS])
    out["balancedness"] = float(np.nanstd(three))
    out["gap"] = out["many"] - out["few"]
    return out


@dataclass
class Scores:
    """The probe and kNN scores of every run, and the class groups they were scored by."""

    rows: pd.DataFrame  # one row per run: variant, seed, probe_<score>, knn_<score>
    groups: np.ndarray  # (C,) 0 many, 1 medium, 2 few
    group_names: dict[str, list[str]]  # group -> its class names


def check(cfg: RealParams, data: str | Path) -> None:
    """Refuse, before anything is written, what the evaluation cannot honour: a device this
    machine lacks, class groups that leave one empty."""
    resolve_device(cfg.device, key=DEVICE_KEY)
    counts = np.asarray(splits.read_meta(data)["counts"])
    splits.class_groups(counts, cfg.split_rule, cfg.many_min, cfg.few_max)


def score_runs(data: str | Path, runs: str | Path, cfg: RealParams) -> Scores:
    """Linear probe and kNN of every run in `runs` (the training stage's output) on the
    splits in `data` (the data stage's output), scored per class group."""
    meta = splits.read_meta(data)
    index = realtrain.read_index(runs)
    probe, test = splits.load(data, "probe"), splits.load(data, "test")
    counts = np.asarray(meta["counts"])
    groups = splits.class_groups(counts, cfg.split_rule, cfg.many_min, cfg.few_max)
    channels, side = meta["shape"][0], meta["shape"][1]
    set_threads(cfg.threads)
    device = resolve_device(cfg.device, key=DEVICE_KEY)
    x_probe = realtrain.normalise(probe.x, meta["mean"], meta["std"]).to(device)
    x_test = realtrain.normalise(test.x, meta["mean"], meta["std"]).to(device)
    rows = []
    for run in index:
        state = realtrain.load_state(runs, run["variant"], run["seed"])
        model = realtrain.load_model(state, channels, side, cfg).to(device)
        f_probe, f_test = features(model, x_probe), features(model, x_test)
        pred = linear_probe(f_probe, probe.y, f_test, cfg.probe_c)
        knn = knn_predict(f_probe, probe.y, f_test, cfg.knn_k, cfg.knn_temperature, len(counts))
        row = {"variant": run["variant"], "seed": run["seed"]}
        row |= {f"probe_{k}": v for k, v in group_scores(pred, test.y, groups).items()}
        row |= {f"knn_{k}": v for k, v in group_scores(knn, test.y, groups).items()}
        rows.append(row)
    group_names = {
        name: [meta["classes"][c] for c in np.flatnonzero(groups == g)]
        for g, name in enumerate(GROUPS)
    }
    return Scores(pd.DataFrame(rows), groups, group_names)


@dataclass
class Evaluation:
    """What the evaluation stage writes (the figure itself is saved by `run`)."""

    scores: pd.DataFrame  # one row per run
    table: pd.DataFrame  # per variant: seeds, <score>_mean, <score>_std
    claim: Claim  # C7
    metrics: dict[str, float]
    figures: dict  # the report's section: figure file names and captions
    markdown: str  # the table as the report shows it
    latex: str

    def summary(self) -> str:
        c = self.claim
        return (
            claims.formatted(self.table).to_string(index=False)
            + f"\nC7: {c.verdict} ({c.value:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}])"
        )


def run(data: str | Path, runs: str | Path, cfg: RealParams, figure: str | Path) -> Evaluation:
    """Score every run, summarise per variant, decide C7 and draw the group figure at
    `figure`."""
    s = score_runs(data, runs, cfg)
    table = claims.table(s.rows)
    title = f"{cfg.dataset}-LT, rho = {cfg.imbalance_ratio:g}"
    caption = plot_groups(s.rows, figure, title, s.group_names)
    return Evaluation(
        scores=s.rows,
        table=table,
        claim=claims.claim_c7(s.rows, cfg, cfg.dataset),
        metrics=claims.metrics(table),
        figures={
            "section": "Real long-tailed images (C7)",
            "figures": [{"file": Path(figure).name, "caption": caption}],
        },
        markdown=claims.formatted(table).to_markdown(index=False) + "\n",
        latex=claims.latex(table, cfg),
    )
