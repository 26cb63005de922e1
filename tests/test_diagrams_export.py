"""Tests for helpers.diagrams.export (lesson 08's export pipeline)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from helpers.diagrams.export import draw_export_pipeline

STAGES = [("nn.Module", "eager Python"), ("torch.export", "ExportedProgram\n312 nodes"), ("ONNX", "94 nodes")]


def test_draws_one_box_and_both_texts_per_stage_left_to_right():
    ax = draw_export_pipeline(STAGES)
    texts = [t.get_text() for t in ax.texts]
    for title, detail in STAGES:
        assert title in texts and detail in texts
    xs = [next(t.get_position()[0] for t in ax.texts if t.get_text() == title) for title, _ in STAGES]
    assert xs == sorted(xs)
    assert len(ax.patches) == len(STAGES)
    plt.close("all")


def test_draws_on_a_given_axes():
    _, ax = plt.subplots()
    assert draw_export_pipeline(STAGES[:2], ax=ax) is ax
    plt.close("all")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stages": "nn.Module"}, "list of 2 to"),
        ({"stages": STAGES[:1]}, "list of 2 to"),
        ({"stages": STAGES * 3}, "list of 2 to"),
        ({"stages": [("a", "b"), ("c",)]}, "title, detail"),
        ({"stages": [("a", "b"), ("c", 3)]}, "title, detail"),
        ({"stages": STAGES, "ax": "axes"}, "matplotlib Axes"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_export_pipeline(**kwargs)
    plt.close("all")
