"""Exercise checks for lesson 06 (convolutional networks).

Introduced in lesson 06.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.checks import RETURNED_NONE, is_missing, is_stub, never_raises, report

__all__ = ["conv_cases", "check_conv_output_size", "check_flat_features"]


# (layer, f, p, s, uneven): the kinds of configuration, easy ones first (stride 1, no padding), then
# padding, then strides that do not divide evenly, so that the first failure points at the first
# missing idea. The widths are drawn at check time; ``uneven`` says whether (w - f + 2p) % s != 0.
_CONV_KINDS = [
    ("conv", 3, 0, 1, False), ("conv", 5, 0, 1, False), ("conv", 5, 2, 1, False), ("conv", 3, 1, 1, False),
    ("conv", 3, 3, 1, False), ("pool", 2, 0, 2, False), ("pool", 3, 1, 2, True), ("conv", 3, 1, 2, True),
    ("conv", 4, 0, 3, False), ("conv", 7, 3, 2, True), ("pool", 2, 0, 2, True), ("pool", 3, 1, 2, True),
    ("conv", 4, 1, 3, True), ("pool", 3, 0, 3, False), ("conv", 11, 2, 4, True),
]


def conv_cases(seed: int | None = None) -> list[tuple[str, int, int, int, int]]:
    """Return test configurations ``(layer, w, f, p, s)``: layer is ``"conv"`` or ``"pool"``.

    Easy ones first (stride 1, no padding), then padding, then strides that do not
    divide evenly, so that the first failure points at the first missing idea. The
    widths are drawn from ``seed`` (a fresh random seed when None, as the check uses,
    so that a table of memorised answers does not pass). PyTorch's pooling only allows
    ``p <= f // 2``, so pool cases respect that; the last case is a kernel as wide as
    the image.

    Introduced in lesson 06.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    rng = random.Random(secrets.randbits(64) if seed is None else seed)  # the learner's seeds play no part
    cases = []
    for layer, f, p, s, uneven in _CONV_KINDS:
        while True:
            w = rng.randint(max(f + 2, 6), 120)
            if ((w - f + 2 * p) % s != 0) == uneven:
                break
        cases.append((layer, w, f, p, s))
    f = rng.randint(2, 9)
    cases.append(("conv", f, f, 0, 1))
    return cases


