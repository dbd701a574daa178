"""Inputs from the field (issue 15): each case is read right or refused with one line that
names the file, the list line or the params keys, before anything is written."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imbcl.core.errors import InputError, ParamError
from imbcl.core.params import replace
from imbcl.longtail import folders, splits
from imbcl.longtail import train as realtrain
from imbcl.longtail.params import RealParams

BASE = replace(RealParams(), extra_ratios=[1.0])  # C7's rho and the balanced control

REPO = Path(__file__).resolve().parents[2]


def _real(**changes) -> RealParams:
    """The default section with `changes`, checked as a params file's section is."""
    return RealParams.parse({**BASE.model_dump(), **changes}, "real")


def _folder_cfg(root: Path, **changes) -> RealParams:
    base = dict(dataset="imagefolder", root=str(root), image_side=4, test_per_class=1)
    return _real(**{**base, **changes})


def _png(path: Path, value: int, mode: str = "L", side: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (side, side), value).save(path)


def _stage(name: str, *args: str, cwd: Path, **real: str):
    """Run a stage with params.yaml's real section changed by `real` (key: YAML value)."""
    text = (REPO / "params.yaml").read_text()
    head, section = text.split("\nreal:", 1)
    body, rest = section.split("\n\n", 1)
    lines = body.splitlines()
    for key, value in real.items():
        i = next(k for k, line in enumerate(lines) if line.startswith(f"  {key}:"))
        lines[i] = f"  {key}: {value}"
    params = cwd / "params.yaml"
    params.write_text(head + "\nreal:" + "\n".join(lines) + "\n\n" + rest)
    env = {**os.environ, "IMBCL_PARAMS": str(params)}
    return subprocess.run(
        [sys.executable, str(REPO / f"stages/{name}.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- 1. hidden entries -----------------------------------------------------------------------


def test_a_hidden_folder_beside_the_classes_is_not_a_class(tmp_path):
    for c, name in enumerate(["cat", "dog", "fox"]):
        for i in range(3):
            _png(tmp_path / name / f"{i}.png", 60 * c)
    _png(tmp_path / ".ipynb_checkpoints" / "0-checkpoint.png", 255)
    _png(tmp_path / "cat" / "._0.png", 255)  # an AppleDouble file beside an image
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\0\1")
    pool, test, classes = folders.read_imagefolder(_folder_cfg(tmp_path))
    assert classes == ["cat", "dog", "fox"] and test is None
    assert np.bincount(pool.y).tolist() == [3, 3, 3]
    assert (pool.x.max(axis=(1, 2, 3)) == pool.y * 60).all()  # no 255 image slipped in


def test_an_empty_hidden_folder_changes_nothing_and_an_empty_class_is_named(tmp_path):
    for name in ["cat", "dog"]:
        _png(tmp_path / name / "0.png", 10)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "fox").mkdir()
    (tmp_path / "fox" / "notes.txt").write_text("not an image")
    with pytest.raises(InputError) as err:
        folders.read_imagefolder(_folder_cfg(tmp_path))
    assert "class folder(s) fox hold no images" in str(err.value)
    assert ".ipynb" not in str(err.value)


def test_a_list_line_into_a_hidden_folder_is_refused_by_line(tmp_path):
    _png(tmp_path / "cat" / "0.png", 10)
    _png(tmp_path / ".ipynb_checkpoints" / "0-checkpoint.png", 10)
    lst = tmp_path / "train.txt"
    lst.write_text("cat/0.png 0\n.ipynb_checkpoints/0-checkpoint.png 0\n")
    with pytest.raises(InputError, match=r"train.txt:2: .* hidden entry .ipynb_checkpoints"):
        folders.read_list(lst, tmp_path)


def test_a_class_without_images_is_named_by_its_folder():
    with pytest.raises(InputError, match=r"no images of class\(es\) 1 \(dog\)"):
        splits._check_classes(np.array([0, 0, 2]), ["cat", "dog", "fox"], "pool")


# --- 2. modes and bit depths -----------------------------------------------------------------


def test_sixteen_bit_grayscale_is_scaled_by_its_range(tmp_path):
    values = np.random.default_rng(0).integers(15000, 53001, (12, 12)).astype(np.uint16)
    path = tmp_path / "a" / "0.png"
    path.parent.mkdir()
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    x = folders._load_image(path, 12)  # (3, 12, 12)
    expected = np.round(values / 65535 * 255)
    assert np.array_equal(x[0], expected) and np.array_equal(x[2], expected)
    assert 50 < x.min() and x.max() < 215  # not all 255


def test_float_pixels_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.ones((4, 4), dtype=np.float32)).save(path)
    with pytest.raises(InputError, match=r"f.tif: mode F \(floating-point pixels\)"):
        folders._load_image(path, 4)


def test_a_broken_image_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(InputError, match=r"x.png: not a readable image"):
        folders._load_image(path, 4)


# --- 3. test-list labels ---------------------------------------------------------------------


def test_a_test_label_outside_the_training_classes_is_refused_by_line(tmp_path):
    for c, name in enumerate(["a", "b", "c"]):
        for i in range(4):
            _png(tmp_path / name / f"{i}.png", 50 * c)
    test = tmp_path / "test.txt"
    test.write_text("a/0.png 0\nb/0.png 7\n")
    cfg = _folder_cfg(tmp_path, test_list=str(test))
    with pytest.raises(InputError) as err:
        folders.read_imagefolder(cfg)
    assert str(err.value) == (f"{test}:2: label 7 is outside the training classes 0..2")


# --- 4, 5, 7, 8: settings a stage cannot honour ----------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_stops_the_evaluation_before_it_reads_or_writes(tmp_path):
    (tmp_path / "d").mkdir()  # inputs of the right kind: the params are what is refused
    (tmp_path / "r").mkdir()
    out = _stage("longtail_eval", "d", "r", "o", "t", "f.png", "c.png", cwd=tmp_path, device="cuda")
    assert _one_error_line(out).startswith("error: real.device = cuda: expected cpu or auto")
    assert not any((tmp_path / p).exists() for p in ("o", "t.csv", "f.png"))


def test_a_patch_that_does_not_tile_the_images_is_refused_at_params_load(tmp_path):
    out = _stage("longtail_data", "data", cwd=tmp_path, patch="3")
    line = _one_error_line(out)
    assert line == "error: real.patch = 3: expected a divisor of the image side 8 (digits)"
    assert not (tmp_path / "data").exists()
    with pytest.raises(ParamError, match=r"real.patch = 5: .* side 12 \(real.image_side\)"):
        _folder_cfg(tmp_path, image_side=12, patch=5)


def test_a_counts_rule_that_empties_the_few_group_is_refused_by_the_data_stage(tmp_path):
    out = _stage("longtail_data", "data", cwd=tmp_path, split_rule="counts", few_max="5")
    line = _one_error_line(out)
    assert "real.split_rule = counts" in line and "real.few_max = 5" in line
    assert "few group(s) empty" in line
    assert not (tmp_path / "data").exists()


def test_thirds_on_two_classes_is_refused():
    with pytest.raises(ParamError, match=r"real.split_rule = thirds: .* the data has 2"):
        splits.class_groups(np.array([10, 3]), "thirds", 100, 20)


def test_a_batch_larger_than_the_training_split_is_refused(tmp_path):
    meta = {"shape": [1, 8, 8], "sizes": {"train": {"10": 19, "1": 40}}}
    with pytest.raises(ParamError, match=r"real.batch = 128: expected at most 19, .* rho = 10"):
        realtrain.check(BASE, meta)
    realtrain.check(replace(BASE, batch=19), meta)
    with pytest.raises(ParamError, match=r"real.extra_ratios: rho = 50 has no training split"):
        realtrain.check(replace(BASE, batch=19, extra_ratios=[50.0]), meta)


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"train_list": "t.txt"}, "real.train_list"),
        ({"root": "/somewhere"}, "real.root"),
        ({"dataset": "imagefolder", "root": "r", "train_list": "t.txt"}, "real.test_list"),
    ],
)
def test_list_and_root_keys_the_dataset_does_not_read_are_refused(changes, key):
    with pytest.raises(ParamError, match=rf"^{key} = "):
        _real(**changes)


