"""Instant feedback for exercises: compare a learner's answer with a reference and print ✓ or a hint.

A check never raises for a wrong or missing answer: it prints what is wrong and
returns ``False``, so the notebook keeps running. The test harness sets the
environment variable ``COURSE_STRICT_CHECKS=1``; then a failed check raises
``CheckFailed`` so that CI notices a broken answer.
"""

from __future__ import annotations

import dis
import functools
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "CheckFailed",
    "CheckUsageError",
    "STRICT_ENV",
    "RETURNED_NONE",
    "strip_ansi",
    "describe_error",
    "is_stub",
    "missing_result",
    "guarded_call",
    "never_raises",
    "tensor_mismatch",
    "dtype_problem",
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
# Set by tools/progress.py (make progress): every report() also appends one JSON line to this file.
CHECK_LOG_ENV = "COURSE_CHECK_LOG"
# The page of symptoms, causes and fixes that lessons 00-04 teach; hints point learners to it.
DEBUGGING_GUIDE = "notebooks/DEBUGGING.md"
NOT_DONE = "not done yet: replace the line marked YOUR CODE HERE with your answer and run the cell"


RETURNED_NONE = "your function returned None — did you forget `return`?"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_MAX_MESSAGE = 600  # characters of feedback on one line; longer learner error texts are cut


class CheckFailed(AssertionError):
    """Raised by a failed check in strict mode (set by the test harness)."""


class CheckUsageError(ValueError):
    """Raised when a check itself is called wrongly (by the notebook's author, not the learner's answer).

    ``never_raises`` lets this one through: it is a bug in the notebook, not a wrong answer.
    """


