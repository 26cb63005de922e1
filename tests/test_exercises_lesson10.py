"""Tests for the lesson 10 exercise checks: answers pass, stubs are "not done", mistakes get their own hints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.checks import CheckFailed
from helpers.exercises.lesson10 import (
    check_most_confused,
    check_preprocess,
    reference_most_confused,
    reference_preprocess,
)


@pytest.fixture(autouse=True)
def not_strict(lenient):
    """Checks report instead of raising, as for a learner (strict mode is tested on its own)."""


# ------------------------------------------------------------------ Exercise 1: most_confused
def answer_topk(matrix, k):
    size = matrix.shape[0]
    off = matrix.clone()
    off.fill_diagonal_(-1)
    counts, flat = off.flatten().topk(k)
    return [(i // size, i % size, c) for i, c in zip(flat.tolist(), counts.tolist(), strict=True)]


def answer_loops(matrix, k):
    """A second correct spelling: plain loops over a NumPy copy, lists instead of tuples, NumPy ints."""
    m = np.asarray(matrix)
    cells = [[t, p, m[t, p]] for t in range(len(m)) for p in range(len(m)) if t != p]
    cells.sort(key=lambda cell: cell[2], reverse=True)
    return cells[:k]


def with_diagonal(matrix, k):
    size = matrix.shape[0]
    counts, flat = matrix.flatten().topk(k)
    return [(i // size, i % size, c) for i, c in zip(flat.tolist(), counts.tolist(), strict=True)]


def swapped(matrix, k):
    return [(p, t, c) for t, p, c in answer_topk(matrix, k)]


def smallest_first(matrix, k):
    cells = answer_loops(matrix, matrix.shape[0] * (matrix.shape[0] - 1))
    return cells[::-1][:k]


def unsorted(matrix, k):
    return sorted(answer_topk(matrix, k), key=lambda cell: (cell[0], cell[1]))


def one_too_many(matrix, k):
    return answer_topk(matrix, k + 1)


def in_place(matrix, k):
    size = matrix.shape[0]
    matrix.fill_diagonal_(-1)  # changes the caller's matrix
    counts, flat = matrix.flatten().topk(k)
    return [(i // size, i % size, c) for i, c in zip(flat.tolist(), counts.tolist(), strict=True)]


def wrong_base(matrix, k):
    """Decodes the flat index with the wrong row length."""
    size = matrix.shape[0]
    off = matrix.clone()
    off.fill_diagonal_(-1)
    counts, flat = off.flatten().topk(k)
    return [divmod(i, size + 1) + (c,) for i, c in zip(flat.tolist(), counts.tolist(), strict=True)]


def computes_but_no_return(matrix, k):
    off = matrix.clone()
    off.fill_diagonal_(-1)
    off.flatten().topk(k)


def stub(matrix, k):
    """The learner version's body."""
    # YOUR CODE HERE
    pass


@pytest.mark.parametrize("fn", [answer_topk, answer_loops])
def test_correct_answers_pass(fn, capsys):
    assert check_most_confused(fn) is True
    assert capsys.readouterr().out.startswith("✓ Exercise 1 (most_confused)")


@pytest.mark.parametrize("fn", [None, stub])
def test_stub_is_not_done(fn, capsys):
    assert check_most_confused(fn) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (with_diagonal, "true == predicted"),
        (swapped, "true and predicted are swapped"),
        (smallest_first, "k smallest"),
        (unsorted, "wrong order"),
        (one_too_many, "keep only the first k"),
        (in_place, "changed the matrix it was given"),
        (wrong_base, "does not match the matrix"),
        (computes_but_no_return, "did you forget `return`?"),
        (lambda matrix, k: 42, "return a list of (true, predicted, count) triples"),
        (lambda matrix, k: 1 / 0, "raised ZeroDivisionError"),
        (lambda matrix, k: torch.empty(3, 3, device="meta"), "made the check fail with NotImplementedError"),
        (lambda matrix, k: (_ for _ in ()).throw(RuntimeError("\x1b[31mred\x1b[0m\nsecond line")), "red second line"),
        ("not a function", "must be a function"),
    ],
)
def test_wrong_answers_get_their_hint(fn, hint, capsys):
    assert check_most_confused(fn) is False
    out = capsys.readouterr().out
    assert hint in out and out.startswith("✗") and out.count("\n") == 1, out


def test_ties_are_accepted_in_any_order():
    tied = torch.tensor([[9, 2, 5], [5, 8, 1], [0, 2, 7]])
    reference = reference_most_confused(tied, 3)
    assert [c for *_, c in reference] == [5, 5, 2]
    reordered = lambda matrix, k: (  # noqa: E731 - tied cells listed the other way round
        [(1, 0, 5), (0, 2, 5), (2, 1, 2)] if matrix.shape[0] == 3 and int(matrix[0, 0]) == 9 else answer_topk(matrix, k))
    assert check_most_confused(reordered) is True


