"""Stage calibrate: the bias per model size; the small model's chosen on its balanced control
by a rule whose scores decide, the default size's declared (calibrate.default_bias).

    python stages/calibrate.py OUT TABLES
reads   params.yaml [seed, data, model, train, small, calibrate, health]
writes  OUT/bias.json ({"sizes": {"small": chosen, "default": declared}}, each a level and
        noise-tied or not; the small one also at the top level), OUT/health.csv (one
        row per candidate and seed), OUT/figures.json (the report part);
        TABLES/health.{csv,md} (per candidate: health means, share of healthy runs, the
        rule's score, eligible and chosen)
Fails with one line when no candidate is healthy (nothing is written then).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import OutDir
from imbcl.core.errors import ParamError
from imbcl.core.io import atomic_dir, atomic_path, write_json, write_text
from imbcl.core.params import load
from imbcl.core.parts import write_part
from imbcl.core.runtime import set_threads
from imbcl.synthetic import calibrate
from imbcl.synthetic.params import CalibrateStage


def main(out: OutDir, tables: OutDir) -> None:
    p = load(cli.params_path(), CalibrateStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    table, chosen = calibrate.calibrate(
        p.data, p.model, p.train, p.small, p.calibrate, p.health, p.seed
    )
    print(f"calibrate: {len(table)} runs in {time.perf_counter() - start:.1f} s")
    cal, hp = p.calibrate, p.health
    if chosen is None:
        raise ParamError(
            f"calibrate: no candidate bias gives a healthy balanced control "
            f"({calibrate.unhealthy_summary(table, hp)}); widen calibrate.candidates"
        )
    bias, default = calibrate.chosen_bias(cal, chosen), calibrate.declared_bias(cal)
    summary = calibrate.summary_table(table, cal, hp)
    text = calibrate.caption(cal, hp, bias, default)
    with atomic_path(Path(tables) / "health.csv") as tmp:
        summary.round(4).to_csv(tmp, index=False)
    md = summary.round(3).to_markdown(index=False)
    write_text(Path(tables) / "health.md", f"{text}\n\n{md}\n")
    with atomic_dir(out) as tmp:
        write_json(tmp / "bias.json", calibrate.bias_file(bias, default))
        table.round(6).to_csv(tmp / "health.csv", index=False)
        write_part(tmp, calibrate.bias_part(bias, default, text))


if __name__ == "__main__":
    cli.run(main)
