"""Exercise checks for lesson 04 · Training and validation."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import (
    DEBUGGING_GUIDE,
    CheckUsageError,
    describe_error,
    is_missing,
    missing_result,
    never_raises,
    report,
    torch_load_calls,
)

__all__ = [
    "check_smoothed_cross_entropy",
    "check_overfit_one_batch",
    "check_repairs",
    "check_training_loop",
    "check_early_stopping",
    "check_save_and_reload",
    "check_fashion_classifier",
    "FASHION_PASS_MARK",
    "FASHION_SUBSET",
]

def _as_number(got: Any) -> float | torch.Tensor | None:
    """Return a float for a one-element answer, the tensor itself for a bigger one, None otherwise."""
    if isinstance(got, torch.Tensor):
        return got.detach().double().item() if got.numel() == 1 else got.detach().double()
    if isinstance(got, int | float) and not isinstance(got, bool):
        return float(got)
    return None


def _close(a: float, b: torch.Tensor | float) -> bool:
    return abs(a - float(b)) <= 1e-4 + 1e-4 * abs(float(b))


def _not_a_single_loss(value: torch.Tensor, per_example: torch.Tensor, where: str) -> str:
    """The hint for a loss returned as a tensor with dimensions: per-example losses, or another shape."""
    if value.shape == per_example.shape and torch.allclose(value, per_example, atol=1e-4):
        return (f"you returned one loss per example, shape {tuple(value.shape)}: "
                "average them with .mean() to get a single number")
    return f"{where} the answer has shape {tuple(value.shape)}; the loss must be a single number (a 0-d tensor)"


# (batch size, classes, logit scale, smoothing): smoothing 0 must reduce to plain cross-entropy;
# the last case has logits in the hundreds, which only a log-space formula survives.
_SMOOTH_CASES = [(4, 3, 2.0, 0.1), (1, 5, 1.0, 0.0), (8, 10, 3.0, 0.2), (6, 4, 1.0, 0.5), (3, 4, 400.0, 0.1)]


@never_raises("Exercise 1 (smoothed_cross_entropy)")
def check_smoothed_cross_entropy(fn: Any) -> bool:
    """Check ``fn(logits (B, K), y (B,), smoothing) -> mean loss`` against ``F.cross_entropy(label_smoothing=...)``.

    Any correct formula is accepted. Smoothing ignored, the smoothing mass spread over
    the K - 1 wrong classes only, the true class's weight left at 1, a sum over classes
    instead of a mean, probabilities instead of log-probabilities, softmax over the
    wrong dimension, per-example losses, a sum over the batch, a flipped sign and an
    overflow on large logits each get their own hint.

    Introduced in lesson 04.
    """
    name = "Exercise 1 (smoothed_cross_entropy)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"smoothed_cross_entropy must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(14)
    for batch, classes, scale, eps in _SMOOTH_CASES:
        logits = torch.randn(batch, classes, generator=gen) * scale
        y = torch.randint(0, classes, (batch,), generator=gen)
        where = f"for logits of shape {(batch, classes)} and smoothing {eps}" + (
            " with large logits" if scale > 100 else "")
        try:
            got = fn(logits.clone(), y.clone(), eps)
        except TypeError as err:
            if "positional argument" in str(err):
                return report(name, False, f"call it as fn(logits, y, smoothing) with three arguments ({err})")
            return report(name, False, f"{where} it raised TypeError: {err}")
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"{where} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return missing_result(name, fn, got)
        value = _as_number(got)
        if value is None:
            return report(name, False, f"return the loss as a tensor (or a number), got a {type(got).__name__}")
        z = logits.double()
        rows = torch.arange(batch)
        log_p = torch.log_softmax(z, dim=1)  # (B, K)
        nll = -log_p[rows, y]  # (B,) the plain cross-entropy of each row
        uniform = -log_p.mean(dim=1)  # (B,) cross-entropy against the uniform distribution
        per_example = (1 - eps) * nll + eps * uniform
        expected = F.cross_entropy(z, y, label_smoothing=eps).item()
        if isinstance(value, torch.Tensor):
            return report(name, False, _not_a_single_loss(value, per_example, where))
        if _close(value, expected):
            continue
        if scale > 100 and not torch.isfinite(torch.tensor(value)):
            return report(name, False, f"{where} you got {value}: exp() of a large logit overflows, or a "
                          "probability underflows to 0 and log(0) = -inf. Work in log space with "
                          "torch.log_softmax(logits, dim=1)")
        hints = []
        if eps > 0:
            hints.append((nll.mean(), "the smoothing is ignored: with smoothing > 0 the target is "
                          "(1 - smoothing) on the true class plus smoothing / K on every class"))
            others = (-log_p.sum(dim=1) - nll) / (classes - 1)
            hints.append((((1 - eps) * nll + eps * others).mean(), "you spread the smoothing over the K - 1 "
                          "wrong classes only; PyTorch gives smoothing / K to every class, the true one included"))
            hints.append(((nll + eps * uniform).mean(), "the true class keeps weight 1: it must get "
                          "(1 - smoothing) + smoothing / K, so scale the plain cross-entropy by (1 - smoothing)"))
            hints.append((((1 - eps) * nll + eps * (-log_p.sum(dim=1))).mean(), "each class gets smoothing / K, "
                          "so the uniform part is the MEAN of -log p over the classes, not their sum"))
            hints.append(((eps * nll + (1 - eps) * uniform).mean(), "the weights are swapped: (1 - smoothing) "
                          "goes with the true class and smoothing with the uniform part"))
        p = log_p.exp()
        hints.append((-((1 - eps) * p[rows, y] + eps * p.mean(dim=1)).mean(), "take the natural log of the "
                      "probabilities: the loss is -sum_k q_k log p_k, e.g. with torch.log_softmax(logits, dim=1)"))
        wrong_dim = torch.log_softmax(z, dim=0)
        hints.append((((1 - eps) * -wrong_dim[rows, y] + eps * -wrong_dim.mean(dim=1)).mean(),
                      "softmax over the wrong dimension: the classes are along dim=1 (each row sums to 1)"))
        hints.append((-torch.tensor(expected), "the sign is flipped: the loss is MINUS sum_k q_k log p_k"))
        if batch > 1:
            hints.append((torch.tensor(expected * batch), f"this is the sum over the batch (B = {batch}): "
                          "take the mean instead"))
        for candidate, hint in hints:
            if _close(value, candidate):
                return report(name, False, f"{where}: {hint}")
        if scale > 100:
            return report(name, False, f"{where} you got {value:.6g} instead of {expected:.6g}: the formula is "
                          "right for small logits but not stable; use torch.log_softmax")
        return report(name, False, f"{where} you got {value:.6g} but F.cross_entropy(..., label_smoothing="
                      f"{eps}) gives {expected:.6g}; the loss is the batch mean of -sum_k q_k log p_k")
    return report(name, True, f"matches F.cross_entropy(label_smoothing=...) on {len(_SMOOTH_CASES)} batches, "
                  "smoothing 0 and large logits included")


# ------------------------------------------------------------------ Exercise 2: overfit one batch
_OF_STEPS = 15  # steps the check asks the learner's function for
_OF_HINTS = {
    "no_zero_grad": "the gradients add up from one step to the next: call optimizer.zero_grad() in every "
                    "step, before loss.backward()",
    "no_step": "the loss never changes: the loop must call optimizer.step() after loss.backward()",
    "own_optimizer": "the optimiser you were given was never used: step with the `optimizer` argument, "
                     "not a new one (its type and learning rate are part of the set-up under test)",
    "untouched": "the model you were given did not change: train it in place (no copy), with the "
                 "optimiser you were given",
}


def _of_problem(seed: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small model, one batch of 24 points (24, 10) and labels of 4 classes, all from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.randn(24, 10, generator=gen), torch.randint(0, 4, (24,), generator=gen)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    return model, X, y


def _sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)


def _of_reference(seed: int, steps: int, variant: str = "right") -> list[float]:
    """The losses of one batch trained ``steps`` times by a correct loop (or by ``variant``'s bug).

    ``"after"`` records the loss after each update instead of before it (also correct).
    """
    model, X, y = _of_problem(seed)
    optimizer, loss_fn = _sgd(model), nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(X), y)
        if variant != "no_zero_grad":
            optimizer.zero_grad()
        loss.backward()
        if variant != "no_step":
            optimizer.step()
        if variant == "after":
            with torch.no_grad():
                loss = loss_fn(model(X), y)
        losses.append(loss.item())
    return losses


def _as_losses(got: Any) -> list[float] | None:
    """``got`` as a list of floats (from a list of numbers or 0-d tensors, a 1-D tensor or array), else None."""
    try:
        if isinstance(got, torch.Tensor | np.ndarray):
            values = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got, dtype=float)
            return [float(v) for v in values] if values.ndim == 1 else None
        if isinstance(got, list | tuple):
            return [float(v.detach() if isinstance(v, torch.Tensor) else v) for v in got]
    except (TypeError, ValueError, RuntimeError):
        return None
    return None


def _same_losses(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(u - v) <= 1e-4 + 1e-4 * abs(v) for u, v in zip(a, b, strict=True))


@never_raises("Exercise 2 (overfit_one_batch)")
def check_overfit_one_batch(fn: Any) -> bool:
    """Check ``fn(model, loss_fn, optimizer, X, y, steps) -> list of losses`` (one float per step).

    The check gives the function a small model, an SGD optimiser with momentum and one
    batch of points whose seed changes at every call, and compares the returned losses with
    a correct loop's (the loss before each update, or after it: both are accepted). A
    missing ``zero_grad``, a missing ``step``, a new optimiser
    in place of the given one, a copied model, a wrong number of losses, a single number
    and a forgotten ``return`` each get their own hint. The check never raises for a
    wrong answer (except in strict mode).

    Introduced in lesson 04.
    """
    name = "Exercise 2 (overfit_one_batch)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"overfit_one_batch must be a function, got a {type(fn).__name__}")
    seed = int(np.random.SeedSequence().entropy % 2**31)  # new data at every call: nothing to memorise
    with torch.random.fork_rng(devices=[]):
        model, X, y = _of_problem(seed)
        optimizer = _sgd(model)
        start = [p.detach().clone() for p in model.parameters()]
        try:
            got = fn(model, nn.CrossEntropyLoss(), optimizer, X, y, _OF_STEPS)
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"it raised {type(err).__name__}: {err}")
        changed = not all(torch.equal(a, p.detach()) for a, p in zip(start, model.parameters(), strict=True))
        used_given = bool(optimizer.state)  # SGD with momentum keeps a buffer once it has stepped
        if got is None:
            if changed:
                return report(name, False, "your function trained the model but returned None: did you "
                              "forget `return losses`?")
            return missing_result(name, fn, got)
        losses = _as_losses(got)
        if losses is None:
            kind = "a single number" if _as_number(got) is not None else f"a {type(got).__name__}"
            return report(name, False, f"return the list of every step's loss (one float per step), got {kind}")
        if len(losses) != _OF_STEPS:
            return report(name, False, f"asked for {_OF_STEPS} steps, it returned {len(losses)} losses: "
                          "record one loss per step, with loss.item()")
        if any(_same_losses(losses, _of_reference(seed, _OF_STEPS, v)) for v in ("right", "after")):
            if not used_given:
                return report(name, False, _OF_HINTS["own_optimizer"])
            return report(name, True, f"{_OF_STEPS} steps on one batch, the loss of each step returned; the "
                          "given model and optimiser were trained in place")
        for variant in ("no_zero_grad", "no_step"):
            if _same_losses(losses, _of_reference(seed, _OF_STEPS, variant)):
                return report(name, False, _OF_HINTS[variant])
        if not changed:
            return report(name, False, _OF_HINTS["untouched"])
        if not used_given:
            return report(name, False, _OF_HINTS["own_optimizer"])
        expected = _of_reference(seed, _OF_STEPS)
        k = next(i for i, (u, v) in enumerate(zip(losses, expected, strict=True)) if abs(u - v) > 1e-4 + 1e-4 * v)
        return report(name, False, f"the losses differ from a correct loop's from step {k + 1} on (yours "
                      f"{losses[k]:.4f}, expected {expected[k]:.4f}): each step is forward, loss, "
                      "optimizer.zero_grad(), loss.backward(), optimizer.step(), on the same X and y")


_BROKEN_ABOVE, _LEARNT_BELOW = 0.1, 0.05  # final losses (after 50 steps) that mean broken / learnt


def _final_overfit_loss(setup: Callable[[], Any], X: torch.Tensor, y: torch.Tensor, steps: int = 50) -> float:
    """Build ``setup()`` from seed 0, train it ``steps`` times on (X, y), return the last step's loss."""
    torch.manual_seed(0)
    model, loss_fn, optimizer = setup()
    model.train()
    for _ in range(steps):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.item())


