"""The measures C6 compares, one dict per run at its final step: per group (majority /
minority features), the feature strength, the specialised neurons per feature, the coverage,
the neuron separation, and the linear probe where asked.

`neuron_separation` is per group of neurons: the mean, over the neurons whose best feature is
in the group, of each neuron's feature-to-noise ratio. (C5's per-feature separation, in
imbcl.imbalance, reads each feature's best neuron instead.)
"""

from __future__ import annotations

import numpy as np

from imbcl.pruning.design import Testbed
from imbcl.pruning.params import AblationParams
from imbcl.synthetic.measures import feature_strength, neurons_per_feature
from imbcl.synthetic.model import Params, bias_at
from imbcl.synthetic.probe import encoder_features, group_summary, linear_probe
from imbcl.synthetic.train import Trajectory

MEASURES = (
    "minority_neurons",
    "minority_coverage",
    "minority_strength",
    "minority_separation",
    "majority_neurons",
    "majority_strength",
    "majority_separation",
)


def neuron_separation(proj: np.ndarray, noise: np.ndarray, in_group: np.ndarray) -> float:
    """Feature-to-noise separation of a group, in decades: the mean over the live neurons whose
    best feature is in the group of log10(|<u_i, M_best>| / ||u_i - M M^T u_i||).

    proj (m, K), noise (m,), in_group (K,) bool. On a log scale one neuron whose noise part
    was pruned to almost nothing cannot dominate the group. NaN when no neuron's best
    feature is in the group.
    """
    align = np.abs(proj)  # (m, K)
    best = align.argmax(axis=1)
    live = align.max(axis=1) > 0
    chosen = live & in_group[best]
    if not chosen.any():
        return float("nan")
    floor = np.full(int(chosen.sum()), 1e-8)
    ratio = align[chosen, best[chosen]] / np.maximum(noise[chosen], floor)
    return float(np.log10(ratio).mean())


def group_measures(
    proj: np.ndarray,
    norm: np.ndarray,
    noise: np.ndarray,
    majority: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    """Per-group numbers of one run at one logged step. proj (m, K), norm, noise (m,)."""
    strength = feature_strength(proj)  # (K,)
    neurons = neurons_per_feature(proj, norm, threshold)  # (K,)
    out = {}
    for group, sel in (("majority", majority), ("minority", ~majority)):
        out[f"{group}_strength"] = float(strength[sel].mean())
        out[f"{group}_neurons"] = float(neurons[sel].mean())
        out[f"{group}_coverage"] = float((neurons[sel] > 0).mean())
        out[f"{group}_separation"] = neuron_separation(proj, noise, sel)
    return out


def run_measures(
    traj: Trajectory, final: Params, bed: Testbed, ablation: AblationParams, probe: bool
) -> dict[str, float]:
    """The final measures of one run; with `probe`, the linear probe on the frozen encoder
    (per group AUC and accuracy) and the share of nonzero outputs."""
    row = group_measures(traj.proj[-1], traj.norm[-1], traj.noise[-1], bed.majority, bed.threshold)
    if probe:
        bias = bias_at(bed.model, bed.train.steps)
        feats = encoder_features({k: v[None] for k, v in final.items()}, bed.eval_x, bias)[0]
        per_feature = linear_probe(
            feats, bed.eval_present, ablation.probe_c, ablation.probe_train_fraction
        )
        row.update(group_summary(per_feature, bed.majority))
        # Share of nonzero outputs: a probe at chance on an all-zero f says why.
        row["active_fraction"] = float((feats != 0).mean())
    return row
