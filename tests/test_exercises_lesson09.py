"""Unit tests for the lesson 09 exercise check: gradient clipping by total norm, by hand."""

from __future__ import annotations

import pytest
import torch

from helpers.checks import CheckFailed
from helpers.exercises.lesson09 import check_clip_by_total_norm, clip_cases


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total


def another_answer(parameters, max_norm):
    """Written differently: a list first, vector_norm of the norms, exact scale, a float returned."""
    params = [p for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])).item()
    if total > max_norm:
        for p in params:
            p.grad = p.grad * (max_norm / total)  # replacing p.grad is fine too
    return total


def test_answers_pass(capsys):
    assert check_clip_by_total_norm(answer) is True
    assert check_clip_by_total_norm(another_answer) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and f"all {len(clip_cases())} cases" in out


def test_torch_itself_passes():
    assert check_clip_by_total_norm(torch.nn.utils.clip_grad_norm_) is True


def test_stub_is_not_done(capsys):
    def stub(parameters, max_norm):
        pass

    assert check_clip_by_total_norm(None) is False
    assert check_clip_by_total_norm(stub) is False
    assert capsys.readouterr().out.count("not done yet") == 2


def per_tensor(parameters, max_norm):
    total = 0.0
    for p in parameters:
        if p.grad is not None:
            n = p.grad.norm().item()
            total += n**2
            p.grad.mul_(min(1.0, max_norm / (n + 1e-6)))
    return total**0.5


def by_value(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    for p in params:
        p.grad.clamp_(-max_norm, max_norm)
    return total


def always_scales(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    for p in params:
        p.grad.mul_(max_norm / total)
    return total


def upside_down(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    if total > max_norm:
        for p in params:
            p.grad.mul_(total / max_norm)
    return total


def returns_norm_after(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))


def returns_squared(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return total**2


def not_in_place(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    for p in params:
        g = p.grad
        g = g * min(1.0, max_norm / total.item())  # noqa: F841 - the mistake: p.grad is untouched
    return total


def reads_generator_twice(parameters, max_norm):
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters if p.grad is not None]))
    for p in parameters:  # empty the second time when parameters is a generator
        if p.grad is not None:
            p.grad.mul_(min(1.0, max_norm / total.item()))
    return total


def crashes_on_missing_grad(parameters, max_norm):
    params = list(parameters)
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    for p in params:
        p.grad.mul_(min(1.0, max_norm / total.item()))
    return total


def returns_nothing(parameters, max_norm):
    answer(parameters, max_norm)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (per_tensor, "each tensor on its own"),
        (by_value, "clipping by value"),
        (always_scales, "already within max_norm"),
        (upside_down, "upside down"),
        (returns_norm_after, "norm after clipping"),
        (returns_squared, "squared norm"),
        (not_in_place, "in place"),
        (reads_generator_twice, "generator"),
        (crashes_on_missing_grad, "grad = None; skip it"),
        (returns_nothing, "nothing was returned"),
    ],
)
def test_wrong_answers_get_their_hint(wrong, hint, capsys):
    assert check_clip_by_total_norm(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_a_crash_is_reported_not_raised(capsys):
    def crashes(parameters, max_norm):
        raise RuntimeError("boom")

    assert check_clip_by_total_norm(crashes) is False
    assert "RuntimeError: boom" in capsys.readouterr().out


def test_bad_input_is_reported(capsys):
    assert check_clip_by_total_norm(3.5) is False
    assert "expected a function, got a float" in capsys.readouterr().out


def test_a_non_number_return_is_reported(capsys):
    def returns_text(parameters, max_norm):
        answer(parameters, max_norm)
        return "norm"

    assert check_clip_by_total_norm(returns_text) is False
    assert "returned a str" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_clip_by_total_norm(per_tensor)
    assert check_clip_by_total_norm(answer) is True


def test_a_library_call_passes_with_a_note(capsys):
    assert check_clip_by_total_norm(lambda params, max_norm: torch.nn.utils.clip_grad_norm_(params, max_norm))
    out = capsys.readouterr().out
    assert "✓" in out and "now try it from the formula" in out
    assert torch.nn.utils.clip_grad_norm_.__name__ == "clip_grad_norm_"  # the spy was removed again


def test_a_formula_answer_gets_no_library_note(capsys):
    assert check_clip_by_total_norm(answer)
    assert "formula" not in capsys.readouterr().out
