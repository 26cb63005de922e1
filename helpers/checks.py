"""Instant feedback for exercises: compare a learner's answer with a reference and print ✓ or a hint.

A check never raises for a wrong or missing answer: it prints what is wrong and
returns ``False``, so the notebook keeps running. The test harness sets the
environment variable ``COURSE_STRICT_CHECKS=1``; then a failed check raises
``CheckFailed`` so that CI notices a broken answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = [
    "CheckFailed",
    "STRICT_ENV",
    "is_strict",
    "is_missing",
    "compare",
    "check_tensor",
    "check_value",
    "check_function",
    "check_true",
    "report",
    "score",
    "DEBUGGING_GUIDE",
]

STRICT_ENV = "COURSE_STRICT_CHECKS"
# The page of symptoms, causes and fixes that lessons 00-04 teach; hints point learners to it.
DEBUGGING_GUIDE = "notebooks/DEBUGGING.md"
NOT_DONE = "not done yet: replace the line marked YOUR CODE HERE with your answer and run the cell"


class CheckFailed(AssertionError):
    """Raised by a failed check in strict mode (set by the test harness)."""


def is_strict() -> bool:
    """Return True when checks must raise on failure (``COURSE_STRICT_CHECKS=1``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes"}


@contextmanager
def torch_load_calls() -> Iterator[list[Any]]:
    """Within the block, record the ``weights_only`` argument of every ``torch.load`` call.

    Yields the list the values are appended to (``None`` where it was not given). Checks
    use it to see whether the learner's code read a file back, and how safely.
    """
    calls: list[Any] = []
    real_load = torch.load

    def spy_load(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    torch.load = spy_load
    try:
        yield calls
    finally:
        torch.load = real_load


def is_missing(answer: Any) -> bool:
    """Return True for an answer that was left as the stub: ``None`` or ``...``."""
    return answer is None or answer is Ellipsis


def report(name: str, ok: bool | None, message: str = "") -> bool:
    """Print one line of feedback and return ``ok`` (``None`` means "not done yet" → False).

    In strict mode a failed or missing answer raises ``CheckFailed`` after printing.

    Introduced in lesson 00.
    """
    if ok is None:
        line = f"… {name}: {message or NOT_DONE}"
    elif ok:
        line = f"✓ {name}: {message or 'correct'}"
    else:
        line = f"✗ {name}: {message}"
    print(line)
    if not ok and is_strict():
        raise CheckFailed(line)
    return bool(ok)


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def compare(name: str, got: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Print ``name | exact | approx | maxdiff`` for two tensors/arrays/numbers; return approx-equality.

    Introduced in lesson 02.
    """
    a, b = _to_numpy(got), _to_numpy(expected)
    if a.shape != b.shape:
        print(f"{name:<16} | shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
        return False
    exact = bool(np.array_equal(a, b))
    approx = bool(np.allclose(a, b, atol=atol, rtol=rtol))
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    print(f"{name:<16} | exact: {str(exact):5} | approx: {str(approx):5} | maxdiff: {diff:.2e}")
    return approx


def _tensor_problem(got: Any, expected: torch.Tensor, atol: float, rtol: float, check_dtype: bool) -> str | None:
    """Return a hint describing how ``got`` differs from ``expected``, or None if it matches."""
    if not isinstance(got, torch.Tensor):
        kind = type(got).__name__
        extra = " (convert it with torch.as_tensor)" if isinstance(got, np.ndarray | list | tuple) else ""
        return f"expected a torch.Tensor, got a {kind}{extra}"
    if tuple(got.shape) != tuple(expected.shape):
        hint = f"shape is {tuple(got.shape)} but should be {tuple(expected.shape)}"
        if sorted(got.shape) == sorted(expected.shape):
            hint += " (same sizes in another order: check which dimension goes where)"
        elif got.numel() == expected.numel():
            hint += " (same number of elements: check your view/reshape)"
        return hint
    if check_dtype and got.dtype != expected.dtype:
        return f"dtype is {got.dtype} but should be {expected.dtype}"
    if got.device.type != expected.device.type:
        return f"tensor is on {got.device} but should be on {expected.device}"
    g, e = got.detach(), expected.detach()
    if g.is_floating_point() or e.is_floating_point():
        g, e = g.double(), e.double()
        if not torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
            diff = (g - e).abs().nan_to_num(nan=math.inf).max().item()
            return f"values differ (largest difference {diff:.3g}, tolerance atol={atol:g}, rtol={rtol:g})"
    elif not torch.equal(g, e):
        wrong = int((g != e).sum())
        return f"{wrong} of {g.numel()} values differ"
    return None


def check_tensor(
    got: Any,
    expected: torch.Tensor,
    name: str = "answer",
    atol: float = 1e-6,
    rtol: float = 1e-5,
    check_dtype: bool = True,
    hint: str = "",
) -> bool:
    """Check that ``got`` is a tensor equal to ``expected`` (shape, dtype, device, values); return True if so.

    On a mismatch prints which of those differs, plus ``hint`` when given.

    Introduced in lesson 01.
    """
    if is_missing(got):
        return report(name, None)
    problem = _tensor_problem(got, expected, atol, rtol, check_dtype)
    if problem is None:
        return report(name, True, f"correct, shape {tuple(expected.shape)}, dtype {expected.dtype}")
    return report(name, False, problem + (f". Hint: {hint}" if hint else ""))


def _value_problem(got: Any, expected: Any, tol: float | None) -> str | None:
    if isinstance(expected, torch.Tensor):
        return _tensor_problem(got, expected, tol or 1e-6, 1e-5, True)
    if isinstance(expected, bool) or isinstance(expected, str):
        return None if got == expected and type(got) is type(expected) else f"got {got!r}, expected a different {type(expected).__name__}"
    if isinstance(expected, int | float):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, np.generic):
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, int | float):
            return f"expected a number, got a {type(got).__name__}"
        if tol is None and isinstance(expected, int):
            return None if got == expected else f"got {got!r}, which is not the right number"
        tolerance = tol if tol is not None else 1e-6
        if math.isclose(got, expected, rel_tol=0, abs_tol=tolerance) or math.isclose(got, expected, rel_tol=1e-6):
            return None
        return f"got {got!r}, which is off by {abs(got - expected):.3g} (tolerance {tolerance:g})"
    if isinstance(expected, Sequence):
        if isinstance(got, torch.Size):
            got = tuple(got)
        if not isinstance(got, Sequence) or isinstance(got, str):
            return f"expected a {type(expected).__name__} of {len(expected)} items, got a {type(got).__name__}"
        if len(got) != len(expected):
            return f"expected {len(expected)} items, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = _value_problem(g, e, tol)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"expected a dict, got a {type(got).__name__}"
        if set(got) != set(expected):
            return f"keys are {sorted(map(str, got))}, expected {sorted(map(str, expected))}"
        for key in expected:
            problem = _value_problem(got[key], expected[key], tol)
            if problem:
                return f"[{key!r}]: {problem}"
        return None
    return None if got == expected else f"got {got!r}, which is not the expected value"


def check_value(got: Any, expected: Any, name: str = "answer", tol: float | None = None, hint: str = "") -> bool:
    """Check a number, string, tuple/list (e.g. a shape) or dict against ``expected``; return True if equal.

    Integers must match exactly unless ``tol`` is given; floats within ``tol`` (default 1e-6).

    Introduced in lesson 01.
    """
    if is_missing(got):
        return report(name, None)
    problem = _value_problem(got, expected, tol)
    if problem is None:
        return report(name, True, f"correct ({got!r})" if not isinstance(got, torch.Tensor) else "correct")
    return report(name, False, problem + (f". Hint: {hint}" if hint else ""))


def check_function(
    fn: Any,
    reference: Callable,
    cases: Sequence[tuple],
    name: str = "your function",
    tol: float | None = None,
    hint: str = "",
) -> bool:
    """Call ``fn(*case)`` and ``reference(*case)`` for every case and compare the results; return True if all agree.

    A learner's function that raises is reported (exception type and message), not
    propagated. Tensor inputs are cloned so that an in-place change cannot affect the
    reference.

    Introduced in lesson 01.
    """
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    if not cases:
        raise ValueError("check_function needs at least one case")
    for case in cases:
        args = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in case)
        ref_args = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in case)
        shown = ", ".join(_short(a) for a in case)
        try:
            got = fn(*args)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"calling it with ({shown}) raised {type(err).__name__}: {err}")
        if is_missing(got):
            return report(name, None, f"{NOT_DONE} (it returned {got!r} for ({shown}))")
        expected = reference(*ref_args)
        problem = _value_problem(got, expected, tol)
        if problem:
            return report(name, False, f"for ({shown}): {problem}" + (f". Hint: {hint}" if hint else ""))
    return report(name, True, f"correct on all {len(cases)} test cases")


def check_true(condition: Any, name: str, hint: str, success: str = "correct") -> bool:
    """Report ✓ when ``condition`` is truthy, else print ``hint``; ``None`` counts as not done.

    Introduced in lesson 01.
    """
    if is_missing(condition):
        return report(name, None)
    return report(name, bool(condition), success if condition else hint)


def score(results: Mapping[str, bool]) -> str:
    """Print and return a summary such as ``"4/5 tasks pass"`` for a dict of check results.

    Introduced in assignment A1.
    """
    if not results:
        raise ValueError("no results to score; run the check cells first")
    passed = sum(bool(v) for v in results.values())
    line = f"{passed}/{len(results)} tasks pass"
    missing = [k for k, v in results.items() if not v]
    print(line + (f" (still to do: {', '.join(map(str, missing))})" if missing else " 🎉"))
    return line


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
