"""The small convolutional network of lesson 06, and reading TensorBoard logs back into Python."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

__all__ = ["SmallCNN", "read_tensorboard_scalars"]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class SmallCNN(nn.Module):
    """Two conv blocks and a small classifier: images (B, C, H, W) -> logits (B, num_classes).

    Each block is a 3x3 convolution with padding 1 (keeps the size), optional batch
    norm, ReLU and a 2x2 max pool (halves the size), so a square image of side
    ``image_size`` leaves the blocks as ``channels[1]`` maps of side ``image_size // 4``.
    The classifier flattens them, then ``fc1`` (``hidden`` units, ReLU, optional
    dropout) and ``fc2`` (the logits). Layers are named (``conv1``, ``bn1``, ``pool1``,
    ``fc1``, ...), so the state dict keys do not depend on which options are on.

    With the defaults this is exactly the network written in lesson 06 for 28 x 28
    grey images (Fashion-MNIST there, MNIST digits in the benchmarks); ``in_channels=3, num_classes=3, image_size=32`` fits the texture
    patches of ``helpers.data.texture_patches``.

    Introduced in lesson 06.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: tuple[int, int] = (16, 32),
        hidden: int = 64,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _positive_int(in_channels, "in_channels")
        _positive_int(num_classes, "num_classes")
        _positive_int(hidden, "hidden")
        if _positive_int(image_size, "image_size") < 4:
            raise ValueError(
                f"image_size must be at least 4 (two 2x2 poolings halve it twice), got {image_size}"
            )
        if not isinstance(channels, tuple | list) or len(channels) != 2:
            raise ValueError(f"channels must be a pair such as (16, 32), got {channels!r}")
        c1, c2 = (_positive_int(c, "each entry of channels") for c in channels)
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.image_size = image_size
        self.in_channels = in_channels

        features: list[tuple[str, nn.Module]] = []
        for i, (c_in, c_out) in enumerate([(in_channels, c1), (c1, c2)], start=1):
            features.append((f"conv{i}", nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)))
            if batch_norm:
                features.append((f"bn{i}", nn.BatchNorm2d(c_out)))
            features.append((f"relu{i}", nn.ReLU()))
            features.append((f"pool{i}", nn.MaxPool2d(2)))
        self.features = nn.Sequential(OrderedDict(features))

        side = image_size // 2 // 2
        classifier: list[tuple[str, nn.Module]] = [
            ("flatten", nn.Flatten()),  # (B, c2, side, side) -> (B, c2 * side * side)
            ("fc1", nn.Linear(c2 * side * side, hidden)),
            ("relu3", nn.ReLU()),
        ]
        if dropout > 0:
            classifier.append(("dropout", nn.Dropout(dropout)))
        classifier.append(("fc2", nn.Linear(hidden, num_classes)))
        self.classifier = nn.Sequential(OrderedDict(classifier))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tracing = torch.jit.is_tracing()  # sizes are tensors while tracing (add_graph, ONNX): skip the check
        if not tracing and (
            x.ndim != 4 or x.shape[1] != self.in_channels or tuple(x.shape[2:]) != (self.image_size,) * 2
        ):
            raise ValueError(
                f"SmallCNN expects images of shape (B, {self.in_channels}, {self.image_size}, "
                f"{self.image_size}), got {tuple(x.shape)}; build it with the matching in_channels "
                "and image_size, or resize the images"
            )
        return self.classifier(self.features(x))  # (B, num_classes)


def read_tensorboard_scalars(logdir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Return every scalar in the TensorBoard event files of one run: ``{tag: [(step, value), ...]}``.

    ``logdir`` is the folder a ``SummaryWriter`` wrote to (the one holding the
    ``events.out.tfevents.*`` files); its sub-folders are not read. Steps come in the
    order they were written.

    Introduced in lesson 06.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = Path(logdir)
    if not path.is_dir():
        raise FileNotFoundError(
            f"expected the folder a SummaryWriter wrote to, got {str(path)!r}, which is not a folder"
        )
    if not any(path.glob("events.out.tfevents.*")):
        raise FileNotFoundError(
            f"no events.out.tfevents.* file in {str(path)!r}; pass the run folder itself "
            "(the SummaryWriter's log_dir) and call writer.flush() or writer.close() first"
        )
    accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0})  # 0 = keep every value
    accumulator.Reload()
    return {
        tag: [(event.step, float(event.value)) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }
