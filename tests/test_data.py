import gzip
import socket

import numpy as np
import pytest
import torch

from helpers import data


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    return data.write_mnist_raw(tmp_path_factory.mktemp("mnist"))


def test_mnist_arrays_is_a_stratified_seeded_split():
    arrays = data.mnist_arrays()
    assert arrays["x_train"].shape == (4000, 28, 28) and arrays["x_train"].dtype == np.uint8
    assert arrays["x_test"].shape == (1000, 28, 28)
    assert np.bincount(arrays["y_train"]).tolist() == [400] * 10
    assert np.bincount(arrays["y_test"]).tolist() == [100] * 10
    again = data.mnist_arrays()
    assert np.array_equal(arrays["x_test"], again["x_test"])


def test_raw_files_load_with_torchvision(mnist_root):
    from torchvision import datasets, transforms

    train = datasets.MNIST(mnist_root, train=True, transform=transforms.ToTensor())
    test = datasets.MNIST(mnist_root, train=False)
    assert len(train) == 4000 and len(test) == 1000
    image, label = train[0]
    assert image.shape == (1, 28, 28) and 0 <= label <= 9
    assert image.max() <= 1.0 and image.max() > 0.5
    raw = mnist_root / "MNIST" / "raw"
    assert gzip.decompress((raw / "t10k-labels-idx1-ubyte.gz").read_bytes()) == (raw / "t10k-labels-idx1-ubyte").read_bytes()


def test_rebuilding_is_idempotent(mnist_root):
    raw = mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    before = raw.stat().st_mtime_ns
    data.write_mnist_raw(mnist_root)
    assert raw.stat().st_mtime_ns == before  # nothing rewritten


def test_a_corrupted_cache_is_rebuilt(tmp_path):
    root = data.write_mnist_raw(tmp_path)
    raw = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    raw.write_bytes(b"garbage")
    data.write_mnist_raw(root)
    assert len(raw.read_bytes()) == 8 + 1000


def test_bundled_data_needs_no_network(no_network, mnist_root, tmp_path):
    train = data.load_mnist(train=True, root=mnist_root)
    assert len(train) == 4000
    root = data.make_texture_folder(tmp_path / "tex", patch_size=64)
    assert (root / "train" / "brick").is_dir()
    X, y = data.load_faces()
    assert X.shape == (200, 1, 25, 25)
    assert "chelsea" in data.sample_photos()
    assert len(data.imagenet_classes()) == 1000


def test_full_download_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    def unreachable(address, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(RuntimeError, match="load_mnist\\(full=False\\)"):
        data.load_mnist(full=True, root=tmp_path)
    with pytest.raises(RuntimeError, match="bundled"):
        data.load_full_dataset("FashionMNIST", root=tmp_path)


def test_full_download_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="MNIST"):
        data.load_full_dataset("ImageNet", root=tmp_path)


def test_texture_patches_are_disjoint_and_balanced():
    splits = data.texture_patches(32)
    X_train, y_train = splits["train"]
    X_val, y_val = splits["val"]
    assert X_train.shape[1:] == (32, 32) and X_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [192, 192, 192]
    assert np.bincount(y_val).tolist() == [64, 64, 64]
    # every validation patch comes from rows no training patch uses
    train_rows = {tuple(p.ravel()[:64]) for p in X_train}
    assert not any(tuple(p.ravel()[:64]) in train_rows for p in X_val)


@pytest.mark.parametrize("kwargs", [{"patch_size": 4}, {"patch_size": 33.0}, {"val_fraction": 0.9}])
def test_texture_patches_bad_input(kwargs):
    with pytest.raises(ValueError, match="must be"):
        data.texture_patches(**kwargs)


def test_texture_folder_reads_with_imagefolder(tmp_path):
    from torchvision.datasets import ImageFolder

    root = data.make_texture_folder(tmp_path, patch_size=64)
    train = ImageFolder(root / "train")
    assert train.classes == data.TEXTURE_CLASSES
    assert len(train) == 3 * 6 * 8 and len(ImageFolder(root / "val")) == 3 * 2 * 8
    assert data.make_texture_folder(tmp_path, patch_size=64) == root  # reuse, no error


def test_faces_and_photos_shapes():
    X, y = data.load_faces()
    assert X.dtype == torch.float32 and y.tolist().count(1) == 100
    photos = data.sample_photos()
    assert {"astronaut", "chelsea", "coffee", "rocket", "china", "flower"} <= set(photos)
    assert all(p.ndim == 3 and p.shape[2] == 3 and p.dtype == np.uint8 for p in photos.values())
