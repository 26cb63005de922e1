import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.diagrams import tensors


def _photo():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)


def test_permute_vs_reshape_draws_four_panels():
    image = _photo()
    axes = tensors.draw_permute_vs_reshape(image)
    assert len(axes) == 4
    shown = [ax.get_images()[0].get_array() for ax in axes]
    np.testing.assert_array_equal(shown[0], image)
    np.testing.assert_array_equal(shown[1], image[..., 0])  # permute: the red channel
    np.testing.assert_array_equal(shown[2], image.reshape(3, 6, 8)[0])  # reshape: first H*W numbers
    assert not np.array_equal(shown[3], image)  # the scrambled round trip
    assert "(6, 8, 3)" in axes[0].get_title()


def test_permute_vs_reshape_accepts_a_tensor_and_given_axes():
    _, given = plt.subplots(1, 4)
    axes = tensors.draw_permute_vs_reshape(torch.from_numpy(_photo()), axes=given)
    assert list(axes) == list(given)


@pytest.mark.parametrize(
    "image,match",
    [
        (np.zeros((3, 6, 8), dtype=np.uint8), "channels last"),
        (np.zeros((6, 8), dtype=np.uint8), r"\(H, W, 3\)"),
        (np.zeros((6, 8, 3), dtype=np.float32), "uint8"),
        ([[1, 2, 3]], "NumPy array or a tensor"),
    ],
)
def test_permute_vs_reshape_bad_input(image, match):
    with pytest.raises(ValueError, match=match):
        tensors.draw_permute_vs_reshape(image)


def test_permute_vs_reshape_wrong_number_of_axes():
    _, given = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="expected 4 axes"):
        tensors.draw_permute_vs_reshape(_photo(), axes=given)


def test_strides_titles_give_strides_and_walk():
    axes = tensors.draw_strides(2, 3)
    assert "stride (3, 1), contiguous" in axes[0].get_title()
    assert "stride (1, 3), not contiguous" in axes[1].get_title()
    assert "[0, 3, 1, 4, 2, 5]" in axes[1].get_title()
    # 6 grid cells + 6 memory cells + 5 arrows on each panel
    assert len(axes[0].patches) == len(axes[1].patches) == 17


@pytest.mark.parametrize("rows,cols", [(0, 3), (2, 5), (2.0, 3), (True, 3)])
def test_strides_bad_input(rows, cols):
    with pytest.raises(ValueError, match="must be an int from 1 to 4"):
        tensors.draw_strides(rows, cols)


def test_broadcast_draws_stretched_cells_and_sum():
    col = torch.tensor([[0], [10], [20]])
    row = torch.tensor([1, 2, 3, 4])
    axes = tensors.draw_broadcast(col, row)
    assert "(3, 1) stretched to (3, 4)" in axes[0].get_title()
    assert "stride (1, 0)" in axes[0].get_title()
    assert "(4,) stretched to (3, 4)" in axes[1].get_title()
    assert "stride (0, 1)" in axes[1].get_title()
    texts = [t.get_text() for t in axes[2].texts]
    assert texts == [str(v) for v in (col + row).flatten().tolist()]
    dashed = [p for p in axes[0].patches if p.get_linestyle() != "-"]
    assert len(dashed) == 9  # 12 cells, 3 in memory


@pytest.mark.parametrize(
    "a,b,match",
    [
        (torch.ones(3), torch.ones(4), "do not broadcast"),
        (torch.ones(2, 2, 2), torch.ones(2), "1-D or 2-D"),
        (torch.tensor(1.0), torch.ones(2), "1-D or 2-D"),
        (torch.ones(9, 1), torch.ones(3), "too large"),
    ],
)
def test_broadcast_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        tensors.draw_broadcast(a, b)


def test_broadcast_names_label_the_titles():
    axes = tensors.draw_broadcast(torch.ones(2, 1), torch.ones(3), names=("col", "row"))
    assert axes[0].get_title().startswith("col: (2, 1)")
    assert axes[2].get_title() == "col + row: (2, 3)"
    with pytest.raises(ValueError, match="two strings"):
        tensors.draw_broadcast(torch.ones(2, 1), torch.ones(3), names=("col",))


def test_reductions_show_the_sums():
    values = torch.tensor([[1, 9, 3], [7, 2, 8]])
    axes = tensors.draw_reductions(values)
    texts0 = [t.get_text() for t in axes[0].texts]
    texts1 = [t.get_text() for t in axes[1].texts]
    assert texts0[-3:] == ["8", "11", "11"]
    assert texts1[-2:] == ["13", "17"]
    assert "(2, 3) → (3,)" in axes[0].get_title()
    assert "(2, 3) → (2,)" in axes[1].get_title()


@pytest.mark.parametrize("values", [torch.ones(3), torch.ones(9, 2), torch.ones(0, 2)])
def test_reductions_bad_input(values):
    with pytest.raises(ValueError, match="2-D tensor"):
        tensors.draw_reductions(values)


def test_cat_stack_titles_give_the_shapes():
    a = torch.arange(6).reshape(2, 3)
    axes = tensors.draw_cat_stack(a, a + 10)
    assert "(4, 3)" in axes[0].get_title()
    assert "(2, 6)" in axes[1].get_title()
    assert "(2, 2, 3)" in axes[2].get_title()
    assert [t.get_text() for t in axes[0].texts] == [str(v) for v in range(6)] + [str(v) for v in range(10, 16)]
    assert [len(ax.patches) for ax in axes] == [12, 12, 14]  # stack: 12 cells and 2 block outlines


@pytest.mark.parametrize("a,b", [(torch.ones(2, 3), torch.ones(3, 2)), (torch.ones(3), torch.ones(3)),
                                 (torch.ones(5, 2), torch.ones(5, 2))])
def test_cat_stack_bad_input(a, b):
    with pytest.raises(ValueError, match="same shape, at most 4 x 4"):
        tensors.draw_cat_stack(a, b)
