"""The mini-project of lesson 10: a real folder of Fashion-MNIST PNG files, written once and reused.

``make_fashion_folder`` writes a seeded, stratified part of Fashion-MNIST as an
``ImageFolder``-style tree under the git-ignored ``data/`` cache::

    <root>/train/0_T-shirt-top/00000.png   (from Fashion-MNIST's training images)
    <root>/val/...                          (also from the training images, none in train)
    <root>/test/...                         (from Fashion-MNIST's test images)

The class folders start with the label, so sorting their names (as ``ImageFolder`` does)
keeps the label order of ``FASHION_MNIST_CLASSES``. A stamp written last records what the
tree holds and the sha256 of every file; a later call with the same settings checks it and
returns at once, and a damaged, incomplete or edited tree is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from helpers.data import FASHION_MNIST_CLASSES
from helpers.utils import data_dir

__all__ = [
    "FASHION_FOLDER_NAMES",
    "FASHION_FOLDER_SPLITS",
    "fashion_folder_name",
    "make_fashion_folder",
    "folder_files",
]

FASHION_FOLDER_SPLITS: tuple[str, ...] = ("train", "val", "test")
_STAMP = "fashion-folder.json"  # written last into a finished tree; marks a folder as ours
_MAX_PER_CLASS = {"train+val": 6_000, "test": 1_000}  # images per class in the official files


def fashion_folder_name(label: int) -> str:
    """Return the folder name of class ``label`` (0-9), e.g. ``"0_T-shirt-top"``, ``"9_Ankle-boot"``.

    The label comes first so that sorted folder names keep the label order; ``/`` and
    spaces, which do not belong in a folder name, become ``-``.

    Introduced in lesson 10.
    """
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= label < 10:
        raise ValueError(f"label must be an int from 0 to 9, got {label!r}")
    return f"{int(label)}_{FASHION_MNIST_CLASSES[int(label)].replace('/', '-').replace(' ', '-')}"


FASHION_FOLDER_NAMES: tuple[str, ...] = tuple(fashion_folder_name(k) for k in range(10))


def _count(value: object, name: str, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValueError(f"{name} must be an int from 1 to {most}, got {value!r}")
    return value


def _choose(targets: np.ndarray, per_class: tuple[int, ...], seed: int, stream: int) -> list[np.ndarray]:
    """For each class, ``sum(per_class)`` distinct seeded indices cut into consecutive parts of those sizes."""
    rng = np.random.default_rng([seed, stream])
    parts: list[list[np.ndarray]] = [[] for _ in per_class]
    for label in range(10):
        chosen = rng.permutation(np.flatnonzero(targets == label))[: sum(per_class)]
        start = 0
        for part, size in zip(parts, per_class, strict=True):
            part.append(np.sort(chosen[start:start + size]))
            start += size
    return [np.concatenate(part) for part in parts]


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def folder_files(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """Return ``[(path, label), ...]`` for every PNG of one split of a Fashion-MNIST folder, sorted by path.

    The label is read from the class folder's name (``"3_Dress"`` -> 3), which is what
    ``ImageFolder`` would give too. Raises ``ValueError`` if ``split`` is not one of
    ``FASHION_FOLDER_SPLITS`` or the split's folder is missing.

    Introduced in lesson 10.
    """
    if split not in FASHION_FOLDER_SPLITS:
        raise ValueError(f"split must be one of {list(FASHION_FOLDER_SPLITS)}, got {split!r}")
    base = Path(root) / split
    if not base.is_dir():
        raise ValueError(f"{base} is not a folder; build the tree first with make_fashion_folder()")
    files = []
    for label, name in enumerate(FASHION_FOLDER_NAMES):
        files.extend((path, label) for path in sorted((base / name).glob("*.png")))
    return files


def _digest(root: Path, names: list[str]) -> str | None:
    """sha256 over the listed files' names and contents, or None if one is missing or unreadable."""
    digest = hashlib.sha256()
    for name in names:
        try:
            payload = (root / name).read_bytes()
        except OSError:
            return None
        digest.update(name.encode() + b"\0" + hashlib.sha256(payload).digest())
    return digest.hexdigest()