@given(n=st.integers(2, 40), batch=st.integers(1, 40), seed=st.integers(0, 5))
def test_batches_hold_distinct_images_and_each_epoch_covers_the_split(n, batch, seed):
    if batch > n:
        with pytest.raises(ParamError):
            realtrain.Batches(n, batch, seed)
        return
    draw = realtrain.Batches(n, batch, seed)
    per_epoch = n // batch
    epoch = [draw(k).tolist() for k in range(per_epoch)]
    for idx in epoch:
        assert len(idx) == batch == len(set(idx))
    flat = sum(epoch, [])
    assert len(flat) == len(set(flat)) == per_epoch * batch  # without replacement in an epoch
    again = realtrain.Batches(n, batch, seed)
    assert again(per_epoch + 1).tolist() == draw(per_epoch + 1).tolist()  # a function of step


# --- property: generated folders and lists ---------------------------------------------------

# (mode, writer suffix, how the reader scales it or None if refused)
MODES = {
    "L": ".png",
    "RGB": ".png",
    "RGBA": ".png",
    "LA": ".png",
    "P": ".png",
    "1": ".bmp",
    "I;16": ".png",
    "I;16-pgm": ".pgm",
    "I;16-tif": ".tif",
    "F": ".tif",
    "I32-signed": ".tif",
}


