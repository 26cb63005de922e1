"""Tests for the lesson 03 exercise checks: answers pass, stubs are "not done", mistakes get hints."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.checks import CheckFailed
from helpers.exercises.lesson03 import check_dropout, check_init_weights, check_mlp_forward

# ---------------------------------------------------------------- Exercise 1


def _mlp(X, layers, act=torch.relu, last=False, bias=True):
    out = X
    for i, (W, b) in enumerate(layers):
        out = out @ W + (b if bias else 0)
        if act is not None and (i < len(layers) - 1 or last):
            out = act(out)
    return out


def test_mlp_answer_passes(lenient, capsys):
    assert check_mlp_forward(_mlp)
    assert "✓" in capsys.readouterr().out


def test_mlp_other_spelling_passes(lenient):
    def with_linear(X, layers):
        for W, b in layers[:-1]:
            X = torch.nn.functional.linear(X, W.T, b).clamp(min=0)
        W, b = layers[-1]
        return torch.addmm(b, X, W)

    assert check_mlp_forward(with_linear)


@pytest.mark.parametrize("stub", [None, lambda X, layers: None])
def test_mlp_stub_not_done(lenient, capsys, stub):
    assert not check_mlp_forward(stub)
    assert "not done yet" in capsys.readouterr().out


def _two_layers_only(X, layers):
    (W1, b1), (W2, b2) = layers[0], layers[1]
    return torch.relu(X @ W1 + b1) @ W2 + b2


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, layers: _mlp(X, layers, last=True), "no ReLU after the last layer"),
        (lambda X, layers: _mlp(X, layers, act=None), "apply torch.relu between layers"),
        (lambda X, layers: _mlp(X, layers, bias=False), "add the bias"),
        (lambda X, layers: _mlp(X, layers, act=torch.sigmoid), "not sigmoid"),
        (lambda X, layers: _mlp(X, [(W.T, b) for W, b in layers]), "multiply the batch on the left"),
        (_two_layers_only, "do not assume two layers"),
        (lambda X, layers: _mlp(X, layers).T, "should have shape"),
        (lambda X, layers: _mlp(X, layers).numpy(), "return the output tensor"),
        (lambda X, layers: _mlp(X, layers) * 2, "values differ"),
    ],
)
def test_mlp_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_mlp_forward(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_mlp_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_mlp_forward(lambda X, layers: _mlp(X, layers, act=None))


# ---------------------------------------------------------------- Exercise 2


def _xavier(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def test_init_answer_passes(lenient, capsys):
    assert check_init_weights(_xavier)
    assert "✓" in capsys.readouterr().out


def test_init_by_hand_passes(lenient):
    def by_hand(module):
        if type(module) is nn.Linear:
            fan_out, fan_in = module.weight.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            with torch.no_grad():
                module.weight.uniform_(-bound, bound)
                module.bias.fill_(0.0)

    assert check_init_weights(by_hand)


def test_init_leaves_global_rng_alone(lenient):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_init_weights(_xavier)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("stub", [None, lambda module: None])
def test_init_stub_not_done(lenient, capsys, stub):
    assert not check_init_weights(stub)
    assert "not done yet" in capsys.readouterr().out


def _only_linear(init_weight, zero_bias=True):
    def fn(module):
        if isinstance(module, nn.Linear):
            init_weight(module.weight)
            if zero_bias:
                nn.init.zeros_(module.bias)

    return fn


def _no_isinstance(module):
    nn.init.xavier_uniform_(module.weight)
    nn.init.zeros_(module.bias)


def _hasattr_only(module):
    if hasattr(module, "weight"):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def _touches_batchnorm(module):
    _xavier(module)
    if isinstance(module, nn.BatchNorm1d):
        nn.init.zeros_(module.weight)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_only_linear(nn.init.xavier_uniform_, zero_bias=False), "biases should be zero"),
        (_only_linear(nn.init.kaiming_uniform_), "Kaiming uniform"),
        (_only_linear(nn.init.xavier_normal_), "xavier_normal_"),
        (_only_linear(lambda w: nn.init.xavier_uniform_(w, gain=2.0)), "default gain=1"),
        (_only_linear(lambda w: nn.init.uniform_(w, -0.01, 0.01)), "standard deviation"),
        (_only_linear(lambda w: w), "PyTorch's default init"),
        (_no_isinstance, "isinstance(module, nn.Linear)"),
        (_hasattr_only, "BatchNorm's weight is 1-D"),
        (_touches_batchnorm, "BatchNorm layer was changed"),
    ],
)
def test_init_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_init_weights(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_init_replacing_parameter_is_reported(lenient, capsys):
    def frozen(module):
        _xavier(module)
        if isinstance(module, nn.Linear):
            module.weight.requires_grad_(False)

    assert not check_init_weights(frozen)
    assert "trainable nn.Parameter" in capsys.readouterr().out


def test_init_not_callable(lenient, capsys):
    assert not check_init_weights(nn.Linear(2, 2).weight)
    assert "must be a function" in capsys.readouterr().out


def test_init_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_init_weights(_only_linear(nn.init.xavier_normal_))
    with pytest.raises(CheckFailed):
        check_init_weights(lambda module: None)


# ---------------------------------------------------------------- Exercise 2: dropout


def _dropout(x, p, training):
    if not training:
        return x
    mask = torch.rand_like(x) >= p  # keep with probability 1 - p
    return x * mask / (1 - p)


def test_dropout_answer_passes(lenient, capsys):
    assert check_dropout(_dropout)
    assert "✓" in capsys.readouterr().out


def test_dropout_other_spellings_pass(lenient):
    def with_bernoulli(x, p, training=True):
        if training:
            return x * torch.bernoulli(torch.full_like(x, 1 - p)) * (1 / (1 - p))
        return x.clone()

    def with_where(x, p, training):
        keep = torch.rand(x.shape) > p
        return torch.where(keep, x / (1 - p), torch.zeros_like(x)) if training else x

    assert check_dropout(with_bernoulli)
    assert check_dropout(with_where)
    assert check_dropout(lambda x, p, training: torch.nn.functional.dropout(x, p, training))


def test_dropout_leaves_global_rng_alone(lenient):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_dropout(_dropout)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("stub", [None, lambda x, p, training: None, lambda x, p, training: x])
def test_dropout_stub_not_done(lenient, capsys, stub):
    assert not check_dropout(stub)
    assert "not done yet" in capsys.readouterr().out


def _seeded(x, p, training):
    torch.manual_seed(0)
    return _dropout(x, p, training)


def _in_place(x, p, training):
    if training:
        x.mul_(torch.rand_like(x) >= p).div_(1 - p)
    return x


def _per_column(x, p, training):
    if not training:
        return x
    return x * (torch.rand(x.shape[-1]) >= p) / (1 - p)


def _swapped(x, p, training):
    return _dropout(x, p, not training)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x, "not rescaled"),
        (lambda x, p, t: x * (torch.rand_like(x) < p) / (1 - p) if t else x, "probability 1 - p"),
        (lambda x, p, t: x * (torch.rand_like(x) >= p) * (1 - p) if t else x, "multiplied by 1 - p"),
        (lambda x, p, t: x * (torch.rand_like(x) >= p) / p if t else x, "divided by p"),
        (lambda x, p, t: _dropout(x, p, True), "still dropped"),
        (lambda x, p, t: _dropout(x, p, t) if t else x / (1 - p), "scaled by 2"),
        (lambda x, p, t: _dropout(x, p, t) if t else x * (1 - p), "scaled by 0.5"),
        (_seeded, "exactly the same elements"),
        (_in_place, "changed its input in place"),
        (_per_column, "one per column"),
        (_swapped, "wrong way round"),
        (lambda x, p, t: _dropout(x, p, t).sum(), "input's shape"),
        (lambda x, p, t: _dropout(x, p, t).numpy(), "return a tensor"),
        (lambda x, p, t: x * (torch.rand_like(x) >= 0.5) / 0.5 if t else x, "expected about"),
        (lambda x, p, t: _dropout(x, p, t) * 1.1 if t else x, "should be x / (1 - p)"),
        (lambda x, p: x, "raised TypeError"),
    ],
)
def test_dropout_wrong_answers_get_hints(lenient, capsys, wrong, hint):
    assert not check_dropout(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_dropout_not_callable(lenient, capsys):
    assert not check_dropout(torch.ones(3))
    assert "must be a function" in capsys.readouterr().out


def test_dropout_strict_raises(strict):
    with pytest.raises(CheckFailed):
        check_dropout(lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x)
    with pytest.raises(CheckFailed):
        check_dropout(None)


def test_mlp_forward_float64_gets_a_dtype_hint(lenient, capsys):
    from helpers.exercises.lesson03 import check_mlp_forward

    def in_double(X, layers):
        out = X.double()
        for i, (W, b) in enumerate(layers):
            out = out @ W.double() + b.double()
            if i < len(layers) - 1:
                out = torch.relu(out)
        return out

    assert check_mlp_forward(in_double) is False
    out = capsys.readouterr().out
    assert "float64; the reference is float32" in out and "values are right" in out
