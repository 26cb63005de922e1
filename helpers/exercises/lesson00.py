"""Exercise checks for lesson 00 · Getting started."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from helpers.checks import is_missing, missing_result, never_raises, report

__all__ = ["check_seeded_draw", "check_make_run"]


@never_raises("Exercise 1 (seeded_draw)")
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
        return missing_result(name, fn, a)
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


def _run(fn: Any, seed: int, global_seed: int | None) -> Any:
    if global_seed is not None:
        torch.manual_seed(global_seed)  # fixes whatever state the function finds when it starts
    return fn(seed)


@never_raises("Exercise 2 (make_run)")
def check_make_run(fn: Any) -> bool:
    """Check the repaired ``make_run(seed) -> (8, 1) tensor``: repeatable for one seed, different for another.

    The function is called several times from chosen global random states, so the
    check can tell apart the usual mistakes: weights drawn before seeding, no torch
    seeding at all, NumPy or Python seeded instead of torch, the seed set after the
    draws, and a fixed seed. The random states of torch, NumPy and Python are
    restored afterwards.

    Introduced in lesson 00.
    """
    name = "Exercise 2 (make_run)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"make_run must be a function, got a {type(fn).__name__}")
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        return _diagnose_make_run(fn, name)
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def _diagnose_make_run(fn: Any, name: str) -> bool:
    try:
        first, again = _run(fn, 0, 100), _run(fn, 0, None)  # same seed, the global state moved on
        fresh = _run(fn, 0, 100)  # same seed, same starting state as `first`
        other = _run(fn, 1, 100)  # new seed, same starting state as `first`
    except Exception as err:  # learner code may fail in any way
        return report(name, False, f"calling make_run(0) raised {type(err).__name__}: {err}")
    outputs = [first, again, fresh, other]
    if any(is_missing(out) for out in outputs):
        return missing_result(name, fn, next(out for out in outputs if is_missing(out)))
    if not all(isinstance(out, torch.Tensor) and tuple(out.shape) == (8, 1) for out in outputs):
        got = tuple(first.shape) if isinstance(first, torch.Tensor) else type(first).__name__
        return report(name, False, f"expected the model's output, a tensor of shape (8, 1), got {got}; "
                      "keep the model and the batch as they are and only fix the seeding")
    same = torch.equal(first, again)
    if same and not torch.equal(first, other):
        return report(name, True, "same seed, same output wherever it is called from; new seed, new output")
    if same:
        return report(name, False, "different seeds gave the same output: pass `seed` to torch.manual_seed "
                      "instead of a fixed number")
    # not repeatable: find out what the output depends on
    torch.manual_seed(0)
    _run(fn, 7, None)
    after = torch.rand(1)
    torch.manual_seed(7)
    if torch.equal(after, torch.rand(1)):
        return report(name, False, "torch.manual_seed(seed) runs after the random draws, so it only affects "
                      "what comes next: seed first, then build the model and draw the batch")
    np.random.seed(0)
    random.seed(0)
    _run(fn, 7, None)
    numpy_seeded = np.random.rand() == np.random.RandomState(7).rand()
    random_seeded = random.random() == random.Random(7).random()
    if numpy_seeded or random_seeded:
        which = "NumPy" if numpy_seeded else "Python's random"
        return report(name, False, f"you seeded {which}, but nn.Linear and torch.randn draw from torch's own "
                      "generator: call torch.manual_seed(seed)")
    if torch.equal(fresh, other):
        return report(name, False, "the seed changes nothing: the output depends only on what ran before the "
                      "call; call torch.manual_seed(seed) at the start of make_run")
    return report(name, None, "not done yet: the model's weights are drawn before torch.manual_seed(seed), "
                  "so they depend on whatever ran earlier; move the seeding line to the top")
