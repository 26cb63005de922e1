"""Unit tests for the lesson 06 exercise checks."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.checks import CheckFailed
from helpers.cnn import SmallCNN
from helpers.exercises.lesson06 import check_conv_output_size, check_flat_features, conv_cases


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def answer(w, f, p=0, s=1):
    return (w - f + 2 * p) // s + 1


def test_answer_passes(capsys):
    assert check_conv_output_size(answer) is True
    assert "✓" in capsys.readouterr().out


def test_another_correct_spelling_passes(capsys):
    assert check_conv_output_size(lambda w, f, p, s: math.floor((w + 2 * p - f) / s) + 1) is True
    assert "✓" in capsys.readouterr().out


def test_whole_floats_pass_with_a_tip(capsys):
    assert check_conv_output_size(lambda w, f, p, s: float((w - f + 2 * p) // s + 1)) is True
    assert "tip" in capsys.readouterr().out


def test_stub_is_not_done(capsys):
    assert check_conv_output_size(None) is False
    assert "not done yet" in capsys.readouterr().out

    def stub(w, f, p=0, s=1):
        pass

    assert check_conv_output_size(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda w, f, p, s: (w - f + 2 * p) // s, "forgot the + 1"),
        (lambda w, f, p, s: (w - f + p) // s + 1, "counts twice"),
        (lambda w, f, p, s: (w - f + 2 * p) / s + 1, "floor division"),
        (lambda w, f, p, s: math.ceil((w - f + 2 * p) / s) + 1, "rounded up"),
        (lambda w, f, p, s: (w - f + 2 * p) + 1, "stride is missing"),
        (lambda w, f, p, s: (w + f + 2 * p) // s + 1, "signs"),
        (lambda w, f, p, s: (w - f + 2 * p) // s + 2, "off by one"),
    ],
)
def test_wrong_answers_get_the_right_hint(wrong, hint, capsys):
    assert check_conv_output_size(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_function_that_raises_is_reported(capsys):
    def broken(w, f, p, s):
        raise ZeroDivisionError("oops")

    assert check_conv_output_size(broken) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_not_a_function_and_wrong_type(capsys):
    assert check_conv_output_size(26) is False
    assert "expected a function" in capsys.readouterr().out
    assert check_conv_output_size(lambda w, f, p, s: "26") is False
    assert "return an int" in capsys.readouterr().out


def test_cases_cover_conv_pool_padding_and_strides():
    cases = conv_cases()
    assert {layer for layer, *_ in cases} == {"conv", "pool"}
    assert any(p > 0 for *_, p, _ in cases) and any(s > 1 for *_, s in cases)
    assert any((w - f + 2 * p) % s for _, w, f, p, s in cases)  # some strides do not divide evenly
    assert all(p <= f // 2 for layer, _, f, p, _ in cases if layer == "pool")


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_conv_output_size(lambda w, f, p, s: (w - f + 2 * p) // s)
    with pytest.raises(CheckFailed):
        check_flat_features(None, SmallCNN(in_channels=3, image_size=64).features, 3, 64)


FEATURES = SmallCNN(in_channels=3, image_size=64).features


def test_flat_features_answer_passes(capsys):
    assert check_flat_features(32 * 16 * 16, FEATURES, 3, 64) is True
    assert check_flat_features(torch.tensor(8192), FEATURES, 3, 64) is True
    assert check_flat_features(8192.0, FEATURES, 3, 64) is True
    assert capsys.readouterr().out.count("✓") == 3


def test_flat_features_stub_is_not_done(capsys):
    assert check_flat_features(None, FEATURES, 3, 64) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (16 * 16, "multiply by the channel count"),
        (32 * 32 * 32, "before the last 2x2 pooling"),
        (3 * 64 * 64, "input size"),
        (32 * 16, "height AND the width"),
        (1234, "work out the side"),
        ("8192", "expected an int"),
    ],
)
def test_flat_features_wrong_answers(wrong, hint, capsys):
    assert check_flat_features(wrong, FEATURES, 3, 64) is False
    assert hint in capsys.readouterr().out


def test_flat_features_keeps_the_training_mode():
    features = SmallCNN(in_channels=3, image_size=64).features.train()
    check_flat_features(8192, features, 3, 64)
    assert features.training


def test_numpy_and_tensor_integers_pass(capsys):
    import numpy as np

    assert check_conv_output_size(lambda w, f, p, s: np.floor_divide(w - f + 2 * p, s) + 1) is True
    assert check_conv_output_size(lambda w, f, p, s: np.int64((w - f + 2 * p) // s + 1)) is True
    assert check_conv_output_size(lambda w, f, p, s: torch.tensor((w - f + 2 * p) // s + 1)) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 3 and "tip" not in out
    assert check_flat_features(np.prod([32, 16, 16]), FEATURES, 3, 64) is True
    assert check_flat_features(np.int32(8192), FEATURES, 3, 64) is True
    assert "tip" not in capsys.readouterr().out


def test_whole_float_flat_features_get_the_same_tip(capsys):
    assert check_flat_features(8192.0, FEATURES, 3, 64) is True
    assert "tip" in capsys.readouterr().out
    assert check_flat_features(8192.5, FEATURES, 3, 64) is False


def test_forgotten_return_is_named(capsys):
    def forgot(w, f, p=0, s=1):
        (w - f + 2 * p) // s + 1  # noqa: B018 - the classic mistake: no return

    assert check_conv_output_size(forgot) is False
    out = capsys.readouterr().out
    assert "forget `return`" in out and "not done yet" not in out


def test_cases_are_drawn_at_check_time():
    assert conv_cases(seed=1) == conv_cases(seed=1)
    assert conv_cases(seed=1) != conv_cases(seed=2)
    assert conv_cases() != conv_cases() or conv_cases() != conv_cases()  # fresh draws differ
    for seed in range(20):  # every draw keeps the properties the hints rely on
        cases = conv_cases(seed=seed)
        assert len(cases) == 16 and cases[-1][1] == cases[-1][2]
        assert all(p <= f // 2 for layer, _, f, p, _ in cases if layer == "pool")
        assert any((w - f + 2 * p) % s for _, w, f, p, s in cases)
    with pytest.raises(ValueError, match="seed"):
        conv_cases(seed=-1)


def test_a_lookup_table_of_fixed_cases_fails(capsys):
    table = {(w, f, p, s): answer(w, f, p, s) for _, w, f, p, s in conv_cases(seed=0)}
    assert check_conv_output_size(lambda w, f, p, s: table.get((w, f, p, s), 0)) is False
