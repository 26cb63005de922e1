"""Exercise checks for lesson 02 · Autograd."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from helpers.checks import is_missing, report

__all__ = ["check_mean_squares_grad", "check_silu_backward"]

# Inputs of several shapes: a vector, a matrix, a 3-D block and a single number.
_GRAD_SHAPES = [(5,), (3, 4), (2, 3, 2), (1,)]


def _autograd_mean_squares(x: torch.Tensor) -> torch.Tensor:
    """Return d/dx mean(x**2) computed by autograd, same shape as ``x``."""
    leaf = x.detach().clone().requires_grad_(True)
    (leaf**2).mean().backward()
    return leaf.grad


def check_mean_squares_grad(fn: Any) -> bool:
    """Check ``fn(x) -> dL/dx`` for ``L = mean(x**2)`` against autograd on inputs of several shapes.

    Any correct formula is accepted; the usual slips (missing 2, missing 1/n,
    ``len(x)`` instead of the number of elements, a scalar instead of one entry per
    element) each get their own hint.

    Introduced in lesson 02.
    """
    name = "Exercise 1 (mean_squares_grad)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"mean_squares_grad must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(2)
    for shape in _GRAD_SHAPES:
        x = torch.randn(shape, generator=gen, dtype=torch.float64) * 3
        expected = _autograd_mean_squares(x)
        try:
            got = fn(x.clone())
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"for x of shape {shape} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return report(name, None)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return a tensor (the formula applied to x), got a {type(got).__name__}")
        if tuple(got.shape) != shape:
            return report(name, False, f"for x of shape {shape} the gradient has shape {tuple(got.shape)}: "
                          "there is one partial derivative per element, so it must have x's shape "
                          "(do not sum or average the gradient)")
        got = got.detach().double()
        n = x.numel()
        if torch.allclose(got, expected, atol=1e-8, rtol=1e-6):
            continue
        if torch.allclose(got, 2 * x, atol=1e-8):
            return report(name, False, "this is the gradient of the sum of squares: the mean divides by n = x.numel()")
        if torch.allclose(got, x / n, atol=1e-8):
            return report(name, False, "you lost the factor 2: the derivative of x_i**2 is 2 * x_i")
        if x.ndim > 1 and torch.allclose(got, 2 * x / x.shape[0], atol=1e-8):
            return report(name, False, f"for x of shape {shape} you divided by len(x) = {x.shape[0]}: "
                          f"the mean runs over all n = x.numel() = {n} elements")
        if torch.allclose(got, 2 * x / n**2, atol=1e-8):
            return report(name, False, "divide by n once: L = (1/n) * sum(x_i**2), so dL/dx_i = 2 * x_i / n")
        diff = (got - expected).abs().max().item()
        return report(name, False, f"for x of shape {shape} the values differ from autograd by up to {diff:.3g}; "
                      "differentiate (1/n) * sum(x_i**2) with respect to one x_i")
    return report(name, True, f"matches autograd on {len(_GRAD_SHAPES)} inputs of different shapes")


def _grad_through(apply: Any, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor | None:
    """Return the gradient that ``apply`` sends back to ``x`` for upstream gradient ``v`` (None if none)."""
    leaf = x.detach().clone().requires_grad_(True)
    out = apply(leaf)
    out.backward(v)
    return leaf.grad


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
