"""Tests for helpers.diagrams.stack (lesson 00's stack diagram and eager/deferred timeline)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from helpers.diagrams.stack import STACK_LAYERS, draw_eager_vs_deferred, draw_stack


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


def _red_edges(ax) -> list[str]:
    """Texts of the boxes drawn with the thick highlight edge."""
    red = []
    for patch in ax.patches:
        if patch.get_linewidth() > 2:
            x, y = patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2
            red += [t.get_text() for t in ax.texts if abs(t.get_position()[0] - x) < 1e-6
                    and abs(t.get_position()[1] - y) < 1e-6]
    return red


def test_stack_names_every_layer_top_to_bottom():
    ax = draw_stack()
    text = _texts(ax)
    for expected in ["your code", "Python API", "autograd", "ATen", "CPU kernels", "CUDA kernels",
                     "MPS kernels", "torchvision", "torchaudio", "libtorch"]:
        assert expected in text
    heights = {name: next(t.get_position()[1] for t in ax.texts if t.get_text().startswith(name))
               for name, _ in STACK_LAYERS[:-1]}
    order = sorted(heights, key=heights.get, reverse=True)
    assert order == ["your code", "Python API", "autograd", "ATen"]  # drawn top to bottom
    assert _red_edges(ax) == []


def test_highlight_marks_one_layer_case_insensitively():
    ax = draw_stack(highlight="aten")
    red = _red_edges(ax)
    assert len(red) == 1 and red[0].startswith("ATen")
    kernels = _red_edges(draw_stack(highlight="kernels"))
    assert len(kernels) == 3 and all("kernels" in t for t in kernels)  # one box per backend


def test_uses_the_given_axes():
    _, ax = plt.subplots()
    assert draw_stack(ax=ax) is ax
    _, ax2 = plt.subplots()
    assert draw_eager_vs_deferred(ax=ax2) is ax2


@pytest.mark.parametrize("bad", ["Autograd engine", 3, ""])
def test_stack_rejects_unknown_highlight(bad):
    with pytest.raises(ValueError, match="highlight must be None or one of"):
        draw_stack(highlight=bad)


def test_bad_axes_are_refused():
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        draw_stack(ax="top")
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        draw_eager_vs_deferred(ax=fig)


def test_timeline_shows_each_step_in_both_lanes():
    steps = ["a = x + 1", "b = a.relu()"]
    ax = draw_eager_vs_deferred(steps)
    text = _texts(ax)
    for step in steps:
        assert text.count(step) == 2  # once eager, once as a graph node
    assert text.count("runs") == len(steps)  # eager runs after every line
    assert "compile" in text and "run it all" in text
    markers = [line for line in ax.lines if line.get_marker() == "v"]
    assert len(markers) == len(steps) + 1  # a value after each eager step, one at the end of deferred
    assert "not to scale" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["eager\n(define-by-run)", "deferred\n(define-then-run)"]


@pytest.mark.parametrize("bad", [[], "y = x * 2", None, ["ok", ""], ["ok", 3]])
def test_timeline_rejects_bad_steps(bad):
    with pytest.raises(ValueError, match="step"):
        draw_eager_vs_deferred(bad)
