"""The committed colour photos (helpers/photos_data), their builder and helpers.photos.

The builder test needs Debian's package tuxpaint-stamps-default and is skipped without it
(learners' machines); everything else runs on the committed files alone, offline.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from helpers import photos

ROOT = Path(__file__).resolve().parent.parent
STAMPS = Path("/usr/share/tuxpaint/stamps")
EXPECTED_COUNTS = {"bird": 35, "flower": 24, "fruit": 26, "mammal": 62, "vehicle": 18}
needs_package = pytest.mark.skipif(
    not STAMPS.is_dir(),
    reason="Debian's tuxpaint-stamps-default is not installed (/usr/share/tuxpaint/stamps is absent): "
    "the committed photos are checked against their manifest instead",
)


def _builder():
    spec = importlib.util.spec_from_file_location("build_photos", ROOT / "tools" / "build_photos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def photo_copy(tmp_path):
    """A private copy of helpers/photos_data that a test may damage."""
    return Path(shutil.copytree(photos.photos_dir(), tmp_path / "photos"))


def _names(pairs):
    return [path.name for path, _ in pairs]


# ------------------------------------------------------------------ the committed files
def test_the_committed_photos_match_their_manifest(no_network):
    assert photos.verify_photos() == EXPECTED_COUNTS
    with (photos.photos_dir() / "MANIFEST.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(EXPECTED_COUNTS.values()) == 165
    assert [row["file"] for row in rows] == sorted(row["file"] for row in rows)
    for row in rows:
        with Image.open(photos.photos_dir() / row["file"]) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (224, 224)), row["file"]
            assert not image.getexif(), f"{row['file']} carries metadata"
    total = sum(p.stat().st_size for p in photos.photos_dir().rglob("*") if p.is_file())
    assert total < 5_000_000
    for name in ("README.md", "LICENSE-tuxpaint-stamps.txt", "CREDITS-tuxpaint-stamps.txt"):
        assert (photos.photos_dir() / name).is_file()
    assert "GNU GENERAL PUBLIC LICENSE" in (photos.photos_dir() / "LICENSE-tuxpaint-stamps.txt").read_text()


def test_classes_are_sorted_and_agree_with_the_builder():
    assert photos.PHOTO_CLASSES == tuple(sorted(photos.PHOTO_CLASSES)) == tuple(_builder().CLASS_FOLDERS)
    from torchvision.datasets.folder import IMG_EXTENSIONS

    assert set(photos._IMAGE_EXTENSIONS) == set(IMG_EXTENSIONS)


def test_a_damaged_missing_or_extra_file_is_named(photo_copy):
    bird = photo_copy / "images" / "bird" / "owl.jpg"
    payload = bytearray(bird.read_bytes())
    payload[1000] ^= 0xFF
    bird.write_bytes(bytes(payload))
    with pytest.raises(ValueError, match=r"owl\.jpg is damaged.*git checkout helpers/photos_data"):
        photos.verify_photos(photo_copy)
    bird.unlink()
    with pytest.raises(ValueError, match=r"owl\.jpg is missing"):
        photos.verify_photos(photo_copy)
    shutil.copyfile(photos.photos_dir() / "images" / "bird" / "owl.jpg", bird)
    shutil.copyfile(bird, photo_copy / "images" / "bird" / "owl2.jpg")
    (photo_copy / "images" / "bird" / ".DS_Store").write_bytes(b"finder")  # ignored
    with pytest.raises(ValueError, match=r"owl2\.jpg is not listed in .*MANIFEST\.csv"):
        photos.verify_photos(photo_copy)
    (photo_copy / "images" / "bird" / "owl2.jpg").unlink()
    (photo_copy / "images" / "reptile").mkdir()
    with pytest.raises(ValueError, match=r"reptile is not one of the class folders"):
        photos.verify_photos(photo_copy)
    (photo_copy / "images" / "reptile").rmdir()
    assert photos.verify_photos(photo_copy) == EXPECTED_COUNTS


def test_a_missing_or_foreign_manifest_is_named(photo_copy, tmp_path):
    manifest = photo_copy / "MANIFEST.csv"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text(lines[0] + "".join(line for line in lines[1:] if ",vehicle," not in line))
    with pytest.raises(ValueError, match=r"lists 0 photos of class 'vehicle'; the splits need 18"):
        photos.verify_photos(photo_copy)
    manifest.write_text("name,label\nx.jpg,bird\n")
    with pytest.raises(ValueError, match=r"MANIFEST\.csv has the columns"):
        photos.photo_splits(folder=photo_copy)
    manifest.unlink()
    with pytest.raises(ValueError, match=r"MANIFEST\.csv is missing"):
        photos.make_photo_folder(tmp_path / "tree", folder=photo_copy)
    with pytest.raises(ValueError, match=r"no photo folder at"):
        photos.verify_photos(tmp_path / "nowhere")


# ------------------------------------------------------------------ the builder
@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("rebuilt") / "photos"
    builder = _builder()
    first = builder.build(STAMPS, out)
    return builder, out, first


@needs_package
def test_the_builder_reproduces_the_committed_files_byte_for_byte(rebuilt):
    """Pillow's JPEG encoder is byte-stable here (checked with Pillow 10.0 and 13.0), so sha256 must match."""
    builder, out, first = rebuilt
    assert first == {"written": 165 + 4, "removed": 0, "kept": 165}
    committed = photos.photos_dir()
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    for relative in made:
        assert (out / relative).read_bytes() == (committed / relative).read_bytes(), relative
    assert photos.verify_photos(out) == EXPECTED_COUNTS


