"""Exercise checks for lesson 02 · Autograd."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from helpers.checks import is_missing, missing_result, never_raises, report

__all__ = ["check_linear_backward", "check_silu_backward"]

# (B, in, out) for each case. The first is square (in == out), so that the slips that only
# change values there (W.T where W belongs, a transposed dW) are named before a shape error
# on the later, non-square cases hides them.
_LINEAR_SHAPES = [(5, 3, 3), (4, 3, 2), (1, 5, 3), (6, 2, 4)]


def _autograd_linear(X: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                     grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (dX, dW, db) for y = X @ W.T + b and upstream gradient grad_out, computed by autograd."""
    leaves = [t.detach().clone().requires_grad_(True) for t in (X, W, b)]
    (F.linear(*leaves)).backward(grad_out)
    return tuple(t.grad for t in leaves)  # type: ignore[return-value]


def _close(got: Any, expected: torch.Tensor) -> bool:
    """Return True when ``got`` is a tensor of ``expected``'s shape and values."""
    return (isinstance(got, torch.Tensor) and got.shape == expected.shape
            and torch.allclose(got.detach().double(), expected, atol=1e-8, rtol=1e-6))


def _linear_problem(got: Any, X: torch.Tensor, W: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor,
                    expected: tuple[torch.Tensor, ...]) -> str | None:
    """Return a hint naming what is wrong with ``got`` = (dX, dW, db), or None when it is right."""
    dX, dW, db = expected
    shapes = f"for X {tuple(X.shape)}, W {tuple(W.shape)}, grad_out {tuple(grad_out.shape)}"
    if not isinstance(got, tuple | list) or len(got) != 3:
        kind = f"a {type(got).__name__}" + (f" of {len(got)} items" if isinstance(got, tuple | list) else "")
        return f"return the three gradients as a tuple (dX, dW, db), got {kind}"
    if not all(isinstance(g, torch.Tensor) for g in got):
        kinds = ", ".join(type(g).__name__ for g in got)
        return f"return three tensors, got ({kinds}); compute them with torch operations on the inputs"
    if all(_close(g, e) for g, e in zip(got, expected, strict=True)):
        return None
    for order in ((1, 0, 2), (0, 2, 1), (2, 1, 0), (1, 2, 0), (2, 0, 1)):
        if all(_close(got[i], expected[j]) for j, i in enumerate(order)):
            return "the three gradients are right but in the wrong order: return (dX, dW, db)"
    got_dX, got_dW, got_db = (g.detach().double() for g in got)
    if not _close(got_dX, dX):
        if got_dX.shape == X.shape and W.shape[0] == W.shape[1] and _close(got_dX, grad_out @ W.T):
            return (f"{shapes}: dX = grad_out @ W.T is the slip; y = X @ W.T, so the way back from y to X "
                    "multiplies by W itself: dX = grad_out @ W, shape (B, in)")
        if got_dX.shape != X.shape:
            return _wrong_shape(shapes, "dX", got_dX, "X", X)
        return f"{shapes}: dX has the right shape but the wrong values; dL/dX[b, i] = sum over o of " \
               "grad_out[b, o] * W[o, i]"
    if not _close(got_dW, dW):
        if got_dW.shape == W.shape[::-1] and _close(got_dW.T, dW):
            return (f"{shapes}: dW is transposed: X.T @ grad_out is (in, out), the layout of the NumPy network "
                    "at the top of the lesson. nn.Linear stores W as (out, in), so dW = grad_out.T @ X")
        if _close(got_dW * X.shape[0], dW) and X.shape[0] > 1:
            return (f"{shapes}: dW is divided by the batch size B = {X.shape[0]}; grad_out already carries "
                    "any 1/B from a mean in the loss, so do not average again: dW = grad_out.T @ X")
        if got_dW.shape != W.shape:
            return _wrong_shape(shapes, "dW", got_dW, "W", W)
        return f"{shapes}: dW has the right shape but the wrong values; dL/dW[o, i] = sum over the batch of " \
               "grad_out[b, o] * X[b, i]"
    if got_db.shape == grad_out.shape and X.shape[0] > 1:
        return (f"{shapes}: db has shape {tuple(got_db.shape)}, one row per sample; b is added to every row "
                f"of the batch, so its gradient sums those rows: db = grad_out.sum(dim=0), shape {tuple(b.shape)}")
    if got_db.shape == b.shape and _close(got_db * X.shape[0], db) and X.shape[0] > 1:
        return (f"{shapes}: db is the mean of grad_out over the batch; b is added to every sample, so each "
                "sample's gradient adds up: db = grad_out.sum(dim=0), not .mean(dim=0)")
    if got_db.numel() == 1 and b.numel() > 1:
        return (f"{shapes}: db is a single number; sum over the batch dimension only (dim=0), which keeps "
                f"one entry per output, shape {tuple(b.shape)}")
    if got_db.shape != b.shape:
        return f"{shapes}: db has shape {tuple(got_db.shape)} but b has shape {tuple(b.shape)}"
    return f"{shapes}: db has the right shape but the wrong values; b[o] is added to y[b, o] for every sample b"


def _wrong_shape(shapes: str, grad_name: str, grad: torch.Tensor, name: str, tensor: torch.Tensor) -> str:
    return (f"{shapes}: {grad_name} has shape {tuple(grad.shape)} but {name} has shape {tuple(tensor.shape)}; "
            "each gradient has the shape of the tensor it belongs to")


