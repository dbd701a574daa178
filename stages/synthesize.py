"""Stage synthesize: the feature dictionary and a balanced held-out set.

    python stages/synthesize.py OUT
reads   params.yaml [seed, data]
writes  OUT/dictionary.npz (M (d, K), majority (K,), probs (K,)), OUT/eval.npz
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import OutDir
from imbcl.core.io import atomic_dir, save_npz
from imbcl.core.params import load
from imbcl.synthetic.data import eval_set, feature_probs, make_dictionary
from imbcl.synthetic.params import SynthesizeStage


def main(out: OutDir) -> None:
    p = load(cli.params_path(), SynthesizeStage)
    D = make_dictionary(p.data, p.seed)
    probs = feature_probs(p.data, p.data.imbalance_ratio)
    with atomic_dir(out) as tmp:
        save_npz(tmp / "dictionary.npz", M=D.M, majority=D.majority, probs=probs)
        save_npz(tmp / "eval.npz", **eval_set(p.data, D.M, p.seed))


if __name__ == "__main__":
    cli.run(main)
