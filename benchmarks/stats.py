"""Small pure functions for timings: medians, quartiles, spreads, ratios and readable numbers.

Every function checks its input and raises ``ValueError`` with a message that says
what it expected, so a measurement that went wrong (no samples, a zero time) stops the
report instead of turning into a misleading number.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Summary",
    "as_numbers",
    "median",
    "quartiles",
    "iqr",
    "ratio",
    "pairwise_ratios",
    "summarize",
    "format_seconds",
    "format_bytes",
    "format_ms",
]


def as_numbers(values: Iterable[float], what: str = "values") -> list[float]:
    """Return ``values`` as a list of finite floats; raise ValueError if it is empty or holds anything else."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of numbers, got {type(values).__name__}")
    numbers = list(values)
    if not numbers:
        raise ValueError(f"{what} is empty; at least one measurement is needed")
    bad = [v for v in numbers if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)]
    if bad:
        raise ValueError(f"{what} must hold finite numbers, got {bad[:3]!r}")
    return [float(v) for v in numbers]


def median(values: Iterable[float], what: str = "values") -> float:
    """Return the median of ``values`` (the mean of the two middle ones for an even count)."""
    return statistics.median(as_numbers(values, what))


def quartiles(values: Iterable[float], what: str = "values") -> tuple[float, float, float]:
    """Return ``(q1, median, q3)`` with linear interpolation (NumPy's default method).

    A single value is its own quartiles.
    """
    numbers = sorted(as_numbers(values, what))
    if len(numbers) == 1:
        return numbers[0], numbers[0], numbers[0]
    q1, q2, q3 = statistics.quantiles(numbers, n=4, method="inclusive")
    return q1, q2, q3


def iqr(values: Iterable[float], what: str = "values") -> float:
    """Return the interquartile range: the middle half of the values lies in a window this wide."""
    q1, _, q3 = quartiles(values, what)
    return q3 - q1


def ratio(numerator: float, denominator: float, what: str = "ratio") -> float:
    """Return ``numerator / denominator`` for two finite numbers, the denominator positive."""
    numerator, denominator = as_numbers([numerator, denominator], what)
    if denominator <= 0:
        raise ValueError(f"{what}: the denominator must be positive, got {denominator!r}")
    return numerator / denominator


def pairwise_ratios(numerators: Sequence[float], denominators: Sequence[float], what: str = "ratios") -> list[float]:
    """Return ``[a / b for a, b in zip(numerators, denominators)]``; both lists must have the same length."""
    tops = as_numbers(numerators, f"{what} (numerators)")
    bottoms = as_numbers(denominators, f"{what} (denominators)")
    if len(tops) != len(bottoms):
        raise ValueError(f"{what}: got {len(tops)} numerators but {len(bottoms)} denominators")
    return [ratio(a, b, what) for a, b in zip(tops, bottoms, strict=True)]


@dataclass(frozen=True)
class Summary:
    """The median and spread of ``n`` measurements."""

    n: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def summarize(values: Iterable[float], what: str = "values") -> Summary:
    """Return a ``Summary`` (count, median, quartiles, minimum, maximum) of ``values``."""
    numbers = as_numbers(values, what)
    q1, q2, q3 = quartiles(numbers, what)
    return Summary(n=len(numbers), median=q2, q1=q1, q3=q3, minimum=min(numbers), maximum=max(numbers))


def format_seconds(seconds: float) -> str:
    """Return ``seconds`` as ``"12.3 s"``, or ``"4 min 05 s"`` from 100 s on."""
    (seconds,) = as_numbers([seconds], "seconds")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds}")
    if seconds >= 100:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def format_ms(seconds: float) -> str:
    """Return ``seconds`` in milliseconds with three significant digits, e.g. ``"7.12 ms"``."""
    (seconds,) = as_numbers([seconds], "seconds")
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def format_bytes(count: float) -> str:
    """Return a byte count in binary units: ``"512 B"``, ``"1.5 MiB"``, ``"6.21 GiB"``."""
    (count,) = as_numbers([count], "byte count")
    if count < 0:
        raise ValueError(f"byte count must be >= 0, got {count}")
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.2f} {unit}" if unit == "GiB" else f"{value:.0f} {unit}"
    return f"{count:.0f} B"