def _built(setup: Any) -> tuple[tuple[nn.Module, Any, torch.optim.Optimizer] | None, str]:
    """Call ``setup()``; return its (model, loss_fn, optimizer) and "", or None and what went wrong."""
    try:
        torch.manual_seed(0)
        built = setup()
    except Exception as err:  # learner code may fail in any way
        return None, f"raised {type(err).__name__}: {err}"
    if not (isinstance(built, tuple) and len(built) == 3 and isinstance(built[0], nn.Module)
            and isinstance(built[2], torch.optim.Optimizer)):
        return None, "must return (model, loss_fn, optimizer), like the set-ups above"
    return built, ""


@never_raises("Exercise 2 (repairs)")
def check_repairs(repairs: Any, setups: Mapping[str, Callable[[], Any]], X: torch.Tensor, y: torch.Tensor) -> bool:
    """Check ``repairs``: for each broken set-up of ``setups``, a function that builds it repaired.

    ``setups`` maps names to functions returning ``(model, loss_fn, optimizer)``; ``X, y``
    is the batch to overfit. A set-up is broken when, trained 50 steps on the batch from
    seed 0, its loss is still above 0.1. A repair must bring it below 0.05 while keeping
    the model's number of parameters and the optimiser's type (fix the bug, do not swap the
    set-up for another). Repairing a healthy set-up, leaving a broken one out, an unknown
    name, a repair that raises or returns something else, a changed architecture or
    optimiser type, and a repair that still does not learn each get their own hint.

    Introduced in lesson 04.
    """
    name = "Exercise 2 (repairs)"
    if is_missing(repairs) or (isinstance(repairs, Mapping) and not repairs):
        return report(name, None)
    if not isinstance(repairs, Mapping):
        return report(name, False, f"repairs must be a dict from set-up name to function, got a {type(repairs).__name__}")
    unknown = [key for key in repairs if key not in setups]
    if unknown:
        return report(name, False, f"no set-up is called {unknown[0]!r}; the names are {sorted(setups)}")
    with torch.random.fork_rng(devices=[]):
        finals = {}
        for key, setup in setups.items():
            try:
                finals[key] = _final_overfit_loss(setup, X, y)
            except Exception:  # a set-up that cannot even train is broken
                finals[key] = math.inf
        broken = {key for key, loss in finals.items() if not loss <= _BROKEN_ABOVE}
        for key in sorted(repairs):
            if key not in broken:
                return report(name, False, f"setup_{key} is not broken: its loss falls to {finals[key]:.4f} on "
                              "the batch, so it can learn; leave it out of repairs")
        missing = sorted(broken - set(repairs))
        if missing:
            key = missing[0]
            fate = (f"its loss is still {finals[key]:.2f} after 50 steps on one batch" if math.isfinite(finals[key])
                    else "it cannot train for 50 steps on one batch")
            return report(name, False, f"setup_{key} is broken too: {fate}. Read its code for the bug and add "
                          "a repair")
        for key in sorted(repairs):
            original, _ = _built(setups[key])
            repaired, problem = _built(repairs[key])
            if repaired is None:
                return report(name, False, f"the repair of setup_{key} {problem}")
            if original is not None:
                count = sum(p.numel() for p in original[0].parameters())
                new_count = sum(p.numel() for p in repaired[0].parameters())
                if new_count != count:
                    return report(name, False, f"the repair of setup_{key} has {new_count:,} parameters, the "
                                  f"original {count:,}: keep the architecture and fix only the bug")
                if type(repaired[2]) is not type(original[2]):
                    return report(name, False, f"the repair of setup_{key} uses {type(repaired[2]).__name__}, "
                                  f"the original {type(original[2]).__name__}: keep the optimiser's type and fix "
                                  "how it is built or configured")
            try:
                final = _final_overfit_loss(repairs[key], X, y)
            except Exception as err:  # learner code may fail in any way
                return report(name, False, f"training the repair of setup_{key} raised {type(err).__name__}: {err}")
            if not final < _LEARNT_BELOW:
                return report(name, False, f"the repair of setup_{key} still does not learn the batch: loss "
                              f"{final:.3f} after 50 steps (a working set-up gets below {_LEARNT_BELOW})")
    fixed = ", ".join(f"setup_{key}" for key in sorted(repairs))
    return report(name, True, f"{fixed} now learn the batch (loss below {_LEARNT_BELOW} after 50 steps), "
                  "with their architecture and optimiser type kept")


