"""Stage figures: trajectories and final alignments of the dense runs.

    python stages/figures.py DATA TRAIN ANALYZE OUT FIGURES PLOTS
reads   DATA/dictionary.npz, TRAIN (the train stage's runs), ANALYZE/stages.json
writes  FIGURES/trajectories.png, FIGURES/final_alignment.png; PLOTS (seed-mean group
        curves, the data of `dvc plots`); OUT/figures.json (captions, for the report)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import InDir, OutDir, OutFile
from imbcl.core.io import atomic_dir, atomic_path, load_npz, read_json
from imbcl.core.parts import Part, write_part
from imbcl.dynamics.figures import draw
from imbcl.synthetic.train import load_runs


def main(
    data: InDir, train: InDir, analyze: InDir, out: OutDir, figures: OutDir, plots: OutFile
) -> None:
    dictionary = cli.require(Path(data) / "dictionary.npz", "the synthesize stage's output")
    stages = read_json(cli.require(Path(analyze) / "stages.json", "the analyze stage's output"))
    runs = load_runs(cli.require(train, "the train stage's output"))
    wide, index = draw(runs, load_npz(dictionary)["majority"], stages, figures)
    with atomic_path(plots) as tmp:
        wide.round(6).reset_index().to_csv(tmp, index=False)
    with atomic_dir(out) as tmp:
        write_part(tmp, Part(section="Training dynamics (C1, C2)", figures=index))


if __name__ == "__main__":
    cli.run(main)
