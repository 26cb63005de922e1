"""Diagrams for lesson 00 · Getting started: the layers of PyTorch, and eager vs deferred execution."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["STACK_LAYERS", "draw_stack", "draw_eager_vs_deferred"]

# (name, what it is), top to bottom; "kernels" is drawn as one box per backend
STACK_LAYERS: tuple[tuple[str, str], ...] = (
    ("your code", "a model and a training loop, in Python"),
    ("Python API", "torch · torch.nn · torch.optim · torch.utils.data"),
    ("autograd", "C++: records each operation, runs backward()"),
    ("ATen", "C++: every tensor operator (aten.add, aten.mm, ...)\nand the dispatcher that picks a kernel"),
    ("kernels", ""),
)
_KERNELS = (("CPU", "MKL, oneDNN"), ("CUDA", "cuBLAS, cuDNN"), ("MPS", "Apple GPUs"))


def _check_ax(ax):
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes (from plt.subplots) or None, got {type(ax).__name__}")


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str, bold: bool = False,
         fontsize: float = 9, edge: str = "black", lw: float = 1.0) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor=edge, linewidth=lw))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize,
            fontweight="bold" if bold else "normal")


def draw_stack(highlight: str | None = None, ax=None):
    """Draw the layers of PyTorch, from your Python code down to the CPU/CUDA/MPS kernels; return the axes.

    Top to bottom: your code, the Python API, autograd, ATen, and one kernel box per
    backend. Sister packages (torchvision, torchaudio) stand on the left, built on
    the Python API; a bracket on the right marks the part packaged as libtorch for
    C++ programs. ``highlight`` names one layer of ``STACK_LAYERS`` (for example
    ``"ATen"``, case-insensitive) to draw with a thick red edge.

    Introduced in lesson 00.
    """
    import matplotlib.pyplot as plt

    names = [name for name, _ in STACK_LAYERS]
    if highlight is not None:
        if not isinstance(highlight, str) or highlight.lower() not in [n.lower() for n in names]:
            raise ValueError(f"highlight must be None or one of {names}, got {highlight!r}")
        highlight = highlight.lower()
    _check_ax(ax)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5))

    colours = ["#f2f2f2", "#cfe2f3", "#d9ead3", "#fff2cc", "#f4cccc"]
    left, width, height, gap = 2.6, 6.0, 0.8, 0.25
    tops = {}
    for row, ((name, text), colour) in enumerate(zip(STACK_LAYERS, colours, strict=True)):
        y = (len(STACK_LAYERS) - 1 - row) * (height + gap)
        tops[name] = y
        strong = highlight == name.lower()
        edge, lw = ("tab:red", 3.0) if strong else ("black", 1.0)
        if name == "kernels":
            k_width = (width - 2 * 0.15) / len(_KERNELS)
            for i, (backend, libs) in enumerate(_KERNELS):
                _box(ax, left + i * (k_width + 0.15), y, k_width, height, f"{backend} kernels\n({libs})",
                     colour, bold=True, edge=edge, lw=lw)
        else:
            _box(ax, left, y, width, height, f"{name}\n{text}", colour, bold=False, edge=edge, lw=lw)
    # a call travels down the stack
    ax.annotate("", xy=(left - 0.25, tops["kernels"] + 0.1), xytext=(left - 0.25, tops["your code"] + height - 0.1),
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 1.5})
    ax.text(left - 0.4, (tops["kernels"] + tops["your code"] + height) / 2, "torch.add(a, b)\ntravels down",
            rotation=90, ha="right", va="center", fontsize=8, color="0.3")
    # sister packages: built on the Python API, beside your code
    span_bottom, span_top = tops["Python API"], tops["your code"] + height
    _box(ax, 0.0, span_bottom, 1.6, span_top - span_bottom,
         "sister\npackages\n\ntorchvision\ntorchaudio\n(torchtext)", "#ead1dc", fontsize=8.5)
    ax.annotate("built on", xy=(left - 0.05, tops["Python API"] + height / 2),
                xytext=(1.65, tops["Python API"] + height / 2), ha="left", va="center", fontsize=7.5,
                arrowprops={"arrowstyle": "->", "color": "0.3"})
    # libtorch: the C++ part, usable without Python
    bracket_x = left + width + 0.2
    low, high = tops["kernels"], tops["autograd"] + height
    ax.plot([bracket_x, bracket_x + 0.15, bracket_x + 0.15, bracket_x],
            [low, low, high, high], color="0.2", lw=1.2)
    ax.text(bracket_x + 0.3, (low + high) / 2, "libtorch\n(C++, no\nPython\nneeded)", ha="left", va="center",
            fontsize=8.5)
    ax.set_xlim(-0.1, bracket_x + 1.6)
    ax.set_ylim(-0.2, tops["your code"] + height + 0.2)
    ax.set_title("The PyTorch stack: a call goes from Python down to a kernel", fontsize=10)
    ax.axis("off")
    return ax


def draw_eager_vs_deferred(steps: Sequence[str] = ("y = x * 2", "z = y + 1", "s = z.sum()"), ax=None):
    """Draw a timeline sketch of eager vs deferred execution of the same ``steps``; return the axes.

    Top lane (eager, define-by-run): each Python line is followed at once by its
    operation running on data, so a value is ready after every step. Bottom lane
    (deferred, define-then-run): every step only adds a node to a graph, the graph
    is compiled, and then all of it runs on the data, so the first value arrives at
    the end. ``steps`` is a non-empty list of short code strings. Not to scale.

    Introduced in lesson 00.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if isinstance(steps, str | bytes) or not isinstance(steps, Sequence) or len(steps) == 0:
        raise ValueError(f"steps must be a non-empty list of code strings such as ['y = x * 2'], got {steps!r}")
    for step in steps:
        if not isinstance(step, str) or not step.strip():
            raise ValueError(f"every step must be a non-empty string, got {step!r} in {list(steps)!r}")
    _check_ax(ax)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))

    python, run, build, compile_ = "#cfe2f3", "#f4cccc", "#fff2cc", "#d9ead3"
    line_w, run_w, h = 1.0, 0.7, 0.6
    eager_y, deferred_y = 1.4, 0.2
    t = 0.0
    for step in steps:  # eager: a line, then its operation on data, then the value exists
        _box(ax, t, eager_y, line_w, h, step, python, fontsize=8)
        _box(ax, t + line_w + 0.05, eager_y, run_w, h, "runs", run, fontsize=8)
        t += line_w + run_w + 0.15
        ax.plot(t - 0.1, eager_y + h + 0.12, marker="v", color="tab:red", markersize=7)
    eager_end = t
    t = 0.0
    for step in steps:  # deferred: a line only adds a node to the graph
        _box(ax, t, deferred_y, line_w, h, step, build, fontsize=8)
        t += line_w + 0.1
    _box(ax, t, deferred_y, 1.3, h, "compile\nthe graph", compile_, fontsize=8)
    t += 1.4
    run_all = max(run_w * len(steps) * 0.6, 1.0)
    _box(ax, t, deferred_y, run_all, h, "run it all\non data", run, fontsize=8)
    t += run_all + 0.05
    ax.plot(t - 0.1, deferred_y + h + 0.12, marker="v", color="tab:red", markersize=7)
    end = max(t, eager_end)
    ax.set_xlim(-0.1, end + 0.3)
    ax.set_ylim(0, eager_y + h + 0.45)
    ax.set_yticks([eager_y + h / 2, deferred_y + h / 2],
                  ["eager\n(define-by-run)", "deferred\n(define-then-run)"])
    ax.set_xticks([])
    ax.set_xlabel("time → (a sketch, not to scale)")
    for side in ["top", "right", "left"]:
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=python, edgecolor="black", label="Python line (eager)"),
               Patch(facecolor=run, edgecolor="black", label="operation runs on data"),
               Patch(facecolor=build, edgecolor="black", label="node added to a graph, no data yet"),
               Patch(facecolor=compile_, edgecolor="black", label="graph compiled"),
               plt.Line2D([], [], marker="v", color="tab:red", linestyle="none", label="a value you can print")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8, frameon=False)
    ax.set_title(f"The same {len(steps)} lines of code, run eagerly and deferred", fontsize=10)
    return ax
