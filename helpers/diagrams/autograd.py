"""Pictures for lesson 02 · Autograd: the recorded graph with values and gradients, and a vector-Jacobian product.

``draw_graph`` is micrograd's ``draw_dot`` idea in plain matplotlib (no graphviz): it
walks ``grad_fn.next_functions`` from an output, the same walk lesson 02 prints, and
draws one box per tensor (value and, once ``backward()`` has run, gradient) and one
ellipse per operation. ``draw_vjp`` draws ``v^T J`` as three heat maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch

__all__ = ["trace_graph", "draw_graph", "draw_vjp"]

MAX_NODES = 40  # beyond this the drawing is no longer readable at notebook width

# Half-sizes of the shapes, in data units (one column / one row = 1.0).
_BOX_W, _BOX_H = 0.42, 0.26
_OP_W, _OP_H = 0.36, 0.17
_LEAF_COLOUR, _TENSOR_COLOUR, _OP_COLOUR = "#cfe2f3", "#eeeeee", "#fce5cd"
_GRAD_COLOUR = "#b00020"


@dataclass
class GraphNode:
    """One thing drawn by ``draw_graph``: a tensor box (``kind`` "leaf" or "tensor") or an operation ("op")."""

    kind: str
    label: str
    column: int
    inputs: list[int] = field(default_factory=list)  # indices of the nodes that feed this one
    value: str = ""
    grad: str | None = None
    y: float = 0.0


def _number(t: torch.Tensor) -> str:
    """Return a short text for a tensor: its value when it has one element, else its shape."""
    t = t.detach()
    if t.numel() == 1:
        return f"{t.item():.4g}"
    return f"shape {tuple(t.shape)}"


def _op_label(node: Any) -> str:
    """Return a short name for a grad_fn node: ``MulBackward0`` -> ``Mul``, ``PowBackward0`` -> ``Pow **2``."""
    name = type(node).__name__
    for suffix in ("Backward0", "Backward1", "Backward"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    exponent = getattr(node, "_saved_exponent", None)
    if isinstance(exponent, int | float):
        name += f" **{exponent:g}"
    return name


def _grad_text(t: torch.Tensor) -> str | None:
    """Return the text of ``t.grad`` when autograd kept it (leaves, or ``retain_grad()``), else None."""
    if not (t.is_leaf or t.retains_grad):
        return None  # reading .grad of a non-leaf would only warn and give None
    return None if t.grad is None else _number(t.grad)


def trace_graph(output: torch.Tensor, labels: Mapping[str, torch.Tensor] | None = None) -> list[GraphNode]:
    """Return the nodes ``draw_graph`` draws for ``output``, inputs first; the last node is ``output``.

    Leaves (found through ``AccumulateGrad.variable``) are in column 0; an operation
    sits one column right of its furthest input, and its result gets a box in the next
    column when it is ``output`` or one of the named tensors in ``labels``
    (``{"c": c}``). A leaf used twice is one node with two outgoing edges.

    Raises ``ValueError`` when ``output`` is not a tensor with a ``grad_fn``, when
    ``labels`` is not a mapping of names to tensors, or when the graph has more than
    40 nodes.

    Introduced in lesson 02.
    """
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"output must be a torch.Tensor, got a {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError(
            "output has no grad_fn, so there is no recorded graph to draw: it is a leaf or was computed "
            "without tracking. Pass the result of operations on tensors with requires_grad=True (e.g. e = (a*b + a)**2)"
        )
    labels = dict(labels or {})
    for name, t in labels.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise ValueError(f"labels must map names (str) to tensors, got {name!r}: {type(t).__name__}")

    nodes: list[GraphNode] = []
    drawn: dict[int, int] = {}  # id(grad_fn node) -> index of the node its result is read from
    keep: list[Any] = []  # hold the grad_fn objects so their ids stay unique while we work

    def name_of(t: torch.Tensor) -> str | None:
        return next((name for name, other in labels.items() if other is t), None)

    def visit(fn: Any) -> int:
        if id(fn) in drawn:
            return drawn[id(fn)]
        keep.append(fn)
        if hasattr(fn, "variable"):  # AccumulateGrad: where a leaf collects its gradient
            leaf = fn.variable
            nodes.append(GraphNode("leaf", name_of(leaf) or "leaf", 0, value=_number(leaf), grad=_grad_text(leaf)))
        else:
            inputs = [visit(child) for child, _ in fn.next_functions if child is not None]
            column = 1 + max((nodes[i].column for i in inputs), default=0)
            nodes.append(GraphNode("op", _op_label(fn), column, inputs=inputs))
            named = output if fn is output.grad_fn else next((t for t in labels.values() if t.grad_fn is fn), None)
            if named is not None:
                label = name_of(named) or "output"
                nodes.append(GraphNode("tensor", label, column + 1, inputs=[len(nodes) - 1],
                                       value=_number(named), grad=_grad_text(named)))
        if len(nodes) > MAX_NODES:
            raise ValueError(f"the graph has more than {MAX_NODES} nodes, too many to draw legibly; "
                             "draw a smaller computation (a few scalar operations)")
        drawn[id(fn)] = len(nodes) - 1
        return drawn[id(fn)]

    visit(output.grad_fn)
    _place_rows(nodes)
    return nodes


def _place_rows(nodes: list[GraphNode]) -> None:
    """Set ``y`` for every node: leaves one row apart, each other node at the mean height of its inputs."""
    leaves = [n for n in nodes if n.kind == "leaf"]
    for i, n in enumerate(leaves):
        n.y = (len(leaves) - 1) / 2 - i  # first leaf at the top
    for n in nodes:
        if n.inputs:
            n.y = sum(nodes[i].y for i in n.inputs) / len(n.inputs)
    columns: dict[int, list[GraphNode]] = {}
    for n in nodes:
        columns.setdefault(n.column, []).append(n)
    for group in columns.values():  # keep nodes of one column at least 0.75 rows apart
        group.sort(key=lambda n: -n.y)
        for upper, lower in zip(group, group[1:], strict=False):
            lower.y = min(lower.y, upper.y - 0.75)


def _edge_end(x: float, y: float, dx: float, dy: float, node: GraphNode) -> tuple[float, float]:
    """Return where the line from the centre of ``node`` in direction (dx, dy) leaves its outline."""
    if node.kind == "op":  # an ellipse
        t = 1.0 / max(((dx / _OP_W) ** 2 + (dy / _OP_H) ** 2) ** 0.5, 1e-12)
    else:  # a rectangle
        t = min(_BOX_W / abs(dx) if dx else float("inf"), _BOX_H / abs(dy) if dy else float("inf"))
    return x + t * dx, y + t * dy


def draw_graph(
    output: torch.Tensor,
    labels: Mapping[str, torch.Tensor] | None = None,
    ax: Axes | None = None,
    show_grad: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw the graph autograd recorded for ``output`` (inputs on the left) and return the axes.

    Tensor boxes show a name (from ``labels``, e.g. ``{"a": a, "b": b, "c": c}``) and a
    value (the number for one-element tensors, else the shape); leaves are blue,
    named intermediate results grey. Operations are orange ellipses named after their
    ``grad_fn`` (``MulBackward0`` -> ``Mul``). With ``show_grad`` each box also shows
    its ``.grad`` in red where autograd kept one: leaves after ``backward()``, and
    intermediate tensors on which ``retain_grad()`` was called before it.

    Raises ``ValueError`` as ``trace_graph`` does.

    Introduced in lesson 02.
    """
    nodes = trace_graph(output, labels)
    n_columns = 1 + max(n.column for n in nodes)
    top, bottom = max(n.y for n in nodes), min(n.y for n in nodes)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(10.0, 1.35 * n_columns + 0.4), 1.0 + 1.1 * (top - bottom + 1)))
    for n in nodes:
        x = float(n.column)
        if n.kind == "op":
            ax.add_patch(Ellipse((x, n.y), 2 * _OP_W, 2 * _OP_H, facecolor=_OP_COLOUR, edgecolor="0.3"))
            ax.text(x, n.y, n.label, ha="center", va="center", fontsize=9)
            continue
        colour = _LEAF_COLOUR if n.kind == "leaf" else _TENSOR_COLOUR
        ax.add_patch(FancyBboxPatch((x - _BOX_W, n.y - _BOX_H), 2 * _BOX_W, 2 * _BOX_H,
                                    boxstyle="round,pad=0,rounding_size=0.05", facecolor=colour, edgecolor="0.3"))
        grad = n.grad if show_grad else None
        ax.text(x, n.y + (0.08 if grad else 0.0), f"{n.label} = {n.value}", ha="center", va="center",
                fontsize=10, fontweight="bold")
        if grad is not None:
            ax.text(x, n.y - 0.12, f"grad {grad}", ha="center", va="center", fontsize=9, color=_GRAD_COLOUR)
    for n in nodes:
        for i in n.inputs:
            src = nodes[i]
            dx, dy = n.column - src.column, n.y - src.y
            start = _edge_end(src.column, src.y, dx, dy, src)
            end = _edge_end(n.column, n.y, -dx, -dy, n)
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color="0.35",
                                         shrinkA=0, shrinkB=0))
    ax.set_xlim(-0.6, n_columns - 0.4)
    ax.set_ylim(bottom - 0.55, top + 0.55)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _heat(ax: Axes, values: torch.Tensor, title: str, limit: float, xlabels: Sequence[str],
          ylabels: Sequence[str]) -> None:
    """Draw a (rows, cols) tensor as a diverging heat map with each value written in its cell."""
    ax.imshow(values.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), v in zip(torch.cartesian_prod(torch.arange(values.shape[0]), torch.arange(values.shape[1])).tolist(),
                         values.flatten().tolist(), strict=True):
        colour = "white" if abs(v) > 0.6 * limit else "black"  # stay readable on dark cells
        ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=10, color=colour)
    ax.set_xticks(range(values.shape[1]), list(xlabels))
    ax.set_yticks(range(values.shape[0]), list(ylabels))
    ax.set_title(title, fontsize=10)


