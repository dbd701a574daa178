"""Stage prune (pipeline ablation/dvc.yaml, `make ablation`): the project's own ablation of
C6, not the paper's method: one-shot magnitude pruning vs random pruning vs dense, on the
train stage's runs and on a seeded sweep of a smaller model.

    python stages/prune.py DATA TRAIN ANALYZE OUT TABLE
reads  params.yaml [seed, data, model, train, analyze, small, ablation]; DATA (dictionary,
       held-out set), TRAIN (the dense runs and checkpoints), ANALYZE/stages.json (end of stage 1)
writes OUT/main/             the pruned and random-control runs of the main part
       OUT/runs.csv          one row of final measures (and probe) per run
       OUT/regime.csv        magnitude - random effect per (timing, ratio)
       OUT/metrics.json      flat means; OUT/claims.json  row C6
       TABLE.{csv,md,tex}    dense / variants / random controls, mean ± std
"""

from imbcl.core import cli
from imbcl.core.io import atomic_dir, atomic_path, write_json, write_text
from imbcl.core.params import load
from imbcl.core.tables import latex
from imbcl.pruning import experiment
from imbcl.pruning.params import AblationStage
from imbcl.synthetic.train import save_runs


def main(data: str, train: str, analyze: str, out: str, table: str) -> None:
    p = load(cli.params_path(), AblationStage)
    sections = {
        k: getattr(p, k) for k in ("data", "model", "train", "analyze", "small", "ablation")
    }
    result = experiment.run(data, train, analyze, seed=p.seed, **sections)
    with atomic_dir(out) as tmp:
        save_runs(tmp / "main", result.main)
        with atomic_path(tmp / "runs.csv") as f:
            result.rows.round(6).to_csv(f, index=False)
        with atomic_path(tmp / "regime.csv") as f:
            result.regime.round(6).to_csv(f, index=False)
        write_json(tmp / "metrics.json", result.metrics)
        # The one-shot frozen masks are the project's ablation, not the paper's method: their
        # verdict is kept beside the runs; claim C6 is decided by the prune_forward stage.
        write_json(tmp / "ablation_claim.json", result.claim.as_dict())
        write_json(tmp / "main" / "pruning.json", result.main_index())
    with atomic_path(f"{table}.csv") as f:
        result.variants.to_csv(f, index=False)
    markdown = result.variants.to_markdown(index=False)
    write_text(f"{table}.md", f"{result.caption}\n\n{markdown}\n")
    write_text(f"{table}.tex", latex(result.variants, result.caption))


if __name__ == "__main__":
    cli.run(main)
