"""Tests for lesson 00's Exercise 2 check (check_make_run): answers, the stub and the classic mistakes."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from helpers import seed_everything
from helpers.checks import CheckFailed
from helpers.exercises import lesson00


def answer(seed):
    torch.manual_seed(seed)
    model = nn.Linear(4, 1)
    X = torch.randn(8, 4)
    return model(X).detach()


def answer_with_helper(seed):  # another correct spelling: the course's helper, no detach
    seed_everything(seed)
    model = nn.Linear(4, 1)
    return model(torch.randn(8, 4))


def stub(seed):  # what the learner starts from
    model = nn.Linear(4, 1)
    torch.manual_seed(seed)
    X = torch.randn(8, 4)
    return model(X).detach()


def no_seed(seed):
    model = nn.Linear(4, 1)
    return model(torch.randn(8, 4)).detach()


def fixed_seed(seed):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    return model(torch.randn(8, 4)).detach()


def numpy_seed(seed):
    np.random.seed(seed)
    model = nn.Linear(4, 1)
    return model(torch.randn(8, 4)).detach()


def python_seed(seed):
    random.seed(seed)
    model = nn.Linear(4, 1)
    return model(torch.randn(8, 4)).detach()


def seed_at_the_end(seed):
    model = nn.Linear(4, 1)
    X = torch.randn(8, 4)
    torch.manual_seed(seed)
    return model(X).detach()


def test_answers_pass(lenient):
    assert lesson00.check_make_run(answer) is True
    assert lesson00.check_make_run(answer_with_helper) is True


def test_stub_reports_not_done(lenient, capsys):
    assert lesson00.check_make_run(stub) is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "before torch.manual_seed" in out
    assert lesson00.check_make_run(None) is False
    assert "not done yet" in capsys.readouterr().out
    assert lesson00.check_make_run(lambda seed: None) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn,hint",
    [
        (no_seed, "the seed changes nothing"),
        (fixed_seed, "different seeds gave the same output"),
        (numpy_seed, "you seeded NumPy"),
        (python_seed, "you seeded Python's random"),
        (seed_at_the_end, "runs after the random draws"),
        (lambda seed: answer(seed).reshape(-1), "shape (8, 1)"),
        (lambda seed: 1 / 0, "raised ZeroDivisionError"),
        (3, "must be a function"),
    ],
)
def test_wrong_answers_get_their_own_hint(lenient, capsys, fn, hint):
    assert lesson00.check_make_run(fn) is False
    out = capsys.readouterr().out
    assert hint in out
    assert "not done yet" not in out


def test_random_states_are_restored(lenient):
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    expected = (torch.rand(1), np.random.rand(), random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    lesson00.check_make_run(numpy_seed)
    assert (torch.rand(1), np.random.rand(), random.random()) == expected


def test_strict_mode_raises_for_a_wrong_answer(strict):
    with pytest.raises(CheckFailed):
        lesson00.check_make_run(fixed_seed)
    assert lesson00.check_make_run(answer) is True
