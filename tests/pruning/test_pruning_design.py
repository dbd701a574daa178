"""The design of the pruning study: which cells exist for given params, and their jobs."""

from __future__ import annotations

import pytest

from imbcl.core.errors import ParamError
from imbcl.pruning.design import (
    MAIN,
    ROLES,
    SWEEP,
    Cell,
    candidate,
    dense_cell,
    design,
    jobs_of,
    probed,
)
from imbcl.pruning.masks import MAGNITUDE
from imbcl.pruning.params import AblationParams
from imbcl.synthetic.train import RunSpec

DEFAULT = AblationParams()  # magnitude_input at 0.8, step 200; sweep_at init, 200, stage1


def test_default_design_cell_by_cell() -> None:
    cells = design(DEFAULT)
    assert len(cells) == len(set(cells))  # no duplicates
    assert cells[:2] == [dense_cell(MAIN, "imbalanced", "shared"), candidate(DEFAULT, MAIN)]
    shared = [c for c in cells if c.part == SWEEP and c.bias == "shared"]
    noise = [c for c in cells if c.part == SWEEP and c.bias == "noise"]
    assert len(cells) == 2 + len(shared) + len(noise)
    # Under the first bias: the dense runs and every magnitude variant at both rhos ...
    assert shared[:2] == [dense_cell(SWEEP, r, "shared") for r in ROLES]
    variants = {(c.method, c.role) for c in shared if (c.ratio, c.timing) == (0.8, "200")}
    assert variants == {(m, r) for m in MAGNITUDE for r in ("imbalanced", "balanced")}
    # ... and the regime map at the default rho, ratio x timing (its 0.8 / 200 cell is the
    # pre-registered one, listed once).
    regime = {(c.ratio, c.timing) for c in shared if c.method == DEFAULT.method}
    assert regime == {(r, t) for r in (0.5, 0.8, 0.9) for t in ("init", "200", "stage1")}
    assert all(c.role == "imbalanced" for c in shared if c.timing not in ("200", "-"))
    assert len(shared) == 2 + 4 * 2 + 9 - 1
    # Under a further bias: only the dense runs and the pre-registered cell at both rhos.
    assert noise == [
        *(dense_cell(SWEEP, r, "noise") for r in ROLES),
        *(Cell(SWEEP, r, "noise", "magnitude_input", 0.8, "200") for r in ROLES),
    ]


def test_random_as_the_candidate_joins_the_variants_and_drives_the_regime_map() -> None:
    ablation = AblationParams(method="random", at="stage1", sweep_bias=["noise"], sweep_at=["init"])
    cells = design(ablation)
    assert len(cells) == len(set(cells))
    assert candidate(ablation, MAIN) == Cell(MAIN, "imbalanced", "shared", "random", 0.8, "stage1")
    assert {c.bias for c in cells if c.part == SWEEP} == {"noise"}  # the first bias leads
    methods = {c.method for c in cells if c.part == SWEEP and c.timing == "stage1"}
    assert methods == {*MAGNITUDE, "random"}
    regime = [c for c in cells if c.timing == "init"]
    assert {c.method for c in regime} == {"random"} and len(regime) == 3


def test_repeated_biases_and_timings_give_no_duplicate_cells() -> None:
    ablation = AblationParams(at=200, sweep_at=[200, 200, "init"], sweep_bias=["shared", "shared"])
    cells = design(ablation)
    assert len(cells) == len(set(cells))
    assert {c.bias for c in cells} == {"shared"}


def test_probe_only_at_the_preregistered_timing_and_on_dense_runs() -> None:
    cells = design(DEFAULT)
    assert {c.timing for c in cells if probed(c, DEFAULT) and not c.dense} == {"200"}
    assert all(probed(c, DEFAULT) for c in cells if c.dense)


def test_cell_baseline_is_its_dense_cell() -> None:
    cell = candidate(DEFAULT, SWEEP, role="balanced")
    assert cell.baseline() == dense_cell(SWEEP, "balanced", "shared")
    assert cell.baseline().dense and not cell.dense


def test_jobs_of_a_cell_pair_each_run_with_its_random_control() -> None:
    sources = [RunSpec(10.0, 8, 0), RunSpec(10.0, 8, 1)]
    stage1 = {sources[0].name: 120, sources[1].name: 140}
    cell = Cell(SWEEP, "imbalanced", "shared", "magnitude_input", 0.5, "stage1")
    jobs = jobs_of(cell, sources, stage1)
    assert [(j.source.seed, j.control, j.step) for j in jobs] == [
        (0, False, 120),
        (0, True, 120),
        (1, False, 140),
        (1, True, 140),
    ]
    assert all(j.ratio == 0.5 and j.method == "magnitude_input" for j in jobs)
    random = jobs_of(Cell(SWEEP, "imbalanced", "shared", "random", 0.5, "init"), sources, {})
    assert [(j.control, j.step) for j in random] == [(False, 0), (False, 0)]  # its own control
    rewound = jobs_of(candidate(DEFAULT, MAIN), sources[:1], {}, rewind=True)
    assert all(j.rewind and j.step == 200 for j in rewound)


def _ablation_section(**changes: object) -> dict:
    raw = AblationParams().model_dump()
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("method", "magnitude"),
        ("ratio", 1.0),
        ("ratio", -0.1),
        ("at", "late"),
        ("at", -5),
        ("at", True),
        ("at", 2.5),
        ("sweep_at", ["init", "end"]),
    ],
)
def test_bad_ablation_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ParamError, match=f"ablation.{key}"):
        AblationParams.parse(_ablation_section(**{key: value}), "ablation")


def test_good_ablation_timings_load() -> None:
    for at in ("init", "stage1", 0, 150):
        assert AblationParams.parse(_ablation_section(at=at), "ablation").at == at
