"""Diagrams for lesson 01 · Tensors: photo permute vs reshape, strides, broadcasting, cat/stack, reductions.

Every function computes what it draws with torch (the strides, the walk through memory, the
broadcast shape, the sums), draws with plain matplotlib onto the axes it is given (or a new
figure) and returns those axes. Nothing is random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle

__all__ = ["draw_permute_vs_reshape", "draw_strides", "draw_broadcast", "draw_reductions", "draw_cat_stack"]

_MAX_CELLS = 8  # grids larger than this per side are unreadable at notebook width
_FILL = "#cfe2f3"  # a real element
_STRETCHED = "#f4f4f4"  # an element that broadcasting repeats (no memory of its own)
_RESULT = "#d9ead3"


def _axes(axes: Sequence[Axes] | None, n: int, figsize: tuple[float, float]) -> list[Axes]:
    if axes is None:
        _, created = plt.subplots(1, n, figsize=figsize)
        return list(np.atleast_1d(created))
    axes = list(axes)
    if len(axes) != n:
        raise ValueError(f"expected {n} axes to draw on, got {len(axes)}")
    return axes


def _grid(ax: Axes, values: torch.Tensor, x0: float, y0: float, fill: str = _FILL,
          faded: torch.Tensor | None = None) -> None:
    """Draw a 2-D tensor as labelled unit cells with its top-left corner at (x0, y0), y pointing down."""
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            pale = faded is not None and bool(faded[i, j])
            ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor=_STRETCHED if pale else fill,
                                   edgecolor="#999999" if pale else "black", linestyle="--" if pale else "-"))
            ax.text(x0 + j + 0.5, y0 + i + 0.5, f"{values[i, j].item():g}", ha="center", va="center",
                    fontsize=10, color="#888888" if pale else "black")


def _frame(ax: Axes, width: float, height: float) -> None:
    ax.set_xlim(-0.3, width + 0.3)
    ax.set_ylim(height + 0.3, -0.6)  # y grows downwards, like row indices
    ax.set_aspect("equal")
    ax.axis("off")


def draw_permute_vs_reshape(image: Any, axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Draw a photo, its channel 0 after ``permute`` and after ``reshape``, and both turned back.

    ``image`` is a ``uint8`` array or tensor of shape ``(H, W, C)`` with ``C`` = 3 (as files and
    NumPy store photos). The four panels are: the photo; channel 0 of ``permute(2, 0, 1)``
    (``(C, H, W)``, the red channel); "channel 0" of ``reshape(C, H, W)`` (the first ``H*W`` numbers
    in memory, which mix all three channels); and that reshaped tensor turned back with
    ``permute(1, 2, 0)`` for display, which is visibly scrambled. Returns the four axes.

    Introduced in lesson 01.
    """
    if isinstance(image, np.ndarray):
        image = torch.from_numpy(np.array(image))  # a writable copy
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"image must be a NumPy array or a tensor of shape (H, W, 3), got a {type(image).__name__}")
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3) (channels last), got {tuple(image.shape)}; "
                         "for a (3, H, W) tensor pass image.permute(1, 2, 0)")
    if image.dtype != torch.uint8:
        raise ValueError(f"image must be uint8 (values 0..255), got {image.dtype}")
    h, w, c = image.shape
    chw_permuted = image.permute(2, 0, 1)  # (C, H, W): channel 0 is the red of every pixel
    chw_reshaped = image.reshape(c, h, w)  # (C, H, W) in name only: memory regrouped in order
    axes = _axes(axes, 4, (10, 2.9))
    panels = [
        (image, None, f"photo (H, W, C) = {(h, w, c)}"),
        (chw_permuted[0], "gray", "permute(2, 0, 1)[0]\nthe red channel"),
        (chw_reshaped[0], "gray", "reshape(C, H, W)[0]\nfirst H*W numbers"),
        (chw_reshaped.permute(1, 2, 0), None, "reshaped, turned back\nwith permute(1, 2, 0)"),
    ]
    for ax, (picture, cmap, title) in zip(axes, panels, strict=True):
        ax.imshow(picture.numpy(), cmap=cmap, vmin=0, vmax=255)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_xlabel(f"width W = {w} px")
    axes[0].set_ylabel(f"height H = {h} px")
    return axes


