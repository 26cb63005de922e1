"""Exercise checks for lesson 00 · Getting started."""

from __future__ import annotations

from typing import Any

import torch

from helpers.checks import is_missing, report

__all__ = ["check_seeded_draw"]


def check_seeded_draw(fn: Any) -> bool:
    """Check ``fn(seed) -> torch.rand(3)`` after seeding: same seed → same tensor, new seed → new tensor.

    Introduced in lesson 00.
    """
    name = "Exercise 1 (seeded_draw)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"seeded_draw must be a function, got a {type(fn).__name__}")
    try:
        a, b, c = fn(3), fn(3), fn(4)
    except Exception as err:  # learner code may fail in any way
        return report(name, False, f"calling seeded_draw(3) raised {type(err).__name__}: {err}")
    if is_missing(a):
        return report(name, None)
    if not isinstance(a, torch.Tensor) or tuple(a.shape) != (3,):
        shape = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
        return report(name, False, f"expected a tensor of shape (3,) from torch.rand(3), got {shape}")
    if not torch.equal(a, b):
        return report(name, False, "two calls with the same seed gave different numbers: "
                      "call torch.manual_seed(seed) inside the function, before torch.rand")
    if torch.equal(a, c):
        return report(name, False, "different seeds gave the same numbers: pass `seed` to torch.manual_seed "
                      "instead of a fixed number")
    torch.manual_seed(3)
    if not torch.equal(a, torch.rand(3)):
        return report(name, False, "the numbers are repeatable but not torch.rand(3) right after "
                      "torch.manual_seed(seed); draw nothing else in between")
    return report(name, True, "same seed, same numbers; new seed, new numbers")
