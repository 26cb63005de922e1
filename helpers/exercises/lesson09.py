"""Exercise checks for lesson 09 (going further): gradient clipping by norm, by hand.

Introduced in lesson 09.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from helpers.checks import is_missing, missing_result, never_raises, report

__all__ = ["clip_cases", "check_clip_by_total_norm"]

_RTOL = 1e-4  # clip_grad_norm_ divides by (norm + 1e-6); an exact max_norm / norm differs by about 1e-6


def clip_cases() -> list[tuple[str, list[tuple[int, ...]], float, float, bool]]:
    """Return the test configurations ``(label, shapes, grad_scale, max_norm, with_frozen)``.

    Each case is a set of parameters with the given ``shapes`` whose gradients are drawn
    from a seeded normal distribution times ``grad_scale``. The first case has a total
    norm far above ``max_norm``; a later one is below it (nothing may change); one has a
    parameter without a gradient (``p.grad is None``, e.g. a frozen layer).

    Introduced in lesson 09.
    """
    return [
        ("two tensors, norm well above max_norm", [(4, 3), (4,)], 1.0, 0.5, False),
        ("norm below max_norm", [(5, 2), (5,)], 0.01, 1.0, False),
        ("each tensor below max_norm, the total above it", [(8,), (8,), (8,), (8,)], 0.1, 0.5, False),
        ("a parameter without a gradient", [(3, 3), (6,)], 2.0, 1.5, True),
        ("one big tensor", [(16, 8, 3, 3)], 0.05, 2.0, False),
    ]


def _make_parameters(shapes: list[tuple[int, ...]], grad_scale: float, with_frozen: bool, seed: int) -> list[nn.Parameter]:
    """Parameters with seeded gradients; with ``with_frozen`` one more parameter has ``grad=None``."""
    generator = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = nn.Parameter(torch.randn(shape, generator=generator))
        p.grad = torch.randn(shape, generator=generator) * grad_scale
        params.append(p)
    if with_frozen:
        params.insert(1, nn.Parameter(torch.randn(2, 2, generator=generator)))  # grad stays None
    return params


def _grads(params: list[nn.Parameter]) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.detach().clone() for p in params]


def _total_norm(grads: list[torch.Tensor | None]) -> float:
    present = [g for g in grads if g is not None]
    return torch.linalg.vector_norm(torch.stack([g.norm() for g in present])).item()


def _close(got: list[torch.Tensor | None], expected: list[torch.Tensor | None]) -> bool:
    for g, e in zip(got, expected, strict=True):
        if (g is None) != (e is None):
            return False
        if g is not None and not torch.allclose(g, e, rtol=_RTOL, atol=1e-7):
            return False
    return True


def _diagnose(original: list, got: list, max_norm: float) -> str:
    """Name the typical mistake that turns ``original`` gradients into ``got``."""
    present = [(o, g) for o, g in zip(original, got, strict=True) if o is not None]
    norm = _total_norm(original)
    if all(torch.equal(o, g) for o, g in present) and norm > max_norm:
        return (
            "the gradients did not change. Scale p.grad itself in place (p.grad.mul_(scale)); "
            "rebinding a local name (g = g * scale) leaves p.grad as it was"
        )
    by_value = [o.clamp(-max_norm, max_norm) for o, _ in present]
    if all(torch.allclose(g, v, rtol=_RTOL, atol=1e-7) for (_, g), v in zip(present, by_value, strict=True)):
        return "that is clipping by value (clamping each entry); clip by norm rescales the whole gradient instead"
    per_tensor = [o * min(1.0, max_norm / (o.norm().item() + 1e-6)) for o, _ in present]
    if all(torch.allclose(g, t, rtol=_RTOL, atol=1e-7) for (_, g), t in zip(present, per_tensor, strict=True)):
        return (
            "you clipped each tensor on its own; the norm is over ALL gradients together "
            "(the norm of the per-tensor norms), and one common scale applies to every tensor"
        )
    if norm <= max_norm:
        return "the total norm was already within max_norm, so leave the gradients unchanged: scale = min(1, max_norm / norm)"
    scale = max_norm / norm
    if all(torch.allclose(g, o / scale, rtol=_RTOL, atol=1e-7) for o, g in present):
        return "the scale is upside down: multiply by max_norm / norm, not norm / max_norm"
    after = _total_norm([g for _, g in present])
    return (
        f"after your clipping the total norm is {after:.4g}; it should be max_norm = {max_norm:g} "
        f"(it was {norm:.4g}): multiply every gradient by max_norm / total_norm"
    )


@never_raises("clip_by_total_norm")
def check_clip_by_total_norm(fn: Callable | None, name: str = "clip_by_total_norm") -> bool:
    """Check ``fn(parameters, max_norm)`` against ``nn.utils.clip_grad_norm_``; return True if it behaves the same.

    For every case of ``clip_cases()`` two identical sets of parameters are built: one
    goes through ``torch.nn.utils.clip_grad_norm_``, the other through ``fn``, passed
    as a generator like ``model.parameters()`` (so an answer that reads it twice is
    caught). Both the gradients afterwards and the returned norm (the norm *before*
    clipping, a float or a 0-d tensor) must agree to a relative 1e-4. Hints name the
    usual mistakes: per-tensor clipping, clipping by value, scaling when the norm is
    already small, an inverted scale, returning the norm after clipping, gradients not
    changed in place, a crash on a parameter whose ``grad`` is ``None``. An answer that
    simply calls ``nn.utils.clip_grad_norm_`` passes, with a note to try the formula.

    Introduced in lesson 09.
    """
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    library_calls: list[int] = []
    library = nn.utils.clip_grad_norm_

    def spy(*args, **kwargs):
        library_calls.append(1)
        return library(*args, **kwargs)

    cases = clip_cases()
    for seed, (label, shapes, grad_scale, max_norm, with_frozen) in enumerate(cases):
        reference = _make_parameters(shapes, grad_scale, with_frozen, seed)
        params = _make_parameters(shapes, grad_scale, with_frozen, seed)
        original = _grads(params)
        expected_norm = nn.utils.clip_grad_norm_(reference, max_norm).item()
        expected = _grads(reference)
        shown = f"case '{label}' (max_norm={max_norm:g}, total norm {expected_norm:.4g})"
        generator: Iterator[nn.Parameter] = (p for p in params)
        try:
            nn.utils.clip_grad_norm_ = spy  # notice an answer that calls the library instead of the formula
            try:
                got_norm = fn(generator, max_norm)
            finally:
                nn.utils.clip_grad_norm_ = library
        except Exception as err:  # the learner's code may fail in any way
            hint = ""
            if with_frozen and isinstance(err, AttributeError) and "NoneType" in str(err):
                hint = (" Hint: a parameter that took no part in the loss (or is frozen) has "
                        "p.grad = None; skip it")
            return report(name, False, f"{shown} raised {type(err).__name__}: {err}.{hint}")
        got = _grads(params)
        unchanged = all(
            (g is None) == (o is None) and (g is None or torch.equal(g, o)) for g, o in zip(got, original, strict=True)
        )
        if is_missing(got_norm) and unchanged:
            return missing_result(name, fn, got_norm)
        if not _close(got, expected):
            if unchanged and _clips_a_list_but_not_a_generator(fn, shapes):
                hint = (
                    "parameters may be a generator (model.parameters()), which can be read only once: "
                    "turn it into a list first (params = list(parameters))"
                )
            else:
                hint = _diagnose(original, got, max_norm)
            return report(name, False, f"{shown}: the gradients afterwards differ from clip_grad_norm_'s. Hint: {hint}")
        if is_missing(got_norm):
            return report(name, False, f"{shown}: the gradients are right but nothing was returned; "
                          "return the total norm measured before clipping")
        if isinstance(got_norm, torch.Tensor):
            if got_norm.numel() != 1:
                return report(name, False, f"{shown}: returned a tensor of shape {tuple(got_norm.shape)}; "
                              "return one number, the total norm")
            got_norm = got_norm.item()
        if isinstance(got_norm, bool) or not isinstance(got_norm, int | float):
            return report(name, False, f"{shown}: returned a {type(got_norm).__name__}; return the total norm as a number")
        if abs(got_norm - expected_norm) > _RTOL * max(1.0, expected_norm):
            after = min(expected_norm, max_norm)
            if abs(got_norm - after) <= _RTOL * max(1.0, after):
                hint = "that is the norm after clipping; return the norm measured before (clip_grad_norm_ does, for logging)"
            elif abs(got_norm - expected_norm**2) <= _RTOL * max(1.0, expected_norm**2):
                hint = "that is the squared norm: take the square root of the sum of squares"
            else:
                hint = "the total norm is the square root of the sum of the squares of ALL gradient entries"
            return report(name, False, f"{shown}: returned {got_norm:.6g}, expected {expected_norm:.6g}. Hint: {hint}")
    if library_calls:
        return report(name, True, f"matches clip_grad_norm_ on all {len(cases)} cases, because it calls "
                      "nn.utils.clip_grad_norm_; now try it from the formula")
    return report(name, True, f"matches clip_grad_norm_ (gradients and returned norm) on all {len(cases)} cases")


def _clips_a_list_but_not_a_generator(fn: Callable, shapes: list[tuple[int, ...]]) -> bool:
    """Return True if ``fn`` clips correctly when given a list but not when given a generator."""
    params = _make_parameters(shapes, 1.0, False, 99)
    original = _grads(params)
    try:
        fn(list(params), 1e-3)
    except Exception:  # the learner's code may fail in any way
        return False
    return any(not torch.equal(g, o) for g, o in zip(_grads(params), original, strict=True))