def test_reference_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        reference_most_confused(torch.zeros(2, 3, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="k must be an int from 1 to 6"):
        reference_most_confused(torch.zeros(3, 3, dtype=torch.long), 7)


def test_strict_mode_raises(strict):
    with pytest.raises(CheckFailed):
        check_most_confused(swapped)
    with pytest.raises(CheckFailed):
        check_preprocess(None)


# ------------------------------------------------------------------ Exercise 2: preprocess
def answer_preprocess(path, mean, std):
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
    return ((pixels / 255 - np.float32(mean)) / np.float32(std))[None, None]


def answer_preprocess_other_spelling(path, mean, std):
    image = Image.open(str(path)).convert("L")
    x = np.array(image).astype(np.float32) * np.float32(1 / 255)
    x = (x - mean) * (1 / std)
    return np.expand_dims(x, (0, 1)).astype("float32")


def _variant(change):
    def fn(path, mean, std):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.float64)
        return change(pixels, mean, std)
    return fn


def no_convert(path, mean, std):
    with Image.open(path) as image:
        pixels = np.asarray(image, dtype=np.float32)  # colour stays (H, W, 3)
    x = (pixels / 255 - mean) / std
    return x.transpose(2, 0, 1)[None].astype(np.float32) if x.ndim == 3 else x[None, None].astype(np.float32)


def uses_torch(path, mean, std):
    import torch as torch_module  # noqa: F401 - the name alone is what the check looks for

    return torch.zeros(1)


def preprocess_but_no_return(path, mean, std):
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
    (pixels / 255 - mean) / std


def preprocess_stub(path, mean, std):
    """The learner version's body."""
    # YOUR CODE HERE
    pass


@pytest.mark.parametrize("fn", [answer_preprocess, answer_preprocess_other_spelling, reference_preprocess])
def test_preprocess_answers_pass(fn, tmp_path, capsys):
    assert check_preprocess(fn, tmp_path) is True
    assert capsys.readouterr().out.startswith("✓ Exercise 2 (preprocess)")


@pytest.mark.parametrize("fn", [None, preprocess_stub])
def test_preprocess_stub_is_not_done(fn, capsys):
    assert check_preprocess(fn) is False
    assert "not done yet" in capsys.readouterr().out


f32 = np.float32


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_variant(lambda x, m, s: ((x - m) / s)[None, None].astype(f32)), "not divided by 255"),
        (_variant(lambda x, m, s: (x / 255)[None, None].astype(f32)), "not normalised"),
        (_variant(lambda x, m, s: ((x / 255 - s) / m)[None, None].astype(f32)), "mean and std are swapped"),
        (_variant(lambda x, m, s: (x / 255 - m / s)[None, None].astype(f32)), "the order is wrong"),
        (_variant(lambda x, m, s: ((x - m) / s / 255)[None, None].astype(f32)), "divide by 255 before normalising"),
        (_variant(lambda x, m, s: ((x / 255 - m) / s)[None, None]), "float64"),
        (_variant(lambda x, m, s: ((x / 255 - m) / s).astype(f32)), "add the channel and batch axes"),
        (_variant(lambda x, m, s: ((x / 255 - m) / s)[None].astype(f32)), "the batch axis is missing"),
        (_variant(lambda x, m, s: ((x / 255 - m) / s)[None, :, :, None].astype(f32)), "channels-last"),
        (_variant(lambda x, m, s: ((x.T / 255 - m) / s)[None, None].astype(f32)), "transposed"),
        (no_convert, "convert the image to greyscale"),
        (uses_torch, "uses torch"),
        (preprocess_but_no_return, "did you forget `return`?"),
        (lambda path, mean, std: [[0.0]], "expected a NumPy array"),
        (lambda path, mean, std: open("/nonexistent/x"), "raised FileNotFoundError"),
    ],
)
def test_preprocess_wrong_answers_get_their_hint(fn, hint, tmp_path, capsys):
    assert check_preprocess(fn, tmp_path) is False
    out = capsys.readouterr().out
    assert hint in out and out.startswith("✗") and out.count("\n") == 1, out


def test_preprocess_checks_reject_bad_input(tmp_path):
    with pytest.raises(ValueError, match="folder must be None"):
        check_preprocess(answer_preprocess, folder=3)
    with pytest.raises(ValueError, match="path must be a str"):
        reference_preprocess(3, 0.3, 0.3)
    with pytest.raises(ValueError, match="std must be positive"):
        reference_preprocess(tmp_path / "x.png", 0.3, 0.0)