def draw_strides(rows: int = 2, cols: int = 3, axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Draw a ``(rows, cols)`` tensor and its transpose over the same ``rows*cols`` memory cells.

    The tensor is ``torch.arange(rows * cols).reshape(rows, cols)``, so each value is its own
    memory offset. Each panel shows the logical grid (top) and the memory strip (bottom), with the
    order in which reading the view row by row visits memory: blue arcs step forward, red arcs
    jump back. The contiguous tensor steps one cell at a time; the transpose jumps by
    ``stride[1]`` and then back. The titles give each view's shape and
    ``stride()``. Returns the two axes.

    Introduced in lesson 01.
    """
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            raise ValueError(f"{name} must be an int from 1 to 4 (a readable picture), got {value!r}")
    base = torch.arange(rows * cols).reshape(rows, cols)
    axes = _axes(axes, 2, (10, 3.2))
    n = rows * cols
    for ax, (label, view) in zip(axes, [("a", base), ("a.T", base.T)], strict=True):
        r, c = view.shape
        gx = (n - c) / 2  # centre the grid over the memory strip
        _grid(ax, view, gx, 0)
        strip_y = r + 1.4
        _grid(ax, torch.arange(n).reshape(1, n), 0, strip_y, fill="#fff2cc")
        ax.text(n + 0.2, strip_y + 0.5, "memory\n(offsets)", fontsize=8, ha="left", va="center")
        order = view.flatten().tolist()  # values are offsets, so this is the walk through memory
        for start, end in zip(order[:-1], order[1:], strict=True):
            forward = end > start  # forward steps arc below the strip, jumps back arc above it
            y = strip_y + 1.0 if forward else strip_y
            ax.add_patch(FancyArrowPatch((start + 0.5, y), (end + 0.5, y), arrowstyle="-|>", mutation_scale=9,
                                         connectionstyle=f"arc3,rad={0.5 if forward else -0.3}",
                                         color="#1f4e79" if forward else "#c0392b"))
        contiguous = "contiguous" if view.is_contiguous() else "not contiguous"
        ax.set_title(f"{label}: shape {tuple(view.shape)}, stride {view.stride()}, {contiguous}\n"
                     f"row-by-row walk: {order}", fontsize=9)
        _frame(ax, n + 1.5, strip_y + 2.2)
    return axes


def _as_2d(t: torch.Tensor, ndim: int) -> torch.Tensor:
    return t.reshape((1,) * (ndim - t.ndim) + tuple(t.shape))


def draw_broadcast(a: Any, b: Any, names: tuple[str, str] = ("a", "b"),
                   axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Draw ``a + b`` for 1-D/2-D tensors: each operand, each stretched to the result's shape, the sum.

    Shapes are compared from the right; a missing dimension counts as 1 and size-1 dimensions
    are repeated. Repeated cells (which take no memory: broadcasting is ``expand``, a view with
    stride 0) are drawn pale and dashed. Raises ``ValueError`` when the shapes do not broadcast
    or the result is larger than 8 x 8. ``names`` label the operands in the titles. Returns the
    three axes (a, b, a + b).

    Introduced in lesson 01.
    """
    if len(names) != 2 or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be two strings, got {names!r}")
    a = torch.as_tensor(a)
    b = torch.as_tensor(b)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"draw 1-D or 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError as err:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast: {err}") from err
    out_shape = (1,) * (2 - len(shape)) + tuple(shape)
    if max(out_shape) > _MAX_CELLS:
        raise ValueError(f"the result {tuple(shape)} is too large to draw (at most {_MAX_CELLS} per side)")
    axes = _axes(axes, 3, (10, 2.6))
    rows, cols = out_shape
    for ax, (name, t) in zip(axes[:2], [(names[0], a), (names[1], b)], strict=True):
        t2 = _as_2d(t, 2)
        stretched = t2.expand(rows, cols)
        faded = torch.ones(rows, cols, dtype=torch.bool)
        faded[: t2.shape[0], : t2.shape[1]] = False  # the cells that exist in memory
        _grid(ax, stretched, 0, 0, faded=faded)
        ax.set_title(f"{name}: {tuple(t.shape)} stretched to {tuple(shape)}\n"
                     f"expand stride {stretched.stride()}", fontsize=9)
        _frame(ax, cols, rows)
    _grid(axes[2], _as_2d(a + b, 2), 0, 0, fill=_RESULT)
    axes[2].set_title(f"{names[0]} + {names[1]}: {tuple(shape)}", fontsize=9)
    _frame(axes[2], cols, rows)
    return axes


