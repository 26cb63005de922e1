"""Unit tests for helpers.cnn (lesson 06)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.cnn import (
    LayerRow,
    SmallCNN,
    format_layer_table,
    layer_table,
    read_tensorboard_scalars,
)


def test_default_shapes_and_parameter_count():
    torch.manual_seed(0)
    model = SmallCNN()
    logits = model(torch.zeros(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    # conv1 160 + bn1 32 + conv2 4,640 + bn2 64 + fc1 100,416 + fc2 650
    assert sum(p.numel() for p in model.parameters()) == 105_962
    assert [name for name, _ in model.classifier.named_children()] == ["flatten", "fc1", "relu3", "fc2"]


def test_options_change_the_layers():
    model = SmallCNN(in_channels=3, num_classes=3, image_size=32, channels=(8, 16), hidden=32,
                     batch_norm=False, dropout=0.25)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    names = [name for name, _ in model.features.named_children()]
    assert "bn1" not in names and "conv2" in names
    assert model.classifier.fc1.in_features == 16 * 8 * 8
    assert "dropout" in dict(model.classifier.named_children())


def test_odd_image_size_rounds_down_like_pooling():
    model = SmallCNN(image_size=30)  # 30 -> 15 -> 7
    assert model.classifier.fc1.in_features == 32 * 7 * 7
    assert model(torch.zeros(1, 1, 30, 30)).shape == (1, 10)


def test_state_dict_keys_do_not_depend_on_dropout():
    plain, with_dropout = SmallCNN(), SmallCNN(dropout=0.5)
    with_dropout.load_state_dict(plain.state_dict())  # strict load works


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 2.5}, "num_classes"),
        ({"image_size": 3}, "at least 4"),
        ({"channels": (16,)}, "pair"),
        ({"channels": (16, -1)}, "channels"),
        ({"dropout": 1.0}, "dropout"),
        ({"hidden": True}, "hidden"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SmallCNN(**kwargs)


def test_wrong_input_shape_says_what_was_expected():
    model = SmallCNN()
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        model(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="image_size"):
        model(torch.zeros(2, 1, 32, 32))


def test_read_tensorboard_scalars_round_trip(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    for step, value in enumerate([0.5, 0.25, 0.125], start=1):
        writer.add_scalar("Loss/train", value, step)
    writer.add_scalar("Accuracy/val", 0.9, 3)
    writer.close()
    scalars = read_tensorboard_scalars(tmp_path)
    assert set(scalars) == {"Loss/train", "Accuracy/val"}
    assert scalars["Loss/train"] == [(1, 0.5), (2, 0.25), (3, 0.125)]
    assert scalars["Accuracy/val"][0][0] == 3
    assert scalars["Accuracy/val"][0][1] == pytest.approx(0.9)


def test_read_tensorboard_scalars_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_tensorboard_scalars(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="events.out.tfevents"):
        read_tensorboard_scalars(tmp_path)


def test_tracing_gives_no_tracer_warning():
    import warnings

    model = SmallCNN().eval()
    x = torch.zeros(2, 1, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)  # what add_graph and ONNX export use
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace itself is flagged as deprecated
        traced = torch.jit.trace(model, x)
    torch.testing.assert_close(traced(x), model(x))


def test_layer_table_rows_match_the_network():
    model = SmallCNN()
    rows = layer_table(model, torch.zeros(2, 1, 28, 28))
    assert [r.name for r in rows][:4] == ["features.conv1", "features.bn1", "features.relu1", "features.pool1"]
    by_name = {r.name: r for r in rows}
    assert by_name["features.conv1"] == LayerRow("features.conv1", "Conv2d", (2, 16, 28, 28), 160)
    assert by_name["features.pool2"].output_shape == (2, 32, 7, 7)
    assert by_name["classifier.fc1"].params == 100_416
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())


def test_layer_table_restores_modes_and_leaves_batch_norm_alone():
    model = SmallCNN()
    model.classifier.eval()  # a mixed state that must come back as it was
    before = model.features.bn1.running_mean.clone()
    layer_table(model, torch.randn(4, 1, 28, 28))
    assert model.training and model.features.training and not model.classifier.training
    assert torch.equal(model.features.bn1.running_mean, before)
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed


def test_layer_table_lists_a_reused_layer_twice_and_a_lone_layer():
    shared = nn.Linear(3, 3)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = shared

        def forward(self, x):
            return self.shared(self.shared(x))

    assert [r.name for r in layer_table(Twice(), torch.zeros(1, 3))] == ["shared", "shared"]
    (row,) = layer_table(nn.Linear(3, 2), torch.zeros(5, 3))
    assert (row.name, row.output_shape, row.params) == ("Linear", (5, 2), 8)


def test_format_layer_table_shows_totals():
    text = format_layer_table(layer_table(SmallCNN(), torch.zeros(1, 1, 28, 28)))
    assert "features.conv1" in text and "(1, 16, 28, 28)" in text and "100,416" in text
    assert "parameters: 105,962 (0.40 MB as float32)" in text
    assert "62,858 values (0.24 MB as float32)" in text


def test_layer_table_bad_input():
    with pytest.raises(ValueError, match="nn.Module"):
        layer_table("SmallCNN", torch.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match="example batch"):
        layer_table(SmallCNN(), (1, 28, 28))
    model = SmallCNN()
    with pytest.raises(ValueError, match=r"could not run on an input of shape \(1, 1, 32, 32\)"):
        layer_table(model, torch.zeros(1, 1, 32, 32))
    assert model.training and all(not m._forward_hooks for m in model.modules())
    for bad in ([], None, [("conv1", "Conv2d")]):
        with pytest.raises(ValueError, match="layer_table"):
            format_layer_table(bad)
