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


def test_plot_history_integer_ticks_and_accuracy_on_its_own_axis():
    import matplotlib.pyplot as plt

    ax = plotting.plot_history({"train_loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.2, 0.9], "val_acc": [0.5, 0.8, 0.9]})
    assert len(ax.lines) == 2 and ax.get_ylabel() == "loss"  # the losses on the left axis
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1 and len(twins[0].lines) == 1 and twins[0].get_ylabel() == "accuracy"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "val_loss", "val_acc"]
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close("all")
    # lessons 06 and 07 call it with only losses, or only an accuracy, on a given axis
    _, axes = plt.subplots(1, 2)
    assert plotting.plot_history({"val accuracy": [0.2, 0.4]}, ax=axes[1], title="t") is axes[1]
    assert axes[1].get_ylabel() == "accuracy" and len(axes[1].figure.axes) == 2
    plt.close("all")


def test_show_top_losses_orders_worst_first_and_labels():
    logits = torch.tensor([[3.0, 0.0], [0.0, 3.0], [0.0, 0.5], [5.0, -5.0]])
    targets = torch.tensor([0, 0, 1, 1])  # losses: small, 3.05, 0.47, 10.0
    fig = plotting.show_top_losses(torch.rand(4, 1, 6, 6), logits, targets, k=3, class_names=["a", "b"], ncols=2)
    assert fig.top_indices == [3, 1, 2]
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[0].startswith("b / a\nloss 10.0")
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # 2 x 2 grid, last cell empty


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"logits": torch.rand(4)}, r"\(N, K\)"),
        ({"targets": torch.rand(4)}, "integer class indices"),
        ({"targets": torch.tensor([0, 1])}, "must match"),
        ({"targets": torch.tensor([0, 1, 2, 1])}, r"\[0, 2\)"),
        ({"k": 0}, "between 1 and the number of examples 4"),
        ({"k": 5}, "between 1"),
        ({"class_names": ["a"]}, "2 classes but 1 class names"),
        ({"images": torch.rand(6, 6)}, "must be a batch"),
    ],
)
def test_show_top_losses_bad_input(kwargs, match):
    args = {"images": torch.rand(4, 1, 6, 6), "logits": torch.rand(4, 2), "targets": torch.tensor([0, 1, 0, 1]), "k": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plotting.show_top_losses(**args)