@needs_package
def test_the_builder_is_idempotent_and_removes_stale_photos(rebuilt):
    builder, out, _ = rebuilt
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert builder.build(STAMPS, out) == {"written": 0, "removed": 0, "kept": 165}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    stale = out / "images" / "bird" / "dodo.jpg"
    shutil.copyfile(out / "images" / "bird" / "owl.jpg", stale)
    (out / "images" / "bird" / "owl.jpg").write_bytes(b"not a photo")
    assert builder.build(STAMPS, out) == {"written": 1, "removed": 1, "kept": 165}
    assert not stale.exists() and photos.verify_photos(out) == EXPECTED_COUNTS


@needs_package
def test_the_exclusion_rule_keeps_photos_only():
    builder = _builder()
    kept = builder.kept_stamps(STAMPS)
    assert {name: len(files) for name, files in kept.items()} == EXPECTED_COUNTS
    for files in kept.values():
        for path in files:
            relative = path.relative_to(STAMPS)
            assert path.suffix == ".png" and "_mirror" not in path.stem
            assert not {"cartoon", "toys", "plastic"} & set(relative.parts)
            assert relative.as_posix() not in builder.EXCLUDED_FILES
    for relative in builder.EXCLUDED_FILES:  # the list names files that exist, so it is not stale
        assert (STAMPS / relative).is_file(), relative


def test_the_builder_says_what_to_install_without_the_package(tmp_path, capsys):
    builder = _builder()
    with pytest.raises(ValueError, match=r"apt-get install tuxpaint-stamps-default"):
        builder.build(tmp_path / "no-stamps", tmp_path / "out")
    assert builder.main(["--stamps", str(tmp_path / "no-stamps"), "--out", str(tmp_path / "out")]) == 1
    assert "tuxpaint-stamps-default" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ splits
def test_splits_are_disjoint_stratified_and_seeded(no_network):
    splits = photos.photo_splits(train_per_class=5, seed=0)
    assert set(splits) == {"train", "val", "test"}
    per_split = {"train": 5, "val": photos.PHOTO_VAL_PER_CLASS, "test": photos.PHOTO_TEST_PER_CLASS}
    for split, pairs in splits.items():
        labels = [label for _, label in pairs]
        assert np.bincount(labels).tolist() == [per_split[split]] * 5, split
        for path, label in pairs:
            assert path.parent.name == photos.PHOTO_CLASSES[label] and path.is_file()
    files = [path for pairs in splits.values() for path, _ in pairs]
    assert len(files) == len(set(files))  # no photo in two splits
    again = photos.photo_splits(train_per_class=5, seed=0)
    assert again == splits
    other = photos.photo_splits(train_per_class=5, seed=1)
    assert _names(other["train"]) != _names(splits["train"])
    assert other["val"] == splits["val"] and other["test"] == splits["test"]


