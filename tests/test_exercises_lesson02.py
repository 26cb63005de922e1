"""Tests for the lesson 02 exercise checks: answers pass, stubs are "not done", mistakes get hints."""

from __future__ import annotations

import pytest
import torch

from helpers.checks import CheckFailed
from helpers.exercises.lesson02 import check_mean_squares_grad, check_silu_backward

# ---------------------------------------------------------------- Exercise 1


def test_mean_squares_grad_answer_passes(lenient, capsys):
    assert check_mean_squares_grad(lambda x: 2 * x / x.numel())
    assert "✓" in capsys.readouterr().out


def test_mean_squares_grad_other_spelling_passes(lenient):
    assert check_mean_squares_grad(lambda x: x.mul(2).div(torch.tensor(x.shape).prod()))


@pytest.mark.parametrize("stub", [None, lambda x: None])
def test_mean_squares_grad_stub_not_done(lenient, capsys, stub):
    assert not check_mean_squares_grad(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x: 2 * x, "sum of squares"),
        (lambda x: x / x.numel(), "factor 2"),
        (lambda x: 2 * x / len(x), "len(x)"),
        (lambda x: (2 * x / x.numel()).sum(), "one partial derivative per element"),
        (lambda x: 2 * x / x.numel() ** 2, "divide by n once"),
        (lambda x: x.numpy() * 2 / x.numel(), "return a tensor"),
        (lambda x: x**2, "differ from autograd"),
        (lambda x: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_mean_squares_grad_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_mean_squares_grad(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_mean_squares_grad_not_a_function(lenient, capsys):
    assert not check_mean_squares_grad(torch.ones(3))
    assert "must be a function" in capsys.readouterr().out


def test_mean_squares_grad_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_mean_squares_grad(lambda x: 2 * x)
    with pytest.raises(CheckFailed):
        check_mean_squares_grad(None)


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
