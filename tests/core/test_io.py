"""Atomic writers: the output appears whole, with the permissions a plain write would give."""

import os
import stat

import pytest

from imbcl.core.io import atomic_dir, atomic_path, write_text


@pytest.fixture
def umask_022():
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_files_and_dirs_get_the_umasks_permissions(tmp_path, umask_022):
    write_text(tmp_path / "a.txt", "x")
    with atomic_dir(tmp_path / "d") as d:
        (d / "b.txt").write_text("y")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert (tmp_path / "d" / "b.txt").read_text() == "y"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert (tmp_path / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
