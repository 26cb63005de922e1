"""Tests for helpers.diagrams.networks (lesson 03's network diagram)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from helpers.diagrams.networks import draw_network


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


def test_draws_shapes_on_edges_and_columns():
    ax = draw_network([784, 128, 10], batch=64)
    text = _texts(ax)
    for expected in ["W1 (784, 128)", "b1 (128,)", "W2 (128, 10)", "b2 (10,)", "(64, 784)", "(64, 128)",
                     "(64, 10)", "ReLU", "logits"]:
        assert expected in text


def test_wide_layers_are_capped_and_marked():
    ax = draw_network([784, 128, 10], max_units=6)
    counts = [len(c.get_offsets()) for c in ax.collections]
    assert counts == [6, 6, 6]
    assert _texts(ax).count("⋮") == 3  # 784, 128 and 10 are all wider than 6
    assert "(B, 784)" in _texts(ax)


def test_small_layers_show_every_unit_and_use_given_axes():
    fig, ax = plt.subplots()
    out = draw_network([3, 4, 2], activation="tanh", ax=ax)
    assert out is ax
    assert [len(c.get_offsets()) for c in ax.collections] == [3, 4, 2]
    assert "⋮" not in _texts(ax)
    assert "tanh" in _texts(ax)
    assert len(ax.lines) == 3 * 4 + 4 * 2  # every pair of shown units is joined


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [784]}, "at least an input and an output"),
        ({"sizes": "784"}, "list of layer widths"),
        ({"sizes": [784, 0, 10]}, "positive int"),
        ({"sizes": [784, 12.5, 10]}, "positive int"),
        ({"sizes": [784, 10], "max_units": 1}, "max_units"),
        ({"sizes": [784, 10], "batch": 0}, "batch"),
        ({"sizes": [784, 10], "batch": 2.0}, "batch"),
    ],
)
def test_bad_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_network(**kwargs)
