"""Stage longtail_eval: linear probe and kNN on frozen ViT features, per many / medium / few
group; the long-tail table, the per-group figure and claim C7.

    python stages/longtail_eval.py        reads params.yaml [real.*], data/longtail, runs/longtail
writes runs/longtail_eval/metrics.json    mean over seeds per variant and score
       runs/longtail_eval/claims.json     row C7
       runs/longtail_eval/figures.json    figure file and caption, for the report
       runs/longtail_eval/scores.csv      one row per run
       reports/tables/longtail.{csv,md,tex}   mean ± std over seeds per variant
       reports/figures/longtail_groups.png    per-group probe accuracy per variant
"""

import numpy as np
import pandas as pd
import torch

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, atomic_path, read_json, write_json, write_text
from imbcl.core.runtime import resolve_device
from imbcl.longtail import distributed
from imbcl.longtail import evaluate as realeval
from imbcl.longtail import splits as longtail
from imbcl.longtail import train as realtrain

DATA, RUNS, OUT = "data/longtail", "runs/longtail", "runs/longtail_eval"
TABLE, FIGURE = "reports/tables/longtail", "reports/figures/longtail_groups.png"


def main() -> None:
    p = config.load(cli.params_path(), "real")
    cfg = p.real
    meta = read_json(cli.require(f"{DATA}/meta.json", "the longtail_data stage's output"))
    index = read_json(cli.require(f"{RUNS}/index.json", "the longtail_train stage's output"))
    probe, test = longtail.load(DATA, "probe"), longtail.load(DATA, "test")
    counts = np.asarray(meta["counts"])
    groups = longtail.class_groups(counts, cfg.split_rule, cfg.many_min, cfg.few_max)
    channels, side = meta["shape"][0], meta["shape"][1]
    distributed.set_threads(cfg.threads)
    device = resolve_device(cfg.device, key=distributed.DEVICE_KEY)
    x_probe = realtrain.normalise(probe.x, meta["mean"], meta["std"]).to(device)
    x_test = realtrain.normalise(test.x, meta["mean"], meta["std"]).to(device)
    rows = []
    for run in index["runs"]:
        path = cli.require(f"{RUNS}/{run['variant']}_s{run['seed']}.pt", "a trained run")
        model = realtrain.load_model(torch.load(path), channels, side, cfg).to(device)
        f_probe, f_test = realeval.features(model, x_probe), realeval.features(model, x_test)
        pred = realeval.linear_probe(f_probe, probe.y, f_test, cfg.probe_c)
        knn = realeval.knn_predict(
            f_probe, probe.y, f_test, cfg.knn_k, cfg.knn_temperature, len(counts)
        )
        row = {"variant": run["variant"], "seed": run["seed"]}
        row |= {f"probe_{k}": v for k, v in realeval.group_scores(pred, test.y, groups).items()}
        row |= {f"knn_{k}": v for k, v in realeval.group_scores(knn, test.y, groups).items()}
        rows.append(row)
    scores = pd.DataFrame(rows)
    table = realeval.summary(scores)
    table.insert(1, "seeds", scores.groupby("variant", sort=False).size().loc[table.variant].values)
    claim = realeval.claim_c7(scores, cfg, cfg.dataset)
    metrics = {
        f"{r.variant}.{c.removesuffix('_mean')}": getattr(r, c)
        for r in table.itertuples(index=False)
        for c in table.columns
        if c.endswith("_mean")
    }
    group_names = {
        name: [meta["classes"][c] for c in np.flatnonzero(groups == g)]
        for g, name in enumerate(realeval.GROUPS)
    }
    caption = realeval.figure_groups(
        scores, FIGURE, f"{cfg.dataset}-LT, rho = {cfg.imbalance_ratio:g}", group_names
    )
    with atomic_dir(OUT) as tmp:
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "claims.json", [claim.as_dict()])
        write_json(
            tmp / "figures.json",
            {
                "section": "Real long-tailed images (C7)",
                "figures": [{"file": "longtail_groups.png", "caption": caption}],
            },
        )
        scores.round(6).to_csv(tmp / "scores.csv", index=False)
    with atomic_path(f"{TABLE}.csv") as tmp:
        table.round(6).to_csv(tmp, index=False)
    fmt = realeval.formatted(table)
    write_text(f"{TABLE}.md", fmt.to_markdown(index=False) + "\n")
    write_text(
        f"{TABLE}.tex",
        realeval.latex(
            table,
            f"Linear-probe accuracy (\\%) on {cfg.dataset}-LT ($\\rho = "
            f"{cfg.imbalance_ratio:g}$), mean $\\pm$ std over seeds; groups by "
            f"{cfg.split_rule} of the training counts.",
        ),
    )
    print(fmt.to_string(index=False))
    print(f"C7: {claim.verdict} ({claim.value:.3f} [{claim.ci_low:.3f}, {claim.ci_high:.3f}])")


if __name__ == "__main__":
    cli.run(main)
