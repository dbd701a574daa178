"""`make setup` with a venv copied or moved from another clone: made again, not reused."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _fake_venv(venv: Path, clone: Path) -> None:
    """The files of an installed venv that name the clone it was made for."""
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "__editable__.imbcl-0.1.0.pth").write_text(f"{clone}/src\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "dvc").write_text(f"#!{venv}/bin/python\n")
    (venv / "bin" / "uv").write_text("")
    (venv / ".installed").write_text("")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("made_for", ["here", "another clone", "moved"])
def test_make_setup_remakes_a_venv_made_for_another_path(tmp_path, made_for):
    venv = tmp_path / ".venv"
    _fake_venv(venv, REPO if made_for != "another clone" else tmp_path / "old-clone")
    if made_for == "moved":  # scripts' #! lines name the venv's old place
        (venv / "bin" / "dvc").write_text(f"#!{tmp_path}/old/.venv/bin/python\n")
    out = subprocess.run(
        ["make", "-n", "-C", str(REPO), "setup", f"VENV={venv}"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    if made_for == "here":
        assert venv.exists() and "Nothing to be done" in out.stdout
    else:
        assert not venv.exists()
        assert f"{venv} was made for " in out.stdout + out.stderr
        assert "-m venv" in out.stdout
