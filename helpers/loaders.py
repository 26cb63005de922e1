"""Small tools around ``DataLoader``: a per-batch preprocessing wrapper, per-channel statistics, batch timing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch

__all__ = ["WrappedLoader", "DeviceLoader", "dataset_mean_std", "batch_arrival_times"]


class WrappedLoader:
    """Iterate over ``loader`` and yield ``preprocess(X, y)`` for every batch ``(X, y)``.

    ``len()`` is the loader's number of batches, so the wrapper can stand in for the
    loader anywhere (``for X, y in ...``, ``helpers.fit``). Each ``for`` loop starts a
    fresh pass over the underlying loader, so shuffling still happens every epoch.

    Introduced in lesson 05.
    """

    def __init__(self, loader: Iterable, preprocess: Callable[[Any, Any], tuple[Any, Any]]) -> None:
        if not isinstance(loader, Iterable):
            raise ValueError(
                f"loader must be iterable (a DataLoader or a list of batches), got {type(loader).__name__}"
            )
        if not callable(preprocess):
            raise ValueError(
                f"preprocess must be a function (X, y) -> (X, y), got {type(preprocess).__name__}"
            )
        self.loader = loader
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for batch in self.loader:
            if not isinstance(batch, Sequence) or len(batch) != 2:
                raise ValueError(
                    "each batch must be a pair (X, y); got "
                    f"{type(batch).__name__}{f' of {len(batch)} items' if isinstance(batch, Sequence) else ''}"
                )
            X, y = batch
            yield self.preprocess(X, y)


class DeviceLoader(WrappedLoader):
    """Iterate over ``loader`` yielding ``(X.reshape(shape).to(device), y.to(device))`` per batch.

    ``shape`` is the per-batch target shape such as ``(-1, 784)`` to flatten images for an
    MLP, or ``None`` to leave ``X`` as it is. ``non_blocking=True`` lets a copy from pinned
    memory to a GPU overlap with computation (it changes nothing on a CPU).

    Introduced in lesson 05.
    """

    def __init__(
        self,
        loader: Iterable,
        device: torch.device | str,
        shape: Sequence[int] | None = None,
        non_blocking: bool = False,
    ) -> None:
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device must be a device such as 'cpu' or 'cuda', got {device!r}") from err
        if shape is not None and (
            isinstance(shape, str | bytes)
            or not isinstance(shape, Sequence)
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
        ):
            raise ValueError(f"shape must be None or a tuple of ints such as (-1, 784), got {shape!r}")
        self.shape = tuple(shape) if shape is not None else None
        self.non_blocking = non_blocking
        super().__init__(loader, self._move)

    def _move(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shape is not None:
            X = X.reshape(self.shape)  # e.g. (B, 1, 28, 28) -> (B, 784)
        return X.to(self.device, non_blocking=self.non_blocking), y.to(self.device, non_blocking=self.non_blocking)


def _first_tensor(item: Any) -> Any:
    """Return the image part of a dataset item or loader batch: the item itself or its first element."""
    if isinstance(item, torch.Tensor):
        return item
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) > 0:
        return item[0]
    return item


def dataset_mean_std(data: Any, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-channel ``(mean, std)``, each float32 of shape (C,), over every pixel of ``data``.

    ``data`` is a map-style dataset whose items are ``(image, label)`` with ``image`` a
    tensor (C, H, W) (e.g. after ``v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])``),
    or a DataLoader (or any
    iterable) of batches ``(X, y)`` with ``X`` of shape (B, C, H, W). Use the *training*
    split only, and no random augmentation or ``Normalize`` in its transform. Sums are
    kept in float64, and ``std`` is the population standard deviation.

    Introduced in lesson 05.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, torch.Tensor):
        from torch.utils.data import DataLoader

        if len(data) == 0:
            raise ValueError("data is empty: there are no images to average")
        first = _first_tensor(data[0])
        if not isinstance(first, torch.Tensor) or first.ndim != 3:
            shape = tuple(first.shape) if isinstance(first, torch.Tensor) else type(first).__name__
            raise ValueError(
                f"each item must be (image, label) with image a tensor (C, H, W), got {shape}; "
                "give the dataset transform=v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])"
            )
        batches: Iterable = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0)
    elif isinstance(data, Iterable) and not isinstance(data, torch.Tensor | str):
        batches = data
    else:
        raise ValueError(
            f"data must be a Dataset of (image, label) items or a DataLoader of (X, y) batches, "
            f"got {type(data).__name__}"
        )
    total = total_sq = None
    count = 0
    for batch in batches:
        X = _first_tensor(batch)
        if not isinstance(X, torch.Tensor) or X.ndim != 4:
            shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
            raise ValueError(
                f"each batch must hold images of shape (B, C, H, W), got {shape}; "
                "use v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]) so that images are tensors (C, H, W)"
            )
        X = X.double()
        if total is None:
            total = torch.zeros(X.shape[1], dtype=torch.float64)
            total_sq = torch.zeros(X.shape[1], dtype=torch.float64)
        elif X.shape[1] != total.shape[0]:
            raise ValueError(f"images have different channel counts: {total.shape[0]} and {X.shape[1]}")
        total += X.sum(dim=(0, 2, 3))  # one sum per channel
        total_sq += (X**2).sum(dim=(0, 2, 3))
        count += X.shape[0] * X.shape[2] * X.shape[3]  # pixels per channel
    if total is None or count == 0:
        raise ValueError("data produced no images to average")
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(0).sqrt()
    return mean.float(), std.float()


def batch_arrival_times(loader: Iterable, max_batches: int | None = None) -> list[float]:
    """Return when each batch of one pass over ``loader`` arrived: seconds since the pass began, (num_batches,).

    The clock starts just before ``iter(loader)`` (so a ``DataLoader``'s worker start-up
    is included) and reads once per batch, as the training loop receives it. Stops after
    ``max_batches`` batches when given. Feed the result to
    ``helpers.diagrams.pipelines.plot_batch_timeline``.

    Introduced in lesson 05.
    """
    if not isinstance(loader, Iterable):
        raise ValueError(f"loader must be iterable (a DataLoader or a list of batches), got {type(loader).__name__}")
    if max_batches is not None and (isinstance(max_batches, bool) or not isinstance(max_batches, int) or max_batches < 1):
        raise ValueError(f"max_batches must be None or a positive int, got {max_batches!r}")
    times: list[float] = []
    start = time.perf_counter()
    for _ in loader:
        times.append(time.perf_counter() - start)
        if max_batches is not None and len(times) == max_batches:
            break
    if not times:
        raise ValueError("loader produced no batches to time")
    return times
