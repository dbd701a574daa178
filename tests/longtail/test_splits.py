"""Long-tailed splits and the dataset readers (digits, CIFAR pickles, image folders)."""

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imbcl.core.errors import InputError
from imbcl.core.params import replace
from imbcl.longtail import splits as longtail
from imbcl.longtail.params import RealParams

BASE = replace(RealParams(), extra_ratios=[1.0])  # C7's rho and the balanced control

REPO = Path(__file__).resolve().parents[2]


def test_counts_follow_the_exponential_profile():
    got = longtail.longtail_counts(100, 10, 10.0)
    expected = [int(np.floor(100 * 10.0 ** (-i / 9) + 1e-9)) for i in range(10)]
    assert got.tolist() == expected
    assert got[0] == 100 and got[-1] == 10
    assert longtail.longtail_counts(50, 4, 1.0).tolist() == [50, 50, 50, 50]


@given(st.integers(1, 5000), st.integers(2, 100), st.floats(1.0, 200.0))
def test_counts_are_monotone_and_bounded(n_max, classes, rho):
    c = longtail.longtail_counts(n_max, classes, rho)
    assert c[0] == n_max
    assert np.all(np.diff(c) <= 0)
    assert c[-1] == int(np.floor(n_max / rho + 1e-9))


def test_digits_split_is_long_tailed_balanced_and_seeded():
    cfg = BASE
    lt = longtail.build(cfg, seed=0)
    counts = lt.counts()
    n_max = counts[0]
    assert counts.tolist() == longtail.longtail_counts(n_max, 10, 10.0).tolist()
    assert np.bincount(lt.test.y).tolist() == [cfg.test_per_class] * 10
    assert np.bincount(lt.probe.y).tolist() == [cfg.probe_per_class] * 10
    assert lt.train.x.shape[1:] == (1, 8, 8) and lt.train.x.dtype == np.uint8
    again, other = longtail.build(cfg, seed=0), longtail.build(cfg, seed=1)
    assert np.array_equal(lt.train.x, again.train.x)
    assert not np.array_equal(lt.train.x, other.train.x)


def test_every_rho_draws_from_one_shuffle_and_the_tail_is_nested():
    lt = longtail.build(replace(BASE, extra_ratios=[1.0, 50.0]), seed=0)
    assert list(lt.trains) == [10.0, 1.0, 50.0]
    n_max = lt.counts(1.0)[0]
    for rho in (1.0, 10.0, 50.0):
        assert lt.counts(rho).tolist() == longtail.longtail_counts(n_max, 10, rho).tolist()
    by_rho = {rho: {x.tobytes() for x in part.x} for rho, part in lt.trains.items()}
    assert by_rho[50.0] <= by_rho[10.0] <= by_rho[1.0]


def test_a_rho_that_empties_a_class_is_refused_naming_its_key():
    from imbcl.core.errors import ParamError

    with pytest.raises(ParamError, match=r"^real.extra_ratios: rho = 500 leaves a class"):
        longtail.build(replace(BASE, extra_ratios=[500.0]), seed=0)


def test_digits_test_images_are_not_trained_on():
    lt = longtail.build(BASE, seed=0)
    train = {x.tobytes() for x in lt.train.x}
    test = [x.tobytes() for x in lt.test.x]
    # digits holds a few exact duplicates, so allow a handful of coincidences, not an overlap
    assert sum(t in train for t in test) <= 3


def _write_cifar(root: Path, dataset: str, per_class: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    classes = 10 if dataset == "cifar10" else 100
    key = b"labels" if dataset == "cifar10" else b"fine_labels"

    def batch(n_per_class: int) -> dict:
        y = np.repeat(np.arange(classes), n_per_class)
        x = rng.integers(0, 256, (len(y), 3072), dtype=np.uint8)
        return {b"data": x, key: y.tolist()}

    root.mkdir(parents=True)
    if dataset == "cifar10":
        for i in range(1, 6):
            (root / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_class)))
        (root / "test_batch").write_bytes(pickle.dumps(batch(2)))
        names = {b"label_names": [f"c{i}".encode() for i in range(10)]}
        (root / "batches.meta").write_bytes(pickle.dumps(names))
    else:
        (root / "train").write_bytes(pickle.dumps(batch(per_class)))
        (root / "test").write_bytes(pickle.dumps(batch(1)))


