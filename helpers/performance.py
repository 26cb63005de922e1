"""Measuring and speeding up training: timing with repeats, the profiler's time split, a mixed-precision step.

Introduced in lesson 09.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from helpers.utils import _call_times

__all__ = ["Timing", "time_call", "profiler_split", "amp_train_step"]


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated calls, in milliseconds, with their median and interquartile range.

    Introduced in lesson 09.
    """

    times_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median time in ms."""
        return statistics.median(self.times_ms)

    @property
    def iqr(self) -> float:
        """The interquartile range (75th minus 25th percentile) in ms; 0 for fewer than two times."""
        if len(self.times_ms) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.times_ms, n=4, method="inclusive")
        return q3 - q1

    def __str__(self) -> str:
        return f"{self.median:.2f} ms (IQR {self.iqr:.2f} ms, {len(self.times_ms)} runs)"


def time_call(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> Timing:
    """Return the :class:`Timing` of ``repeats`` calls of ``fn()`` after ``warmup`` untimed calls.

    The warm-up calls absorb one-off costs (memory allocation, kernel selection, a
    ``torch.compile`` compilation) so that the timed calls show the steady state. Time a
    compiled function's first call separately if you want to know its compile cost.

    Introduced in lesson 09.
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function taking no arguments, got {type(fn).__name__}")
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    return Timing(tuple(1000 * seconds for seconds in _call_times(fn, repeats, warmup)))


def profiler_split(prof: Any, labels: Sequence[str]) -> dict[str, float]:
    """Return ``{label: total CPU time in ms}`` for the ``record_function`` labels of a finished profile.

    ``prof`` is a ``torch.profiler.profile`` after its ``with`` block; ``labels`` are the
    names given to ``record_function`` (for example ``["data", "forward", "backward",
    "optimizer_step"]``). A label used in several steps is summed over all of them.

    Introduced in lesson 09.
    """
    if not hasattr(prof, "key_averages"):
        raise ValueError(f"prof must be a finished torch.profiler.profile, got {type(prof).__name__}")
    if isinstance(labels, str) or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty list of record_function names, got {labels!r}")
    totals = {event.key: event.cpu_time_total / 1000 for event in prof.key_averages()}
    missing = [label for label in labels if label not in totals]
    if missing:
        raise ValueError(f"no profiler rows named {missing}; record_function labels in this profile "
                         f"must match exactly (rows found include {sorted(totals)[:8]})")
    return {label: totals[label] for label in labels}


def amp_train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable[..., torch.Tensor],
                   optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, device_type: str,
                   dtype: torch.dtype = torch.float16, max_norm: float | None = None) -> float:
    """Run one mixed-precision training step on (X, y); return the loss as a float.

    The standard recipe, the same code on every device: the forward pass and the loss
    under ``torch.autocast(device_type, dtype)``; ``scaler.scale(loss).backward()``;
    ``scaler.unscale_(optimizer)`` *before* ``clip_grad_norm_`` (so the threshold applies
    to the true gradients); ``scaler.step(optimizer)`` (skipped when a gradient is inf or
    NaN) and ``scaler.update()``. With ``GradScaler(enabled=False)`` (CPU, bfloat16) every
    scaler call is a pass-through. X is (B, ...) and y is (B,) on the model's device.

    Introduced in lesson 09.
    """
    if device_type not in ("cpu", "cuda", "mps", "xpu"):
        raise ValueError(f"device_type must be 'cpu', 'cuda', 'mps' or 'xpu' (a device type, not a device), "
                         f"got {device_type!r}")
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be torch.float16 or torch.bfloat16, got {dtype}")
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be positive or None, got {max_norm!r}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must hold the same number of examples, got {X.shape[0]} and {y.shape[0]}")
    with torch.autocast(device_type=device_type, dtype=dtype):
        loss = loss_fn(model(X), y)  # forward and loss in low precision where safe
    optimizer.zero_grad()
    scaler.scale(loss).backward()  # multiply the loss so small float16 gradients do not underflow
    if max_norm is not None:
        scaler.unscale_(optimizer)  # divide the gradients back first: clip the true gradients
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)  # skips the step if a gradient is inf/NaN
    scaler.update()  # lower the scale after a skip, raise it after a run of good steps
    return loss.item()
