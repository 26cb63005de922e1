"""Exercise checks for lesson 05 · Data pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from helpers.checks import is_missing, missing_result, never_raises, report

__all__ = ["check_patch_dataset"]

_NAME = "Exercise 1 (PatchDataset)"


def _reference_image(images: np.ndarray, index: int) -> torch.Tensor:
    return torch.from_numpy(images[index]).float().div(255).unsqueeze(0)  # (1, H, W)


def _as_label(value: Any) -> int | None:
    """Return ``value`` as a Python int if it is an integer scalar (int, NumPy int, 0-d int tensor)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        return int(value.item())
    return None


def _image_problem(x: Any, expected: torch.Tensor, raw: np.ndarray) -> str | None:
    """Return a hint if ``x`` is not the expected (1, H, W) float32 image in [0, 1], else None."""
    h, w = raw.shape
    if isinstance(x, np.ndarray):
        return "the image is a NumPy array; turn it into a tensor with torch.from_numpy(...)"
    if not isinstance(x, torch.Tensor):
        return f"the image must be a torch.Tensor, got a {type(x).__name__}"
    if tuple(x.shape) == (h, w):
        return f"the image has shape {(h, w)}, without a channel axis; add one with .unsqueeze(0) to get (1, {h}, {w})"
    if tuple(x.shape) != (1, h, w):
        return f"the image has shape {tuple(x.shape)}, expected (1, {h}, {w}) (channels first)"
    if x.dtype == torch.uint8:
        return "the image is still uint8; convert it with .float() and divide by 255"
    if x.dtype != torch.float32:
        return f"the image dtype is {x.dtype}, expected torch.float32 (use .float())"
    if torch.allclose(x, torch.from_numpy(raw).float().unsqueeze(0)) and raw.max() > 1:
        return "the pixel values run from 0 to 255; divide by 255 so that they lie in [0, 1]"
    if not torch.allclose(x, expected, atol=1e-6):
        return "the pixel values are not those of the image at this index, scaled to [0, 1]"
    return None


def _try_item(ds: Any, index: int) -> tuple[Any, str | None]:
    try:
        return ds[index], None
    except Exception as err:  # the learner's code may fail in any way
        return None, f"ds[{index}] raised {type(err).__name__}: {err}"


@never_raises("Exercise 1 (PatchDataset)")
def check_patch_dataset(cls: Any) -> bool:
    """Check a map-style Dataset class ``cls(images, labels, transform=None)``; return True if correct.

    ``images`` is a uint8 array (N, H, W) and ``labels`` an int array (N,). The check
    builds datasets from its own arrays and verifies ``len``, that item ``i`` is
    ``(image float32 (1, H, W) in [0, 1] with the transform applied, label int)``, that
    an index past the end raises ``IndexError``, and that a ``DataLoader`` batches it.

    Introduced in lesson 05.
    """
    if is_missing(cls):
        return report(_NAME, None)
    if not callable(cls):
        return report(_NAME, False, f"PatchDataset must be a class, got a {type(cls).__name__}")
    rng = np.random.default_rng(5)
    n, h, w = 10, 6, 5  # H != W so that a transposed image is caught
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    images[:, 0, 0] = 255  # make sure every image has a value above 1
    labels = np.array([2, 0, 1, 1, 0, 2, 2, 1, 0, 1], dtype=np.int64)
    try:
        ds = cls(images, labels)
    except Exception as err:
        return report(_NAME, False, f"PatchDataset(images, labels) raised {type(err).__name__}: {err}")

    # __len__
    try:
        length = ds.__len__()
    except Exception as err:
        return report(_NAME, False, f"len(ds) raised {type(err).__name__}: {err}")
    if is_missing(length):
        return missing_result(_NAME, getattr(type(ds), "__len__", None), length)
    if isinstance(length, bool) or not isinstance(length, int | np.integer):
        return report(_NAME, False, f"__len__ must return an int, got a {type(length).__name__}")
    if length != n:
        return report(_NAME, False, f"len(ds) is {length} for {n} images; return the number of images, len(self.images)")

    # __getitem__: structure, image and label of every item
    for index in range(n):
        item, problem = _try_item(ds, index)
        if problem:
            return report(_NAME, False, problem)
        if is_missing(item):
            return missing_result(_NAME, getattr(type(ds), "__getitem__", None), item)
        if isinstance(item, str | torch.Tensor) or not isinstance(item, Sequence) or len(item) != 2:
            kind = type(item).__name__
            return report(_NAME, False, f"ds[{index}] must be a pair (image, label), got a {kind}; end with `return x, y`")
        x, y = item
        problem = _image_problem(x, _reference_image(images, index), images[index])
        if problem:
            return report(_NAME, False, f"ds[{index}]: {problem}")
        label = _as_label(y)
        if label is None:
            return report(_NAME, False, f"ds[{index}]: the label must be an integer (int(...)), got {y!r}")
        if label != labels[index]:
            return report(_NAME, False, f"ds[{index}]: label is {label} but should be {int(labels[index])}; "
                          "read self.labels at the same index as the image")

    # out of range
    try:
        beyond = ds[n]
    except IndexError:
        pass
    except Exception as err:
        return report(_NAME, False, f"ds[{n}] (one past the end) raised {type(err).__name__}, expected IndexError; "
                      "indexing the stored array raises IndexError for you, so do not catch it")
    else:
        return report(_NAME, False, f"ds[{n}] (one past the end) returned {type(beyond).__name__} instead of raising "
                      "IndexError; do not wrap the index (i % len) or clamp it")

    # transform
    flip = lambda t: t.flip(-1)  # noqa: E731 - a throwaway transform that works on tensors only
    try:
        flipped = cls(images, labels, transform=flip)
    except TypeError as err:
        return report(_NAME, False, f"PatchDataset(images, labels, transform=...) raised TypeError: {err}; "
                      "accept a transform argument (default None)")
    item, problem = _try_item(flipped, 3)
    if problem:
        return report(_NAME, False, problem + " with a transform; apply the transform to the tensor, after converting")
    expected = _reference_image(images, 3)
    if isinstance(item[0], torch.Tensor) and item[0].shape == expected.shape and torch.allclose(item[0], expected):
        return report(_NAME, False, "the transform is ignored: apply self.transform to the image when it is not None")
    if not isinstance(item[0], torch.Tensor) or item[0].shape != expected.shape or not torch.allclose(item[0], expected.flip(-1)):
        return report(_NAME, False, "with a transform, ds[i] must be transform(image tensor): convert and scale first, "
                      "then apply the transform")

    # DataLoader
    from torch.utils.data import DataLoader

    loader = DataLoader(ds, batch_size=4, shuffle=False, num_workers=0)
    try:
        X, y = next(iter(loader))
    except Exception as err:
        return report(_NAME, False, f"DataLoader(ds, batch_size=4) failed: {type(err).__name__}: {err}")
    if tuple(X.shape) != (4, 1, h, w) or X.dtype != torch.float32:
        return report(_NAME, False, f"a DataLoader batch has X of shape {tuple(X.shape)} and dtype {X.dtype}, "
                      f"expected (4, 1, {h}, {w}) float32")
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or tuple(y.shape) != (4,):
        return report(_NAME, False, f"a DataLoader batch has labels {y!r}, expected an int64 tensor of shape (4,)")
    if len(loader) != 3:
        return report(_NAME, False, f"a DataLoader with batch_size=4 over {n} items has {len(loader)} batches, expected 3")
    return report(_NAME, True, "len, images, labels, IndexError, transform and DataLoader batches are all right")
