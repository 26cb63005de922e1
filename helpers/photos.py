"""Real colour photographs in five classes, committed with the course: no download, any OS.

The 165 photos under ``helpers/photos_data/images/<class>/`` (birds, flowers, fruit, mammals,
vehicles; 224 x 224 RGB JPEG on a white background) come from Debian's package
``tuxpaint-stamps-default`` (GPL-2), converted by ``tools/build_photos.py``;
``helpers/photos_data/README.md`` says how, and its ``MANIFEST.csv`` lists every file with
its sha256.

Splits: each class has a fixed test split (``PHOTO_TEST_PER_CLASS`` = 5 photos) and a fixed
validation split (``PHOTO_VAL_PER_CLASS`` = 3), chosen once by a hash of the file names, so
they never depend on the number of training shots nor on the seed. Training photos are drawn
from the rest of each class: ``k`` per class with seed ``s`` (``k`` up to
``PHOTO_MAX_TRAIN_PER_CLASS`` = 10, what the smallest class, 18 vehicles, leaves). For one
seed the draws are nested: the 1-shot photos are among the 3-shot ones, which are among the
5-shot ones, and so on, so a learning curve measures more data and not other data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFile

from helpers.utils import data_dir

__all__ = [
    "PHOTO_CLASSES",
    "PHOTO_TEST_PER_CLASS",
    "PHOTO_VAL_PER_CLASS",
    "PHOTO_MAX_TRAIN_PER_CLASS",
    "PHOTO_SPLITS",
    "PHOTO_SIZE",
    "photos_dir",
    "verify_photos",
    "load_photo",
    "photo_splits",
    "make_photo_folder",
    "check_photo_folder",
    "photo_dataset",
]

PHOTO_CLASSES: tuple[str, ...] = ("bird", "flower", "fruit", "mammal", "vehicle")
PHOTO_TEST_PER_CLASS = 5
PHOTO_VAL_PER_CLASS = 3
PHOTO_MAX_TRAIN_PER_CLASS = 10
PHOTO_SPLITS: tuple[str, ...] = ("train", "val", "test")
PHOTO_SIZE = 224

_MANIFEST = "MANIFEST.csv"
_MANIFEST_FIELDS = ("file", "class", "source", "sha256", "source_sha256")
_STAMP = "photo-folder.json"  # written last into a finished tree; marks a folder as ours
_HELD_OUT_KEY = "held-out"  # hash key of the fixed test/validation choice; never change it
_STALE_S = 600  # a temporary build folder this old was left by a killed process (a build takes a second)
_RESTORE = (
    "Restore the committed photos with `git checkout helpers/photos_data` in a clone of the "
    "course, or by reinstalling the course package (or, on Debian or Ubuntu with "
    "tuxpaint-stamps-default installed, rerun `python tools/build_photos.py`)."
)
# modes that load_photo(convert=True) turns into RGB; 16-bit and float images are refused
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_CONVERTIBLE = {"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"} | _ALPHA_MODES
# the file endings torchvision's ImageFolder reads (torchvision.datasets.folder.IMG_EXTENSIONS)
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


# ------------------------------------------------------------------ the committed files
def photos_dir() -> Path:
    """Return ``helpers/photos_data``, where the committed photos and their manifest are.

    The folder is part of the installed course package, so the photos are there in a clone
    of the course and on Colab alike.

    Introduced in lesson 07.
    """
    return Path(__file__).resolve().parent / "photos_data"


def _folder(folder: str | Path | None) -> Path:
    return Path(folder) if folder is not None else photos_dir()


def _sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _read_manifest(folder: Path) -> list[dict[str, str]]:
    """Parse ``MANIFEST.csv``; check its columns, classes, names and sizes. Rows sorted by file."""
    path = folder / _MANIFEST
    if not folder.is_dir():
        raise ValueError(f"no photo folder at {folder}. {_RESTORE}")
    if not path.is_file():
        raise ValueError(f"{path} is missing. {_RESTORE}")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != _MANIFEST_FIELDS:
                raise ValueError(
                    f"{path} has the columns {reader.fieldnames}, not {list(_MANIFEST_FIELDS)}. {_RESTORE}"
                )
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path} cannot be read as CSV ({err}). {_RESTORE}") from err
    seen = set()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        name, file = row.get("class"), row.get("file") or ""
        parts = file.split("/")
        if name not in PHOTO_CLASSES or len(parts) != 3 or parts[:2] != ["images", name] \
                or not parts[2].endswith(".jpg") or len(row.get("sha256") or "") != 64:
            raise ValueError(f"{path}, line {number}, is not a valid row: {row}. {_RESTORE}")
        if file in seen:
            raise ValueError(f"{path} lists {file} twice. {_RESTORE}")
        seen.add(file)
    counts = {name: sum(row["class"] == name for row in rows) for name in PHOTO_CLASSES}
    needed = PHOTO_TEST_PER_CLASS + PHOTO_VAL_PER_CLASS + PHOTO_MAX_TRAIN_PER_CLASS
    for name, count in counts.items():
        if count < needed:
            raise ValueError(
                f"{path} lists {count} photos of class {name!r}; the splits need {needed} "
                f"({PHOTO_TEST_PER_CLASS} test + {PHOTO_VAL_PER_CLASS} validation + "
                f"{PHOTO_MAX_TRAIN_PER_CLASS} training). {_RESTORE}"
            )
    return sorted(rows, key=lambda row: row["file"])


def verify_photos(folder: str | Path | None = None) -> dict[str, int]:
    """Check the committed photos against ``MANIFEST.csv``; return ``{class: number of photos}``.

    Checks that the manifest lists every class of ``PHOTO_CLASSES`` with enough photos,
    that every listed JPEG exists with the listed sha256, and that ``images/`` holds no
    other image and no empty or unknown class folder (hidden files such as ``.DS_Store``
    and files that are not images are ignored). The first problem raises a
    ``ValueError`` that names the file and says how to restore it. Default folder:
    ``helpers/photos_data``.

    Introduced in lesson 07.
    """
    folder = _folder(folder)
    rows = _read_manifest(folder)
    listed = {row["file"] for row in rows}
    for row in rows:
        path = folder / row["file"]
        if not path.is_file():
            raise ValueError(f"{path} is missing (it is listed in {folder / _MANIFEST}). {_RESTORE}")
        actual = _sha256_bytes(path.read_bytes())
        if actual != row["sha256"]:
            raise ValueError(
                f"{path} is damaged or was changed: its sha256 is {actual}, {folder / _MANIFEST} "
                f"says {row['sha256']}. {_RESTORE}"
            )
    images = folder / "images"
    for entry in sorted(images.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue  # .DS_Store and the like; only folders of images can reach an ImageFolder
        if entry.name not in PHOTO_CLASSES:
            raise ValueError(f"{entry} is not one of the class folders {list(PHOTO_CLASSES)}: remove it. {_RESTORE}")
        files = sorted(p for p in entry.iterdir() if p.suffix.lower() in _IMAGE_EXTENSIONS and not p.name.startswith("."))
        if not files:
            raise ValueError(f"the class folder {entry} holds no images. {_RESTORE}")
        for path in files:
            if path.relative_to(folder).as_posix() not in listed:
                raise ValueError(f"{path} is not listed in {folder / _MANIFEST}: remove it. {_RESTORE}")
    return {name: sum(row["class"] == name for row in rows) for name in PHOTO_CLASSES}


# ------------------------------------------------------------------ reading one image
def load_photo(path: str | Path, convert: bool = True) -> Image.Image:
    """Open an image file completely; return it as an RGB ``PIL.Image``, or raise ``ValueError``.

    A missing, empty, unreadable or truncated file (also when
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set: a JPEG must end with its end-of-image
    marker) raises ``ValueError`` naming the file, never an error from deep inside Pillow.
    With ``convert=True`` (default) other 8-bit modes become RGB: transparency (RGBA, LA,
    palette with a transparent colour) is composited on white, as the committed photos
    were made, and grey levels are copied into the three channels. 16-bit and float
    images raise ``ValueError``. With ``convert=False`` anything but an RGB image raises
    ``ValueError`` naming the file and its mode.

    This is the loader of ``photo_dataset``; it works as ``ImageFolder(root, loader=load_photo)``.

    Introduced in lesson 07.
    """
    if not isinstance(convert, bool):
        raise ValueError(f"convert must be True or False, got {convert!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    try:
        payload = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path} cannot be read ({err})") from err
    if not payload:
        raise ValueError(f"{path} is empty (0 bytes): it is not an image")
    try:
        with Image.open(io.BytesIO(payload)) as opened:
            kind = opened.format
            opened.load()
            image = opened.copy()
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, ... for broken files
        raise ValueError(f"{path} is not a readable image ({type(err).__name__}: {err}): it is damaged, "
                         "truncated or not an image file") from err
    if kind == "JPEG" and ImageFile.LOAD_TRUNCATED_IMAGES and not payload.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise ValueError(f"{path} is truncated: the JPEG data stops before its end-of-image marker")
    mode = image.mode
    if mode == "RGB":
        return image
    if not convert:
        raise ValueError(
            f"{path} is a {mode} image, not RGB (3 colour channels): pass convert=True to turn it into RGB"
        )
    if mode not in _CONVERTIBLE:
        raise ValueError(f"{path} is a {mode} image (16-bit or floating point): convert it to 8-bit RGB first")
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB")
    return image.convert("RGB")


# ------------------------------------------------------------------ splits
def _check_train_per_class(train_per_class) -> None:
    if train_per_class is None:
        return
    if isinstance(train_per_class, bool) or not isinstance(train_per_class, int) \
            or not 1 <= train_per_class <= PHOTO_MAX_TRAIN_PER_CLASS:
        raise ValueError(
            f"train_per_class must be an int from 1 to {PHOTO_MAX_TRAIN_PER_CLASS} (the smallest class, "
            f"vehicle, has {PHOTO_MAX_TRAIN_PER_CLASS} photos left after the {PHOTO_TEST_PER_CLASS} test and "
            f"{PHOTO_VAL_PER_CLASS} validation ones), or None for every one left; got {train_per_class!r}"
        )


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _order(names: list[str], key: str) -> list[str]:
    """A shuffle of ``names`` that depends only on ``key`` and the names: the same on every machine."""
    return sorted(names, key=lambda name: (_sha256_bytes(f"{key}\0{name}".encode()), name))


def _split_files(rows: list[dict[str, str]], train_per_class: int | None, seed: int) -> dict[str, list[tuple[str, int]]]:
    """``{split: [(file inside the photo folder, label), ...]}``, each list sorted by file."""
    splits: dict[str, list[tuple[str, int]]] = {split: [] for split in PHOTO_SPLITS}
    for label, name in enumerate(PHOTO_CLASSES):
        files = [row["file"] for row in rows if row["class"] == name]
        held_out = _order(files, _HELD_OUT_KEY)
        test = held_out[:PHOTO_TEST_PER_CLASS]
        val = held_out[PHOTO_TEST_PER_CLASS:PHOTO_TEST_PER_CLASS + PHOTO_VAL_PER_CLASS]
        pool = held_out[PHOTO_TEST_PER_CLASS + PHOTO_VAL_PER_CLASS:]
        train = _order(pool, f"train\0{seed}")
        if train_per_class is not None:
            train = train[:train_per_class]  # a prefix of one fixed order: draws are nested in k
        for split, chosen in (("train", train), ("val", val), ("test", test)):
            splits[split] += [(file, label) for file in sorted(chosen)]
    return splits


def photo_splits(
    train_per_class: int | None = PHOTO_MAX_TRAIN_PER_CLASS,
    seed: int = 0,
    folder: str | Path | None = None,
) -> dict[str, list[tuple[Path, int]]]:
    """Return ``{"train": [...], "val": [...], "test": [...]}`` of ``(photo path, label)`` pairs.

    ``label`` indexes ``PHOTO_CLASSES``. ``"test"`` (5 photos per class) and ``"val"`` (3 per
    class) are fixed: the same for every ``train_per_class`` and ``seed``. ``"train"`` holds
    ``train_per_class`` photos of every class (1 to 10), drawn with ``seed`` from the photos
    in neither of those; ``None`` takes all of them (27 birds, 16 flowers, 18 fruit, 54
    mammals, 10 vehicles: unbalanced). For one seed a smaller draw is part of a larger one.
    No photo is in two splits. Lists are sorted by file name; shuffle with a ``DataLoader``.
    Default folder: ``helpers/photos_data``.

    Introduced in lesson 07.
    """
    _check_train_per_class(train_per_class)
    _check_seed(seed)
    folder = _folder(folder)
    rows = _read_manifest(folder)
    return {
        split: [(folder / file, label) for file, label in pairs]
        for split, pairs in _split_files(rows, train_per_class, seed).items()
    }


# ------------------------------------------------------------------ the ImageFolder tree
def check_photo_folder(root: str | Path, splits: tuple[str, ...] = PHOTO_SPLITS) -> dict[str, dict[str, int]]:
    """Check an ``ImageFolder`` tree ``root/<split>/<class>/<image>``; return the image counts.

    Every split folder must exist and hold the same class folders as the first split (or
    the labels of the splits would not match), and every class folder must hold at least
    one image that ``load_photo(convert=False)`` reads (an RGB image).
    The first problem raises ``ValueError`` naming the folder or file, where
    ``torchvision.datasets.ImageFolder`` would fail later with a less direct message.

    Introduced in lesson 07.
    """
    root = Path(root)
    counts: dict[str, dict[str, int]] = {}
    for split in splits:
        split_root = root / split
        if not split_root.is_dir():
            raise ValueError(f"{split_root} is missing: expected a folder of class folders")
        classes = sorted(p for p in split_root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not classes:
            raise ValueError(f"{split_root} holds no class folders")
        names = [p.name for p in classes]
        first = next(iter(counts.values()), None)
        if first is not None and names != list(first):
            raise ValueError(
                f"{split_root} has the class folders {names}, but {root / splits[0]} has {list(first)}: "
                "every split needs the same classes, or the labels would not match"
            )
        counts[split] = {}
        for class_root in classes:
            images = sorted(p for p in class_root.iterdir()
                            if p.is_file() and p.suffix.lower() in _IMAGE_EXTENSIONS and not p.name.startswith("."))
            if not images:
                raise ValueError(
                    f"the class folder {class_root} holds no images (files ending in {', '.join(_IMAGE_EXTENSIONS)})"
                )
            for image in images:
                load_photo(image, convert=False)
            counts[split][class_root.name] = len(images)
    return counts


def _default_root(train_per_class: int | None, seed: int) -> Path:
    name = "train-all" if train_per_class is None else f"train{train_per_class}-seed{seed}"
    return data_dir("photo-folders", name)


def _expected_tree(pairs: dict[str, list[tuple[str, int]]], rows: list[dict[str, str]]) -> dict[str, str]:
    """``{path inside the tree: sha256}`` of the tree that ``pairs`` describes."""
    digest = {row["file"]: row["sha256"] for row in rows}
    return {
        f"{split}/{PHOTO_CLASSES[label]}/{Path(file).name}": digest[file]
        for split in PHOTO_SPLITS
        for file, label in pairs[split]
    }


def _tree_is_complete(root: Path, stamp_text: str, expected: dict[str, str]) -> bool:
    stamp = root / _STAMP
    try:
        if not stamp.is_file() or stamp.read_text(encoding="utf-8") != stamp_text:
            return False
        present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {_STAMP}
        if present != set(expected):
            return False
        return all(_sha256_bytes((root / rel).read_bytes()) == sha for rel, sha in expected.items())
    except OSError:
        return False


def _remove_stale_builds(root: Path) -> None:
    """Delete temporary folders that a killed build of ``root`` left next to it."""
    now = time.time()
    for pattern in (f".{root.name}.building-*", f".{root.name}.old-*"):
        for leftover in root.parent.glob(pattern):
            try:
                if leftover.is_dir() and now - leftover.stat().st_mtime > _STALE_S:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                pass  # another process removed it first


def _new_sibling(root: Path, kind: str) -> Path:
    """Create an empty hidden folder next to ``root``, with the usual permissions (not mkdtemp's 0700)."""
    while True:
        candidate = root.parent / f".{root.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


def make_photo_folder(
    root: str | Path | None = None,
    train_per_class: int | None = PHOTO_MAX_TRAIN_PER_CLASS,
    seed: int = 0,
    folder: str | Path | None = None,
) -> Path:
    """Copy the photos of ``photo_splits(train_per_class, seed)`` into an ``ImageFolder`` tree; return its root.

    Layout: ``<root>/train/<class>/<name>.jpg``, ``<root>/val/...`` and ``<root>/test/...``
    (copies, so editing them cannot damage the committed photos), and
    ``torchvision.datasets.ImageFolder(root / "train")`` finds the five classes of
    ``PHOTO_CLASSES`` in that order. Default root:
    ``data/photo-folders/train<k>-seed<s>`` (``train-all`` for ``train_per_class=None``),
    git-ignored. A complete tree with the same content is left alone (every file is
    checked against the manifest's sha256); otherwise the tree is built in a temporary
    folder next to ``root`` and swapped in at the end, so an interrupted build never
    leaves a half tree that looks finished. ``root`` may be new, empty or a tree made
    by this function; anything else raises ``ValueError`` rather than being replaced.
    Temporary folders that a killed build left next to ``root`` are removed by the next one.

    Introduced in lesson 07.
    """
    _check_train_per_class(train_per_class)
    _check_seed(seed)
    source = _folder(folder)
    rows = _read_manifest(source)
    pairs = _split_files(rows, train_per_class, seed)
    expected = _expected_tree(pairs, rows)
    stamp_text = json.dumps(
        # with train_per_class=None every seed gives the same photos, so the seed is not recorded
        {"train_per_class": train_per_class, "seed": None if train_per_class is None else seed,
         "files": expected}, indent=1, sort_keys=True
    ) + "\n"
    root = Path(root) if root is not None else _default_root(train_per_class, seed)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root {root} is a file, not a folder")
    if _tree_is_complete(root, stamp_text, expected):
        return root
    if root.is_dir() and any(root.iterdir()) and not (root / _STAMP).is_file():
        raise ValueError(
            f"root {root} is a folder that make_photo_folder did not make (no {_STAMP} in it); "
            "choose a new or empty folder so that nothing of yours is replaced"
        )
    verify_photos(source)  # the committed files must be sound before they are copied
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(root)
    building = _new_sibling(root, "building")
    try:
        for split in PHOTO_SPLITS:
            for name in PHOTO_CLASSES:
                (building / split / name).mkdir(parents=True)
        for split in PHOTO_SPLITS:
            for file, label in pairs[split]:
                shutil.copyfile(source / file, building / split / PHOTO_CLASSES[label] / Path(file).name)
        check_photo_folder(building)
        (building / _STAMP).write_text(stamp_text, encoding="utf-8")  # last: the tree is complete
        old = None
        if root.exists():
            old = _new_sibling(root, "old")
            os.replace(root, old / "tree")  # a rename: root is either the old tree or absent
        os.replace(building, root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return root


def photo_dataset(
    split: str = "train",
    train_per_class: int | None = PHOTO_MAX_TRAIN_PER_CLASS,
    seed: int = 0,
    transform: Callable | None = None,
    root: str | Path | None = None,
):
    """Return ``torchvision.datasets.ImageFolder`` over one split of ``make_photo_folder(...)``.

    ``split`` is ``"train"``, ``"val"`` or ``"test"``; images are read by ``load_photo``
    (so a damaged file raises ``ValueError`` naming it) and passed to ``transform``;
    ``dataset.classes`` equals ``list(PHOTO_CLASSES)``. The test and validation splits are
    the same whatever ``train_per_class`` and ``seed`` are.

    Introduced in lesson 07.
    """
    from torchvision import datasets

    if split not in PHOTO_SPLITS:
        raise ValueError(f"split must be one of {list(PHOTO_SPLITS)}, got {split!r}")
    tree = make_photo_folder(root, train_per_class=train_per_class, seed=seed)
    return datasets.ImageFolder(str(tree / split), transform=transform, loader=load_photo)
