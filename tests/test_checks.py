import numpy as np
import pytest
import torch

from helpers import checks


def test_check_tensor_passes_and_reports(lenient, capsys):
    assert checks.check_tensor(torch.ones(2, 3), torch.ones(2, 3), "t") is True
    assert "✓ t" in capsys.readouterr().out


@pytest.mark.parametrize(
    "got,hint",
    [
        (None, "not done yet"),
        (np.ones((2, 3)), "torch.as_tensor"),
        (torch.ones(3, 2), "another order"),
        (torch.ones(6), "view/reshape"),
        (torch.ones(2, 3, dtype=torch.float64), "dtype is torch.float64"),
        (torch.ones(2, 3) * 2, "values differ"),
    ],
)
def test_check_tensor_hints(lenient, capsys, got, hint):
    assert checks.check_tensor(got, torch.ones(2, 3), "t") is False
    assert hint in capsys.readouterr().out


def test_integer_tensors_report_how_many_differ(lenient, capsys):
    assert not checks.check_tensor(torch.tensor([1, 2, 4]), torch.tensor([1, 2, 3]))
    assert "1 of 3 values differ" in capsys.readouterr().out


def test_strict_mode_raises(strict):
    with pytest.raises(checks.CheckFailed, match="values differ"):
        checks.check_tensor(torch.zeros(2), torch.ones(2))
    with pytest.raises(checks.CheckFailed, match="not done"):
        checks.check_value(None, 3)
    assert checks.check_value(3, 3) is True  # passing checks never raise


@pytest.mark.parametrize(
    "got,expected,ok",
    [
        (3, 3, True),
        (torch.tensor(3), 3, True),
        (np.int64(3), 3, True),
        (3.0000001, 3.0, True),
        (2, 3, False),
        ((2, 3), (2, 3), True),
        (torch.Size([2, 3]), (2, 3), True),
        ([2, 3], (2, 3), True),
        ((3, 2), (2, 3), False),
        ("a", "a", True),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"b": 1}, False),
        (True, 1, False),
    ],
)
def test_check_value(lenient, got, expected, ok):
    assert checks.check_value(got, expected) is ok


def test_check_function_compares_with_reference(lenient, capsys):
    cases = [(torch.tensor([1.0, 2.0]),), (torch.tensor([-3.0]),)]
    assert checks.check_function(lambda x: x * 2, lambda x: x + x, cases, "double")
    assert not checks.check_function(lambda x: x * 3, lambda x: x + x, cases, "double")
    assert "for (tensor of shape (2,))" in capsys.readouterr().out


def test_check_function_never_crashes_on_learner_errors(lenient, capsys):
    def broken(x):
        raise KeyError("oops")

    assert checks.check_function(broken, lambda x: x, [(1,)], "f") is False
    assert "raised KeyError" in capsys.readouterr().out
    assert checks.check_function(lambda x: None, lambda x: x, [(1,)], "f") is False
    assert "not done yet" in capsys.readouterr().out
    assert checks.check_function(42, lambda x: x, [(1,)], "f") is False
    assert "expected a function" in capsys.readouterr().out


def test_check_function_protects_inputs_from_in_place_changes(lenient):
    def in_place(x):
        x.mul_(0)
        return x

    assert checks.check_function(in_place, lambda x: x * 0, [(torch.ones(3),)]) is True


def test_check_function_needs_cases():
    with pytest.raises(ValueError, match="at least one case"):
        checks.check_function(lambda x: x, lambda x: x, [])


def test_check_true_and_compare(lenient, capsys):
    assert checks.check_true(1 + 1 == 2, "sum", "hint") is True
    assert checks.check_true(False, "sum", "try again") is False
    assert "try again" in capsys.readouterr().out
    assert checks.compare("x", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-9]))
    line = capsys.readouterr().out
    assert "approx: True" in line and "maxdiff" in line
    assert not checks.compare("x", torch.ones(2), torch.ones(3))


def test_score(capsys):
    assert checks.score({"1": True, "2": False, "3": True}) == "2/3 tasks pass"
    assert "still to do: 2" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no results"):
        checks.score({})
