"""Tests for helpers.diagrams.autograd: the traced graph, the drawn graph and the VJP picture."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from helpers.diagrams.autograd import draw_graph, draw_vjp, trace_graph


def _small_graph():
    """The lesson's example e = (a*b + a)**2 with a = 2, b = 3."""
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    c = a * b
    d = c + a
    e = d**2
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_trace_graph_finds_leaves_ops_and_named_results():
    t = _small_graph()
    nodes = trace_graph(t["e"], t)
    assert [(n.kind, n.label, n.value) for n in nodes if n.kind != "op"] == [
        ("leaf", "a", "2"), ("leaf", "b", "3"), ("tensor", "c", "6"), ("tensor", "d", "8"), ("tensor", "e", "64")]
    assert [n.label for n in nodes if n.kind == "op"] == ["Mul", "Add", "Pow **2"]
    assert nodes[-1].label == "e"
    # a is one node feeding both Mul and Add; every edge goes left to right
    a_index = next(i for i, n in enumerate(nodes) if n.label == "a")
    assert sum(a_index in n.inputs for n in nodes) == 2
    assert all(nodes[i].column < n.column for n in nodes for i in n.inputs)


def test_trace_graph_without_labels_names_leaves_and_output_only():
    t = _small_graph()
    nodes = trace_graph(t["e"])
    assert [n.label for n in nodes if n.kind != "op"] == ["leaf", "leaf", "output"]


def test_gradients_appear_after_backward_where_autograd_kept_them():
    t = _small_graph()
    t["c"].retain_grad()
    t["e"].backward()
    grads = {n.label: n.grad for n in trace_graph(t["e"], t) if n.kind != "op"}
    assert grads == {"a": "64", "b": "32", "c": "16", "d": None, "e": None}  # d and e were not retained


def test_draw_graph_shows_values_then_gradients():
    t = _small_graph()
    ax = draw_graph(t["e"], t, show_grad=False, title="forward")
    assert {"a = 2", "b = 3", "c = 6", "d = 8", "e = 64", "Mul", "Add", "Pow **2"} <= set(_texts(ax))
    assert not any(s.startswith("grad") for s in _texts(ax))
    assert ax.get_title() == "forward"
    for name in ("c", "d", "e"):
        t[name].retain_grad()
    t["e"].backward()
    _, ax = plt.subplots()
    assert draw_graph(t["e"], t, ax=ax) is ax
    assert {"grad 64", "grad 32", "grad 16", "grad 1"} <= set(_texts(ax))
    assert len(ax.patches) == 8 + 8  # 8 nodes, 8 edges (a feeds Mul and Add)


def test_draw_graph_handles_vectors_and_constants():
    w = torch.ones(3, requires_grad=True)
    out = (torch.tanh(w * 2) + 1).sum()
    ax = draw_graph(out, {"w": w})
    assert "w = shape (3,)" in _texts(ax) and "Tanh" in _texts(ax)


def test_draw_graph_is_deterministic():
    t = _small_graph()
    first = [(p.get_x(), p.get_y()) for p in draw_graph(t["e"], t).patches if hasattr(p, "get_x")]
    second = [(p.get_x(), p.get_y()) for p in draw_graph(t["e"], t).patches if hasattr(p, "get_x")]
    assert first == second and first


@pytest.mark.parametrize(
    ("output", "labels", "message"),
    [
        ([1.0], None, "must be a torch.Tensor"),
        (torch.tensor(2.0, requires_grad=True), None, "no grad_fn"),
        (torch.tensor(2.0) * 3, None, "no grad_fn"),
        ((torch.ones(2, requires_grad=True) * 2).sum(), {"w": 1.0}, "labels must map names"),
    ],
)
def test_draw_graph_rejects_bad_input(output, labels, message):
    with pytest.raises(ValueError, match=message):
        draw_graph(output, labels)


def test_draw_graph_refuses_huge_graphs():
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.01
    with pytest.raises(ValueError, match="too many to draw"):
        draw_graph(y)


def test_draw_vjp_draws_the_product():
    v = torch.tensor([1.0, -0.5])
    J = torch.tensor([[2.0, 1.0, 0.0], [0.0, 4.0, 0.8776]])
    fig = draw_vjp(v, J)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert {"2", "-1", "-0.439", "0.878", "-0.5"} <= set(texts)
    assert len(fig.axes) == 4


@pytest.mark.parametrize(
    ("v", "J"),
    [(torch.ones(3), torch.ones(2, 3)), (torch.ones(2, 1), torch.ones(2, 3)), (torch.ones(2), torch.ones(2)),
     ([1.0, 2.0], torch.ones(2, 3))],
)
def test_draw_vjp_rejects_bad_shapes(v, J):
    with pytest.raises(ValueError, match="tensors|one row per output"):
        draw_vjp(v, J)