# ------------------------------------------------------------------ Exercise 3: find the bugs
_BUG_HINTS = {
    "softmax": "the loss is given probabilities: nn.CrossEntropyLoss applies log_softmax itself, so pass "
               "it the raw logits (no torch.softmax before the loss)",
    "zero_grad": "gradients add up from one step to the next: clear them with optimizer.zero_grad() "
                 "before loss.backward()",
    "eval": "validation runs in training mode, so dropout is still on: call model.eval() before it",
    "no_grad": "validation builds an autograd graph it never uses: wrap it in torch.no_grad()",
    "dim": "argmax over the wrong dimension: the classes are along dim=1, so use logits.argmax(dim=1)",
}
_TRAIN_SIZE, _VAL_SIZE = 12, 25  # batch sizes that tell a training call from a validation call


class _SpyLoss(nn.CrossEntropyLoss):
    """nn.CrossEntropyLoss that notes whether it was given probabilities instead of logits."""

    def __init__(self) -> None:
        super().__init__()
        self.saw_probabilities = False

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # noqa: A002
        with torch.no_grad():
            rows_sum_to_one = torch.allclose(input.sum(dim=1), torch.ones(len(input)), atol=1e-4)
            if rows_sum_to_one and input.min() >= 0:
                self.saw_probabilities = True
        return super().forward(input, target)