def is_strict() -> bool:
    """Return True when checks must raise on failure (``COURSE_STRICT_CHECKS=1``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes"}


class _Reads(list):
    """The ``weights_only`` flag of every file read (``True``/``False``), plus ``explicit``: what ``torch.load`` was passed."""

    explicit: list[Any]


@contextmanager
def torch_load_calls(transform: Callable[[Any], Any] | None = None) -> Iterator[list[Any]]:
    """Within the block, record every checkpoint read by ``torch.load``, however it is reached.

    The hook sits inside ``torch.serialization`` (below ``torch.load``), so
    ``torch.serialization.load(...)``, ``from torch import load`` and ``torch.load`` are all
    seen. Yields a list with the effective ``weights_only`` flag of each read; its
    ``explicit`` attribute lists the ``weights_only`` argument given to ``torch.load`` by
    attribute (``None`` where it was left out). ``transform``, when given, replaces what
    each read returns (a check uses it to hand back other weights than the ones saved, so
    that only code which really reads the file picks them up).

    Introduced in lesson 04.
    """
    import torch.serialization as serialization

    calls = _Reads()
    calls.explicit = []
    real_load, real_inner, real_legacy = torch.load, serialization._load, serialization._legacy_load

    def spy_load(*args: Any, **kwargs: Any) -> Any:
        calls.explicit.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    def spy(real: Callable) -> Callable:
        def read(*args: Any, **kwargs: Any) -> Any:
            calls.append(bool(kwargs.get("weights_only", False)))
            content = real(*args, **kwargs)
            return transform(content) if transform is not None else content

        return read

    torch.load = spy_load
    serialization._load, serialization._legacy_load = spy(real_inner), spy(real_legacy)
    try:
        yield calls
    finally:
        torch.load = real_load
        serialization._load, serialization._legacy_load = real_inner, real_legacy


def is_missing(answer: Any) -> bool:
    """Return True for an answer that was left as the stub: ``None`` or ``...``."""
    return answer is None or answer is Ellipsis


def strip_ansi(text: str) -> str:
    """Return ``text`` without terminal colour codes (``\\x1b[...m``), which some libraries put in messages.

    Introduced in lesson 04.
    """
    if not isinstance(text, str):
        raise ValueError(f"strip_ansi needs a str, got a {type(text).__name__}")
    return _ANSI.sub("", text)


def _one_line(text: str) -> str:
    """``text`` on one line: colour codes removed, line breaks turned into spaces, cut to a readable length."""
    flat = " ".join(part.strip() for part in strip_ansi(text).splitlines() if part.strip())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3].rstrip() + "..."


def _dtype_device_advice(message: str) -> str:
    """A sentence naming a dtype or device mismatch behind a PyTorch error message, or ``""``."""
    text = message.lower()
    if "meta" in text or ("device" in text and ("expected" in text or "same device" in text)):
        return (" (a device mismatch: some tensor or model is on another device than the check's CPU tensors;"
                " keep everything on the device of the inputs, e.g. x.device)")
    if "double" in text or "float64" in text or ("dtype" in text and "float" in text) or "scalar type" in text:
        return (" (a dtype mismatch: something is float64 where the check uses float32; keep the inputs'"
                " dtype: no .double(), torch.tensor(..., dtype=x.dtype), np.float32)")
    return ""


def describe_error(err: BaseException) -> str:
    """Return ``"TypeError: message"`` on one line, colour codes stripped, with a note on dtype/device mismatches.

    Introduced in lesson 01.
    """
    if not isinstance(err, BaseException):
        raise ValueError(f"describe_error needs an exception, got a {type(err).__name__}")
    message = _one_line(str(err))
    text = f"{type(err).__name__}: {message}" if message else type(err).__name__
    return text + _dtype_device_advice(message)


_NO_OPS = {"RESUME", "NOP", "CACHE", "EXTENDED_ARG"}


def is_stub(fn: Any) -> bool:
    """Return True for a function (or method) whose body is only ``pass`` (and maybe a docstring): the untouched stub.

    A function that does some work and then returns ``None`` is not a stub: it gets
    ``RETURNED_NONE`` ("did you forget `return`?") instead of "not done yet".

    Introduced in lesson 00.
    """
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return False
    steps = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in _NO_OPS]
    return steps in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


def missing_result(name: str, fn: Any, got: Any = None) -> bool:
    """Report a ``None`` (or ``...``) result of the learner's ``fn``: "not done yet" for the stub, else the forgotten return.

    Introduced in lesson 00.
    """
    if is_stub(fn) or got is Ellipsis:
        return report(name, None)
    return report(name, False, RETURNED_NONE)


def guarded_call(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """Call the learner's ``fn(*args, **kwargs)``; return ``(result, None)``, or ``(None, hint)`` if it raised.

    The hint names the exception type and its message (one line, colour codes stripped)
    and, for a dtype or device mismatch, says so. Never raises (except for
    ``KeyboardInterrupt`` and other non-``Exception`` errors).

    Introduced in lesson 01.
    """
    if not callable(fn):
        return None, f"expected something callable, got a {type(fn).__name__}"
    try:
        return fn(*args, **kwargs), None
    except Exception as err:  # the learner's code may fail in any way
        return None, f"it raised {describe_error(err)}"


def tensor_mismatch(got: Any, expected: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5,
                    dtype: bool = True) -> str | None:
    """Return a hint on how ``got`` differs from ``expected`` (type, shape, dtype, device, values), or None.

    Values are compared in float64 on the CPU, so a float64 or other-device answer never
    makes the comparison raise; with ``dtype=True`` a different dtype gets its own hint
    ("your tensor is float64; the reference is float32 …"), with ``dtype=False`` right
    values in another floating dtype are accepted.

    Introduced in lesson 01.
    """
    if not isinstance(expected, torch.Tensor):
        raise ValueError(f"expected must be a torch.Tensor, got a {type(expected).__name__}")
    if not isinstance(got, torch.Tensor):
        return f"expected a torch.Tensor, got a {type(got).__name__}"
    if got.device.type == "meta":
        return "your tensor is on the meta device (it has a shape but no values): compute it from the inputs"
    if tuple(got.shape) != tuple(expected.shape):
        return f"shape is {tuple(got.shape)} but should be {tuple(expected.shape)}"
    if got.device.type != expected.device.type:
        return (f"your tensor is on {got.device}; the reference is on {expected.device}: keep the result on the "
                "inputs' device (no .to(...) or .cuda() on it)")
    if dtype and got.dtype != expected.dtype:
        return (f"your tensor is {str(got.dtype).removeprefix('torch.')}; the reference is "
                f"{str(expected.dtype).removeprefix('torch.')}: keep the inputs' dtype (no .double(), "
                "no torch.tensor(...) of Python floats)")
    if got.is_complex() or expected.is_complex():
        return None if torch.allclose(got.detach().cpu(), expected.detach().cpu(), atol=atol, rtol=rtol) else "values differ"
    g, e = got.detach().cpu().double(), expected.detach().cpu().double()
    if not torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        diff = (g - e).abs().nan_to_num(nan=math.inf).max().item()
        return f"values differ (largest difference {diff:.3g})"
    return None


def dtype_problem(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The hint for a tensor of the wrong dtype: both dtypes, whether the values are right anyway, and the fix.

    Introduced in lesson 01.
    """
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
        raise ValueError("dtype_problem needs two tensors")
    mine, theirs = str(got.dtype).removeprefix("torch."), str(expected.dtype).removeprefix("torch.")
    right = (
        got.device.type != "meta" and got.shape == expected.shape and not got.is_complex()
        and torch.allclose(got.detach().cpu().double(), expected.detach().cpu().double(), atol=1e-5, rtol=1e-4)
    )
    values = "the values are right, but " if right else ""
    return (f"your tensor is {mine}; the reference is {theirs} — {values}the result must keep the inputs' dtype "
            f"(no .double() or np.float64 on the way; convert back with .to({theirs}) if you must)")


_Check = TypeVar("_Check", bound=Callable[..., bool])


def never_raises(name: str) -> Callable[[_Check], _Check]:
    """Decorate a check so that any exception escaping it becomes one ✗ line (and ``False``), never a traceback.

    ``CheckFailed`` (strict mode) and ``CheckUsageError`` (the check called wrongly by
    the notebook) pass through; everything else, e.g. a learner's model that raises
    deep inside the check, or a float64 tensor meeting float32 weights, is reported with
    its type, message and a dtype/device note.

    Introduced in lesson 01.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("never_raises needs the check's display name, e.g. 'Exercise 1 (to_batch_first)'")

    def decorate(check: _Check) -> _Check:
        @functools.wraps(check)
        def guarded(*args: Any, **kwargs: Any) -> bool:
            try:
                return check(*args, **kwargs)
            except (CheckFailed, CheckUsageError):
                raise
            except Exception as err:  # the learner's code may fail in any way, at any depth
                return report(name, False, f"your answer made the check fail with {describe_error(err)}")

        return guarded  # type: ignore[return-value]

    return decorate


def report(name: str, ok: bool | None, message: str = "") -> bool:
    """Print one line of feedback and return ``ok`` (``None`` means "not done yet" → False).

    In strict mode a failed or missing answer raises ``CheckFailed`` after printing.

    Introduced in lesson 00.
    """
    if "\n" in message or "\x1b" in message or len(message) > _MAX_MESSAGE:
        message = _one_line(message)
    if ok is None:
        line = f"… {name}: {message or NOT_DONE}"
    elif ok:
        line = f"✓ {name}: {message or 'correct'}"
    else:
        line = f"✗ {name}: {message}"
    print(line)
    _log_result(name, ok, message or (NOT_DONE if ok is None else "correct" if ok else ""))
    if not ok and is_strict():
        raise CheckFailed(line)
    return bool(ok)


def _log_result(name: str, ok: bool | None, message: str) -> None:
    """Append ``{"name", "status", "message"}`` to the file named by ``COURSE_CHECK_LOG``, when it is set.

    ``status`` is ``"pass"``, ``"fail"`` or ``"todo"`` (not done yet). A file that cannot be
    written is skipped silently: the printed line is the learner's feedback.
    """
    path = os.environ.get(CHECK_LOG_ENV, "").strip()
    if not path:
        return
    status = "todo" if ok is None else "pass" if ok else "fail"
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"name": name, "status": status, "message": message}, ensure_ascii=False) + "\n")
    except OSError:
        pass


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


def score(results: Mapping[str, bool], tasks: int | Sequence[str] | None = None) -> str:
    """Print and return a summary such as ``"4/5 tasks pass"`` for a dict of check results.

    ``tasks`` says which tasks exist: their names (``["task 1", "task 2"]``) or their count
    (``5`` means ``"task 1"`` … ``"task 5"``). Then a task missing from ``results`` counts as
    not passing, an entry that is not one of them is ignored and named, and only a real
    ``True`` (what a check returns) counts as a pass. Without ``tasks`` every entry counts,
    as before.

    Introduced in assignment A1.
    """
    if tasks is None:
        if not results:
            raise ValueError("no results to score; run the check cells first")
        expected = list(results)
    elif isinstance(tasks, int) and not isinstance(tasks, bool):
        if tasks < 1:
            raise ValueError(f"tasks must be at least 1, got {tasks}")
        expected = [f"task {i}" for i in range(1, tasks + 1)]
    elif isinstance(tasks, Sequence) and not isinstance(tasks, str) and tasks and all(isinstance(t, str) for t in tasks):
        expected = list(tasks)
    else:
        raise ValueError(f"tasks must be a positive int or a list of task names, got {tasks!r}")
    if not isinstance(results, Mapping):
        raise ValueError(f"results must be a dict of task name -> bool, got a {type(results).__name__}")
    passed = [k for k in expected if results.get(k, False) is True or (tasks is None and bool(results.get(k)))]
    line = f"{len(passed)}/{len(expected)} tasks pass"
    missing = [k for k in expected if k not in passed]
    extra = [k for k in results if k not in expected]
    note = f" (still to do: {', '.join(map(str, missing))})" if missing else " 🎉"
    if extra:
        note += f" (not counted, not a task: {', '.join(map(str, extra))})"
    print(line + note)
    return line


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