def test_cifar10_reader_builds_the_long_tail(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py", "cifar10", per_class=4)
    cfg = replace(BASE, dataset="cifar10", root=str(tmp_path), probe_per_class=5)
    lt = longtail.build(cfg, seed=0)
    assert lt.classes[:2] == ["c0", "c1"]
    assert lt.counts().tolist() == longtail.longtail_counts(20, 10, 10.0).tolist()
    assert np.bincount(lt.test.y).tolist() == [2] * 10  # the archive's own test split
    assert lt.train.x.shape[1:] == (3, 32, 32)


def test_cifar100_reader(tmp_path):
    _write_cifar(tmp_path / "c100", "cifar100", per_class=3)
    cfg = replace(BASE, dataset="cifar100", root=str(tmp_path / "c100"), imbalance_ratio=3.0)
    lt = longtail.build(cfg, seed=0)
    assert len(lt.classes) == 100 and lt.counts()[0] == 3 and lt.counts()[-1] == 1


def test_cifar_missing_root_names_the_path(tmp_path):
    cfg = replace(BASE, dataset="cifar10", root=str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="nowhere.*not found; expected the unpacked cifar10"):
        longtail.build(cfg, seed=0)


def test_cifar_malformed_batch_is_an_input_error(tmp_path):
    _write_cifar(tmp_path / "c", "cifar10", per_class=2)
    (tmp_path / "c" / "data_batch_3").write_bytes(b"not a pickle")
    cfg = replace(BASE, dataset="cifar10", root=str(tmp_path / "c"))
    with pytest.raises(InputError, match="data_batch_3: not a CIFAR python pickle"):
        longtail.build(cfg, seed=0)


def _edit(batch: dict, key: bytes, value) -> dict:
    return {**batch, key: value}


# each field of a batch made wrong in one way: lengths, types, ranges, shapes
BAD_FIELDS = {
    "fewer labels": lambda b: _edit(b, b"labels", b[b"labels"][:-1]),
    "more labels": lambda b: _edit(b, b"labels", [*b[b"labels"], 0]),
    "labels None": lambda b: _edit(b, b"labels", None),
    "labels as floats": lambda b: _edit(b, b"labels", [float(v) for v in b[b"labels"]]),
    "labels as strings": lambda b: _edit(b, b"labels", [str(v) for v in b[b"labels"]]),
    "labels as bools": lambda b: _edit(b, b"labels", [True] * len(b[b"labels"])),
    "labels 2-D": lambda b: _edit(b, b"labels", np.array(b[b"labels"])[:, None]),
    "label 10": lambda b: _edit(b, b"labels", [10, *b[b"labels"][1:]]),
    "label -1": lambda b: _edit(b, b"labels", [-1, *b[b"labels"][1:]]),
    "pixels above 255": lambda b: _edit(b, b"data", b[b"data"].astype(np.int64) + 256),
    "negative pixels": lambda b: _edit(b, b"data", b[b"data"].astype(np.int16) - 1),
    "float pixels": lambda b: _edit(b, b"data", b[b"data"].astype(np.float32)),
    "pixels as a list": lambda b: _edit(b, b"data", b[b"data"].tolist()),
    "data None": lambda b: _edit(b, b"data", None),
    "data 1-D": lambda b: _edit(b, b"data", b[b"data"].ravel()),
    "data (N, 3, 32, 32)": lambda b: _edit(b, b"data", b[b"data"].reshape(-1, 3, 32, 32)),
    "data short rows": lambda b: _edit(b, b"data", b[b"data"][:, :-1]),
    "fewer images": lambda b: _edit(b, b"data", b[b"data"][:-1]),
    "no images": lambda b: {b"data": b[b"data"][:0], b"labels": []},
    "filenames short": lambda b: _edit(b, b"filenames", [b"x.png"]),
}


@pytest.mark.parametrize("where", ["data_batch_2", "test_batch"])
@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_every_cifar_field_is_checked_naming_the_file(tmp_path, case, where):
    _write_cifar(tmp_path / "c", "cifar10", per_class=2)
    path = tmp_path / "c" / where
    path.write_bytes(pickle.dumps(BAD_FIELDS[case](pickle.loads(path.read_bytes()))))
    cfg = replace(BASE, dataset="cifar10", root=str(tmp_path / "c"))
    with pytest.raises(InputError, match=f"^{path}: "):
        longtail.build(cfg, seed=0)


@pytest.mark.parametrize(
    "names", [[b"c0"] * 9, None, "c0 c1", [1] * 10], ids=["9 names", "None", "str", "ints"]
)
def test_cifar_meta_names_are_checked(tmp_path, names):
    _write_cifar(tmp_path / "c", "cifar10", per_class=2)
    meta = tmp_path / "c" / "batches.meta"
    meta.write_bytes(pickle.dumps({b"label_names": names}))
    cfg = replace(BASE, dataset="cifar10", root=str(tmp_path / "c"))
    with pytest.raises(InputError, match=f"^{meta}: b'label_names'"):
        longtail.build(cfg, seed=0)


def test_cifar100_coarse_labels_are_checked(tmp_path):
    _write_cifar(tmp_path / "c", "cifar100", per_class=1)
    path = tmp_path / "c" / "train"
    batch = pickle.loads(path.read_bytes())
    batch[b"coarse_labels"] = [20] * len(batch[b"fine_labels"])
    path.write_bytes(pickle.dumps(batch))
    cfg = replace(BASE, dataset="cifar100", root=str(tmp_path / "c"))
    with pytest.raises(InputError, match=f"^{path}: b'coarse_labels' holds labels 20..20"):
        longtail.build(cfg, seed=0)


def test_stage_exits_cleanly_on_a_missing_cifar_root(tmp_path):
    params = (
        (REPO / "params.yaml")
        .read_text()
        .replace("  dataset: digits ", "  dataset: cifar10 ")
        .replace('  root: ""', f'  root: "{tmp_path}/no-cifar"')
    )
    (tmp_path / "params.yaml").write_text(params)
    env = {**os.environ, "IMBCL_PARAMS": str(tmp_path / "params.yaml")}
    out = subprocess.run(
        [sys.executable, str(REPO / "stages/longtail_data.py"), "data/longtail"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: real.root = ")
    assert f"{tmp_path}/no-cifar" in lines[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "data").exists()


def _write_folder(root: Path, per_class: list[int]) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, n in enumerate(per_class):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"class{c}" / f"{i}.png")


def test_imagefolder_without_lists(tmp_path):
    _write_folder(tmp_path / "imgs", [12, 12, 12])
    cfg = replace(
        BASE,
        dataset="imagefolder",
        root=str(tmp_path / "imgs"),
        image_side=4,
        test_per_class=2,
        probe_per_class=3,
        imbalance_ratio=4.0,
    )
    lt = longtail.build(cfg, seed=0)
    assert lt.classes == ["class0", "class1", "class2"]
    assert lt.counts().tolist() == [10, 5, 2]
    assert lt.train.x.shape[1:] == (3, 4, 4)
    assert np.bincount(lt.test.y).tolist() == [2, 2, 2]


def test_imagefolder_with_split_lists(tmp_path):
    _write_folder(tmp_path / "imgs", [5, 3])
    (tmp_path / "train.txt").write_text(
        "".join(f"class0/{i}.png 0\n" for i in range(4)) + "class1/0.png 1\n"
    )
    (tmp_path / "test.txt").write_text("class0/4.png 0\nclass1/1.png 1\nclass1/2.png 1\n")
    cfg = replace(
        BASE,
        dataset="imagefolder",
        root=str(tmp_path / "imgs"),
        train_list=str(tmp_path / "train.txt"),
        test_list=str(tmp_path / "test.txt"),
        image_side=6,
        probe_per_class=2,
    )
    lt = longtail.build(cfg, seed=0)
    assert lt.counts().tolist() == [4, 1]  # the list is taken as the long tail
    assert lt.test.y.tolist() == [0, 1, 1]
    assert np.bincount(lt.probe.y).tolist() == [2, 1]


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        (
            "class0/0.png 0\nclass0/0.png 0\nclass1/0.png 1\n",
            "class1/1.png 1\n",
            r"train.txt:2: class0/0.png is listed again \(first at line 1\)",
        ),
        (
            "class0/0.png 0\nclass1/0.png 2\n",
            "class1/1.png 1\n",
            r"train.txt: no image of label 1; expected every label 0..2",
        ),
        (
            "class0/0.png 0\nclass1/0.png 1\n",
            "class1/1.png 1\nclass0/0.png 0\n",
            r"test.txt: class0/0.png is in the training list too",
        ),
    ],
    ids=["listed twice", "label gap", "train and test overlap"],
)
def test_split_lists_are_checked_as_a_whole(tmp_path, train, test, match):
    _write_folder(tmp_path / "imgs", [2, 2])
    (tmp_path / "train.txt").write_text(train)
    (tmp_path / "test.txt").write_text(test)
    cfg = replace(
        BASE,
        dataset="imagefolder",
        root=str(tmp_path / "imgs"),
        train_list=str(tmp_path / "train.txt"),
        test_list=str(tmp_path / "test.txt"),
    )
    with pytest.raises(InputError, match=match):
        longtail.build(cfg, seed=0)