def _blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points (n, 4) in three well separated clusters, and their labels (n,)."""
    y = torch.arange(n) % 3
    centres = torch.tensor([[2.0, 0, 0, 1], [0, 2.0, 0, -1], [0, 0, 2.0, 0]])
    return centres[y] + 0.5 * torch.randn(n, 4, generator=gen), y


@never_raises("Exercise 3 (train_and_validate)")
def check_training_loop(fn: Any) -> bool:
    """Check ``fn(model, train_loader, val_loader, loss_fn, optimizer, num_epochs) -> validation accuracy``.

    The check trains a tiny seeded model (with dropout) on three clusters of points and
    watches it work: the loss's input (logits or probabilities), whether each step's
    gradient is fresh or added to the last one, and the model's mode and autograd state
    during validation. Each bug still present is named; the returned accuracy must equal
    the trained model's accuracy on the validation set, measured by the check.

    Introduced in lesson 04.
    """
    name = "Exercise 3 (train_and_validate)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"train_and_validate must be a function, got a {type(fn).__name__}")
    from torch.utils.data import DataLoader, TensorDataset

    with torch.random.fork_rng(devices=[]):  # leave the notebook's random numbers untouched
        torch.manual_seed(7)
        gen = torch.Generator().manual_seed(7)
        X_tr, y_tr = _blobs(5 * _TRAIN_SIZE, gen)
        X_val, y_val = _blobs(2 * _VAL_SIZE, gen)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
        start = [p.detach().clone() for p in model.parameters()]
        train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=_TRAIN_SIZE, shuffle=True,
                                  generator=torch.Generator().manual_seed(0))
        val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=_VAL_SIZE)
        loss_fn = _SpyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

        fresh: dict[int, torch.Tensor] = {}
        added_up = []
        handles = [p.register_hook(lambda g, i=i: fresh.__setitem__(i, g.detach().clone()))
                   for i, p in enumerate(model.parameters())]
        real_step = optimizer.step

        def spy_step(*args: Any, **kwargs: Any) -> Any:
            for i, p in enumerate(model.parameters()):
                if p.grad is not None and i in fresh:
                    added_up.append(not torch.allclose(p.grad, fresh[i], atol=1e-7))
            return real_step(*args, **kwargs)

        optimizer.step = spy_step
        calls: list[tuple[int, bool, bool]] = []
        handles.append(model.register_forward_pre_hook(
            lambda module, args: calls.append((len(args[0]), module.training, torch.is_grad_enabled()))))
        error = None
        try:
            got = fn(model, train_loader, val_loader, loss_fn, optimizer, 3)
        except Exception as err:  # learner code may fail in any way
            got, error = None, err
        finally:
            for handle in handles:
                handle.remove()
            optimizer.step = real_step

    bugs = []
    if loss_fn.saw_probabilities:
        bugs.append("softmax")
    if any(added_up):
        bugs.append("zero_grad")
    val_calls = [c for c in calls if c[0] == _VAL_SIZE]
    if any(training for _, training, _ in val_calls):
        bugs.append("eval")
    if any(grad for _, _, grad in val_calls):
        bugs.append("no_grad")
    if error is not None and "must match the size" in str(error):
        bugs.append("dim")
    if bugs:
        listed = "; ".join(f"({k}) {_BUG_HINTS[b]}" for k, b in enumerate(bugs, start=1))
        return report(name, False, f"{len(bugs)} bug{'s' if len(bugs) > 1 else ''} left: {listed} "
                      f"({DEBUGGING_GUIDE} lists these and the other silent bugs)")
    if error is not None:
        return report(name, False, f"it raised {type(error).__name__}: {error}")
    if is_missing(got):
        return missing_result(name, fn, got)
    if not calls or all(torch.equal(a, p) for a, p in zip(start, model.parameters(), strict=True)):
        return report(name, False, "the model's weights never changed: the loop must call optimizer.step() "
                      "for every training batch")
    with torch.no_grad():
        model.eval()
        true_acc = (model(X_val).argmax(dim=1) == y_val).float().mean().item()
    value = _as_number(got)
    if not isinstance(value, float):
        return report(name, False, f"return the validation accuracy as a number, got a {type(got).__name__}")
    if abs(value - true_acc * len(X_val) / len(val_loader)) < 1e-6 and len(val_loader) != len(X_val):
        return report(name, False, f"you returned {value:g}: len(val_loader) counts batches, not images; "
                      "divide the correct predictions by len(val_loader.dataset)")
    if abs(value - true_acc) > 1e-6:
        return report(name, False, f"you returned {value:.4f} but the trained model's validation accuracy is "
                      f"{true_acc:.4f}: count (preds == y).sum() over every batch and divide by the number of images")
    return report(name, True, f"no bugs left: fresh gradients every step, logits into the loss, validation "
                  f"in eval mode without a graph; validation accuracy {true_acc:.2f}")


# ------------------------------------------------------------------ Exercise 4: early stopping
# (patience, validation losses): ties, an improvement on the last allowed epoch, patience 1 and 3,
# and one run that never stops. Each is fed to step() until it returns True.
_ES_CASES = [
    (3, [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.9, 0.6]),  # a new best on epoch 5 resets the count
    (2, [0.5, 0.4, 0.4, 0.4, 0.3]),  # ties with the best are not improvements
    (1, [2.0, 1.5, 1.6, 1.0]),  # patience 1: stop at the first epoch without a new best
    (3, [1.0, 0.9, 0.95, 0.97, 0.85, 0.86, 0.88, 0.8]),  # never three bad epochs in a row
    (3, [1.0, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]),
    (1, [1.0, 1.2, 0.5, 0.4]),
]
_ES_RULES = {
    "early": "it stops one epoch early: with patience N, training goes on until N epochs in a row "
             "have brought no new best, and stops at the end of the N-th",
    "late": "it stops one epoch late: stop as soon as the count of epochs without a new best "
            "reaches patience (>=), not when it exceeds it",
    "no_reset": "the count of epochs without progress is not reset when a new best arrives: "
                "set it back to 0 on every improvement",
    "ties": "a tie with the best loss counts as an improvement here; fit uses a strict "
            "val_loss < best_loss, so an equal loss is an epoch without progress",
    "previous": "you compare each loss with the previous epoch's; compare it with the best loss so far "
                "(a small dip after a bad epoch is not a new best)",
    "never": "step never returned True: return True once patience epochs in a row brought no new best",
}


def _simulate(patience: int, losses: list[float], rule: str = "right") -> tuple[int | None, int]:
    """Epoch (1-based) at which ``rule`` stops (None if it never does) and its best epoch at that point."""
    best, best_epoch, bad, previous = float("inf"), 0, 0, float("inf")
    for epoch, loss in enumerate(losses, start=1):
        improved = loss <= best if rule == "ties" else loss < (previous if rule == "previous" else best)
        previous = loss
        if loss < best or (rule == "ties" and loss <= best):
            best, best_epoch = loss, epoch
        if improved:
            bad = bad if rule == "no_reset" else 0
            continue
        bad += 1
        limit = {"early": patience - 1, "late": patience + 1}.get(rule, patience)
        if rule != "never" and bad >= max(limit, 1):
            return epoch, best_epoch
    return None, best_epoch


def _fill(model: nn.Linear, value: float) -> None:
    """Overwrite every weight of ``model`` in place, as an optimiser step would."""
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def _run_stopper(cls: type, patience: int, losses: list[float]) -> tuple[Any, Any]:
    """Drive ``cls(patience)`` through ``losses``; return (the stopper, list of (epoch, returned value))."""
    model = nn.Linear(3, 2)
    stopper = cls(patience)
    returned = []
    for epoch, loss in enumerate(losses, start=1):
        _fill(model, float(epoch))  # the weights "after training epoch `epoch`"
        got = stopper.step(loss, model)
        returned.append(got)
        if got is None or not isinstance(got, bool | np.bool_) or got:
            break
    _fill(model, -1.0)  # the live model moves on after the last step
    return stopper, returned


@never_raises("Exercise 4 (EarlyStopping)")
def check_early_stopping(cls: Any) -> bool:
    """Check an ``EarlyStopping(patience)`` class with ``step(val_loss, model) -> bool`` and ``restore(model)``.

    The rule is that of ``helpers.training.fit(..., patience=N, keep_best=True)``: a new best
    is a strictly lower validation loss; after N epochs in a row without one, ``step``
    returns True (stop now). ``best_loss`` and ``best_epoch`` (1-based) record the best
    epoch, and ``restore(model)`` loads a copy of its weights. The check drives the class
    with scripted losses and a tiny ``nn.Linear`` whose weights it overwrites in place
    between steps; nothing is trained. Stopping one epoch early or late, a count not reset
    on improvement, ties counted as improvements, comparing with the previous epoch
    instead of the best, a patience that is ignored, a ``step`` that returns None or not a
    bool, weights stored by reference, and restoring the last epoch's weights each get
    their own hint.

    Introduced in lesson 04.
    """
    name = "Exercise 4 (EarlyStopping)"
    if is_missing(cls):
        return report(name, None)
    if not callable(cls):
        return report(name, False, f"EarlyStopping must be a class, got a {type(cls).__name__}")
    traces = []
    for patience, losses in _ES_CASES:
        where = f"with patience {patience} and validation losses {losses}"
        try:
            stopper, returned = _run_stopper(cls, patience, losses)
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"{where} it raised {type(err).__name__}: {err}")
        if returned and returned[-1] is None:
            if len(returned) == 1 and not vars(stopper):
                return report(name, None)
            return report(name, False, f"step returned None at epoch {len(returned)}: it must return "
                          "True (stop now) or False (go on) on every call")
        if returned and not isinstance(returned[-1], bool | np.bool_):
            return report(name, False, f"step returned a {type(returned[-1]).__name__}; return a plain "
                          "bool: True to stop now, False to go on")
        stop = len(returned) if returned and returned[-1] else None
        traces.append((stop, stopper))
    expected = [_simulate(p, losses) for p, losses in _ES_CASES]
    got_stops = [stop for stop, _ in traces]
    if got_stops != [stop for stop, _ in expected]:
        for rule, hint in _ES_RULES.items():
            if got_stops == [_simulate(p, losses, rule)[0] for p, losses in _ES_CASES]:
                return report(name, False, hint)
        for fixed in range(1, 21):
            if got_stops == [_simulate(fixed, losses)[0] for _, losses in _ES_CASES]:
                return report(name, False, f"it behaves as if patience were always {fixed}: store the patience "
                              "given to the constructor and use it in step")
        i = next(i for i, (a, (b, _)) in enumerate(zip(got_stops, expected, strict=True)) if a != b)
        patience, losses = _ES_CASES[i]
        said = f"stopped at epoch {got_stops[i]}" if got_stops[i] else "never stopped"
        should = f"epoch {expected[i][0]}" if expected[i][0] else "never stopping"
        return report(name, False, f"with patience {patience} and validation losses {losses} it {said}; "
                      f"fit's rule gives {should}")
    for (patience, losses), (stop, stopper), (_, best_epoch) in zip(_ES_CASES, traces, expected, strict=True):
        where = f"with patience {patience} and validation losses {losses}"
        got_epoch, got_loss = getattr(stopper, "best_epoch", None), getattr(stopper, "best_loss", None)
        if got_epoch is None or got_loss is None:
            return report(name, False, "keep the best epoch's loss and number in self.best_loss and "
                          "self.best_epoch (1 for the first call of step)")
        if got_epoch == best_epoch - 1:
            return report(name, False, f"{where} best_epoch is {got_epoch}, one less than {best_epoch}: "
                          "count epochs from 1, as fit's History.best_epoch does")
        try:
            same_loss = float(got_loss) == losses[best_epoch - 1]
        except (TypeError, ValueError):
            same_loss = False
        if got_epoch != best_epoch or not same_loss:
            return report(name, False, f"{where} best_epoch, best_loss = {got_epoch!r}, {got_loss!r}; "
                          f"expected {best_epoch}, {losses[best_epoch - 1]}")
        other = nn.Linear(3, 2)
        _fill(other, 0.5)
        try:
            stopper.restore(other)
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"{where} restore(model) raised {type(err).__name__}: {err}")
        values = {round(v, 6) for p in other.parameters() for v in p.detach().flatten().tolist()}
        last = stop or len(losses)
        if values == {float(best_epoch)}:
            continue
        if values == {-1.0}:
            return report(name, False, "the 'best' weights followed the live model: model.state_dict() "
                          "returns references to the model's own tensors, which the optimiser keeps "
                          "changing. Store a copy: copy.deepcopy(model.state_dict())")
        if values == {float(last)}:
            return report(name, False, f"{where} restore loaded the weights of the last epoch ({last}), "
                          f"not of the best ({best_epoch}): copy the weights only on a new best")
        if values == {0.5}:
            return report(name, False, "restore(model) left the model it was given unchanged: call "
                          "model.load_state_dict(...) on that model with the stored copy")
        return report(name, False, f"{where} restore(model) loaded weights that are not those of the "
                      f"best epoch ({best_epoch})")
    return report(name, True, f"stops where fit(..., patience=N, keep_best=True) would on {len(_ES_CASES)} "
                  "runs (ties, patience 1 and 3, a late new best, one run that never stops) and restores "
                  "a copy of the best weights")


def _holds(container: Any, target: Mapping, depth: int = 2) -> bool:
    """Return True if ``container`` equals ``target`` or holds it (dict values, list items) within ``depth`` levels."""
    if isinstance(container, Mapping) and dict(container) == dict(target):
        return True
    if depth == 0:
        return False
    items = container.values() if isinstance(container, Mapping) else container if isinstance(container, list | tuple) else []
    return any(_holds(item, target, depth - 1) for item in items)


@never_raises("Exercise 5 (save_and_reload)")
def check_save_and_reload(
    fn: Any,
    build_model: Callable[..., nn.Module],
    hparams: Mapping[str, Any],
    X: torch.Tensor,
    folder: str | Path | None = None,
) -> bool:
    """Check ``fn(model, hparams, path) -> new model``: a save/load round trip through a file.

    The check builds ``build_model(**hparams)``, calls ``fn`` with a file path in
    ``folder`` (a temporary folder when None), and verifies that the file was written,
    holds the hyper-parameters, is read back with ``torch.load(..., weights_only=True)``,
    and that the returned model is a separate object with the same state_dict keys and
    the same predictions on ``X``.

    Introduced in lesson 04.
    """
    name = "Exercise 5 (save_and_reload)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"save_and_reload must be a function, got a {type(fn).__name__}")
    if not callable(build_model) or not isinstance(hparams, Mapping) or not isinstance(X, torch.Tensor):
        raise CheckUsageError("check_save_and_reload needs build_model (a function), hparams (a dict) and X (a tensor)")
    if folder is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _check_round_trip(name, fn, build_model, dict(hparams), X, Path(tmp))
    return _check_round_trip(name, fn, build_model, dict(hparams), X, Path(folder))


def _swap_state(content: Any, keys: set[str], new: Mapping[str, torch.Tensor], depth: int = 2) -> Any:
    """``content`` (what a checkpoint read returned) with any state dict of ``keys`` in it replaced by ``new``."""
    if isinstance(content, Mapping) and set(map(str, content)) == keys:
        return {key: new[key].clone() for key in content}
    if depth > 0 and isinstance(content, Mapping):
        return {key: _swap_state(value, keys, new, depth - 1) for key, value in content.items()}
    if depth > 0 and isinstance(content, list | tuple):
        return type(content)(_swap_state(value, keys, new, depth - 1) for value in content)
    return content


def _check_round_trip(name: str, fn: Any, build_model: Callable[..., nn.Module], hparams: dict,
                      X: torch.Tensor, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exercise2_check.pt"
    path.unlink(missing_ok=True)
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random numbers untouched
        torch.manual_seed(404)
        model = build_model(**hparams).eval()
    with torch.no_grad():
        expected = model(X)
    original_state = {k: v.clone() for k, v in model.state_dict().items()}
    # What the learner's code reads from the file is swapped for other weights: only a model built
    # from what was read predicts like `other`, whatever function read the file.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(405)
        other = build_model(**hparams).eval()
    other_state = {k: v.detach().clone() for k, v in other.state_dict().items()}
    with torch.no_grad():
        other_expected = other(X)

    got, error = None, None
    with torch_load_calls(lambda content: _swap_state(content, set(original_state), other_state)) as calls:
        try:
            got = fn(model, dict(hparams), path)
        except Exception as err:  # learner code may fail in any way
            error = err
    if error is not None:
        return report(name, False, f"calling save_and_reload(model, hparams, path) raised {describe_error(error)}")
    try:
        if is_missing(got):
            return missing_result(name, fn, got)
        if not isinstance(got, nn.Module):
            return report(name, False, f"return the reloaded model (an nn.Module), got a {type(got).__name__}")
        if got is model:
            return report(name, False, "you returned the model you were given: build a fresh one with "
                          "build_model(**hparams) and load the saved weights into it")
        if not path.is_file():
            return report(name, False, f"nothing was written to {path.name}: save with torch.save(checkpoint, path)")
        if any(flag is False for flag in calls):
            return report(name, False, "never pass weights_only=False: it lets a file run any code while it "
                          "loads. Use torch.load(path, weights_only=True)")
        try:
            saved = torch.load(path, weights_only=True)
        except Exception as err:  # anything unreadable counts as a wrong answer
            return report(name, False, f"the file cannot be read with weights_only=True ({type(err).__name__}); "
                          "store only plain data: a dict with the state_dict and the hparams dict")
        if not _holds(saved, hparams):
            return report(name, False, "the file does not hold the hyper-parameters: save a dict such as "
                          "{'hparams': hparams, 'model_state': model.state_dict()} so the model can be rebuilt")
        got_state = got.state_dict()
        if list(got_state) != list(original_state):
            return report(name, False, f"the reloaded model has keys {list(got_state)[:4]}..., expected "
                          f"{list(original_state)[:4]}...: rebuild it with build_model(**hparams)")
        ours = {t.data_ptr() for t in model.state_dict().values()}
        if any(t.data_ptr() in ours for t in got_state.values()):
            return report(name, False, "the reloaded model shares its tensors with the original (did you "
                          "deepcopy it?): build a fresh model and load the file's state_dict into it")
        got.eval()
        with torch.no_grad():
            predictions = got(X)
        if not isinstance(predictions, torch.Tensor) or predictions.shape != expected.shape:
            return report(name, False, "the reloaded model gives outputs of another shape: rebuild it with "
                          "build_model(**hparams)")
        predictions = predictions.detach().cpu().double()
        if torch.allclose(predictions, expected.double(), atol=1e-6) and not torch.allclose(
            predictions, other_expected.double(), atol=1e-6
        ):
            return report(name, False, "the file was never read back: the model you return has the weights that "
                          "were in memory (a copy, or weights loaded and then ignored). Build a fresh model and "
                          "load_state_dict what torch.load(path, weights_only=True) returns")
        if not torch.allclose(predictions, other_expected.double(), atol=1e-6):
            return report(name, False, "the reloaded model predicts differently: call "
                          "new_model.load_state_dict(checkpoint['model_state']) on the fresh model")
        note = "" if all(flag is True for flag in calls.explicit) else (
            " (tip: write weights_only=True explicitly; older PyTorch versions default to False)")
        return report(name, True, f"same {len(got_state)} tensors and same predictions after the round trip, "
                      f"read back safely{note}")
    finally:
        model.load_state_dict(original_state)
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------ Exercise 6: Fashion-MNIST
FASHION_PASS_MARK = 0.80  # the answer reaches about 0.84; chance is 0.10
FASHION_SUBSET = 12_000  # training images the lesson hands out (load_fashion_mnist(subset=..., seed=0))
_HELD_OUT = 2_000  # training images outside that subset: a second set the learner never trained on
_MEMORISED_GAP = 0.03  # test accuracy this far above the held-out one means the test images were learned


def _predict(model: nn.Module, X: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Class predictions of ``model`` on ``X`` in evaluation mode, on the model's device and dtype."""
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    preds = []
    with torch.no_grad():
        for start in range(0, len(X), batch):
            logits = model(X[start:start + batch].to(device=device, dtype=dtype))
            if not isinstance(logits, torch.Tensor) or logits.shape != (len(X[start:start + batch]), 10):
                shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise _WrongOutput(shape)
            preds.append(logits.argmax(dim=1).cpu())
    return torch.cat(preds)