def test_test_and_validation_photos_never_depend_on_shots_or_seed():
    reference = photos.photo_splits(train_per_class=1, seed=0)
    for seed in (0, 1, 7):
        previous: set[str] = set()
        for k in (1, 3, 5, 10):
            splits = photos.photo_splits(train_per_class=k, seed=seed)
            assert splits["test"] == reference["test"] and splits["val"] == reference["val"]
            train = {str(path) for path, _ in splits["train"]}
            assert previous <= train  # draws are nested for one seed
            previous = train
    everything = photos.photo_splits(train_per_class=None)
    pool = np.bincount([label for _, label in everything["train"]]).tolist()
    assert pool == [n - 8 for n in EXPECTED_COUNTS.values()]  # 27, 16, 18, 54, 10
    assert everything["test"] == reference["test"]


@pytest.mark.parametrize("bad", [0, 11, -1, True, 2.5, "3"])
def test_bad_shot_counts_are_refused(bad, tmp_path):
    with pytest.raises(ValueError, match=r"train_per_class must be an int from 1 to 10"):
        photos.photo_splits(train_per_class=bad)
    with pytest.raises(ValueError, match=r"train_per_class"):
        photos.make_photo_folder(tmp_path / "tree", train_per_class=bad)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "0", None])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ValueError, match=r"seed must be a non-negative int"):
        photos.photo_splits(seed=bad)


# ------------------------------------------------------------------ the ImageFolder tree
def test_make_photo_folder_is_idempotent_and_loads_with_imagefolder(tmp_path, no_network):
    from torchvision import datasets

    root = photos.make_photo_folder(tmp_path / "tree", train_per_class=3, seed=2)
    files = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    assert photos.make_photo_folder(tmp_path / "tree", train_per_class=3, seed=2) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == files  # nothing rewritten
    train = datasets.ImageFolder(str(root / "train"))
    test = datasets.ImageFolder(str(root / "test"))
    assert train.classes == test.classes == list(photos.PHOTO_CLASSES)
    assert len(train) == 15 and len(test) == 25
    expected = sorted((path.name, label) for path, label in photos.photo_splits(3, seed=2)["train"])
    assert sorted((Path(path).name, label) for path, label in train.samples) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"]  # no temporary folders left
    if os.name == "posix":  # the tree gets the usual permissions, not those of a private temp folder
        umask = os.umask(0)
        os.umask(umask)
        assert root.stat().st_mode & 0o777 == 0o777 & ~umask


def test_other_arguments_rebuild_the_tree_cleanly(tmp_path):
    root = photos.make_photo_folder(tmp_path / "tree", train_per_class=3, seed=0)
    photos.make_photo_folder(root, train_per_class=1, seed=0)
    counts = photos.check_photo_folder(root)
    assert counts["train"] == dict.fromkeys(photos.PHOTO_CLASSES, 1)
    assert counts["test"] == dict.fromkeys(photos.PHOTO_CLASSES, 5)
    shutil.copyfile(next((root / "test" / "bird").iterdir()), root / "val" / "bird" / "extra.jpg")
    next((root / "test" / "fruit").iterdir()).unlink()
    photos.make_photo_folder(root, train_per_class=1, seed=0)  # a tampered tree is rebuilt
    assert photos.check_photo_folder(root) == counts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"]


def test_an_interrupted_build_leaves_no_finished_looking_tree(tmp_path, monkeypatch):
    root = tmp_path / "tree"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(photos, "check_photo_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        photos.make_photo_folder(root, train_per_class=1)
    assert not root.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    killed = tmp_path / ".tree.building-killed"  # what a build killed by the system leaves behind
    (killed / "train").mkdir(parents=True)
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    photos.make_photo_folder(root, train_per_class=1)
    assert photos.check_photo_folder(root)["train"] == dict.fromkeys(photos.PHOTO_CLASSES, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"]


def test_a_folder_that_is_not_ours_is_never_replaced(tmp_path):
    mine = tmp_path / "my-folder"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"did not make"):
        photos.make_photo_folder(mine, train_per_class=1)
    assert (mine / "notes.txt").read_text() == "keep me"
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ValueError, match=r"is a file, not a folder"):
        photos.make_photo_folder(tmp_path / "a-file", train_per_class=1)


