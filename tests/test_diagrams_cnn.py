"""Tests for helpers.diagrams.cnn (lesson 06's receptive-field figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from helpers.diagrams.cnn import draw_receptive_fields, field_box


def _square(top: int, left: int, size: int, shape=(12, 12)) -> torch.Tensor:
    grad = torch.zeros(shape)
    grad[top:top + size, left:left + size] = 1.0
    return grad


def test_field_box_measures_the_nonzero_rectangle():
    assert field_box(_square(4, 5, 3)) == (4, 5, 3, 3)
    grad = torch.zeros(10, 10)
    grad[2, 7], grad[6, 1] = -0.5, 2.0  # negative gradients count too
    assert field_box(grad) == (2, 1, 5, 7)


def test_draws_one_panel_per_stage_with_sizes_and_boxes():
    fields = {"after conv1": _square(5, 5, 3), "after pool1": _square(4, 4, 4)}
    axes = draw_receptive_fields(fields, image=torch.rand(12, 12))
    assert len(axes) == 2
    assert axes[0].get_title() == "after conv1\n3 x 3 pixels"
    assert axes[1].get_title() == "after pool1\n4 x 4 pixels"
    assert all(len(ax.patches) == 1 for ax in axes)
    assert len(axes[0].images) == 2  # the photo under the map
    assert "px" in axes[0].get_ylabel() and "px" in axes[1].get_xlabel()
    plt.close("all")


def test_uses_given_axes_without_image():
    fig, given = plt.subplots(1, 1, squeeze=False)
    axes = draw_receptive_fields({"after conv1": _square(1, 1, 3)}, axes=given[0])
    assert axes[0] is given[0, 0]
    assert len(axes[0].images) == 1
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fields": {}}, "non-empty"),
        ({"fields": [torch.ones(3, 3)]}, "non-empty dict"),
        ({"fields": {"a": torch.ones(1, 3, 3)}}, "2-D"),
        ({"fields": {"a": torch.zeros(3, 3)}}, "all zeros"),
        ({"fields": {"a": torch.ones(3, 3), "b": torch.ones(4, 4)}}, "input's shape"),
        ({"fields": {"a": torch.ones(3, 3)}, "image": torch.ones(4, 4)}, "image must be"),
    ],
)
def test_bad_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_receptive_fields(**kwargs)
    plt.close("all")


def test_field_box_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        field_box([[0, 1]])
    with pytest.raises(ValueError, match="all zeros"):
        field_box(torch.zeros(4, 4))