def _write(path: Path, kind: str, side: int, rng: np.random.Generator) -> np.ndarray | None:
    """Write an image of `kind`; return the (3, side, side) uint8 the reader must produce,
    or None where it must refuse the file."""
    if kind in ("L", "RGB", "RGBA", "LA"):
        ch = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[kind]
        a = rng.integers(0, 256, (side, side, ch), dtype=np.uint8)
        Image.fromarray(a[:, :, 0] if ch == 1 else a, kind).save(path)
        colour = a[:, :, :1] if kind in ("L", "LA") else a[:, :, :3]
        return np.broadcast_to(colour, (side, side, 3)).transpose(2, 0, 1)
    if kind == "P":
        img = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).quantize(8)
        img.save(path)
        return np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)
    if kind == "1":
        bits = rng.integers(0, 2, (side, side)).astype(bool)
        Image.fromarray(bits).save(path)
        return np.broadcast_to((bits * 255).astype(np.uint8), (3, side, side))
    if kind.startswith("I;16"):
        v = rng.integers(0, 65536, (side, side)).astype(np.uint16)
        Image.fromarray(v).save(path)
        return np.broadcast_to(np.round(v / 65535 * 255).astype(np.uint8), (3, side, side))
    if kind == "F":
        Image.fromarray(rng.random((side, side)).astype(np.float32)).save(path)
        return None
    Image.fromarray(rng.integers(-5, 5, (side, side)).astype(np.int32)).save(path)
    return None


@st.composite
def _folders(draw):
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3))
    classes = sorted(set(names))
    content = {
        c: draw(st.lists(st.sampled_from(sorted(MODES)), min_size=0, max_size=3)) for c in classes
    }
    hidden = draw(st.lists(st.sampled_from([".ipynb_checkpoints", ".git", "._a"]), max_size=2))
    clutter = draw(st.lists(st.sampled_from(["._0.png", ".DS_Store", "README.txt"]), max_size=2))
    return classes, content, sorted(set(hidden)), sorted(set(clutter)), draw(st.integers(4, 7))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_folders(), st.integers(0, 2**16))
