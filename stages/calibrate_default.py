"""Stage calibrate_default (pipeline study/dvc.yaml, `make study`): the calibration rule of
the small model (synthetic.calibrate) applied to the default size, whose bias the default
pipeline declares (calibrate.default_bias): does the rule choose the declared bias?

    python stages/calibrate_default.py TABLE SUMMARY
reads   params.yaml [seed, data, model, train, small, calibrate, health]
writes  TABLE (markdown: per candidate the health means, score, eligible, chosen),
        SUMMARY (json: chosen, declared, agree, and the per-candidate scores)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import OutFile
from imbcl.core.io import write_json, write_text
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.synthetic.calibrate import (
    calibrate_configs,
    default_caption,
    default_configs,
    health_summary,
    scores,
)
from imbcl.synthetic.params import CalibrateStage


def main(table: OutFile, summary: OutFile) -> None:
    p = load(cli.params_path(), CalibrateStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    cal, hp = p.calibrate, p.health
    data, model, train = default_configs(p.data, p.model, p.train)
    runs, chosen = calibrate_configs(data, model, train, cal, hp, p.seed)
    rule = scores(runs, cal, hp)[["candidate", "score", "eligible", "chosen"]]
    rows = health_summary(runs).merge(rule, on="candidate")
    declared = f"{cal.default_bias:g}"
    caption = default_caption(model.width, train.steps, cal, hp, str(chosen))
    write_text(table, f"{caption}\n\n{rows.round(3).to_markdown(index=False)}\n")
    write_json(
        summary,
        {
            "chosen": chosen,
            "declared": declared,
            "agree": chosen == declared,
            "candidates": rows.round(6).to_dict(orient="records"),
        },
    )
    print(f"calibrate_default: {len(runs)} runs in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    cli.run(main)
