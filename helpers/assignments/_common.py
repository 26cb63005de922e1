"""Private utilities shared by the checks of A1, A2 and A3 (``a1``, ``a2``, ``a3``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _err(err: BaseException) -> str:
    """Return ``"TypeError: message"`` with only the first line of the message."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    """Return True when two tensors have the same shape and close values (compared in float64)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    return bool(torch.allclose(g, e, atol=atol, rtol=rtol))


def _is_stub_class(cls: Any) -> bool:
    """Return True for a class left as the stub: no ``forward`` of its own."""
    return isinstance(cls, type) and issubclass(cls, nn.Module) and cls.forward is nn.Module.forward


def _model_device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")