def test_generated_folders_with_hidden_entries_modes_and_bit_depths_read_right_or_refused(
    folder, seed
):
    classes, content, hidden, clutter, side = folder
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected, refused = [], None
        for c, name in enumerate(classes):
            (root / name).mkdir()
            for i, kind in enumerate(content[name]):
                path = root / name / f"{i:02d}{MODES[kind]}"
                want = _write(path, kind, side, rng)
                expected.append((path, c, want))
            for junk in clutter:
                (root / name / junk).write_bytes(b"junk")
        for h in hidden:
            _png(root / h / "0.png", 255, side=side)
        cfg = _folder_cfg(root, image_side=side, patch=1)
        empty = [name for name in classes if not content[name]]
        bad = [p for p, _, want in expected if want is None]
        if empty:
            with pytest.raises(InputError, match=f"class folder\\(s\\) {', '.join(empty)} hold"):
                folders.read_imagefolder(cfg)
            return
        if bad:
            refused = bad[0]
            with pytest.raises(InputError) as err:
                folders.read_imagefolder(cfg)
            assert str(err.value).startswith(f"{refused}: ")
            assert "\n" not in str(err.value)
            return
        pool, _, got_classes = folders.read_imagefolder(cfg)
        assert got_classes == classes
        assert pool.y.tolist() == [c for _, c, _ in expected]
        for x, (_, _, want) in zip(pool.x, expected, strict=True):
            assert np.array_equal(x, want)


LINE_KINDS = [
    "ok",
    "ok_spaces",
    "blank",
    "crlf",
    "no_label",
    "bad_label",
    "negative",
    "out_of_range",
    "hidden",
    "missing",
    "absolute",
    "parent",
]


def _line(kind: str, n_classes: int) -> tuple[str, str | None]:
    """A list line of `kind` and the refusal it must cause (None: read)."""
    return {
        "ok": ("c0/img 0.png 0", None),
        "ok_spaces": ("  c1/img 1.png\t1  ", None),
        "blank": ("   ", None),
        "crlf": ("c0/img 0.png 0\r", None),
        "no_label": ("c0/img 0.png", "expected '<relative path> <integer label>'"),
        "bad_label": ("c0/img 0.png 1.0", "expected '<relative path> <integer label>'"),
        "negative": ("c0/img 0.png -1", "expected '<relative path> <integer label>'"),
        "out_of_range": (
            f"c0/img 0.png {n_classes}",
            f"label {n_classes} is outside the training classes 0..{n_classes - 1}",
        ),
        "hidden": (".ipynb_checkpoints/x.png 0", "hidden entry .ipynb_checkpoints"),
        "missing": ("c0/none.png 0", "is not a file under real.root"),
        "absolute": ("/etc/hostname 0", "is not a path inside real.root"),
        "parent": ("../outside.png 0", "is not a path inside real.root"),
    }[kind]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(LINE_KINDS), min_size=1, max_size=8), st.booleans())
def test_generated_split_lists_with_unusual_and_malformed_lines_read_right_or_refused_by_line(
    kinds, bom
):
    n_classes = 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for c in range(n_classes):
            _png(root / f"c{c}" / f"img {c}.png", 10)
        _png(root / ".ipynb_checkpoints" / "x.png", 10)
        _png(Path(tmp) / "outside.png", 10)
        lines, seen = [], set()
        for k in kinds:  # a path read once already is refused the second time
            text, why = _line(k, n_classes)
            path = text.strip().rsplit(None, 1)[0] if why is None and text.strip() else None
            if path is not None and path in seen:
                why = f"{path} is listed again"
            seen.add(path)
            lines.append((text, why))
        lst = Path(tmp) / "test.txt"
        lst.write_bytes(
            ("\ufeff" if bom else "").encode() + "\n".join(t for t, _ in lines).encode()
        )
        first_bad = next(((n, why) for n, (_, why) in enumerate(lines, 1) if why), None)
        readable = [t for t, why in lines if why is None and t.strip()]
        if first_bad is None and not readable:
            with pytest.raises(InputError, match="empty"):
                folders.read_list(lst, root, n_classes)
            return
        if first_bad is not None:
            n, why = first_bad
            with pytest.raises(InputError) as err:
                folders.read_list(lst, root, n_classes)
            assert str(err.value).startswith(f"{lst}:{n}: ") and why in str(err.value)
            return
        items = folders.read_list(lst, root, n_classes)
        assert [(p.relative_to(root).as_posix(), y) for p, y in items] == [
            (t.strip().rsplit(None, 1)[0], int(t.strip().rsplit(None, 1)[1])) for t in readable
        ]
