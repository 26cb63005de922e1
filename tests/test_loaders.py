"""Tests for helpers.loaders (lesson 05): WrappedLoader, DeviceLoader, dataset_mean_std, batch_arrival_times."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers.loaders import DeviceLoader, WrappedLoader, batch_arrival_times, dataset_mean_std


@pytest.fixture
def images() -> TensorDataset:
    torch.manual_seed(0)
    X = torch.rand(20, 3, 4, 5)  # (N, C, H, W)
    X[:, 1] *= 0.5  # channels with different statistics
    X[:, 2] += 1.0
    y = torch.arange(20) % 3
    return TensorDataset(X, y)


def test_wrapped_loader_applies_preprocess_and_keeps_len(images):
    loader = DataLoader(images, batch_size=8)
    wrapped = WrappedLoader(loader, lambda X, y: (X.flatten(1), y + 10))
    assert len(wrapped) == len(loader) == 3
    batches = list(wrapped)
    assert [tuple(X.shape) for X, _ in batches] == [(8, 60), (8, 60), (4, 60)]
    assert torch.equal(batches[0][1], images.tensors[1][:8] + 10)


def test_wrapped_loader_restarts_each_epoch(images):
    loader = DataLoader(images, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0))
    wrapped = WrappedLoader(loader, lambda X, y: (X, y))
    first = torch.cat([y for _, y in wrapped])
    second = torch.cat([y for _, y in wrapped])
    assert len(first) == len(second) == 20  # a full pass each time


def test_wrapped_loader_bad_input():
    with pytest.raises(ValueError, match="iterable"):
        WrappedLoader(42, lambda X, y: (X, y))
    with pytest.raises(ValueError, match="function"):
        WrappedLoader([], "not a function")
    with pytest.raises(ValueError, match="pair"):
        list(WrappedLoader([torch.zeros(2)], lambda X, y: (X, y)))


def test_device_loader_reshapes_and_moves(images):
    loader = DataLoader(images, batch_size=8)
    flat = DeviceLoader(loader, "cpu", shape=(-1, 60))
    X, y = next(iter(flat))
    assert tuple(X.shape) == (8, 60) and X.device.type == "cpu"
    assert len(flat) == 3
    same = DeviceLoader(loader, torch.device("cpu"))
    X, _ = next(iter(same))
    assert tuple(X.shape) == (8, 3, 4, 5)


def test_device_loader_bad_input(images):
    loader = DataLoader(images, batch_size=8)
    with pytest.raises(ValueError, match="device"):
        DeviceLoader(loader, "not-a-device")
    with pytest.raises(ValueError, match="shape"):
        DeviceLoader(loader, "cpu", shape="784")
    with pytest.raises(ValueError, match="shape"):
        DeviceLoader(loader, "cpu", shape=(-1, 7.5))


def test_mean_std_matches_torch_on_dataset_and_loader(images):
    X = images.tensors[0]
    expected_mean = X.mean(dim=(0, 2, 3))
    expected_std = X.std(dim=(0, 2, 3), unbiased=False)
    for data in (images, DataLoader(images, batch_size=7), DataLoader(images, batch_size=1)):
        mean, std = dataset_mean_std(data)
        assert mean.shape == (3,) and std.shape == (3,)
        assert mean.dtype == torch.float32
        assert torch.allclose(mean, expected_mean, atol=1e-6)
        assert torch.allclose(std, expected_std, atol=1e-6)


def test_mean_std_batch_size_does_not_matter(images):
    a = dataset_mean_std(images, batch_size=1)
    b = dataset_mean_std(images, batch_size=256)
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])


def test_mean_std_on_imagefolder(tmp_path):
    from PIL import Image
    from torchvision import datasets
    from torchvision.transforms import v2

    for cls, value in [("dark", 0), ("light", 255)]:
        (tmp_path / cls).mkdir()
        Image.new("L", (4, 4), value).save(tmp_path / cls / "a.png")
    ds = datasets.ImageFolder(tmp_path, transform=v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]))
    mean, std = dataset_mean_std(ds)
    assert torch.allclose(mean, torch.full((3,), 0.5))
    assert torch.allclose(std, torch.full((3,), 0.5))


def test_mean_std_bad_input(images):
    with pytest.raises(ValueError, match="empty"):
        dataset_mean_std(TensorDataset(torch.zeros(0, 1, 2, 2), torch.zeros(0)))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        dataset_mean_std(TensorDataset(torch.zeros(4, 8), torch.zeros(4)))  # flat vectors, not images
    with pytest.raises(ValueError, match="ToImage"):
        dataset_mean_std([(["not", "a", "tensor"], 0)])
    with pytest.raises(ValueError, match="Dataset"):
        dataset_mean_std(3.5)
    with pytest.raises(ValueError, match="batch_size"):
        dataset_mean_std(images, batch_size=0)
    with pytest.raises(ValueError, match="no images"):
        dataset_mean_std(iter([]))
    with pytest.raises(ValueError, match="channel"):
        dataset_mean_std(iter([(torch.zeros(2, 1, 2, 2), 0), (torch.zeros(2, 3, 2, 2), 0)]))


class _Slow(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        import time

        time.sleep(0.002)
        return index


def test_batch_arrival_times_one_per_batch_increasing():
    times = batch_arrival_times(DataLoader(_Slow(), batch_size=2))
    assert len(times) == 3
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    assert times[0] >= 0.004  # the first batch waited for two 2 ms items
    assert len(batch_arrival_times(DataLoader(_Slow(), batch_size=2), max_batches=2)) == 2
    assert len(batch_arrival_times([(1, 2)] * 4)) == 4  # any iterable of batches


def test_batch_arrival_times_bad_input():
    with pytest.raises(ValueError, match="iterable"):
        batch_arrival_times(3)
    with pytest.raises(ValueError, match="max_batches"):
        batch_arrival_times([1], max_batches=0)
    with pytest.raises(ValueError, match="max_batches"):
        batch_arrival_times([1], max_batches=True)
    with pytest.raises(ValueError, match="no batches"):
        batch_arrival_times([])
