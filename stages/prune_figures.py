"""Stage prune_figures (pipeline ablation/dvc.yaml): the figures of the project's pruning
ablation (one-shot frozen masks).

    python stages/prune_figures.py DATA TRAIN PRUNE FIGURES OUT
reads  params.yaml [ablation]; DATA (dictionary), TRAIN and PRUNE (the dense and pruned runs)
writes FIGURES/prune_regime.png        the search: timing x ratio effect map
       FIGURES/prune_ratio.png         minority strength and neurons vs ratio
       FIGURES/prune_probe.png         probe AUC per group vs ratio
       FIGURES/prune_trajectories.png  main runs over training, pruning step marked
       OUT/figures.json                file names and captions, for the report
"""

from imbcl.core import cli
from imbcl.core.io import atomic_dir, write_json
from imbcl.core.params import load
from imbcl.pruning import figures
from imbcl.pruning.params import AblationFiguresStage


def main(data: str, train: str, prune: str, figures_dir: str, out: str) -> None:
    p = load(cli.params_path(), AblationFiguresStage)
    index = figures.draw(data, train, prune, figures_dir, p.ablation)
    with atomic_dir(out) as tmp:
        write_json(tmp / "figures.json", {"section": "Pruning (C6)", "figures": index})


if __name__ == "__main__":
    cli.run(main)
