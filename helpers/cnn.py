"""The small convolutional network of lesson 06, a per-layer table of shapes and parameters,
and reading TensorBoard logs back into Python."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

__all__ = ["SmallCNN", "LayerRow", "layer_table", "format_layer_table", "read_tensorboard_scalars"]


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


@dataclass(frozen=True)
class LayerRow:
    """One line of ``layer_table``: a layer's dotted name, its class, output shape and parameter count.

    Introduced in lesson 06.
    """

    name: str  # e.g. "features.conv1"
    kind: str  # e.g. "Conv2d"
    output_shape: tuple[int, ...]  # (B, C, H, W) for a conv layer; () if the output is not a tensor
    params: int  # parameters held by this layer itself


def layer_table(model: nn.Module, x: torch.Tensor) -> list[LayerRow]:
    """Run ``model`` once on the batch ``x`` and return one ``LayerRow`` per leaf layer, in the order called.

    A forward hook on every leaf module (one without children) records the shape of
    what it returns; a layer called twice appears twice. The pass runs in evaluation
    mode under ``torch.no_grad()`` (so batch norm's running statistics are not
    touched) and the model's mode is restored afterwards. ``x`` must already be on
    the model's device. ``format_layer_table`` prints the rows.

    Introduced in lesson 06.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise ValueError(
            f"x must be an example batch (a tensor such as torch.zeros(1, 1, 28, 28)), got {type(x).__name__}"
        )
    rows: list[LayerRow] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]

    def hook_for(name: str):
        def hook(module: nn.Module, inputs, output) -> None:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(LayerRow(name or type(module).__name__, type(module).__name__, shape, params))

        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in leaves]
    modes = [(m, m.training) for m in model.modules()]  # restored one by one: submodules may differ
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    except Exception as err:  # the model cannot take this input: say which input was given
        raise ValueError(
            f"the model could not run on an input of shape {tuple(x.shape)}: {type(err).__name__}: {err}"
        ) from err
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    return rows


def format_layer_table(rows: list[LayerRow]) -> str:
    """Return ``rows`` (from ``layer_table``) as a text table with totals, ready to print.

    Columns: layer, type, output shape, parameters. Under them: the total parameter
    count and its float32 size, and the number of values all layers output for the
    batch with their float32 size (what the forward pass keeps for the backward pass,
    roughly).

    Introduced in lesson 06.
    """
    if not isinstance(rows, list | tuple) or not rows or not all(isinstance(r, LayerRow) for r in rows):
        raise ValueError("rows must be the non-empty list that layer_table(model, x) returns")
    width = max(len("layer"), *(len(r.name) for r in rows))
    kind_width = max(len("type"), *(len(r.kind) for r in rows))
    lines = [f"{'layer':<{width}}  {'type':<{kind_width}}  {'output shape':<18} {'parameters':>10}"]
    for r in rows:
        lines.append(f"{r.name:<{width}}  {r.kind:<{kind_width}}  {str(r.output_shape):<18} {r.params:>10,}")
    total = sum(r.params for r in rows)
    outputs = sum(math.prod(r.output_shape) for r in rows if r.output_shape)
    lines.append(f"parameters: {total:,} ({total * 4 / 2**20:.2f} MB as float32)")
    lines.append(f"layer outputs for this batch: {outputs:,} values ({outputs * 4 / 2**20:.2f} MB as float32)")
    return "\n".join(lines)


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