@never_raises("Exercise 1 (linear_backward)")
def check_linear_backward(fn: Any) -> bool:
    """Check ``fn(X, W, grad_out) -> (dX, dW, db)`` for ``y = X @ W.T + b`` against autograd on random shapes.

    ``X`` is (B, in), ``W`` is (out, in) as ``nn.Linear`` stores it, ``b`` is (out,) and
    ``grad_out`` = dL/dy is (B, out). Any correct formula is accepted (matmul, einsum,
    loops); the classic slips (dW transposed, db averaged or not summed over the batch,
    dX = grad_out @ W.T, gradients of the wrong shape, or in the wrong order) each get
    their own hint.

    Introduced in lesson 02.
    """
    name = "Exercise 1 (linear_backward)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"linear_backward must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(2)
    for batch, n_in, n_out in _LINEAR_SHAPES:
        X = torch.randn(batch, n_in, generator=gen, dtype=torch.float64)
        W = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64)
        b = torch.randn(n_out, generator=gen, dtype=torch.float64)
        grad_out = torch.randn(batch, n_out, generator=gen, dtype=torch.float64)
        expected = _autograd_linear(X, W, b, grad_out)
        try:
            got = fn(X.clone(), W.clone(), grad_out.clone())
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"for X {tuple(X.shape)}, W {tuple(W.shape)}, grad_out {tuple(grad_out.shape)} "
                          f"it raised {type(err).__name__}: {err}. Write each product's shapes next to it: "
                          "dX must be (B, in), dW (out, in), db (out,)")
        if is_missing(got):
            return missing_result(name, fn, got)
        if isinstance(got, tuple | list) and any(is_missing(g) for g in got):
            return report(name, None)
        problem = _linear_problem(got, X, W, b, grad_out, expected)
        if problem:
            return report(name, False, problem)
    return report(name, True, f"matches autograd of F.linear on {len(_LINEAR_SHAPES)} random shapes (B, in, out)")


def _grad_through(apply: Any, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor | None:
    """Return the gradient that ``apply`` sends back to ``x`` for upstream gradient ``v`` (None if none)."""
    leaf = x.detach().clone().requires_grad_(True)
    out = apply(leaf)
    out.backward(v)
    return leaf.grad


@never_raises("Exercise 2 (SiLU backward)")
def check_silu_backward(function_cls: Any) -> bool:
    """Check a ``torch.autograd.Function`` computing SiLU ``x * sigmoid(x)``: its backward must pass gradcheck.

    On inputs of several shapes ``torch.autograd.gradcheck`` compares the backward
    with finite differences in float64, and the gradient for a random upstream
    gradient is compared with autograd of ``F.silu``. Typical mistakes (forgetting ``grad_output``, one half of the product
    rule) get their own hint.

    Introduced in lesson 02.
    """
    name = "Exercise 2 (SiLU backward)"
    if is_missing(function_cls):
        return report(name, None)
    if not (isinstance(function_cls, type) and issubclass(function_cls, torch.autograd.Function)):
        return report(name, False, f"expected a subclass of torch.autograd.Function, got {function_cls!r}")
    gen = torch.Generator().manual_seed(3)
    shapes = [(6,), (3, 4), (2, 2, 3)]
    for shape in shapes:
        x = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
        v = torch.randn(shape, generator=gen, dtype=torch.float64)
        try:
            out = function_cls.apply(x.clone())
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"the forward raised {type(err).__name__}: {err}")
        if not isinstance(out, torch.Tensor) or not torch.allclose(out, F.silu(x)):
            return report(name, False, "the forward no longer returns x * sigmoid(x): leave it as given")
        try:
            got = _grad_through(function_cls.apply, x, v)
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"calling backward raised {type(err).__name__}: {err}. backward receives "
                          "(ctx, grad_output) and must return one gradient per input of forward, "
                          "each with that input's shape")
        if got is None:
            return report(name, None, "not done yet: backward returned None, so no gradient reached x")
        expected = _grad_through(F.silu, x, v)
        if tuple(got.shape) != shape:
            return report(name, False, f"backward returned shape {tuple(got.shape)} for an input of shape {shape}: "
                          "the gradient must have the input's shape")
        try:
            passed = torch.autograd.gradcheck(function_cls.apply, (x.clone().requires_grad_(True),),
                                              raise_exception=False)
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"gradcheck raised {type(err).__name__}: {err}")
        if passed and torch.allclose(got, expected, atol=1e-7):
            continue
        s = torch.sigmoid(x)
        local = s * (1 + x * (1 - s))  # the local derivative d silu / dx
        if torch.allclose(got, local, atol=1e-7):
            return report(name, False, "gradcheck failed: you returned the local derivative only; multiply it by "
                          "grad_output (chain rule), the gradient arriving from the layers above")
        if torch.allclose(got, v * s, atol=1e-7):
            return report(name, False, "gradcheck failed: product rule, d(x * s)/dx = s + x * ds/dx with "
                          "ds/dx = s * (1 - s); you kept only the first term")
        if torch.allclose(got, v * x * s * (1 - s), atol=1e-7):
            return report(name, False, "gradcheck failed: product rule, d(x * s)/dx = s + x * s * (1 - s); "
                          "you forgot the first term s")
        diff = (got - expected).abs().max().item()
        return report(name, False, f"gradcheck failed for an input of shape {shape}: your backward disagrees with "
                      f"finite differences (and with autograd of F.silu by up to {diff:.3g}). Write s = sigmoid(x), "
                      "differentiate x * s with the product rule, and multiply by grad_output. Run "
                      "gradcheck(SiLU.apply, (x,)) on a float64 x to see both Jacobians")
    return report(name, True, f"passes gradcheck and matches autograd of F.silu on {len(shapes)} inputs")
