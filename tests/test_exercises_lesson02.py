"""Tests for the lesson 02 exercise checks: answers pass, stubs are "not done", mistakes get hints."""

from __future__ import annotations

import pytest
import torch

from helpers.checks import CheckFailed
from helpers.exercises.lesson02 import check_linear_backward, check_silu_backward

# ---------------------------------------------------------------- Exercise 1


def _linear_right(X, W, grad_out):
    return grad_out @ W, grad_out.T @ X, grad_out.sum(dim=0)


def test_linear_backward_answer_passes(lenient, capsys):
    assert check_linear_backward(_linear_right)
    assert "✓" in capsys.readouterr().out


def test_linear_backward_other_spellings_pass(lenient):
    def with_einsum(X, W, grad_out):
        return (torch.einsum("bo,oi->bi", grad_out, W), torch.einsum("bo,bi->oi", grad_out, X),
                torch.einsum("bo->o", grad_out))

    def with_loops_in_float32(X, W, grad_out):
        X, W, grad_out = X.float(), W.float(), grad_out.float()
        dW = sum(torch.outer(grad_out[i], X[i]) for i in range(X.shape[0]))
        return [grad_out.matmul(W), dW, grad_out.sum(0)]  # a list is fine too

    assert check_linear_backward(with_einsum)
    assert check_linear_backward(with_loops_in_float32)


@pytest.mark.parametrize("stub", [None, lambda X, W, g: None, lambda X, W, g: (None, None, None)])
def test_linear_backward_stub_not_done(lenient, capsys, stub):
    assert not check_linear_backward(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, W, g: (g @ W, X.T @ g, g.sum(0)), "dW is transposed"),
        (lambda X, W, g: (g @ W, g.T @ X, g.mean(0)), "not .mean(dim=0)"),
        (lambda X, W, g: (g @ W, g.T @ X, g), "one row per sample"),
        (lambda X, W, g: (g @ W, g.T @ X, g.sum()), "db is a single number"),
        (lambda X, W, g: (g @ W.T, g.T @ X, g.sum(0)), "multiplies by W itself"),
        (lambda X, W, g: (g @ W, g.T @ X / X.shape[0], g.sum(0)), "divided by the batch size"),
        (lambda X, W, g: (g.T @ X, g @ W, g.sum(0)), "wrong order"),
        (lambda X, W, g: (g @ W, g.T @ X), "tuple (dX, dW, db), got a tuple of 2 items"),
        (lambda X, W, g: g @ W, "got a Tensor"),
        (lambda X, W, g: ((g @ W).numpy(), g.T @ X, g.sum(0)), "return three tensors"),
        (lambda X, W, g: (g @ W, g.T @ X * 2, g.sum(0)), "dW has the right shape but the wrong values"),
        (lambda X, W, g: (X, g.T @ X, g.sum(0)), "dX has the right shape but the wrong values"),
        (lambda X, W, g: (g @ W, g.T @ X, g.sum(0) + 1), "db has the right shape but the wrong values"),
        (lambda X, W, g: (g.T, g.T @ X, g.sum(0)), "dX has shape"),
        (lambda X, W, g: (g @ W, X @ X.T, g.sum(0)), "dW has shape"),
        (lambda X, W, g: (g @ W, g.T @ X, g.sum(1)), "db has shape"),
        (lambda X, W, g: (g @ W, g @ X, g.sum(0)), "raised RuntimeError"),
    ],
)
def test_linear_backward_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_linear_backward(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_linear_backward_not_a_function(lenient, capsys):
    assert not check_linear_backward(torch.ones(3))
    assert "must be a function" in capsys.readouterr().out


def test_linear_backward_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_linear_backward(lambda X, W, g: (g @ W, X.T @ g, g.sum(0)))
    with pytest.raises(CheckFailed):
        check_linear_backward(None)


# ---------------------------------------------------------------- Exercise 2


def _silu_function(backward_body):
    """Build a SiLU autograd.Function whose backward is ``backward_body(x, grad_output)``."""

    class SiLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * torch.sigmoid(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return backward_body(x, grad_output)

    return SiLU


def _right(x, g):
    s = torch.sigmoid(x)
    return g * (s + x * s * (1 - s))


def test_silu_answer_passes(lenient, capsys):
    assert check_silu_backward(_silu_function(_right))
    out = capsys.readouterr().out
    assert "✓" in out and "gradcheck" in out


def test_silu_other_spelling_passes(lenient):
    def spelled_differently(x, g):
        s = 1 / (1 + torch.exp(-x))
        return g * s * (1 + x - x * s)

    assert check_silu_backward(_silu_function(spelled_differently))


def test_silu_stub_not_done(lenient, capsys):
    assert not check_silu_backward(_silu_function(lambda x, g: None))
    assert "not done yet" in capsys.readouterr().out
    assert not check_silu_backward(None)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, g: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))), "multiply it by grad_output"),
        (lambda x, g: g * torch.sigmoid(x), "kept only the first term"),
        (lambda x, g: g * x * torch.sigmoid(x) * (1 - torch.sigmoid(x)), "forgot the first term"),
        (lambda x, g: g * torch.sigmoid(x) * (1 - torch.sigmoid(x)), "gradcheck failed"),
        (lambda x, g: g.sum(), "each with that input's shape"),
        (lambda x, g: (g, g), "raised"),
    ],
)
def test_silu_wrong_backwards_get_hints(lenient, capsys, wrong, hint):
    assert not check_silu_backward(_silu_function(wrong))
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_silu_changed_forward_is_reported(lenient, capsys):
    class NotSiLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.sigmoid(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    assert not check_silu_backward(NotSiLU)
    assert "forward no longer returns" in capsys.readouterr().out


def test_silu_not_a_function_class(lenient, capsys):
    assert not check_silu_backward(torch.nn.SiLU)
    assert "subclass of torch.autograd.Function" in capsys.readouterr().out


def test_silu_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_silu_backward(_silu_function(lambda x, g: g * torch.sigmoid(x)))