def test_imagefolder_bad_list_line(tmp_path):
    _write_folder(tmp_path / "imgs", [2])
    (tmp_path / "train.txt").write_text("class0/0.png zero\n")
    cfg = replace(
        BASE,
        dataset="imagefolder",
        root=str(tmp_path / "imgs"),
        train_list=str(tmp_path / "train.txt"),
        test_list=str(tmp_path / "train.txt"),
    )
    with pytest.raises(InputError, match=r"train.txt:1: expected '<relative path> <integer"):
        longtail.build(cfg, seed=0)


def test_class_groups_thirds_and_counts():
    counts = np.array([100, 77, 59, 46, 35, 27, 21, 16, 12, 10])
    thirds = longtail.class_groups(counts, "thirds", 100, 20)
    assert thirds.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    by_count = longtail.class_groups(counts, "counts", 50, 20)
    assert by_count.tolist() == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    shuffled = longtail.class_groups(counts[::-1].copy(), "thirds", 100, 20)
    assert shuffled.tolist() == thirds[::-1].tolist()


def test_saved_splits_round_trip_and_a_missing_one_is_an_input_error(tmp_path):
    lt = longtail.build(BASE, seed=0)
    longtail.save(tmp_path, lt)
    meta = longtail.read_meta(tmp_path)
    assert meta["counts"] == {"10": lt.counts(10.0).tolist(), "1": lt.counts(1.0).tolist()}
    assert meta["shape"] == [1, 8, 8]
    assert meta["sizes"] == {
        "train": {"10": len(lt.trains[10.0].y), "1": len(lt.trains[1.0].y)},
        "probe": 800,
        "test": 500,
    }
    for rho, part in lt.trains.items():
        saved = longtail.load_train(tmp_path, rho)
        assert np.array_equal(saved.x, part.x) and np.array_equal(saved.y, part.y)
    for name in ("probe", "test"):
        part = longtail.load(tmp_path, name)
        assert np.array_equal(part.x, getattr(lt, name).x)
        assert np.array_equal(part.y, getattr(lt, name).y)
    (tmp_path / "probe.npz").unlink()
    with pytest.raises(InputError, match=r"probe.npz: not found; expected the longtail_data"):
        longtail.load(tmp_path, "probe")
    with pytest.raises(InputError, match=r"meta.json: not found"):
        longtail.read_meta(tmp_path / "nowhere")


