"""Stage synthesize: the feature dictionary and a balanced held-out set.

    python stages/synthesize.py            reads params.yaml [seed, data]
writes data/synthetic/dictionary.npz  M (d, K), majority (K,), probs (K,) at the default rho
       data/synthetic/eval.npz        x (n, L, d), z (n, L, K), present (n, K)
Training batches are drawn from the dictionary in the train stage (see imbcl.synthetic.data).
"""

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, save_npz
from imbcl.synthetic.data import eval_set, feature_probs, make_dictionary

OUT = "data/synthetic"


def main() -> None:
    p = config.load(cli.params_path(), "data")
    D = make_dictionary(p.data, p.seed)
    with atomic_dir(OUT) as tmp:
        save_npz(
            tmp / "dictionary.npz",
            M=D.M,
            majority=D.majority,
            probs=feature_probs(p.data, p.data.imbalance_ratio),
        )
        save_npz(tmp / "eval.npz", **eval_set(p.data, D.M, p.seed))


if __name__ == "__main__":
    cli.run(main)