class _WrongOutput(Exception):
    pass


def _normalised(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return ((images.float() / 255 - mean) / std).unsqueeze(1)  # (N, 1, 28, 28)


def _fashion_input_or_order_hint(model: nn.Module, test: Any, preds: torch.Tensor, accuracy: float,
                                 mark: float) -> str | None:
    """Name a right model fed the wrong way: trained on other pixels (0-255, [0, 1]) or with the classes in another order."""
    better = max(accuracy + 0.1, mark)
    for kind, images in (("0-255", test.data.float().unsqueeze(1)), ("[0, 1]", test.data.float().unsqueeze(1) / 255)):
        try:
            other = (_predict(model, images) == test.targets).float().mean().item()
        except Exception:  # only a diagnosis
            continue
        if other >= better:
            return (f"accuracy {accuracy:.3f} on the normalised test images but {other:.3f} on pixels {kind}: the "
                    f"model was trained on pixels {kind}. The check, like the lesson, feeds (x / 255 - mean) / std "
                    "with the training pixels' mean and std: train on X_fashion as the lesson prepares it")
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((preds, test.targets), torch.ones_like(preds), accumulate=True)
    relabel = confusion.argmax(dim=1)  # for each predicted class, the true class it most often is
    if relabel.unique().numel() == 10 and not torch.equal(relabel, torch.arange(10)):
        reordered = (relabel[preds] == test.targets).float().mean().item()
        if reordered >= better:
            return (f"accuracy {accuracy:.3f}, but {reordered:.3f} once its outputs are relabelled: the classes are in "
                    "another order. Output k must score class k of the dataset (y_fashion's labels, as given)")
    return None


@never_raises("Exercise 6 (train_fashion_classifier)")
def check_fashion_classifier(model: Any, mean: float, std: float, *, _mark: float = FASHION_PASS_MARK) -> bool:
    """Check a Fashion-MNIST classifier on the 10,000 test images it never saw.

    ``model`` takes images of shape (B, 1, 28, 28), normalised with the training pixels'
    ``mean`` and ``std`` (as the lesson prepares them), and returns logits (B, 10). It
    passes with a test accuracy of at least ``FASHION_PASS_MARK``. The check loads the test
    images itself; it also measures 2,000 training images outside the lesson's subset, so
    a model trained on the test images is recognised. An untrained model, one that
    predicts one class, one trained on MNIST digits, and wrong shapes each get their own
    hint. The model's train/eval mode is restored afterwards.
    """
    name = "Exercise 6 (train_fashion_classifier)"
    if is_missing(model):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"return the trained model (an nn.Module), got a {type(model).__name__}")
    if isinstance(mean, bool) or not isinstance(mean, int | float) or isinstance(std, bool) \
            or not isinstance(std, int | float) or not std > 0:
        return report(name, False, f"pass the training pixels' mean and std as numbers (std > 0), got {mean!r}, {std!r}")
    was_training = model.training
    model.eval()
    try:
        return _check_fashion(name, model, float(mean), float(std), _mark)
    except Exception as err:  # anything the check itself cannot handle is reported, never raised
        return report(name, False, f"the check could not measure the model: {type(err).__name__}: {err}")
    finally:
        model.train(was_training)


