"""Diagrams for lesson 03 · Neural networks: a fully connected network with its tensor shapes."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["draw_network"]


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise ValueError(f"sizes must be a list of layer widths such as [784, 128, 10], got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)!r}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"every layer width must be a positive int, got {size!r} in {list(sizes)!r}")
    return list(sizes)


def _shown_units(n: int, max_units: int) -> list[float]:
    """Return the vertical positions (centred on 0) of the circles drawn for a layer of ``n`` units."""
    k = min(n, max_units)
    ys = [(k - 1) / 2 - i for i in range(k)]
    if n > max_units:  # open a gap in the middle for the "⋮"
        ys = [y + 0.5 if y > 0 else y - 0.5 for y in ys]
    return ys


def draw_network(
    sizes: Sequence[int],
    batch: int | str = "B",
    activation: str = "ReLU",
    max_units: int = 8,
    ax=None,
):
    """Draw a fully connected network and return the matplotlib axes.

    ``sizes`` lists the layer widths, e.g. ``[784, 128, 10]``. Each layer is a
    column of at most ``max_units`` circles (with "⋮" and the true width when there
    are more); the edges between two columns carry the weight's shape
    ``W (in, out)`` and the bias ``b (out,)``; under each column is the shape of the
    tensor flowing there, ``(batch, width)``. Hidden columns are marked with
    ``activation``. ``batch`` is a number (64) or a symbol ("B").

    Introduced in lesson 03.
    """
    import matplotlib.pyplot as plt

    widths = _check_sizes(sizes)
    if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 2:
        raise ValueError(f"max_units must be an int of at least 2, got {max_units!r}")
    if isinstance(batch, bool) or not isinstance(batch, int | str) or (isinstance(batch, int) and batch < 1):
        raise ValueError(f"batch must be a positive int or a symbol such as 'B', got {batch!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 * len(widths) + 1, 4))

    last = len(widths) - 1
    columns = [_shown_units(n, max_units) for n in widths]
    half = max_units / 2 + 0.5
    for i in range(last):  # edges first, so the circles sit on top of them
        for y0 in columns[i]:
            for y1 in columns[i + 1]:
                ax.plot([i, i + 1], [y0, y1], color="0.75", lw=0.5, zorder=1)
        ax.text(i + 0.5, half + 0.35, f"W{i + 1} ({widths[i]}, {widths[i + 1]})\n+ b{i + 1} ({widths[i + 1]},)",
                ha="center", va="bottom", fontsize=9, color="tab:blue")
    for i, (n, ys) in enumerate(zip(widths, columns, strict=True)):
        colour = "tab:green" if i == 0 else ("tab:red" if i == last else "tab:orange")
        ax.scatter([i] * len(ys), ys, s=140, color=colour, edgecolor="black", zorder=3)
        if n > max_units:
            ax.text(i, 0, "⋮", ha="center", va="center", fontsize=14, zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        name = "input X" if i == 0 else ("logits" if i == last else f"hidden H{i} = {activation}(·)")
        ax.text(i, -half - 0.4, f"{name}\n{n} units\n({batch}, {n})", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.6, last + 0.6)
    ax.set_ylim(-half - 2.4, half + 1.6)
    ax.axis("off")
    return ax
