"""Section 2: the learning results the lessons print, read from the notebooks executed in section 1.

Rather than re-implementing lessons 04, 06, 07 and assignment A2, the report reads the
lines those notebooks print (``test accuracy 0.943 after 2.1 s of training``, a row of a
results table, and the like) from the outputs of the fresh executions of section 1. The
numbers therefore come from exactly the code the learner runs. If a lesson changes what
it prints, the pattern below stops matching and ``find_figure`` raises ``ValueError``
naming the notebook and the pattern, so the report fails instead of silently going stale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Figure", "FIGURES", "LearningResult", "find_figure", "collect_learning_results"]

_NUMBER = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Figure:
    """One number a notebook prints: where, the pattern that finds it, and how to show it.

    ``pattern`` must have a named group ``value`` and may have ``seconds`` (the
    training time printed on the same line). ``unit`` is ``"fraction"`` (0.943),
    ``"percent"`` (98.8 %) or ``"points"`` (percentage points).
    """

    label: str
    notebook: str  # path relative to the repository root
    pattern: str
    unit: str = "fraction"
    note: str = ""


FIGURES: tuple[Figure, ...] = (
    Figure(
        "MLP, lesson 04 loop (784-512-10, dropout, Adam, 5 epochs)",
        "notebooks/04_training.ipynb",
        rf"^test accuracy (?P<value>{_NUMBER}) after (?P<seconds>{_NUMBER}) s of training",
        note="bundled MNIST, 4,000 train / 1,000 test",
    ),
    Figure(
        "MLP on Fashion-MNIST, lesson 04 exercise answer (784-256-10, Adam, 4 epochs)",
        "notebooks/04_training.ipynb",
        rf"accuracy (?P<value>{_NUMBER}) on the 10,000 test images it never saw",
        note="Fashion-MNIST, 10,000 of a seeded 12,000 training images / all 10,000 test images, measured by the check",
    ),
    # lesson 06 prints one table row per model: name, parameters, test accuracy, test errors, training time
    Figure(
        "MLP on Fashion-MNIST, lesson 06 (lesson 04's 784-512-10, Adam + cosine, 3 epochs)",
        "notebooks/06_cnns.ipynb",
        rf"^MLP\s+[\d,]+\s+(?P<value>{_NUMBER})\s+[\d,]+\s+(?P<seconds>{_NUMBER}) s",
        note="Fashion-MNIST, 8,000 of a seeded 10,000 training images (2,000 for validation) / all 10,000 test images",
    ),
    Figure(
        "SmallCNN on Fashion-MNIST, lesson 06 (same data and recipe as the MLP)",
        "notebooks/06_cnns.ipynb",
        rf"^CNN\s+[\d,]+\s+(?P<value>{_NUMBER})\s+[\d,]+\s+(?P<seconds>{_NUMBER}) s",
        note="Fashion-MNIST, 8,000 of a seeded 10,000 training images (2,000 for validation) / all 10,000 test images",
    ),
    Figure(
        "A3 answer: Fashion-MNIST CNN, test accuracy (pass mark 0.89)",
        "notebooks/assignments/solutions/A3_ship_it.ipynb",
        rf"test accuracy (?P<value>{_NUMBER}) on the 10,000 test images \(mark",
        note="45,000 of the 50,000 handed-out training images, 2 epochs; all 10,000 test images, measured by the check",
    ),
    # lesson 07 prints one row per method: mean balanced accuracy ± std over 3 draws at 1, 3, 5 and 10 photos per class
    *(
        Figure(
            f"{label}, {k} labelled photo{'s' if k > 1 else ''} per class (lesson 07)",
            "notebooks/07_transfer_learning.ipynb",
            rf"^{row}\s+" + rf"{_NUMBER} ±{_NUMBER}\s+" * column + rf"(?P<value>{_NUMBER}) ±",
            note="balanced accuracy, mean of 3 draws, each scored on 90 photos it never trained on (not the test split)",
        )
        for row, label in (
            ("frozen pretrained", "Frozen EfficientNet-Lite0 + new linear head"),
            ("CNN from scratch", "Small CNN from scratch"),
        )
        for column, k in enumerate((1, 3, 5, 10))
    ),
    Figure(
        "Colour histogram + nearest centroid, 5 labelled photos per class (lesson 07)",
        "notebooks/07_transfer_learning.ipynb",
        rf"^colour histogram\s+{_NUMBER} ±{_NUMBER}\s+{_NUMBER} ±{_NUMBER}\s+(?P<value>{_NUMBER}) ±",
        note="the baseline without learned features; chance is 0.20",
    ),
    Figure(
        "Fine-tuned last stage, 5 labelled photos per class (lesson 07)",
        "notebooks/07_transfer_learning.ipynb",
        rf"^fine-tuned\s+{_NUMBER} ±{_NUMBER}\s+{_NUMBER} ±{_NUMBER}\s+(?P<value>{_NUMBER}) ±",
        note="no gain over the frozen head beyond the spread between draws",
    ),
    Figure(
        "Pretrained's lead over scratch at 5 photos per class (lesson 07)",
        "notebooks/07_transfer_learning.ipynb",
        rf"lead of frozen pretrained over scratch at 5 per class: (?P<value>{_NUMBER}) points",
        unit="points",
    ),
    Figure(
        "A2 answer: frozen EfficientNet-Lite0 + new head, validation balanced accuracy",
        "notebooks/assignments/solutions/A2_transfer_learning.ipynb",
        rf"^pretrained: train {_NUMBER}, validation (?P<value>{_NUMBER})",
        note="15 validation photos; the check itself prints only a band (mark 0.80 on about 125 unseen photos)",
    ),
    Figure(
        "A2 baseline: small CNN from scratch, validation balanced accuracy",
        "notebooks/assignments/solutions/A2_transfer_learning.ipynb",
        rf"^from scratch: train {_NUMBER}, validation (?P<value>{_NUMBER})",
        note="same 25 training and 15 validation photos",
    ),
)


def find_figure(text: str, pattern: str, source: str = "the notebook output") -> dict[str, float]:
    """Return the named numbers that ``pattern`` captures in ``text``, e.g. ``{"value": 0.943, "seconds": 2.1}``.

    The pattern is searched line by line (``^`` matches at every line start). Raises
    ValueError when the pattern has no named group, when it is not found (the
    notebook's printed line has changed), or when a group is not a number.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str (the printed output of {source}), got {type(text).__name__}")
    try:
        compiled = re.compile(pattern, flags=re.MULTILINE)
    except (re.error, TypeError) as err:
        raise ValueError(f"invalid pattern {pattern!r}: {err}") from err
    if "value" not in compiled.groupindex:
        raise ValueError(f"pattern {pattern!r} must have a named group (?P<value>...)")
    match = compiled.search(text)
    if match is None:
        raise ValueError(
            f"{source}: no printed line matches {pattern!r}. The notebook no longer prints the "
            "figure this report reads; update the pattern in benchmarks/learning.py to the new output."
        )
    numbers = {}
    for name, captured in match.groupdict().items():
        if captured is None:
            continue
        try:
            numbers[name] = float(captured)
        except ValueError as err:
            raise ValueError(f"{source}: group {name!r} of {pattern!r} captured {captured!r}, not a number") from err
    return numbers


@dataclass(frozen=True)
class LearningResult:
    """A figure and what this run found for it (``values`` is None when its notebook was not run)."""

    figure: Figure
    values: dict[str, float] | None

    @property
    def measured(self) -> bool:
        return self.values is not None

    def value_text(self) -> str:
        if self.values is None:
            return "not run"
        value = self.values["value"]
        if self.figure.unit == "percent":
            return f"{value:.1f} %"
        if self.figure.unit == "points":
            return f"{value:.1f} points"
        return f"{value:.3f}"

    def seconds_text(self) -> str:
        if self.values is None or "seconds" not in self.values:
            return ""
        return f"{self.values['seconds']:.1f} s"


def collect_learning_results(
    outputs: Mapping[str, str], figures: tuple[Figure, ...] = FIGURES
) -> list[LearningResult]:
    """Return one ``LearningResult`` per figure, from ``{notebook: printed output}`` of the notebooks run.

    A figure whose notebook is not in ``outputs`` is reported as not run; one whose
    notebook ran but no longer prints it raises ValueError (see ``find_figure``).
    """
    results = []
    for figure in figures:
        text = outputs.get(figure.notebook)
        if text is None:
            results.append(LearningResult(figure, None))
        else:
            results.append(LearningResult(figure, find_figure(text, figure.pattern, figure.notebook)))
    return results