def _as_number(got: Any) -> Any:
    """A Python int or float for a one-element tensor or a NumPy number; anything else unchanged."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return got.item()
    if isinstance(got, np.ndarray) and got.size == 1:
        return got.item()
    if isinstance(got, np.integer | np.floating):
        return got.item()
    return got


def _real_size(layer: str, w: int, f: int, p: int, s: int) -> int:
    """Measure the output width by running a real layer on a zero image of width ``w``."""
    if layer == "conv":
        module: nn.Module = nn.Conv2d(1, 1, kernel_size=f, stride=s, padding=p, bias=False)
    else:
        module = nn.MaxPool2d(kernel_size=f, stride=s, padding=p)
    with torch.no_grad():
        out = module(torch.zeros(1, 1, w, w))
    return int(out.shape[-1])


def _diagnose(got: Any, w: int, f: int, p: int, s: int, expected: int) -> str:
    """Name the typical mistake that produces ``got`` for these inputs, or give a general hint."""
    exact = (w - f + 2 * p) / s + 1
    if isinstance(got, float) and not got.is_integer():
        return (
            f"you returned {got!r}, a fraction: the window cannot stop part-way, so round DOWN "
            "with floor division // (or int() on a non-negative number) before adding 1"
        )
    value = int(got)
    if value == math.ceil(exact) and value != expected:
        return (
            "you rounded up: PyTorch rounds (W - F + 2P) / S down (the last partial window is "
            "dropped), so use floor division //"
        )
    if value == (w - f + 2 * p) // s:
        return "off by one: you forgot the + 1 (the window's first position counts too)"
    if value == (w - f + p) // s + 1:
        return "padding is added on BOTH sides of the image, so it counts twice: 2 * P"
    if value == (w - f + 2 * p) + 1 and s > 1:
        return "the stride is missing: divide (W - F + 2P) by S before adding 1"
    if value == (w + f + 2 * p) // s + 1 or value == (w - f - 2 * p) // s + 1:
        return "check the signs: the kernel size is subtracted and the padding is added"
    if abs(value - expected) == 1:
        return "off by one: compare with (W - F + 2P) // S + 1 term by term"
    return "compare with (W - F + 2P) // S + 1 term by term"


@never_raises("conv_output_size")
def check_conv_output_size(fn: Callable | None, name: str = "conv_output_size") -> bool:
    """Check ``fn(w, f, p, s)`` against the real output width of ``nn.Conv2d`` / ``nn.MaxPool2d``; return True if it matches.

    Runs every configuration of ``conv_cases()`` through the real layer and compares;
    on the first mismatch prints the layer, the inputs, both numbers and a hint that
    names the typical mistake (missing + 1, padding counted once, float division,
    rounding up, stride ignored). The widths of the configurations are drawn afresh on
    every call. An int is expected: Python ints, NumPy integers (``np.floor_divide``)
    and one-element integer tensors all pass; a float that is a whole number is
    accepted with a note that it should be an int, a fraction is rejected.

    Introduced in lesson 06.
    """
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    whole_floats = False
    cases = conv_cases()
    for layer, w, f, p, s in cases:
        expected = _real_size(layer, w, f, p, s)
        shown = f"w={w}, f={f}, p={p}, s={s}"
        try:
            got = fn(w, f, p, s)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"calling it with ({shown}) raised {type(err).__name__}: {err}")
        if is_missing(got):
            if is_stub(fn):
                return report(name, None, f"not done yet: it returned {got!r} for ({shown})")
            return report(name, False, RETURNED_NONE)
        got = _as_number(got)
        if isinstance(got, bool) or not isinstance(got, int | float):
            return report(name, False, f"for ({shown}) it returned a {type(got).__name__}; return an int")
        if got != expected:
            what = "nn.Conv2d" if layer == "conv" else "nn.MaxPool2d"
            hint = _diagnose(got, w, f, p, s, expected)
            return report(
                name, False, f"{what} with {shown} gives width {expected}, you returned {got!r}. Hint: {hint}"
            )
        if isinstance(got, float):
            whole_floats = True
    note = f"matches nn.Conv2d and nn.MaxPool2d on all {len(cases)} configurations"
    if whole_floats:
        note += " (tip: it returned floats such as 14.0; // keeps the result an int)"
    return report(name, True, note)


@never_raises("flat features")
def check_flat_features(got: Any, features: nn.Module, in_channels: int, image_size: int) -> bool:
    """Check ``got`` against the number of features ``features`` outputs per image, once flattened; return True if equal.

    The reference is measured by running ``features`` (e.g. ``model.features``) on a
    zero batch of shape (1, in_channels, image_size, image_size). Hints: channels
    not multiplied in, one pooling forgotten, the input size used instead.

    Introduced in lesson 06.
    """
    name = "flat features"
    if is_missing(got):
        return report(name, None)
    got = _as_number(got)
    whole_float = isinstance(got, float) and got.is_integer()
    if whole_float:
        got = int(got)
    if isinstance(got, bool) or not isinstance(got, int):
        return report(name, False, f"expected an int, got {got!r} ({type(got).__name__})")
    was_training = features.training
    features.eval()
    with torch.no_grad():
        out = features(torch.zeros(1, in_channels, image_size, image_size))
    features.train(was_training)
    channels, height, width = out.shape[1:]
    expected = channels * height * width
    if got == expected:
        tip = " (tip: it is a float such as 8192.0; use // and ints so it stays an int)" if whole_float else ""
        return report(name, True, f"correct: {channels} maps of {height} x {width} = {expected} numbers{tip}")
    if got == height * width:
        hint = f"that is one map; there are {channels} of them (multiply by the channel count)"
    elif got == channels * (2 * height) * (2 * width):
        hint = "that is the size before the last 2x2 pooling: each pooling halves the side"
    elif got == in_channels * image_size * image_size:
        hint = "that is the input size; follow the side through both conv blocks first"
    elif got in {channels * height, channels * width}:
        hint = "multiply by the height AND the width of the maps"
    else:
        hint = "work out the side after each conv (padding 1 keeps it) and each pool (halves it)"
    return report(name, False, f"got {got}, expected a different number. Hint: {hint}")