def draw_vjp(v: torch.Tensor, jacobian: torch.Tensor) -> Figure:
    """Draw ``v`` (m,), the Jacobian (m, n) and their product ``v^T J`` (n,) as heat maps; return the figure.

    ``v`` is drawn as a column beside the rows of ``J`` it weights, and ``v^T J``
    (what ``y.backward(gradient=v)`` leaves in ``x.grad``) as a row under the columns
    it sums. One colour scale, centred on zero, serves all three.

    Raises ``ValueError`` unless ``v`` is 1-D, ``jacobian`` is 2-D and ``len(v)``
    equals ``jacobian.shape[0]``.

    Introduced in lesson 02.
    """
    if not isinstance(v, torch.Tensor) or not isinstance(jacobian, torch.Tensor):
        raise ValueError("v and jacobian must be torch tensors")
    if v.ndim != 1 or jacobian.ndim != 2 or v.shape[0] != jacobian.shape[0]:
        raise ValueError(f"expected v of shape (m,) and a jacobian of shape (m, n); got v {tuple(v.shape)} "
                         f"and jacobian {tuple(jacobian.shape)}: the Jacobian has one row per output")
    v, jacobian = v.detach().double().cpu(), jacobian.detach().double().cpu()
    product = v @ jacobian  # (n,)
    m, n = jacobian.shape
    limit = max(float(t.abs().max()) for t in (v, jacobian, product)) or 1.0
    fig, axes = plt.subplots(2, 2, figsize=(1.2 + 1.1 * (n + 1), 1.6 + 0.9 * (m + 1)),
                             gridspec_kw={"width_ratios": [1, n], "height_ratios": [m, 1]})
    outputs, inputs = [f"y[{i}]" for i in range(m)], [f"x[{j}]" for j in range(n)]
    _heat(axes[0, 0], v[:, None], "$v$", limit, [""], outputs)
    _heat(axes[0, 1], jacobian, r"$J_{ij} = \partial y_i / \partial x_j$", limit, inputs, outputs)
    _heat(axes[1, 1], product[None, :], r"$v^\top J$ = x.grad", limit, inputs, [""])
    axes[0, 1].set_xlabel("input")
    axes[0, 0].set_ylabel("output")
    axes[1, 0].axis("off")
    axes[1, 0].text(0.5, 0.5, "sum over rows\nweighted by v", ha="center", va="center", fontsize=9)
    fig.tight_layout()
    return fig