def test_the_manifest_follows_the_data_not_their_place(tmp_path):
    from imbcl.longtail.manifest import manifest

    _write_folder(tmp_path / "a", [3, 3])
    cfg = replace(BASE, dataset="imagefolder", root=str(tmp_path / "a"), image_side=4)
    first = manifest(cfg)
    assert [f["path"] for f in first["files"]][:2] == ["class0/0.png", "class0/1.png"]
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert manifest(replace(cfg, root=str(tmp_path / "b")))["sha256"] == first["sha256"]
    (tmp_path / "a" / "class1" / "2.png").write_bytes(
        (tmp_path / "a" / "class0" / "0.png").read_bytes()
    )  # one image edited in place
    assert manifest(cfg)["sha256"] != first["sha256"]
    pinned = replace(cfg, root=str(tmp_path / "b"), root_sha256=first["sha256"])
    assert manifest(pinned)["sha256"] == first["sha256"]
    with pytest.raises(InputError, match=f"expected real.root_sha256 = {first['sha256']}"):
        manifest(replace(pinned, root=str(tmp_path / "a")))


def test_a_quoted_comma_stays_one_value_under_queue(tmp_path):
    """The README's sweep recipe: `-S "real.root='/data/imgs,v2'"` is one experiment."""
    from dvc.utils.hydra import apply_overrides, get_hydra_sweeps

    assert len(get_hydra_sweeps({"params.yaml": ["real.root=/data/imgs,v2"]})) == 2
    quoted = "real.root='/data/imgs,v2'"
    assert get_hydra_sweeps({"params.yaml": [quoted]}) == [{"params.yaml": [quoted]}]
    params = tmp_path / "params.yaml"
    params.write_text('real:\n  root: ""\n')
    apply_overrides(str(params), [quoted])
    assert params.read_text() == "real:\n  root: /data/imgs,v2\n"
