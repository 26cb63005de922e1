"""Exercise checks for lesson 10 (mini-project): the most confused pairs, and a client's preprocessing in NumPy.

Both checks draw their test data at check time from a fresh seed, so an answer cannot be
memorised; both print one line and return a bool, and never raise for a wrong answer
(except in strict mode).

Introduced in lesson 10.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.checks import RETURNED_NONE, CheckUsageError, is_missing, is_stub, never_raises, report

__all__ = ["reference_most_confused", "check_most_confused", "reference_preprocess", "check_preprocess"]

_CONFUSED = "Exercise 1 (most_confused)"
_PREPROCESS = "Exercise 2 (preprocess)"


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy % 2**31)


# ----------------------------------------------------------------- Exercise 1: most_confused
def reference_most_confused(matrix: torch.Tensor, k: int) -> list[tuple[int, int, int]]:
    """Return the ``k`` largest off-diagonal cells of a confusion matrix as ``(true, predicted, count)``.

    ``matrix`` is square (K, K) with rows = true class and columns = predicted class, as
    ``helpers.plotting.confusion_matrix`` returns it. Largest count first; ties in the
    order of the flattened matrix.

    Introduced in lesson 10.
    """
    m = torch.as_tensor(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValueError(f"matrix must be square (K, K) with K >= 2, got shape {tuple(m.shape)}")
    off = m.clone().long()
    off.fill_diagonal_(-1)  # below any count, so the diagonal is never picked
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= m.shape[0] * (m.shape[0] - 1):
        raise ValueError(f"k must be an int from 1 to {m.shape[0] * (m.shape[0] - 1)}, got {k!r}")
    order = sorted(range(off.numel()), key=lambda i: (-int(off.view(-1)[i]), i))[:k]
    return [(i // m.shape[0], i % m.shape[0], int(off.view(-1)[i])) for i in order]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        return int(value.item())
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return None


def _as_triples(got: Any) -> list[tuple[int, int, int]] | None:
    if isinstance(got, torch.Tensor | np.ndarray):
        got = got.tolist()
    if not isinstance(got, Sequence) or isinstance(got, str):
        return None
    triples = []
    for item in got:
        if isinstance(item, torch.Tensor | np.ndarray):
            item = item.tolist()
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 3:
            return None
        numbers = [_as_int(v) for v in item]
        if any(n is None for n in numbers):
            return None
        triples.append(tuple(numbers))
    return triples


def _confusion_cases(seed: int) -> list[tuple[torch.Tensor, int]]:
    """Matrices with distinct off-diagonal counts (so every mistake shows) and one with ties."""
    rng = np.random.default_rng(seed)
    cases = []
    for size, k in ((4, 3), (6, 5), (10, 4)):
        n = size * (size - 1)
        counts = rng.permutation(np.arange(1, n + 1)) + rng.integers(0, 3)  # all different
        matrix = np.zeros((size, size), dtype=np.int64)
        matrix[~np.eye(size, dtype=bool)] = counts
        np.fill_diagonal(matrix, rng.integers(2 * n, 4 * n, size=size))  # the diagonal is the largest
        cases.append((torch.from_numpy(matrix), k))
    tied = np.array([[9, 2, 5], [5, 8, 1], [0, 2, 7]], dtype=np.int64)  # two 5s and two 2s
    cases.append((torch.from_numpy(tied), 3))
    return cases


def _tie_ok(got: list[tuple[int, int, int]], matrix: torch.Tensor, k: int) -> bool:
    """True if ``got`` is a correct answer when counts tie: right counts in order, real off-diagonal cells."""
    expected = reference_most_confused(matrix, k)
    if [c for _, _, c in got] != [c for _, _, c in expected] or len(set((t, p) for t, p, _ in got)) != k:
        return False
    size = matrix.shape[0]
    return all(0 <= t < size and 0 <= p < size and t != p and int(matrix[t, p]) == c for t, p, c in got)


def _confused_hint(got: list[tuple[int, int, int]], matrix: torch.Tensor, k: int) -> str:
    expected = reference_most_confused(matrix, k)
    size = matrix.shape[0]
    if len(got) != k:
        return f"asked for k = {k} pairs, got {len(got)}: keep only the first k"
    if got == [(p, t, c) for t, p, c in expected]:
        return "true and predicted are swapped: rows are the true class, columns the predicted one"
    bad = [(t, p, c) for t, p, c in got if not (0 <= t < size and 0 <= p < size) or int(matrix[t, p]) != c]
    if bad:
        return (f"{bad[0]} does not match the matrix (matrix[true, predicted] is not that count): for a flat "
                f"index i of a {size} x {size} matrix, the row is i // {size} and the column i % {size}")
    if any(t == p for t, p, _ in got):
        return ("a pair has true == predicted: those diagonal cells are the correct answers, not confusions. "
                "Hint: set the diagonal aside first (on a copy: m = matrix.clone(); m.fill_diagonal_(0))")
    everything = reference_most_confused(matrix, size * (size - 1))
    if got in (everything[::-1][:k], everything[::-1][:k][::-1]):
        return "these are the k smallest confusions: sort by count, largest first (descending=True)"
    if sorted(got, key=lambda x: -x[2]) == expected:
        return "the right pairs, in the wrong order: sort them by count, largest first"
    return "these are not the k largest off-diagonal counts"


@never_raises(_CONFUSED)
def check_most_confused(fn: Any) -> bool:
    """Check ``fn(matrix, k) -> [(true, predicted, count), ...]``, the k largest off-diagonal cells; return True if right.

    The check draws confusion matrices of 4, 6 and 10 classes with a fresh seed at every
    call (the diagonal is the largest there, as after training), plus one small matrix
    with tied counts, where any order of the tied pairs is accepted. Triples may be tuples
    or lists, counts Python or NumPy ints or 0-d tensors. Hints: the diagonal included,
    true and predicted swapped, smallest first, unsorted, a wrong number of pairs, a
    flat index decoded wrongly, and the caller's matrix changed in place.

    Introduced in lesson 10.
    """
    return _check_most_confused(fn)


def _check_most_confused(fn: Any) -> bool:
    if is_missing(fn) or is_stub(fn):
        return report(_CONFUSED, None)
    if not callable(fn):
        return report(_CONFUSED, False, f"most_confused must be a function, got a {type(fn).__name__}")
    for matrix, k in _confusion_cases(_fresh_seed()):
        given = matrix.clone()
        try:
            got = fn(given, k)
        except Exception as err:  # the learner's code may fail in any way
            return report(_CONFUSED, False, f"most_confused(a {len(matrix)} x {len(matrix)} matrix, k={k}) raised "
                          f"{type(err).__name__}: {err}")
        if got is None:
            return report(_CONFUSED, False, RETURNED_NONE)
        if not torch.equal(given, matrix):
            return report(_CONFUSED, False, "your function changed the matrix it was given (an in-place edit such as "
                          "fill_diagonal_): work on a copy, matrix.clone(), so the caller's matrix stays intact")
        triples = _as_triples(got)
        if triples is None:
            return report(_CONFUSED, False, f"return a list of (true, predicted, count) triples of ints, got "
                          f"{type(got).__name__} {str(got)[:60]}")
        if triples == reference_most_confused(matrix, k) or _tie_ok(triples, matrix, k):
            continue
        return report(_CONFUSED, False, f"for a {len(matrix)} x {len(matrix)} matrix and k={k}: "
                      f"{_confused_hint(triples, matrix, k)}")
    return report(_CONFUSED, True, "the k largest off-diagonal cells, largest first, on 4 matrices drawn just now "
                  "(ties accepted in any order)")


# ----------------------------------------------------------------- Exercise 2: preprocess
def reference_preprocess(path: str | Path, mean: float, std: float) -> np.ndarray:
    """Return the model's input for one PNG: float32 (1, 1, H, W), greyscale, scaled to [0, 1], then normalised.

    The same numbers as ``v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
    v2.Normalize([mean], [std])])`` applied to ``Image.open(path).convert("L")``, with a
    batch axis in front; written with NumPy and PIL only.

    Introduced in lesson 10.
    """
    from PIL import Image

    if not isinstance(path, str | Path):
        raise ValueError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    if not float(std) > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32)  # (H, W) in 0..255
    x = (pixels / 255 - np.float32(mean)) / np.float32(std)
    return x[None, None].astype(np.float32)  # (1, 1, H, W)


def _v2_pipeline(path: Path, mean: float, std: float) -> np.ndarray:
    from PIL import Image
    from torchvision.transforms import v2

    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([mean], [std])])
    with Image.open(path) as image:
        return transform(image.convert("L")).unsqueeze(0).numpy()  # (1, 1, H, W)


def _preprocess_hint(got: np.ndarray, expected: np.ndarray, raw: np.ndarray, mean: float, std: float) -> str:
    h, w = raw.shape
    if got.shape != expected.shape:
        if got.shape == (h, w):
            return f"shape {got.shape}: add the channel and batch axes, x[None, None], to get (1, 1, {h}, {w})"
        if got.shape in ((1, h, w), (h, w, 1)):
            return f"shape {got.shape}: the batch axis is missing; the session wants (1, 1, {h}, {w})"
        if got.shape == (1, h, w, 1):
            return f"shape {got.shape} is channels-last (HWC); the model wants channels first, (1, 1, {h}, {w})"
        if got.shape[-1] == 3 or 3 in got.shape[:2]:
            return (f"shape {got.shape} has three colour channels: the model reads greyscale, so convert "
                    "the image with .convert('L') first")
        return f"shape {got.shape}, expected (1, 1, {h}, {w})"
    if got.dtype != np.float32:
        return (f"dtype {got.dtype}: ONNX Runtime expects float32 for this model (NumPy computes in float64 "
                "unless told otherwise: .astype(np.float32))")
    scaled = raw.astype(np.float64) / 255
    candidates = {
        "the pixels were not divided by 255: ToDtype(scale=True) maps 0..255 to [0, 1] before Normalize":
            (raw - mean) / std,
        "the image was scaled to [0, 1] but not normalised: subtract the mean, then divide by the std":
            scaled,
        "mean and std are swapped: (x - mean) / std": (scaled - std) / mean,
        "the order is wrong: subtract the mean, then divide by the std, (x - mean) / std": scaled - mean / std,
        "divide by 255 before normalising: (x / 255 - mean) / std, not (x - mean) / std / 255":
            (raw - mean) / std / 255,
    }
    for hint, value in candidates.items():
        if np.allclose(got, value.reshape(expected.shape), atol=1e-4):
            return hint
    if h == w and np.allclose(got, np.swapaxes(expected, -1, -2), atol=1e-4):
        return "the image is transposed: keep NumPy's (H, W) order from np.asarray(image)"
    diff = float(np.abs(got.astype(np.float64) - expected).max())
    return f"the values differ from the v2 pipeline's by up to {diff:.3g}"


@never_raises(_PREPROCESS)
def check_preprocess(fn: Any, folder: str | Path | None = None) -> bool:
    """Check ``fn(path, mean, std) -> np.ndarray`` against the v2 pipeline on PNGs written just now; return True if equal.

    The check writes a few PNG files (greyscale ones of different sizes, H != W, and one
    RGB one, which must be turned to grey like the training images) into ``folder`` (a
    temporary folder when None) with pixels, mean and std drawn from a fresh seed, and
    compares ``fn``'s output with ``v2.Compose([ToImage, ToDtype(scale=True), Normalize])``
    plus a batch axis: float32 of shape (1, 1, H, W), values within 1e-5. The function
    must not use torch (a client has no PyTorch). Hints: no /255, no normalisation, mean
    and std swapped, the wrong order, a missing batch or channel axis, channels last,
    float64, colour not converted, transposed.

    Introduced in lesson 10.
    """
    if is_missing(fn) or is_stub(fn):
        return report(_PREPROCESS, None)
    if not callable(fn):
        return report(_PREPROCESS, False, f"preprocess must be a function, got a {type(fn).__name__}")
    if folder is not None and not isinstance(folder, str | Path):
        raise CheckUsageError(f"folder must be None or a str or pathlib.Path, got {type(folder).__name__}")
    code = getattr(fn, "__code__", None)
    if code is not None and "torch" in code.co_names:
        return report(_PREPROCESS, False, "your function uses torch, which a client without PyTorch does not have: "
                      "use NumPy (np.asarray, arithmetic, [None, None]) and PIL only")
    if folder is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _check_preprocess(fn, Path(tmp))
    return _check_preprocess(fn, Path(folder))


def _check_preprocess(fn: Any, folder: Path) -> bool:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(_fresh_seed())
    mean, std = round(float(rng.uniform(0.2, 0.4)), 3), round(float(rng.uniform(0.25, 0.45)), 3)
    cases = []
    for number, (h, w, colour) in enumerate(((28, 28, False), (24, 20, False), (28, 28, True))):
        raw = rng.integers(0, 256, size=(h, w, 3) if colour else (h, w), dtype=np.uint8)
        path = folder / f"check_{number}.png"
        Image.fromarray(raw, mode="RGB" if colour else "L").save(path)
        cases.append((path, colour))
    for path, colour in cases:
        expected = _v2_pipeline(path, mean, std)
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float64)
        try:
            got = fn(path, mean, std)
        except Exception as err:  # the learner's code may fail in any way
            return report(_PREPROCESS, False, f"preprocess({path.name!r}, {mean}, {std}) raised "
                          f"{type(err).__name__}: {err}")
        if got is None:
            return report(_PREPROCESS, False, RETURNED_NONE)
        if not isinstance(got, np.ndarray):
            kind = "a torch.Tensor: return a NumPy array" if isinstance(got, torch.Tensor) else type(got).__name__
            return report(_PREPROCESS, False, f"expected a NumPy array, got {kind}")
        if got.shape == expected.shape and got.dtype == np.float32 and np.allclose(got, expected, atol=1e-5):
            continue
        where = "an RGB PNG" if colour else f"a {grey.shape[0]} x {grey.shape[1]} greyscale PNG"
        if colour and got.ndim >= 3 and 3 in got.shape[-3:] and got.size == 3 * grey.size:
            hint = "it has three colour channels: convert the image to greyscale with .convert('L') first"
        else:
            hint = _preprocess_hint(got, expected, grey, mean, std)
        return report(_PREPROCESS, False, f"on {where} (mean {mean}, std {std}): {hint}")
    return report(_PREPROCESS, True, "float32 (1, 1, H, W), the v2 pipeline's numbers, without torch, on 3 PNGs "
                  "written just now")
