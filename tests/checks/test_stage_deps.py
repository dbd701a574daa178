"""scripts/stage_deps.py: every stage depends on the modules its script imports and on each
params section its schema loads; a missing module or section is named."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("stage_deps", ROOT / "scripts" / "stage_deps.py")
assert spec is not None and spec.loader is not None
stage_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage_deps)


def test_every_dvc_yaml_lists_what_its_stages_import_and_load():
    assert stage_deps.problems() == []  # else: python scripts/stage_deps.py rewrites them


def test_the_imports_are_followed_through_the_package():
    deps = stage_deps.code_deps("stages/prune_forward.py")
    assert deps[0] == "stages/prune_forward.py"
    assert "src/imbcl/pruning/study.py" in deps  # imported by the script
    assert "src/imbcl/synthetic/train.py" in deps  # imported by pruning modules
    assert not any(d.startswith("src/imbcl/longtail/") for d in deps)
    assert "src/imbcl/pruning/__init__.py" not in deps  # a docstring only


def test_a_module_left_out_or_not_imported_is_named(tmp_path):
    text = (ROOT / "dvc.yaml").read_text()
    edited = text.replace("      - src/imbcl/pruning/study.py\n", "", 1)
    edited = edited.replace("      - src/imbcl/longtail/vit.py\n", "", 1)  # longtail_train
    edited = edited.replace(
        "      - stages/synthesize.py\n", "      - stages/synthesize.py\n      - src/imbcl/race\n"
    )
    (tmp_path / "dvc.yaml").write_text(edited)
    assert stage_deps.problems([str(tmp_path / "dvc.yaml")]) == [
        f"{tmp_path}/dvc.yaml: synthesize: dep src/imbcl/race is not imported",
        f"{tmp_path}/dvc.yaml: longtail_train: missing dep src/imbcl/longtail/vit.py",
        f"{tmp_path}/dvc.yaml: prune_forward: missing dep src/imbcl/pruning/study.py",
    ]


def test_a_section_left_out_or_a_key_unknown_is_named():
    spec = stage_deps.stages("dvc.yaml")["prune_forward"]
    params = [k for k in spec["params"] if k != "health"] + ["prune.no_such_key"]
    found = stage_deps.params_problems("stages/prune_forward.py", {**spec, "params": params})
    assert found == ["missing params health", "params prune.no_such_key: not a key of prune"]


def test_prune_forward_does_not_depend_on_the_sensitivity_keys_or_other_claims_rules():
    params = stage_deps.listed_params(stage_deps.stages("dvc.yaml")["prune_forward"])
    assert not any(k.startswith("prune.sensitivity") for k in params)
    assert "prune" not in params and "analyze" not in params
