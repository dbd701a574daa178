"""Stage analyze: stage boundaries, growth rates, specialisation; claims C1 and C2.

    python stages/analyze.py               reads params.yaml [analyze]
writes runs/analyze/metrics.json    flat means over seeds, per role (imbalanced / balanced)
       runs/analyze/claims.json     rows C1, C2
       runs/analyze/stages.json     detected stage boundaries (in steps) per run
       reports/tables/dynamics.{csv,md}   one row per run
"""

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, atomic_path, load_npz, read_json, write_json, write_text
from imbcl.dynamics.claims import analyze, summarise
from imbcl.synthetic.train import load_specs, load_trajectory

TRAIN, DATA, OUT, TABLE = "runs/train", "data/synthetic", "runs/analyze", "reports/tables/dynamics"


def main() -> None:
    p = config.load(cli.params_path(), "analyze")
    majority = load_npz(cli.require(f"{DATA}/dictionary.npz", "the synthesize output"))["majority"]
    roles = read_json(cli.require(f"{TRAIN}/index.json", "the train stage's output"))["roles"]
    summaries = [
        summarise(s, load_trajectory(TRAIN, s), majority, p.analyze) for s in load_specs(TRAIN)
    ]
    table, metrics, claims = analyze(
        summaries, majority, p.analyze, roles["imbalanced"], roles["balanced"]
    )
    with atomic_dir(OUT) as tmp:
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "claims.json", claims)
        write_json(tmp / "stages.json", {s.spec.name: s.stage_steps for s in summaries})
    with atomic_path(f"{TABLE}.csv") as tmp:
        table.round(6).to_csv(tmp, index=False)
    write_text(f"{TABLE}.md", table.round(4).to_markdown(index=False) + "\n")


if __name__ == "__main__":
    cli.run(main)
