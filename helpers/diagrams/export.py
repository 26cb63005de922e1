"""Diagrams for lesson 08 · ONNX and deployment: the export pipeline, stage by stage."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["draw_export_pipeline"]

_COLOURS = ("#f2f2f2", "#cfe2f3", "#fff2cc", "#d9ead3", "#f4cccc", "#ead1dc")


def draw_export_pipeline(stages: Sequence[tuple[str, str]], ax=None):
    """Draw ``stages`` as boxes joined by arrows, left to right; return the axes.

    Each stage is ``(title, detail)``: the title in bold (``"torch.export"``), the
    detail below it in smaller type (``"ExportedProgram\\n312 ATen nodes"``), where a
    lesson puts the measured operator counts. Two to six stages fit the width.

    Introduced in lesson 08.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.patches import FancyBboxPatch

    if ax is not None and not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes (from plt.subplots) or None, got {type(ax).__name__}")
    if isinstance(stages, str) or not isinstance(stages, Sequence) or not 2 <= len(stages) <= len(_COLOURS):
        raise ValueError(f"stages must be a list of 2 to {len(_COLOURS)} (title, detail) pairs, got {stages!r}")
    for stage in stages:
        if not (isinstance(stage, tuple | list) and len(stage) == 2 and all(isinstance(s, str) for s in stage)):
            raise ValueError(f"each stage must be a (title, detail) pair of strings, got {stage!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.6))
    width, gap, height = 2.2, 0.7, 1.6
    for i, (title, detail) in enumerate(stages):
        x = i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0), width, height, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    facecolor=_COLOURS[i], edgecolor="black", linewidth=1.0))
        ax.text(x + width / 2, height * 0.75, title, ha="center", va="center", fontsize=10, fontweight="bold")
        ax.text(x + width / 2, height * 0.35, detail, ha="center", va="center", fontsize=8.5)
        if i:
            ax.annotate("", xy=(x, height / 2), xytext=(x - gap, height / 2),
                        arrowprops={"arrowstyle": "->", "lw": 1.5})
    total = len(stages) * width + (len(stages) - 1) * gap
    ax.set_xlim(-0.1, total + 0.1)
    ax.set_ylim(-0.1, height + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