def _check_fashion(name: str, model: nn.Module, mean: float, std: float, mark: float) -> bool:
    from helpers.data import fashion_subset_indices, load_fashion_mnist, load_mnist

    test = load_fashion_mnist(train=False)
    X_test = _normalised(test.data, mean, std)
    try:
        preds = _predict(model, X_test)
    except _WrongOutput as err:
        return report(name, False, f"the model returned {err.args[0]} for a batch of images; it must return logits "
                      "of shape (B, 10), one score per class")
    except Exception as err:  # learner code may fail in any way
        text = f"{type(err).__name__}: {err}"
        hint = (" Hint: the images come as (B, 1, 28, 28); start the model with nn.Flatten()"
                if "mat1 and mat2" in str(err) or "shape" in str(err) else "")
        return report(name, False, f"the model raised {text}.{hint}")
    accuracy = (preds == test.targets).float().mean().item()
    if accuracy < mark:
        hint = _fashion_input_or_order_hint(model, test, preds, accuracy, mark)
        if hint:
            return report(name, False, hint)
    counts = torch.bincount(preds, minlength=10)
    if counts.max().item() == len(preds):
        top = int(counts.argmax())
        return report(name, False, f"it predicts '{test.classes[top]}' for every test image (accuracy "
                      f"{accuracy:.3f}): the model is untrained or collapsed. Train it on X_fashion, y_fashion")
    if accuracy < mark:
        digits = load_mnist(train=False)
        mnist_train = load_mnist(train=True).data.float() / 255
        m_mean, m_std = mnist_train.mean().item(), mnist_train.std().item()
        try:
            digit_accuracy = (_predict(model, _normalised(digits.data, m_mean, m_std)) == digits.targets).float().mean().item()
        except Exception:  # the digits are only a diagnosis
            digit_accuracy = 0.0
        if digit_accuracy >= 0.8:
            return report(name, False, f"accuracy {accuracy:.3f} on clothes but {digit_accuracy:.3f} on MNIST digits: "
                          "this model learned digits. Train a new one on X_fashion, y_fashion")
        if accuracy < 0.2:
            return report(name, False, f"accuracy {accuracy:.3f}, near chance (0.10): is the model trained? Run a few "
                          "epochs of the lesson's loop on X_fashion, y_fashion")
        return report(name, False, f"accuracy {accuracy:.3f} on the 10,000 test images, below the mark of "
                      f"{mark:.2f}: train for more epochs or on all of X_fashion, and make sure "
                      "model.train() is on while training")
    train = load_fashion_mnist(train=True)
    inside = np.zeros(len(train), dtype=bool)
    inside[fashion_subset_indices(train.targets, FASHION_SUBSET, seed=0)] = True
    others = torch.from_numpy(np.flatnonzero(~inside)[:_HELD_OUT])
    held_out = (_predict(model, _normalised(train.data[others], mean, std)) == train.targets[others]).float().mean().item()
    if accuracy - held_out > _MEMORISED_GAP:
        return report(name, False, f"accuracy {accuracy:.3f} on the test images but {held_out:.3f} on {_HELD_OUT:,} "
                      "other training images it never saw: was it trained on the test set? Train only on "
                      "X_fashion, y_fashion; the test images are for the final measurement")
    return report(name, True, f"accuracy {accuracy:.3f} on the 10,000 test images it never saw (mark "
                  f"{mark:.2f}, chance 0.10; no sign of training on them in {_HELD_OUT:,} other "
                  "unseen training images)")
