"""Stage analyze: stage detection, growth rates and specialisation of the dense runs; C1, C2.

    python stages/analyze.py DATA TRAIN OUT TABLE
reads   params.yaml [seed, data, analyze, health, train.seeds_per_block, train.batch,
        train.temperature, calibrate.default_bias, model.bias_ramp_steps (the setting the
        train stage's runs share, named in each condition)];
        DATA/dictionary.npz; TRAIN (the train stage's runs and TRAIN/health.csv, their
        health certificates, judged here by the health rule)
writes  OUT/{metrics,claims}.json, OUT/stages.json (stage boundaries per run);
        TABLE.csv and TABLE.md (one row per run)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import InDir, OutDir, OutPrefix
from imbcl.core.io import atomic_dir, atomic_path, load_npz, write_json, write_text
from imbcl.core.params import load
from imbcl.core.parts import write_part
from imbcl.dynamics.analysis import certified, decide
from imbcl.dynamics.conditions import Blocks
from imbcl.dynamics.params import AnalyzeStage
from imbcl.synthetic.health import HEALTH_FILE, read_certificates
from imbcl.synthetic.train import load_runs


def main(data: InDir, train: InDir, out: OutDir, table: OutPrefix) -> None:
    p = load(cli.params_path(), AnalyzeStage)
    dictionary = cli.require(Path(data) / "dictionary.npz", "the synthesize stage's output")
    runs = load_runs(cli.require(train, "the train stage's output"))
    blocks = Blocks(p.seed, p.train.seeds_per_block)
    certificates = read_certificates(
        cli.require(Path(train) / HEALTH_FILE, "the train stage's health certificates")
    )
    arrays = load_npz(dictionary)
    majority = arrays["majority"]
    certificates = certified(p, certificates, arrays)
    setting = {"bias": p.calibrate.default_bias, "ramp": p.model.bias_ramp_steps}
    result = decide(
        runs, majority, p.analyze, p.health, certificates, p.train.batch, blocks, setting
    )
    with atomic_dir(out) as tmp:
        write_part(tmp, result.part)
        write_json(tmp / "stages.json", result.stage_steps)
    with atomic_path(f"{table}.csv") as tmp:
        result.runs.round(6).to_csv(tmp, index=False)
    write_text(f"{table}.md", result.runs.round(4).to_markdown(index=False) + "\n")


if __name__ == "__main__":
    cli.run(main)
