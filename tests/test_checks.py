import numpy as np
import pytest
import torch

from helpers import checks
from helpers.checks import CheckFailed, report


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


# ------------------------------------------------------------------ issue 18: checks that never raise
def test_strip_ansi_and_describe_error():
    from helpers.checks import describe_error, strip_ansi

    assert strip_ansi("\x1b[31mred\x1b[0m text") == "red text"
    text = describe_error(RuntimeError("\x1b[1mboom\x1b[0m\nmore"))
    assert text == "RuntimeError: boom more"
    assert "dtype mismatch" in describe_error(RuntimeError("expected scalar type Float but found Double"))
    assert "device mismatch" in describe_error(RuntimeError("Tensor on device meta is not on the expected device cpu!"))
    with pytest.raises(ValueError, match="str"):
        strip_ansi(3)
    with pytest.raises(ValueError, match="exception"):
        describe_error("not an exception")


def test_report_keeps_one_line(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    report("x", False, "first\nsecond \x1b[31mred\x1b[0m" + "y" * 2000)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out and "first second red" in out and out.rstrip().endswith("...")


def test_is_stub_tells_the_stub_from_a_forgotten_return():
    from helpers.checks import is_stub

    def stub(x):
        """Docstring."""
        pass

    def forgot(x):
        y = x + 1  # noqa: F841

    class Holder:
        def method(self):
            pass

    assert is_stub(stub) and is_stub(Holder().method) and is_stub(Holder.method)
    assert not is_stub(forgot) and not is_stub(print) and not is_stub(None)


def test_missing_result_messages(capsys, monkeypatch):
    from helpers.checks import RETURNED_NONE, missing_result

    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)

    def stub():
        pass

    def forgot():
        _ = 1

    assert missing_result("x", stub) is False
    assert "not done yet" in capsys.readouterr().out
    assert missing_result("x", forgot) is False
    assert RETURNED_NONE in capsys.readouterr().out


def test_guarded_call():
    from helpers.checks import guarded_call

    assert guarded_call(lambda a, b=0: a + b, 1, b=2) == (3, None)
    result, hint = guarded_call(lambda: 1 / 0)
    assert result is None and hint.startswith("it raised ZeroDivisionError")
    assert guarded_call(5)[1].startswith("expected something callable")


def test_tensor_mismatch_and_dtype_problem():
    from helpers.checks import dtype_problem, tensor_mismatch

    ref = torch.ones(2, 3)
    assert tensor_mismatch(ref.clone(), ref) is None
    assert "float64; the reference is float32" in tensor_mismatch(ref.double(), ref)
    assert tensor_mismatch(ref.double(), ref, dtype=False) is None
    assert "meta" in tensor_mismatch(torch.empty(2, 3, device="meta"), ref)
    assert "shape" in tensor_mismatch(torch.ones(3, 2), ref)
    assert "torch.Tensor" in tensor_mismatch([1, 2], ref)
    assert "values differ" in tensor_mismatch(ref * 2, ref)
    assert "values are right" in dtype_problem(ref.double(), ref)
    assert "values are right" not in dtype_problem(ref.double() * 3, ref)
    with pytest.raises(ValueError):
        tensor_mismatch(ref, [1])
    with pytest.raises(ValueError):
        dtype_problem(ref, 1)


def test_never_raises_turns_any_exception_into_one_line(capsys, monkeypatch):
    from helpers.checks import CheckUsageError, never_raises

    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)

    @never_raises("demo")
    def check(answer):
        return report("demo", True) if answer(torch.ones(2)).sum() > 0 else report("demo", False, "no")

    assert check(lambda x: x) is True
    capsys.readouterr()
    assert check(lambda x: x.double() @ torch.ones(2, 2)) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "dtype mismatch" in out and out.startswith("✗ demo")

    @never_raises("demo")
    def misused(answer):
        raise CheckUsageError("the notebook called the check wrongly")

    with pytest.raises(CheckUsageError):
        misused(1)
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check(lambda x: 1 / 0)
    with pytest.raises(ValueError):
        never_raises("")


def test_torch_load_calls_sees_every_way_of_reading(tmp_path):
    from torch import load

    from helpers.checks import torch_load_calls

    path = tmp_path / "c.pt"
    torch.save({"w": torch.ones(2)}, path)
    with torch_load_calls(lambda content: {"w": torch.zeros(2)}) as calls:
        assert torch.equal(load(path, weights_only=True)["w"], torch.zeros(2))
        torch.serialization.load(path, weights_only=False)
        torch.load(path)
    assert list(calls) == [True, False, True] and calls.explicit == [None]
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))  # the hook is gone


def test_score_told_the_tasks_ignores_forged_and_missing_entries(capsys):
    forged = {"task 1": True, "task 2": "yes", "task 9": True, "bonus": True}
    assert checks.score(forged, tasks=3) == "1/3 tasks pass"
    out = capsys.readouterr().out
    assert "still to do: task 2, task 3" in out and "not counted, not a task: task 9, bonus" in out
    assert checks.score({"task 1": True, "task 2": True}, tasks=["task 1", "task 2"]) == "2/2 tasks pass"
    assert checks.score({}, tasks=2) == "0/2 tasks pass"
    for bad in (0, "task 1", [], [1, 2], True):
        with pytest.raises(ValueError):
            checks.score({"task 1": True}, tasks=bad)
    with pytest.raises(ValueError):
        checks.score(["task 1"], tasks=1)
