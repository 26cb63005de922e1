"""Tests for helpers.diagrams.pipelines (lesson 05's batch-arrival timeline)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from helpers.diagrams.pipelines import plot_batch_timeline


def test_timeline_draws_one_staircase_per_run_with_labels():
    runs = {"num_workers=0": [0.1, 0.2, 0.3], "num_workers=2": [0.25, 0.26, 0.35]}
    ax = plot_batch_timeline(runs)
    steps = [line for line in ax.get_lines() if line.get_linestyle() != "None"]
    assert len(steps) == 2
    x, y = steps[0].get_data()
    assert list(x) == pytest.approx([0, 100, 200, 300]) and list(y) == [0, 1, 2, 3]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["num_workers=0 (300 ms)", "num_workers=2 (350 ms)"]
    assert "ms" in ax.get_xlabel() and "batches" in ax.get_ylabel()
    plt.close(ax.figure)


def test_timeline_uses_the_given_axes():
    fig, ax = plt.subplots()
    assert plot_batch_timeline({"a": [0.0, 1]}, ax=ax) is ax
    plt.close(fig)


@pytest.mark.parametrize(
    ("runs", "match"),
    [
        ({}, "non-empty dict"),
        ([0.1, 0.2], "non-empty dict"),
        ({"": [0.1]}, "label"),
        ({3: [0.1]}, "label"),
        ({"a": []}, "non-empty list"),
        ({"a": "0.1"}, "non-empty list"),
        ({"a": [0.1, -1.0]}, ">= 0"),
        ({"a": [0.1, float("nan")]}, ">= 0"),
        ({"a": [0.1, True]}, ">= 0"),
        ({"a": [0.3, 0.1]}, "increasing"),
    ],
)
def test_timeline_bad_input(runs, match):
    with pytest.raises(ValueError, match=match):
        plot_batch_timeline(runs)


def test_timeline_bad_axes():
    with pytest.raises(ValueError, match="Axes"):
        plot_batch_timeline({"a": [0.1]}, ax="left")
