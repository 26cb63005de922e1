"""helpers.data.load_fashion_mnist: where the files come from, what is checked, bad files.

Most tests use small synthetic IDX files in the official layout (the expected counts are
patched down); the last one reads the real 70,000 images from Debian's package
``dataset-fashion-mnist`` when it is installed (``make test`` installs it when run as root).
"""

from __future__ import annotations

import gzip
import socket
import struct
import time

import numpy as np
import pytest
import torch

from helpers import data

SMALL = {True: 30, False: 20}  # images per split in the synthetic files


def _idx(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape) + array.tobytes()


def _write_system_dir(folder, counts=SMALL, seed=0):
    """Write the four official .gz files with ``counts`` images, labels cycling 0..9."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for train, (images, labels) in data._FASHION_FILES.items():
        n = counts[train]
        pixels = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        targets = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{images}.gz").write_bytes(gzip.compress(_idx(pixels, 0x803), mtime=0))
        (folder / f"{labels}.gz").write_bytes(gzip.compress(_idx(targets, 0x801), mtime=0))
    return folder


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(data, "_FASHION_COUNTS", dict(SMALL))


@pytest.fixture
def offline(monkeypatch):
    def unreachable(address, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)


def test_the_package_folder_is_copied_into_the_cache_once(small, offline, tmp_path):
    system = _write_system_dir(tmp_path / "system")
    root = tmp_path / "cache"
    train = data.load_fashion_mnist(train=True, root=root, system_dir=system)
    test = data.load_fashion_mnist(train=False, root=root, system_dir=system)
    assert type(train).__name__ == "FashionMNIST" and (len(train), len(test)) == (30, 20)
    assert train.classes == data.FASHION_MNIST_CLASSES
    image, label = train[3]
    assert image.size == (28, 28) and label == 3
    for path in system.iterdir():  # from now on the cache alone is enough
        path.unlink()
    again = data.load_fashion_mnist(train=True, root=root, system_dir=system)
    assert torch.equal(again.data, train.data) and torch.equal(again.targets, train.targets)


def test_the_class_names_are_torchvisions():
    from torchvision import datasets

    assert data.FASHION_MNIST_CLASSES == datasets.FashionMNIST.classes


def test_a_subset_is_stratified_seeded_and_still_a_fashion_mnist(small, offline, tmp_path):
    system = _write_system_dir(tmp_path / "system")
    kwargs = {"root": tmp_path / "cache", "system_dir": system}
    part = data.load_fashion_mnist(subset=20, seed=1, **kwargs)
    assert len(part) == 20 and np.bincount(part.targets.numpy()).tolist() == [2] * 10
    assert part.classes == data.FASHION_MNIST_CLASSES
    same = data.load_fashion_mnist(subset=20, seed=1, **kwargs)
    assert torch.equal(same.data, part.data)
    other = data.load_fashion_mnist(subset=20, seed=2, **kwargs)
    assert not torch.equal(other.data, part.data)
    uneven = data.load_fashion_mnist(subset=13, **kwargs)
    assert np.bincount(uneven.targets.numpy()).tolist() == [2, 2, 2] + [1] * 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subset": 5}, "subset must be None or an int from 10"),
        ({"subset": 31}, "from 10 to 30"),
        ({"subset": 2.5}, "subset must be"),
        ({"subset": True}, "subset must be"),
        ({"seed": -1}, "seed must be a non-negative int"),
        ({"train": "yes"}, "train must be True or False"),
    ],
)
def test_bad_arguments_say_what_is_allowed(small, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_fashion_mnist(root=tmp_path, system_dir=None, **kwargs)


def _damage(system, name, payload):
    (system / f"{name}.gz").write_bytes(gzip.compress(payload, mtime=0))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda s: (s / "train-images-idx3-ubyte.gz").write_bytes(
            (s / "train-images-idx3-ubyte.gz").read_bytes()[:200]), "cannot be decompressed"),
        (lambda s: _damage(s, "train-labels-idx1-ubyte", _idx(np.zeros(30, np.uint8), 0x803)), "magic number"),
        (lambda s: _damage(s, "t10k-images-idx3-ubyte", _idx(np.zeros((20, 28, 28), np.uint8), 0x803)[:-100]),
         "truncated"),
        (lambda s: _damage(s, "t10k-labels-idx1-ubyte", _idx(np.zeros(19, np.uint8), 0x801)),
         "holds 19 items; the official file holds 20"),
        (lambda s: _damage(s, "train-images-idx3-ubyte", _idx(np.zeros((30, 32, 32), np.uint8), 0x803)),
         "32 x 32 images"),
        (lambda s: _damage(s, "train-labels-idx1-ubyte", _idx(np.full(30, 12, np.uint8), 0x801)), "labels above 9"),
        (lambda s: _damage(s, "t10k-labels-idx1-ubyte", b"\x00\x00"), "only 2 bytes"),
    ],
    ids=["truncated-gz", "wrong-magic", "short-images", "count-mismatch", "wrong-size", "bad-labels", "tiny"],
)
def test_a_damaged_package_file_is_named_with_what_to_do(small, offline, tmp_path, damage, message):
    system = _write_system_dir(tmp_path / "system")
    damage(system)
    root = tmp_path / "cache"
    with pytest.raises(ValueError, match=message) as err:
        data.load_fashion_mnist(root=root, system_dir=system)
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(err.value)
    assert str(system) in str(err.value)
    assert not (root / "FashionMNIST" / "raw").exists()  # nothing half-copied into the cache


def test_a_damaged_cache_file_says_delete_it(small, offline, tmp_path):
    system = _write_system_dir(tmp_path / "system")
    root = tmp_path / "cache"
    data.load_fashion_mnist(root=root, system_dir=system)
    cached = root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    cached.write_bytes(cached.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated. Delete the file") as err:
        data.load_fashion_mnist(root=root, system_dir=system)
    assert str(cached) in str(err.value)


def test_offline_without_the_package_fails_fast_and_says_what_to_install(small, offline, tmp_path):
    start = time.perf_counter()
    with pytest.raises(RuntimeError) as err:
        data.load_fashion_mnist(root=tmp_path / "cache", system_dir=tmp_path / "no-such-folder")
    assert time.perf_counter() - start < 30  # the network probe is refused at once here
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "connect once" in message
    assert str(tmp_path / "cache") in message


@pytest.mark.skipif(not data.FASHION_MNIST_SYSTEM_DIR.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed (make test installs it as root)")
def test_the_real_files_from_the_debian_package(tmp_path):
    train = data.load_fashion_mnist(train=True, root=tmp_path)
    test = data.load_fashion_mnist(train=False, root=tmp_path)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert np.bincount(train.targets.numpy()).tolist() == [6_000] * 10
    assert np.bincount(test.targets.numpy()).tolist() == [1_000] * 10
    assert train.data.shape == (60_000, 28, 28) and train.data.dtype == torch.uint8
    assert 60 < train.data.float().mean().item() < 80  # grey-level mean of the real images (about 72.9)
    small_part = data.load_fashion_mnist(train=True, subset=1_000, root=tmp_path)
    assert np.bincount(small_part.targets.numpy()).tolist() == [100] * 10
