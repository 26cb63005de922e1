"""Exercise checks for lesson 01 · Tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from helpers.checks import dtype_problem, is_missing, missing_result, never_raises, report

__all__ = ["check_to_batch_first", "check_pairwise_distances", "check_label_probs"]

_BATCH_SHAPES = [(2, 4, 4, 3), (3, 5, 7, 3), (1, 6, 2, 1), (4, 8, 8, 1)]


def _reference_batch_first(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.copy()).permute(0, 3, 1, 2).float() / 255  # (B, C, H, W)


@never_raises("Exercise 1 (to_batch_first)")
def check_to_batch_first(fn: Any) -> bool:
    """Check ``fn(uint8 array (B, H, W, C)) -> float32 tensor (B, C, H, W) in [0, 1]`` on several shapes.

    Introduced in lesson 01.
    """
    name = "Exercise 1 (to_batch_first)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"to_batch_first must be a function, got a {type(fn).__name__}")
    rng = np.random.default_rng(0)
    for shape in _BATCH_SHAPES:
        images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        expected = _reference_batch_first(images)
        try:
            got = fn(images.copy())
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"for input shape {shape} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return missing_result(name, fn, got)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return a torch.Tensor (torch.from_numpy makes one), got a {type(got).__name__}")
        b, h, w, c = shape
        if tuple(got.shape) != (b, c, h, w):
            hint = f"for input (B, H, W, C) = {shape} the shape should be (B, C, H, W) = {(b, c, h, w)}, got {tuple(got.shape)}"
            if got.ndim == 4 and tuple(got.shape) == (b, h, w, c):
                hint += ": the dimensions were not reordered, use permute(0, 3, 1, 2)"
            return report(name, False, hint)
        if got.dtype != torch.float32:
            return report(name, False, f"dtype should be torch.float32, got {got.dtype}: convert with .float()")
        if float(got.max()) > 1.0 + 1e-6:
            return report(name, False, f"values go up to {float(got.max()):.0f}: divide by 255 to scale them to [0, 1]")
        if not torch.allclose(got, expected, atol=1e-6):
            same_multiset = torch.allclose(got.flatten().sort().values, expected.flatten().sort().values, atol=1e-6)
            if same_multiset:
                return report(name, False, "the shape is right but the pixels are scrambled: reshape/view regroup "
                              "memory in order; reorder dimensions with permute(0, 3, 1, 2) instead")
            return report(name, False, "the shape and dtype are right but the values differ from images / 255")
    return report(name, True, f"correct on {len(_BATCH_SHAPES)} batches, including non-square and 1-channel ones")


@never_raises("Exercise 2 (pairwise_distances)")
def check_pairwise_distances(fn: Any) -> bool:
    """Check ``fn(P (N, D), Q (M, D)) -> (N, M)`` Euclidean distances against ``torch.cdist``.

    Introduced in lesson 01.
    """
    name = "Exercise 2 (pairwise_distances)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"pairwise_distances must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(1)
    for n, m, d in [(4, 3, 2), (5, 5, 3), (1, 6, 4), (7, 2, 1)]:
        P = torch.randn(n, d, generator=gen)
        Q = torch.randn(m, d, generator=gen)
        expected = torch.cdist(P, Q)
        try:
            got = fn(P.clone(), Q.clone())
        except RuntimeError as err:
            return report(name, False, f"for P {tuple(P.shape)} and Q {tuple(Q.shape)} it raised: {err}. "
                          "Insert dimensions so the shapes broadcast: P.unsqueeze(1) is (N, 1, D), Q.unsqueeze(0) is (1, M, D)")
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"for P {tuple(P.shape)} and Q {tuple(Q.shape)} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return missing_result(name, fn, got)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return a tensor, got a {type(got).__name__}")
        if tuple(got.shape) != (n, m):
            hint = f"for P {tuple(P.shape)} and Q {tuple(Q.shape)} the result should be (N, M) = {(n, m)}, got {tuple(got.shape)}"
            if got.ndim == 3:
                hint += ": sum the squared differences over the last dimension (dim=-1)"
            elif tuple(got.shape) == (m, n):
                hint += ": rows should follow P and columns Q"
            return report(name, False, hint)
        if got.device != expected.device:
            return report(name, False, f"the result is on {got.device}; keep it on the inputs' device ({expected.device})")
        if got.dtype != expected.dtype:
            return report(name, False, dtype_problem(got, expected))
        if torch.allclose(got, expected**2, atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
            return report(name, False, "these are squared distances: take the square root at the end")
        if not torch.allclose(got, expected, atol=1e-5):
            return report(name, False, f"values differ from the true distances by up to {(got - expected).abs().max():.3g}")
    return report(name, True, "correct on 4 pairs of point sets, compared with torch.cdist")


def _label_prob_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Seeded (probs (B, K), labels (B,)) pairs; the first is square so transposed picks do not raise."""
    gen = torch.Generator().manual_seed(3)
    cases = []
    for b, k in [(5, 5), (4, 7), (8, 3)]:
        probs = torch.softmax(torch.randn(b, k, generator=gen) * 2, dim=1)  # (B, K), rows sum to 1
        labels = torch.randint(0, k, (b,), generator=gen)  # (B,) int64
        labels[0] = (probs[0].argmax() + 1) % k  # at least one label that is not the row's top class
        cases.append((probs, labels))
    return cases


