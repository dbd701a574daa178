from pathlib import Path

import pytest

from imbcl import config
from imbcl.config import DataConfig, ParamError, build

ROOT = Path(__file__).resolve().parents[1]


def test_project_params_load_every_section():
    # sweep and prune now share the small model in `small`, which this loader does not know;
    # tests/core/test_params.py loads every section with imbcl.core.params.
    p = config.load(ROOT / "params.yaml", "data", "model", "train", "analyze", "real")
    assert p.data.imbalance_ratio >= 1 and p.model.width >= 1


def data_section(**change):
    raw = config.as_dict(DataConfig())
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
        ({"basis": "fourier"}, "data.basis = 'fourier': expected one of identity, random"),
        ({"colour": 3}, "data.colour: unknown key"),
        ({"n_features": 100}, "data.n_features = 100: expected at most data.dim"),
    ],
)
def test_bad_values_name_the_key(change, needle):
    with pytest.raises(ParamError) as err:
        build(DataConfig, data_section(**change), "data")
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_is_named():
    raw = data_section()
    del raw["tokens"]
    with pytest.raises(ParamError, match=r"data\.tokens: missing"):
        build(DataConfig, raw, "data")


def test_yaml_1_1_style_floats_load_as_numbers(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("weight_decay: 1.0e-3", "weight_decay: 1e-06")
    (tmp_path / "params.yaml").write_text(text)
    p = config.load(tmp_path / "params.yaml", "train")
    assert p.train.weight_decay == pytest.approx(1e-6)


def test_lr_must_be_positive(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("lr: 0.05", "lr: 0.0")
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamError, match=r"train\.lr = 0\.0: expected a number > 0"):
        config.load(tmp_path / "params.yaml", "train")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParamError, match="nothere.yaml: file not found"):
        config.load(tmp_path / "nothere.yaml", "data")
