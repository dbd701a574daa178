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
from imbcl.core.report import Part, write_part
from imbcl.core.runtime import set_threads
from imbcl.synthetic.bias import Bias, candidate_bias
from imbcl.synthetic.calibrate import calibrate, health_summary, scores, unhealthy_summary
from imbcl.synthetic.health import rule_text
from imbcl.synthetic.params import CalibrateStage


def main(out: OutDir, tables: OutDir) -> None:
    p = load(cli.params_path(), CalibrateStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    table, chosen = calibrate(p.data, p.model, p.train, p.small, p.calibrate, p.health, p.seed)
    print(f"calibrate: {len(table)} runs in {time.perf_counter() - start:.1f} s")
    cal, hp = p.calibrate, p.health
    if chosen is None:
        raise ParamError(
            f"calibrate: no candidate bias gives a healthy balanced control "
            f"({unhealthy_summary(table, hp)}); widen calibrate.candidates"
        )
    bias = next(
        b
        for b in (candidate_bias(c, cal.noise_level) for c in cal.candidates)
        if b.candidate == chosen
    )
    summary = health_summary(table).merge(
        scores(table, cal, hp)[["candidate", "score", "eligible", "chosen"]], on="candidate"
    )
    default = Bias(f"{cal.default_bias:g}", cal.default_bias, tied=False)
    with atomic_path(Path(tables) / "health.csv") as tmp:
        summary.round(4).to_csv(tmp, index=False)
    caption = (
        f"Health of the balanced control (rho = 1, small model, m = {cal.width}, "
        f"{cal.seeds} seeds) at each candidate bias. Healthy: {rule_text(hp)}. Chosen for the "
        f"small model: among the candidates with every run healthy (eligible), those within "
        f"{cal.score_tolerance:g} of the best score (mean gap closed), and of these the "
        f"sparsest encoder (lowest non-zero share): {bias.candidate}. The default size's "
        f"bias is declared, not calibrated (calibrate.default_bias): {default.candidate}."
    )
    write_text(
        Path(tables) / "health.md", f"{caption}\n\n{summary.round(3).to_markdown(index=False)}\n"
    )
    with atomic_dir(out) as tmp:
        write_json(
            tmp / "bias.json",
            {**bias.as_dict(), "sizes": {"small": bias.as_dict(), "default": default.as_dict()}},
        )
        table.round(6).to_csv(tmp / "health.csv", index=False)
        write_part(
            tmp,
            Part(
                metrics={
                    "bias_level": bias.level,
                    "bias_noise_tied": float(bias.tied),
                    "default_bias_level": default.level,
                },
                section=f"Calibrated bias. {caption} (tables/health.md)",
            ),
        )


if __name__ == "__main__":
    cli.run(main)
