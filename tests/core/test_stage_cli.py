"""Every stage script, run by hand: one `error:` line and exit 2 for a wrong argument count or
a path of the wrong kind, and the library imported from the script's own checkout."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imbcl.core import cli
from imbcl.core.errors import InputError

REPO = Path(__file__).resolve().parents[2]
STAGES = sorted(p.name for p in (REPO / "stages").glob("*.py"))


def _arguments(stage: str) -> list[tuple[str, str]]:
    """(name, annotation) of each parameter of the stage's main, read from its source."""
    tree = ast.parse((REPO / "stages" / stage).read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    return [(a.arg, ast.unparse(a.annotation)) for a in main.args.args]  # type: ignore[arg-type]


def _run(stage: str, args: list[str], cwd: Path, root: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "IMBCL_PARAMS": str(REPO / "params.yaml")}
    return subprocess.run(
        [sys.executable, str(root / "stages" / stage), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


@pytest.mark.parametrize("stage", STAGES)
def test_every_argument_annotated_with_its_kind(stage):
    kinds = {"InDir", "InFile", "InPath", "OutDir", "OutFile", "OutPrefix"}
    assert all(kind in kinds for _, kind in _arguments(stage)), _arguments(stage)


@pytest.mark.parametrize("stage", ["report.py", "train.py"])  # cli.run's check, shared
def test_a_wrong_argument_count_is_one_error_line(stage, tmp_path):
    n = len(_arguments(stage))
    line = _one_error_line(_run(stage, ["x"] * (n - 1), tmp_path))
    assert line.startswith("error: usage: python ")


@pytest.mark.parametrize("stage", STAGES)
def test_a_path_of_the_wrong_kind_is_one_error_line_before_any_work(stage, tmp_path):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("")
    name, kind = _arguments(stage)[0]
    wrong = "a-file" if kind.endswith("Dir") else "a-folder"
    rest = [f"out{i}" for i in range(len(_arguments(stage)) - 1)]
    line = _one_error_line(_run(stage, [wrong, *rest], tmp_path))
    assert line.startswith(f"error: {wrong}: ") and name in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]


def test_a_folder_given_for_a_file_input_is_one_error_line(tmp_path):
    (tmp_path / "calibrate").mkdir()
    line = _one_error_line(_run("train.py", ["data", "calibrate", "out"], tmp_path))
    assert line == "error: calibrate: a folder; expected bias to be a file"
    line = _one_error_line(_run("train.py", ["data", "calibrate/bias.json", "out"], tmp_path))
    assert line == "error: data/dictionary.npz: not found; expected the synthesize stage's output"


def test_an_output_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(InputError, match="is a file; expected folders on the way"):
        cli.check_path(cli.OutDir, str(tmp_path / "a-file" / "out"), "out")

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", read_only)
    for kind in (cli.OutDir, cli.OutFile, cli.OutPrefix):
        with pytest.raises(InputError, match=r"cannot write in .* \(Read-only file system\)"):
            cli.check_path(kind, str(tmp_path / "runs" / "out"), "out")


def test_stages_import_the_library_of_their_own_checkout(tmp_path):
    """A queued dvc experiment runs in a copy of the repository while the editable install
    points at the workspace: each stage must take src/ from beside itself."""
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "stages", copy / "stages")
    shutil.copytree(REPO / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    init = copy / "src" / "imbcl" / "__init__.py"
    init.write_text('raise SystemExit("imbcl from " + __file__)\n')
    for stage in STAGES:
        out = _run(stage, [], tmp_path, root=copy)
        assert f"imbcl from {init}" in out.stderr, (stage, out.stderr)


@pytest.mark.parametrize("under_dvc", [False, True])
def test_ctrl_c_says_what_became_of_the_outputs(monkeypatch, capsys, under_dvc):
    def main() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys, "argv", ["stages/x.py"])
    if under_dvc:
        monkeypatch.setenv("DVC_STAGE", "train")
    else:
        monkeypatch.delenv("DVC_STAGE", raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.run(main)
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert ("left as they were" in err) is not under_dvc
    assert ("dvc removed this stage's outputs" in err) is under_dvc


def test_an_os_error_on_a_named_file_is_one_line(monkeypatch, capsys, tmp_path):
    def main() -> None:
        open(tmp_path)  # a folder where a file is expected, met inside the stage

    monkeypatch.setattr(sys, "argv", ["stages/x.py"])
    with pytest.raises(SystemExit) as exit_:
        cli.run(main)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: {tmp_path}: Is a directory\n"


@pytest.mark.parametrize("stage", ["synthesize.py", "report.py"])
def test_help_prints_the_usage_and_writes_nothing(stage, tmp_path):
    out = _run(stage, ["--help"], tmp_path)
    assert out.returncode == 0 and "python stages/" in out.stdout
    assert list(tmp_path.iterdir()) == []  # "--help" is not taken for an output folder


def test_an_option_is_refused_as_a_path(tmp_path):
    n = len(_arguments("synthesize.py"))
    line = _one_error_line(_run("synthesize.py", ["--out", *["x"] * (n - 1)], tmp_path))
    assert line == "error: --out: expected a path, not an option (-h for help)"
    assert list(tmp_path.iterdir()) == []
