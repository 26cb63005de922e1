import numpy as np
import pytest
import torch

from helpers import plotting


def test_to_display_handles_chw_hw_and_uint8():
    assert plotting.to_display(torch.rand(3, 8, 6)).shape == (8, 6, 3)
    assert plotting.to_display(torch.rand(1, 8, 6)).shape == (8, 6)
    assert plotting.to_display(torch.rand(8, 6)).shape == (8, 6)
    assert plotting.to_display(torch.full((4, 4), 255, dtype=torch.uint8)).max() == 1.0


def test_to_display_unnormalises():
    image = torch.zeros(3, 2, 2)  # normalised value 0 == the mean
    out = plotting.to_display(image, mean=[0.5, 0.25, 0.0], std=[0.5, 0.5, 0.5])
    assert np.allclose(out[0, 0], [0.5, 0.25, 0.0])


@pytest.mark.parametrize("shape,expected", [((8, 8, 3), "permute"), ((2, 3, 8, 8), "batch"), ((5,), "(C, H, W)")])
def test_to_display_rejects_wrong_shapes(shape, expected):
    with pytest.raises(ValueError, match=expected.replace("(", "\\(").replace(")", "\\)")):
        plotting.to_display(torch.rand(*shape))


def test_to_display_bad_mean_std():
    with pytest.raises(ValueError, match="both mean and std"):
        plotting.to_display(torch.rand(3, 2, 2), mean=[0.5] * 3)
    with pytest.raises(ValueError, match="1 or 3 values"):
        plotting.to_display(torch.rand(3, 2, 2), mean=[0.5, 0.5], std=[0.5, 0.5])
    with pytest.raises(ValueError, match="torch.Tensor or NumPy"):
        plotting.to_display([[0.0]])


def test_imshow_and_grid_draw():
    ax = plotting.imshow(torch.rand(1, 8, 8), title="x")
    assert ax.get_title() == "x"
    fig = plotting.show_grid(torch.rand(5, 3, 8, 8), labels=torch.tensor([0, 1, 2, 0, 1]), class_names=["a", "b", "c"], ncols=3)
    titles = [a.get_title() for a in fig.axes]
    assert titles[:5] == ["a", "b", "c", "a", "b"]


def test_show_grid_bad_input():
    with pytest.raises(ValueError, match="batch of shape"):
        plotting.show_grid(torch.rand(8, 8))
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        plotting.show_grid(torch.rand(3, 8, 8), labels=[0, 1])
    with pytest.raises(ValueError, match="empty batch"):
        plotting.show_grid(torch.rand(0, 8, 8))


def test_view_classify_orders_bars():
    probs = torch.tensor([0.1, 0.7, 0.2])
    fig = plotting.view_classify(torch.rand(1, 8, 8), probs, ["x", "y", "z"])
    bar_axis = fig.axes[1]
    assert [t.get_text() for t in bar_axis.get_yticklabels()] == ["x", "z", "y"]


def test_view_classify_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        plotting.view_classify(torch.rand(8, 8), torch.tensor([2.0, -1.0, 3.0]))
    with pytest.raises(ValueError, match=r"\(K,\) or \(1, K\)"):
        plotting.view_classify(torch.rand(8, 8), torch.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="3 probabilities but 2 class names"):
        plotting.view_classify(torch.rand(8, 8), torch.full((3,), 1 / 3), ["a", "b"])


def test_plot_history_accepts_dicts_and_rejects_junk():
    ax = plotting.plot_history({"train_loss": [3, 2, 1], "val_loss": [3, 2.5, 2.4]})
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="no curve named"):
        plotting.plot_history({"train_loss": [1]}, keys=["val_acc"])
    with pytest.raises(ValueError, match="dict of lists"):
        plotting.plot_history([1, 2, 3])
    with pytest.raises(ValueError, match="no non-empty"):
        plotting.plot_history({"train_loss": []})


def test_confusion_matrix_counts():
    m = plotting.confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert m.dtype == torch.int64


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="same length"):
        plotting.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match="argmax"):
        plotting.confusion_matrix(torch.tensor([0, 1]), torch.rand(2), 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        plotting.confusion_matrix(torch.tensor([0, 5]), torch.tensor([0, 1]), 2)


def test_plot_confusion_matrix():
    ax = plotting.plot_confusion_matrix(torch.eye(3, dtype=torch.int64) * 5, ["a", "b", "c"], title="t")
    assert ax.get_title() == "t"
    with pytest.raises(ValueError, match="square"):
        plotting.plot_confusion_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="3 x 3 but 2 class names"):
        plotting.plot_confusion_matrix(torch.zeros(3, 3), ["a", "b"])