def draw_reductions(values: Any, axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Draw ``values.sum(dim=0)`` (arrows down each column) and ``values.sum(dim=1)`` (along each row).

    ``values`` is a 2-D tensor of at most 8 x 8. The reduced dimension is the one the arrows run
    along, and it disappears from the result's shape (written in each title). Returns the two axes.

    Introduced in lesson 01.
    """
    values = torch.as_tensor(values)
    if values.ndim != 2 or values.numel() == 0 or max(values.shape) > _MAX_CELLS:
        raise ValueError(f"values must be a non-empty 2-D tensor of at most {_MAX_CELLS} x {_MAX_CELLS}, "
                         f"got shape {tuple(values.shape)}")
    rows, cols = values.shape
    axes = _axes(axes, 2, (8, 2.8))
    down = values.sum(dim=0)
    across = values.sum(dim=1)
    _grid(axes[0], values, 0, 0)
    _grid(axes[0], down.reshape(1, cols), 0, rows + 0.8, fill=_RESULT)
    for j in range(cols):
        axes[0].add_patch(FancyArrowPatch((j + 0.85, 0.15), (j + 0.85, rows + 0.75), arrowstyle="-|>",
                                          mutation_scale=10, color="#c0392b", alpha=0.6))
    axes[0].set_title(f"sum(dim=0): {tuple(values.shape)} → {tuple(down.shape)}\nrows collapse, one sum per column",
                      fontsize=9)
    _frame(axes[0], cols, rows + 1.8)
    _grid(axes[1], values, 0, 0)
    _grid(axes[1], across.reshape(rows, 1), cols + 0.8, 0, fill=_RESULT)
    for i in range(rows):
        axes[1].add_patch(FancyArrowPatch((0.15, i + 0.85), (cols + 0.75, i + 0.85), arrowstyle="-|>",
                                          mutation_scale=10, color="#c0392b", alpha=0.6))
    axes[1].set_title(f"sum(dim=1): {tuple(values.shape)} → {tuple(across.shape)}\ncolumns collapse, one sum per row",
                      fontsize=9)
    _frame(axes[1], cols + 1.8, rows + 1.8)
    return axes


_SECOND = "#fce5cd"  # cells that come from the second tensor


def draw_cat_stack(a: Any, b: Any, axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Draw ``torch.cat([a, b], dim=0)``, ``torch.cat([a, b], dim=1)`` and ``torch.stack([a, b])``.

    ``a`` and ``b`` are 2-D tensors of the same shape, at most 4 x 4; ``a``'s cells are blue and
    ``b``'s orange, so the picture shows where each ends up. ``cat`` lengthens an existing
    dimension; ``stack`` adds a new one in front, drawn as two whole blocks ``[0]`` and ``[1]``. The titles give the
    result shapes. Returns the three axes.

    Introduced in lesson 01.
    """
    a = torch.as_tensor(a)
    b = torch.as_tensor(b)
    if a.ndim != 2 or a.shape != b.shape or a.numel() == 0 or max(a.shape) > 4:
        raise ValueError(f"a and b must be 2-D tensors of the same shape, at most 4 x 4, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    rows, cols = a.shape
    axes = _axes(axes, 3, (10, 3.2))
    down = torch.cat([a, b], dim=0)  # (2 * rows, cols)
    side = torch.cat([a, b], dim=1)  # (rows, 2 * cols)
    layers = torch.stack([a, b])  # (2, rows, cols)
    _grid(axes[0], a, 0, 0)
    _grid(axes[0], b, 0, rows, fill=_SECOND)
    axes[0].set_title(f"torch.cat([a, b], dim=0)\n{tuple(down.shape)}: more rows", fontsize=9)
    _frame(axes[0], 2 * cols, 2 * rows)
    _grid(axes[1], a, 0, 0)
    _grid(axes[1], b, cols, 0, fill=_SECOND)
    axes[1].set_title(f"torch.cat([a, b], dim=1)\n{tuple(side.shape)}: more columns", fontsize=9)
    _frame(axes[1], 2 * cols, 2 * rows)
    for k, fill in enumerate([_FILL, _SECOND]):  # the new dimension: one whole (rows, cols) block per index
        x0 = k * (cols + 0.6) + 0.2
        axes[2].add_patch(Rectangle((x0 - 0.2, -0.2), cols + 0.4, rows + 0.4, fill=False, linestyle=":"))
        _grid(axes[2], layers[k], x0, 0, fill=fill)
        axes[2].text(x0 + cols / 2, rows + 0.55, f"[{k}] = {'ab'[k]}", fontsize=9, ha="center", va="top")
    axes[2].set_title(f"torch.stack([a, b])\n{tuple(layers.shape)}: a new first dimension", fontsize=9)
    _frame(axes[2], 2 * cols + 0.8, 2 * rows)
    return axes
