"""The params models: loading, one-line messages, cross-field and cross-section checks, the
small model."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imbcl.core.errors import ParamError
from imbcl.core.params import Stage, load, read_yaml, replace
from imbcl.dynamics.params import AnalyzeStage, FiguresStage
from imbcl.imbalance.params import ImbalanceStage, SweepStage
from imbcl.longtail.params import (
    LongtailDataStage,
    LongtailEvalStage,
    LongtailTrainStage,
    RealParams,
)
from imbcl.pruning.params import (
    PruneForwardStage,
    PruneParams,
)
from imbcl.race.params import RaceStage
from imbcl.synthetic.params import (
    DataParams,
    ReportStage,
    SmallParams,
    SynthesizeStage,
    TrainParams,
    TrainStage,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"

STAGES: list[type[Stage]] = [
    SynthesizeStage,
    TrainStage,
    AnalyzeStage,
    FiguresStage,
    SweepStage,
    ImbalanceStage,
    PruneForwardStage,
    LongtailDataStage,
    LongtailTrainStage,
    LongtailEvalStage,
    ReportStage,
    RaceStage,
]


def raw_params() -> dict[str, Any]:
    return read_yaml(PARAMS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


# --- the project's params.yaml -----------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.__name__)
def test_project_params_load_for_every_stage(stage):
    p = load(PARAMS, stage)
    assert p.seed == 0


def test_project_params_values():
    p = load(PARAMS, PruneForwardStage)
    assert p.data.imbalance_ratio >= 1 and p.model.width >= 1
    assert p.small == SmallParams()  # params.yaml writes out the defaults


# --- one section: messages (port of tests/test_config.py) --------------------------------


def data_section(**change: Any) -> dict[str, Any]:
    raw = DataParams().model_dump()
    raw.update(change)
    return raw


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"imbalance_ratio": -3}, "data.imbalance_ratio = -3: expected a number >= 1"),
        ({"imbalance_ratio": 0.5}, "data.imbalance_ratio = 0.5"),
        ({"imbalance_ratio": "ten"}, "data.imbalance_ratio = 'ten'"),
        ({"p_majority": 1.5}, "data.p_majority = 1.5: expected a probability in [0, 1]"),
        ({"dim": "abc"}, "data.dim = 'abc'"),
        ({"dim": True}, "data.dim = True"),
        ({"dim": 3.5}, "data.dim = 3.5: expected a number >= 2"),
        ({"noise_std": float("nan")}, "data.noise_std = nan: expected a number >= 0"),
        ({"basis": "fourier"}, "data.basis = 'fourier': expected one of identity, random"),
        ({"colour": 3}, "data.colour: unknown key; expected one of dim, n_features,"),
        ({"n_features": 100}, "data.n_features = 100: expected at most data.dim = 64"),
        ({"n_majority": 20}, "data.n_majority = 20: expected fewer than data.n_features"),
    ],
)
def test_bad_values_name_the_key(change, needle):
    with pytest.raises(ParamError) as err:
        DataParams.parse(data_section(**change), "data")
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_is_named():
    raw = data_section()
    del raw["tokens"]
    with pytest.raises(ParamError, match=r"^data\.tokens: missing; expected a number >= 1$"):
        DataParams.parse(raw, "data")


def test_numbers_are_coerced_as_before():
    d = DataParams.parse(data_section(dim=32.0, imbalance_ratio=5, noise_std="1e-3"), "data")
    assert (d.dim, d.imbalance_ratio, d.noise_std) == (32, 5.0, 1.0e-3)
    assert type(d.dim) is int and type(d.imbalance_ratio) is float
    with pytest.raises(ParamError, match=r"^real\.flip = 1: expected true or false"):
        RealParams.parse({**RealParams().model_dump(), "flip": 1}, "real")


def test_unknown_key_comes_before_a_bad_value_and_names_sort():
    raw = data_section(dim="x", zeta=1, alpha=2)
    with pytest.raises(ParamError, match=r"^data\.alpha: unknown key"):
        DataParams.parse(raw, "data")


def test_first_bad_field_in_order_and_type_before_range():
    raw = data_section(n_features=1)
    del raw["tokens"]
    with pytest.raises(ParamError, match=r"^data\.n_features = 1: expected a number >= 2"):
        DataParams.parse(raw, "data")
    raw = TrainParams().model_dump() | {"checkpoint_steps": [0, -1, "x"]}
    with pytest.raises(ParamError, match=r"^train\.checkpoint_steps = 'x': expected a list"):
        TrainParams.parse(raw, "train")
    raw["checkpoint_steps"] = [0, -1]
    with pytest.raises(ParamError, match=r"^train\.checkpoint_steps = \[0, -1\]: expected"):
        TrainParams.parse(raw, "train")


def test_section_must_be_a_mapping():
    with pytest.raises(ParamError, match=r"^data: expected a mapping of keys, got list$"):
        DataParams.parse([1, 2], "data")


def test_built_in_code_unset_fields_take_defaults():
    assert DataParams(dim=32).tokens == 8
    assert DataParams.model_validate({"dim": 32}).tokens == 8


# --- a params file -----------------------------------------------------------------------


def test_yaml_1_1_style_floats_load_as_numbers(tmp_path):
    text = PARAMS.read_text().replace("weight_decay: 1.0e-3", "weight_decay: 1e-06")
    p = load(write(tmp_path, text), TrainStage)
    assert p.train.weight_decay == pytest.approx(1e-6)


def test_lr_must_be_positive(tmp_path):
    text = PARAMS.read_text().replace("lr: 0.05", "lr: 0.0")
    with pytest.raises(ParamError, match=r"^train\.lr = 0\.0: expected a number > 0$"):
        load(write(tmp_path, text), TrainStage)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParamError, match=r"nothere\.yaml: file not found; .*seed, data$"):
        load(tmp_path / "nothere.yaml", SynthesizeStage)


def test_invalid_yaml_is_named(tmp_path):
    path = write(tmp_path, "seed: [0\n")
    with pytest.raises(ParamError, match=r"params\.yaml:1: seed: not valid YAML \(") as err:
        load(path, SynthesizeStage)
    assert "\n" not in str(err.value)
    with pytest.raises(ParamError, match="expected a mapping of sections at the top level"):
        load(write(tmp_path, "- 1\n"), SynthesizeStage)


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            "  lr: 0.05",
            "  lr: 0.05\n  lr: 0.1",
            r":\d+: train\.lr: written twice \(first at line \d+\)",
        ),
        ("seed: 0", "seed: 0\nseed: 1", r":\d+: seed: written twice \(first at line \d+\)"),
        ("  lr: 0.05", "   lr: 0.05", r":\d+: train\.\w+\.lr: indented unlike the keys beside"),
        ("  lr: 0.05", " lr: 0.05", r":\d+: train\.lr: indented unlike the keys beside"),
        ("  lr: 0.05", "\tlr: 0.05", r":\d+: train\.lr: a tab; expected spaces"),
        ("  lr: 0.05", "  lr: 0.05: 1", r":\d+: train\.lr: indented unlike the keys .*second ':'"),
    ],
    ids=["duplicate key", "duplicate section", "indented more", "indented less", "tab", "colon"],
)
def test_yaml_errors_name_the_line_and_key(tmp_path, old, new, needle):
    text = PARAMS.read_text()
    assert old in text
    with pytest.raises(ParamError, match=r"^\S*params\.yaml" + needle) as err:
        load(write(tmp_path, text.replace(old, new, 1)), TrainStage)
    assert "\n" not in str(err.value)
    line = int(str(err.value).split(":")[1])
    assert new.split("\n")[-1] == text.replace(old, new, 1).splitlines()[line - 1]


def test_seed_plus_block_offsets_fits_the_generators():
    import torch

    from imbcl.core.params import BLOCK_OFFSETS, MAX_SEED

    torch.manual_seed(MAX_SEED + BLOCK_OFFSETS - 1)
    np.random.default_rng(MAX_SEED + BLOCK_OFFSETS - 1)
    assert TrainStage.parse({**raw_params(), "seed": MAX_SEED}).seed == MAX_SEED
    for bad in (MAX_SEED + 1, 2**64, 10**30):
        with pytest.raises(ParamError, match=rf"^seed = {bad}: expected an integer in"):
            TrainStage.parse({**raw_params(), "seed": bad})


@pytest.mark.parametrize(
    ("section", "key", "value", "stage"),
    [
        ("data", "eval_samples", 10**12, SynthesizeStage),
        ("data", "tokens", 10**9, SynthesizeStage),
        ("health", "eval_samples", 10**12, TrainStage),
        ("train", "batch", 10**9, TrainStage),
    ],
)
def test_sizes_are_bounded_naming_the_key_and_the_memory(section, key, value, stage):
    raw = raw_params()
    raw[section] = {**raw[section], key: value}
    with pytest.raises(
        ParamError,
        match=rf"^{section}\.{key} = {value}: expected sizes whose arrays fit in 32 GiB; "
        r".* needs [\d,]+ GiB$",
    ):
        stage.parse(raw)


def test_integers_beyond_int64_are_refused():
    raw = raw_params()
    raw["train"] = {**raw["train"], "steps": 2**63}
    with pytest.raises(ParamError, match=r"^train\.steps = .*: expected"):
        TrainStage.parse(raw)


def test_missing_section_and_seed_are_named(tmp_path):
    raw = raw_params()
    del raw["model"]
    with pytest.raises(ParamError, match=r"^model: missing section; expected the keys of model"):
        TrainStage.parse(raw, "p.yaml")
    raw = raw_params()
    del raw["seed"]
    with pytest.raises(
        ParamError,
        match=r"^seed: missing; expected an integer in \[0, 2\^63 - 2\^20\] \(offsets are added\)$",
    ):
        TrainStage.parse(raw)
    for bad in (-1, True, "0", 1.5):
        with pytest.raises(
            ParamError,
            match=r"^seed = .*: expected an integer in \[0, 2\^63 - 2\^20\] \(offsets are added\)$",
        ):
            TrainStage.parse({**raw_params(), "seed": bad})


def test_seed_comes_first_then_sections_in_order():
    raw = raw_params()
    raw["seed"] = -1
    raw["train"]["lr"] = 0.0
    with pytest.raises(ParamError, match=r"^seed = -1"):
        TrainStage.parse(raw)
    raw["seed"] = 0
    raw["model"]["width"] = 0
    with pytest.raises(ParamError, match=r"^model\.width = 0"):
        TrainStage.parse(raw)


def test_a_stage_reads_only_its_sections():
    raw = raw_params()
    raw["real"]["heads"] = "many"
    raw["sweep"] = "broken"
    assert TrainStage.parse(raw).data.dim == 64
    with pytest.raises(ParamError, match=r"^real\.heads = 'many'"):
        LongtailDataStage.parse(raw)


def test_cross_field_check_in_a_stage_file(tmp_path):
    text = PARAMS.read_text().replace("  heads: 2\n", "  heads: 3\n")
    with pytest.raises(ParamError, match=r"^real\.heads = 3: expected a divisor of real\.embed"):
        load(write(tmp_path, text), LongtailEvalStage)


# --- cross-section checks ----------------------------------------------------------------


def test_small_sizes_are_checked():
    raw = raw_params()
    raw["small"]["n_majority"] = 8
    with pytest.raises(ParamError, match=r"^small\.n_features = 8, small\.n_majority = 8: "):
        SweepStage.parse(raw)


# --- prune: the paper's Algorithm 1 only -----------------------------------------------


@pytest.mark.parametrize("method", ["oneshot", "magnitude_input", "forward"])
def test_prune_method_is_forward_mask_only(method):
    raw = raw_params()
    raw["prune"]["method"] = method
    with pytest.raises(ParamError) as err:
        PruneForwardStage.parse(raw)
    assert str(err.value) == f"prune.method = {method!r}: expected one of forward_mask"
    assert PruneForwardStage.parse(raw_params()).prune.method == "forward_mask"


@pytest.mark.parametrize(
    ("section", "old", "value"),
    [
        ("prune", "forward_ratio", 0.5),  # now prune.alpha
        ("prune", "ratio", 0.5),  # now prune.alpha
        ("prune", "ratios", [1.0, 10.0]),  # now prune.rhos
        ("prune", "forward_every", 1),  # now prune.every
        ("prune", "sweep_width", 16),  # now prune.width
        ("prune", "at", 200),  # the retired one-shot ablation's key
    ],
)
def test_old_prune_keys_are_refused_as_unknown(section, old, value):
    raw = raw_params()
    raw[section][old] = value
    stage, params = PruneForwardStage, PruneParams
    with pytest.raises(
        ParamError, match=rf"^{section}\.{old}: unknown key; expected one of "
    ) as err:
        stage.parse(raw)
    assert str(err.value).endswith("expected one of " + ", ".join(params.model_fields))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("start", 700, "prune.start = 700: expected a step below small.steps = 600"),
        ("early_steps", 700, "prune.early_steps = 700: expected at most small.steps = 600"),
        ("rhos", [10.0, 50.0], "prune.rhos = [10.0, 50.0]: expected the balanced control 1.0"),
        ("every", 0, "prune.every = 0: expected a number >= 1"),
        ("unit", "layer", "prune.unit = 'layer': expected one of neuron, entry"),
        ("width", 0, "prune.width = 0: expected a number >= 1"),
    ],
)
def test_algorithm_1_keys_are_named(key, value, message):
    raw = raw_params()
    raw["prune"][key] = value
    with pytest.raises(ParamError) as err:
        PruneForwardStage.parse(raw)
    assert str(err.value) == message


# --- configs as values -------------------------------------------------------------------


def test_replace_checks_names_not_values():
    t = TrainParams()
    u = replace(t, steps=40, checkpoint_steps=[])  # [] is refused in a file, fine derived
    assert (u.steps, u.checkpoint_steps, t.steps) == (40, [], 2000)
    with pytest.raises(TypeError, match="no field 'stpes'"):
        replace(t, stpes=40)


def test_configs_are_frozen_hashable_and_picklable():
    d = DataParams()
    with pytest.raises(ValueError, match="frozen"):
        d.dim = 3  # type: ignore[misc]
    assert hash(d) == hash(DataParams()) and d == DataParams()
    r = RealParams()
    assert pickle.loads(pickle.dumps(r)) == r  # realtrain sends it to spawned workers


def test_report_reads_the_same_dicts():
    p = load(PARAMS, ReportStage).model_dump()
    raw = raw_params()
    for section in ("data", "model", "train"):
        assert p[section] == raw[section]