def test_the_photos_come_with_the_package_and_folders_go_to_the_data_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))  # a course root without any photos
    assert photos.photos_dir() == Path(photos.__file__).resolve().parent / "photos_data"
    root = photos.make_photo_folder(train_per_class=1, seed=3)
    assert root == tmp_path / "data" / "photo-folders" / "train1-seed3"
    dataset = photos.photo_dataset("val", train_per_class=1, seed=3)
    image, label = dataset[0]
    assert dataset.classes == list(photos.PHOTO_CLASSES) and len(dataset) == 15
    assert image.mode == "RGB" and image.size == (224, 224) and label == 0
    with pytest.raises(ValueError, match=r"split must be one of"):
        photos.photo_dataset("training")


def test_check_photo_folder_names_an_empty_class_or_a_grey_image(tmp_path):
    root = photos.make_photo_folder(tmp_path / "tree", train_per_class=1)
    fruit = root / "train" / "fruit"
    only = next(fruit.iterdir())
    Image.open(only).convert("L").save(only)
    with pytest.raises(ValueError, match=r"fruit/.*\.jpg is a L image, not RGB"):
        photos.check_photo_folder(root)
    only.unlink()
    with pytest.raises(ValueError, match=r"class folder .*fruit holds no images"):
        photos.check_photo_folder(root)
    fruit.rmdir()
    with pytest.raises(ValueError, match=r"every split needs the same classes"):
        photos.check_photo_folder(root, splits=("test", "train"))
    with pytest.raises(ValueError, match=r"holdout is missing"):
        photos.check_photo_folder(root, splits=("holdout",))


# ------------------------------------------------------------------ load_photo
@pytest.fixture
def a_jpeg(tmp_path):
    source = photos.photos_dir() / "images" / "vehicle" / "balloon360.jpg"
    return Path(shutil.copyfile(source, tmp_path / "balloon360.jpg"))


@pytest.mark.parametrize("lenient_pillow", [False, True])
def test_a_truncated_jpeg_is_named(a_jpeg, monkeypatch, lenient_pillow):
    assert photos.load_photo(a_jpeg).size == (224, 224)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient_pillow)
    a_jpeg.write_bytes(a_jpeg.read_bytes()[: a_jpeg.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"balloon360\.jpg is (not a readable image|truncated)"):
        photos.load_photo(a_jpeg)


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("this is no image")
    with pytest.raises(ValueError, match=r"empty\.jpg is empty"):
        photos.load_photo(tmp_path / "empty.jpg")
    with pytest.raises(ValueError, match=r"text\.jpg is not a readable image"):
        photos.load_photo(tmp_path / "text.jpg")
    with pytest.raises(ValueError, match=r"missing\.jpg is not a file"):
        photos.load_photo(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match=r"convert must be True or False"):
        photos.load_photo(tmp_path / "text.jpg", convert="yes")


def test_grey_and_transparent_images_become_rgb_on_white(tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(np.full((4, 6), 77, dtype=np.uint8), mode="L").save(grey)
    image = photos.load_photo(grey)
    assert image.mode == "RGB" and image.size == (6, 4)
    assert np.asarray(image).reshape(-1, 3).tolist() == [[77, 77, 77]] * 24
    with pytest.raises(ValueError, match=r"grey\.png is a L image, not RGB .*convert=True"):
        photos.load_photo(grey, convert=False)

    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    rgba[0, 1] = (0, 0, 0, 0)  # transparent becomes white
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black becomes mid grey
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    pixels = np.asarray(photos.load_photo(path)).astype(int)
    assert pixels[0, 0].tolist() == [255, 0, 0] and pixels[0, 1].tolist() == [255, 255, 255]
    assert np.all(np.abs(pixels[0, 2] - 127) <= 1)
    with pytest.raises(ValueError, match=r"cutout\.png is a RGBA image"):
        photos.load_photo(path, convert=False)

    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 255, 10, 10, 10])
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 1
    palette.save(tmp_path / "palette.png", transparency=1)
    assert np.asarray(photos.load_photo(tmp_path / "palette.png")).tolist() == [[[0, 0, 255], [255, 255, 255]]]

    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((2, 2), 40000, dtype=np.uint16)).save(deep)
    with pytest.raises(ValueError, match=r"deep\.png is a I(;16)? image \(16-bit"):
        photos.load_photo(deep)
