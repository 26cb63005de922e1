"""Diagrams for lesson 06 · Convolutional networks: the receptive field of one unit, layer by layer."""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["field_box", "draw_receptive_fields"]


def _check_map(grad: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(grad, torch.Tensor) or grad.ndim != 2:
        shape = tuple(grad.shape) if isinstance(grad, torch.Tensor) else type(grad).__name__
        raise ValueError(f"{what} must be a 2-D (H, W) tensor of input gradients, got {shape}")
    if not bool((grad != 0).any()):
        raise ValueError(f"{what} is all zeros: no input pixel reaches the unit (was backward() called?)")
    return grad.detach().abs().float().cpu()


def field_box(grad: torch.Tensor) -> tuple[int, int, int, int]:
    """Return ``(top, left, height, width)`` of the smallest rectangle holding every nonzero entry of ``grad`` (H, W).

    Applied to the gradient of one output unit with respect to the input image, this
    is the unit's receptive field, measured in input pixels.

    Introduced in lesson 06.
    """
    rows, cols = _check_map(grad, "grad").nonzero().unbind(1)
    top, left = int(rows.min()), int(cols.min())
    return top, left, int(rows.max()) - top + 1, int(cols.max()) - left + 1


def draw_receptive_fields(fields: Mapping[str, torch.Tensor], image: torch.Tensor | None = None, axes=None):
    """Draw, for each named stage, which input pixels reach one output unit; return the axes.

    ``fields`` maps a stage name ("after conv1", ...) to a (H, W) map of
    ``|d unit / d pixel|``. Each panel shows the map over the greyscale ``image``
    (H, W) if given, darker where the gradient is larger, the rectangle of
    ``field_box`` in red and its size in the title. Pass ``axes`` (one per stage)
    to draw into an existing figure.

    Introduced in lesson 06.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if not isinstance(fields, Mapping) or not fields:
        raise ValueError("fields must be a non-empty dict {stage name: (H, W) gradient map}")
    maps = {name: _check_map(grad, f"fields[{name!r}]") for name, grad in fields.items()}
    shapes = {tuple(m.shape) for m in maps.values()}
    if len(shapes) != 1:
        raise ValueError(f"every map must have the input's shape, got shapes {sorted(shapes)}")
    (shape,) = shapes
    if image is not None and (not isinstance(image, torch.Tensor) or tuple(image.shape) != shape):
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor of shape {shape} like the maps, got {got}")
    if axes is None:
        _, axes = plt.subplots(1, len(maps), figsize=(2.4 * len(maps), 2.8), squeeze=False)
        axes = axes[0]
    if len(axes) != len(maps):
        raise ValueError(f"need one axes per stage: {len(maps)} stages, {len(axes)} axes")
    for ax, (name, grad) in zip(axes, maps.items(), strict=True):
        if image is not None:
            ax.imshow(image.detach().float().cpu().numpy(), cmap="gray", alpha=0.35)
        shown = (grad / grad.max()).numpy()
        ax.imshow(shown, cmap="Blues", alpha=(shown > 0) * 0.85, vmin=0, vmax=1)
        top, left, height, width = field_box(grad)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor="red", lw=1.5))
        ax.set_title(f"{name}\n{height} x {width} pixels", fontsize=10)
        ax.set_xlabel("input column (px)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("input row (px)", fontsize=8)
    return axes