def _diagnose_label_probs(got: torch.Tensor, probs: torch.Tensor, labels: torch.Tensor) -> str:
    """Name the classic mistake behind a wrong answer with B values."""
    b, k = probs.shape
    rows = torch.arange(b)
    flat = got.reshape(-1).to(probs.dtype)
    off_by_one = ("the labels are off by one: y[i] is already the column index (0..K-1), use it as it is")
    candidates = [
        ("these are each row's largest probability, not the probability of its label: index with the labels "
         "y instead of taking max", probs.max(dim=1).values),
        (off_by_one, probs[rows, (labels - 1) % k]),
        (off_by_one, probs[rows, (labels + 1) % k]),
    ]
    swapped = ("rows and columns are swapped: the labels pick columns (dim 1), so index probs[rows, y], "
               "or gather along dim=1, not dim=0")
    if int(labels.max()) < b:  # picks that use the labels as row numbers only run then
        candidates += [(swapped, probs[labels, rows % k]), (swapped, probs[labels, 0])]
    for hint, wrong in candidates:
        if flat.numel() == b and torch.allclose(flat, wrong, atol=1e-6):
            return hint
    return f"the values differ from probs[i, y[i]] by up to {(flat - probs[rows, labels]).abs().max():.3g}"


@never_raises("Exercise 3 (label_probs)")
def check_label_probs(fn: Any) -> bool:
    """Check ``fn(probs (B, K), y (B,) int64) -> (B,)`` with element ``i`` equal to ``probs[i, y[i]]``.

    Each wrong answer gets its own hint: a (B, B) grid from ``probs[:, y]``, a (B, 1) ``gather``
    without ``squeeze``, swapped rows and columns (or ``gather`` along ``dim=0``), labels cast to
    float, labels shifted by one, and the row maximum instead of the label's probability.
    Introduced in lesson 01.
    """
    name = "Exercise 3 (label_probs)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"label_probs must be a function, got a {type(fn).__name__}")
    for probs, labels in _label_prob_cases():
        b, k = probs.shape
        expected = probs[torch.arange(b), labels]  # (B,)
        where = f"for probs {tuple(probs.shape)} and y {tuple(labels.shape)}"
        try:
            got = fn(probs.clone(), labels.clone())
        except IndexError as err:
            if "must be long" in str(err):
                return report(name, False, f"{where} it raised IndexError: {err}. Index tensors must be integers: "
                              "keep the labels int64 (no .float())")
            return report(name, False, f"{where} it raised IndexError: {err}. An index ran past the end: the rows "
                          "go 0..B-1 (index them with torch.arange(B)) and the labels pick columns 0..K-1")
        except RuntimeError as err:
            if "dtype" in str(err) and "index" in str(err):
                return report(name, False, f"{where} it raised RuntimeError: {err}. Index tensors must be integers: "
                              "keep the labels int64 (no .float())")
            if "same number of dimensions" in str(err):
                return report(name, False, f"{where} it raised RuntimeError: {err}. gather wants an index with as "
                              "many dimensions as probs: y.unsqueeze(1) is (B, 1)")
            return report(name, False, f"{where} it raised RuntimeError: {err}")
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"{where} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return missing_result(name, fn, got)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"return a tensor, got a {type(got).__name__}")
        if tuple(got.shape) == (b, b) and b != 1:
            return report(name, False, f"{where} the result is (B, B) = {(b, b)}: probs[:, y] pairs every row with "
                          "every label. Pair row i with label y[i] by indexing the rows with torch.arange(B) as well")
        if tuple(got.shape) == (b, 1) and torch.allclose(got.squeeze(1).to(probs.dtype), expected, atol=1e-6):
            return report(name, False, "gather keeps the indexed dimension, so the result is (B, 1): add .squeeze(1)")
        if tuple(got.shape) not in {(b,), (b, 1), (1, b)}:
            return report(name, False, f"{where} the result should have shape (B,) = {(b,)}, got {tuple(got.shape)}")
        if got.device != expected.device:
            return report(name, False, f"{where} the result is on {got.device}; keep it on the inputs' device "
                          f"({expected.device})")
        if tuple(got.shape) == (b,) and got.dtype != expected.dtype:
            return report(name, False, f"{where}: {dtype_problem(got, expected)}")
        if tuple(got.shape) != (b,) or not torch.allclose(got.to(probs.dtype), expected, atol=1e-6):
            return report(name, False, f"{where}: {_diagnose_label_probs(got, probs, labels)}")
    return report(name, True, "correct on 3 batches, including ones with more classes than rows and fewer")