def _is_complete(root: Path, settings: dict) -> bool:
    stamp = root / _STAMP
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or recorded.get("settings") != settings:
        return False
    names = recorded.get("files")
    if not isinstance(names, list):
        return False
    present = sorted(p.relative_to(root).as_posix() for split in FASHION_FOLDER_SPLITS
                     for p in (root / split).glob("*/*") if not p.name.startswith("."))
    return present == sorted(names) and _digest(root, names) == recorded.get("sha256")


def make_fashion_folder(
    root: str | Path | None = None,
    train_per_class: int = 300,
    val_per_class: int = 100,
    test_per_class: int = 100,
    seed: int = 0,
) -> Path:
    """Write a seeded, stratified part of Fashion-MNIST as PNG files in class folders; return the tree's root.

    ``train/`` and ``val/`` hold ``train_per_class`` and ``val_per_class`` images of every
    class, drawn without overlap from Fashion-MNIST's 60,000 training images; ``test/``
    holds ``test_per_class`` of every class from its 10,000 test images. Files are 28 x 28
    greyscale PNGs named by their index in the official file (``00042.png``), in the class
    folders ``FASHION_FOLDER_NAMES``. The same settings give the same files on every machine.

    Default root: ``data/fashion-folder``. A complete tree with the same settings is
    checked (every file's sha256 against the stamp) and reused; anything else there (a
    damaged or missing file, a stray one, other settings) is rebuilt in a temporary
    folder that then replaces it. A folder that is not empty and was not written by this
    function is never deleted: that raises ``ValueError``.

    Introduced in lesson 10.
    """
    train_per_class = _count(train_per_class, "train_per_class", _MAX_PER_CLASS["train+val"])
    val_per_class = _count(val_per_class, "val_per_class", _MAX_PER_CLASS["train+val"])
    test_per_class = _count(test_per_class, "test_per_class", _MAX_PER_CLASS["test"])
    if train_per_class + val_per_class > _MAX_PER_CLASS["train+val"]:
        raise ValueError(
            f"train_per_class + val_per_class must be at most {_MAX_PER_CLASS['train+val']} (the training "
            f"images of one class), got {train_per_class} + {val_per_class}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if root is not None and not isinstance(root, str | os.PathLike):
        raise ValueError(f"root must be None, a str or a pathlib.Path, got {type(root).__name__}")
    root = Path(root) if root is not None else data_dir("fashion-folder")
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root} is a file, not a folder; choose another root")
    settings = {"train": train_per_class, "val": val_per_class, "test": test_per_class, "seed": seed}
    if _is_complete(root, settings):
        return root
    if root.is_dir() and any(root.iterdir()) and not (root / _STAMP).is_file():
        raise ValueError(
            f"{root} is not empty and was not written by make_fashion_folder (no {_STAMP} in it); "
            "choose another root or empty it yourself"
        )

    from helpers.data import load_fashion_mnist

    train_set, test_set = load_fashion_mnist(train=True), load_fashion_mnist(train=False)
    train_images, test_images = train_set.data.numpy(), test_set.data.numpy()  # (N, 28, 28) uint8
    train_idx, val_idx = _choose(train_set.targets.numpy(), (train_per_class, val_per_class), seed, 0)
    (test_idx,) = _choose(test_set.targets.numpy(), (test_per_class,), seed, 1)
    labels = {"train": train_set.targets.numpy(), "val": train_set.targets.numpy(), "test": test_set.targets.numpy()}
    sources = {"train": (train_images, train_idx), "val": (train_images, val_idx), "test": (test_images, test_idx)}

    root.parent.mkdir(parents=True, exist_ok=True)
    build = root.with_name(f".{root.name}.build-{uuid.uuid4().hex[:8]}")
    try:
        names = []
        for split in FASHION_FOLDER_SPLITS:
            images, indices = sources[split]
            for name in FASHION_FOLDER_NAMES:
                (build / split / name).mkdir(parents=True)
            for index in indices.tolist():
                name = f"{split}/{FASHION_FOLDER_NAMES[int(labels[split][index])]}/{index:05d}.png"
                (build / name).write_bytes(_png(images[index]))
                names.append(name)
        stamp = {"settings": settings, "files": names, "sha256": _digest(build, names)}
        (build / _STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
        if root.exists():
            old = root.with_name(f".{root.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(root, old)  # ours (it has the stamp) or empty: safe to remove
            shutil.rmtree(old, ignore_errors=True)
        os.replace(build, root)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return root
