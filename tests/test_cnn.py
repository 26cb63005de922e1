"""Unit tests for helpers.cnn (lesson 06)."""

from __future__ import annotations

import pytest
import torch

from helpers.cnn import SmallCNN, read_tensorboard_scalars


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
