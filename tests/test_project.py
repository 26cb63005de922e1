"""helpers.project: the Fashion-MNIST PNG folder of lesson 10 (layout, determinism, reuse, repair, bad input).

Most tests give the builder a small synthetic stand-in for Fashion-MNIST (a few images per
class, every pixel of an image set to its index), so they are fast, offline and can tell
exactly which image landed in which file; one test reads the real files when they are on
this machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import data, project

PER_CLASS = {True: 12, False: 4}  # images per class in the synthetic training and test sets


def _fake_fashion(train: bool = True, **_: object) -> SimpleNamespace:
    """A stand-in with .data (N, 28, 28) uint8 and .targets (N,): image i is filled with i % 251 (train) or 250 - i."""
    n = 10 * PER_CLASS[train]
    targets = torch.arange(n) % 10
    values = torch.arange(n) % 251 if train else 250 - torch.arange(n) % 251
    images = values.to(torch.uint8).reshape(n, 1, 1).expand(n, 28, 28).contiguous()
    return SimpleNamespace(data=images, targets=targets)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(data, "load_fashion_mnist", _fake_fashion)


def _build(root: Path, **kwargs) -> Path:
    settings = {"train_per_class": 3, "val_per_class": 2, "test_per_class": 1, "seed": 0} | kwargs
    return project.make_fashion_folder(root, **settings)


def _pixel(path: Path) -> int:
    with Image.open(path) as image:
        pixels = np.asarray(image)
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8 and image.mode == "L"
    return int(pixels[0, 0])


def test_the_tree_has_the_layout_counts_and_right_images(fake, tmp_path):
    root = _build(tmp_path / "folder")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["test", "train", "val"]
    counts = {"train": 3, "val": 2, "test": 1}
    seen = {}
    for split, per_class in counts.items():
        files = project.folder_files(root, split)
        assert len(files) == 10 * per_class
        assert [label for _, label in files] == sorted(label for _, label in files)
        for path, label in files:
            assert path.parent.name == project.FASHION_FOLDER_NAMES[label]
            index = int(path.stem)
            assert index % 10 == label  # the fake's label of image `index`
            source = _fake_fashion(train=split != "test")
            assert _pixel(path) == int(source.data[index, 0, 0])  # the file holds that image
        seen[split] = {int(p.stem) for p, _ in files}
    assert not seen["train"] & seen["val"], "a training image is also in the validation folder"


def test_folder_names_keep_the_label_order():
    assert project.FASHION_FOLDER_NAMES[0] == "0_T-shirt-top"
    assert project.FASHION_FOLDER_NAMES[9] == "9_Ankle-boot"
    assert sorted(project.FASHION_FOLDER_NAMES) == list(project.FASHION_FOLDER_NAMES)
    assert all("/" not in name and " " not in name for name in project.FASHION_FOLDER_NAMES)


def test_same_settings_same_files_another_seed_other_files(fake, tmp_path):
    def listing(root):
        return [p.relative_to(root).as_posix() for split in project.FASHION_FOLDER_SPLITS
                for p, _ in project.folder_files(root, split)]

    a, b = listing(_build(tmp_path / "a")), listing(_build(tmp_path / "b"))
    assert a == b
    assert listing(_build(tmp_path / "c", seed=1)) != a


def test_a_second_call_reuses_the_tree(fake, tmp_path, monkeypatch):
    root = _build(tmp_path / "folder")
    path = project.folder_files(root, "train")[0][0]
    before = path.stat().st_mtime_ns

    def no_loading(*args, **kwargs):
        raise AssertionError("a complete tree must be reused without reading Fashion-MNIST")

    monkeypatch.setattr(data, "load_fashion_mnist", no_loading)
    assert _build(tmp_path / "folder") == root
    assert path.stat().st_mtime_ns == before


@pytest.mark.parametrize("damage", ["overwrite", "delete", "stray", "stamp"])
def test_a_damaged_tree_is_rebuilt(fake, tmp_path, damage):
    root = _build(tmp_path / "folder")
    path = project.folder_files(root, "val")[0][0]
    expected = _pixel(path)
    if damage == "overwrite":
        Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(path)
    elif damage == "delete":
        path.unlink()
    elif damage == "stray":
        Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(path.with_name("99999.png"))
    else:
        (root / "fashion-folder.json").write_text("{not json")
    _build(tmp_path / "folder")
    assert _pixel(path) == expected
    assert len(project.folder_files(root, "val")) == 20
    assert json.loads((root / "fashion-folder.json").read_text())["settings"]["val"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["folder"], "a temporary build folder was left behind"


def test_other_settings_replace_the_tree(fake, tmp_path):
    root = _build(tmp_path / "folder")
    _build(tmp_path / "folder", train_per_class=5)
    assert len(project.folder_files(root, "train")) == 50


def test_a_foreign_folder_is_never_deleted(fake, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty and was not written by make_fashion_folder"):
        _build(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(project.folder_files(_build(empty), "test")) == 10  # an empty folder is fine


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_per_class": 0}, "train_per_class must be an int from 1"),
        ({"val_per_class": 2.5}, "val_per_class must be an int"),
        ({"test_per_class": 1001}, "test_per_class must be an int from 1 to 1000"),
        ({"train_per_class": True}, "train_per_class must be an int"),
        ({"train_per_class": 5000, "val_per_class": 1001}, "at most 6000"),
        ({"seed": -1}, "seed must be a non-negative int"),
        ({"seed": "0"}, "seed must be a non-negative int"),
    ],
)
def test_bad_settings_raise_value_error(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _build(tmp_path / "folder", **kwargs)


def test_bad_roots_raise_value_error(tmp_path):
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        project.make_fashion_folder(afile)
    with pytest.raises(ValueError, match="root must be None, a str or a pathlib.Path"):
        project.make_fashion_folder(42)


def test_folder_files_and_folder_names_reject_bad_input(fake, tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        project.folder_files(tmp_path, "training")
    with pytest.raises(ValueError, match="build the tree first"):
        project.folder_files(tmp_path / "nowhere", "train")
    for bad in (-1, 10, 2.0, True, "3"):
        with pytest.raises(ValueError, match="label must be an int from 0 to 9"):
            project.fashion_folder_name(bad)


@pytest.mark.skipif(
    not (data.FASHION_MNIST_SYSTEM_DIR.is_dir() or (Path(os.environ.get("COURSE_ROOT", ".")) / "data" / "fashion-mnist").is_dir()),
    reason="Fashion-MNIST is not on this machine (Debian's dataset-fashion-mnist is not installed)",
)
def test_the_real_images_land_in_their_class_folders(tmp_path):
    root = project.make_fashion_folder(tmp_path / "real", train_per_class=1, val_per_class=1, test_per_class=1)
    train_set = data.load_fashion_mnist(train=True)
    for path, label in project.folder_files(root, "train") + project.folder_files(root, "val"):
        index = int(path.stem)
        assert int(train_set.targets[index]) == label
        with Image.open(path) as image:
            assert np.array_equal(np.asarray(image), train_set.data[index].numpy())
