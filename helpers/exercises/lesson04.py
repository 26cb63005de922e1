"""Exercise checks for lesson 04 · Training and validation."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import is_missing, report, torch_load_calls

__all__ = ["check_cross_entropy", "check_save_and_reload", "check_fashion_classifier", "FASHION_PASS_MARK", "FASHION_SUBSET"]

# (batch size, number of classes, scale of the logits): ordinary cases first, then one
# with huge logits that only a numerically stable formula survives.
_CE_CASES = [(4, 3, 2.0), (1, 5, 1.0), (8, 10, 3.0), (3, 4, 400.0)]


def _as_number(got: Any) -> float | torch.Tensor | None:
    """Return a float for a one-element answer, the tensor itself for a bigger one, None otherwise."""
    if isinstance(got, torch.Tensor):
        return got.detach().double().item() if got.numel() == 1 else got.detach().double()
    if isinstance(got, int | float) and not isinstance(got, bool):
        return float(got)
    return None


def _close(a: float, b: torch.Tensor | float) -> bool:
    return abs(a - float(b)) <= 1e-4 + 1e-4 * abs(float(b))


def check_cross_entropy(fn: Any) -> bool:
    """Check ``fn(logits (B, K), y (B,)) -> mean cross-entropy`` against ``F.cross_entropy``.

    Any correct formula is accepted. The usual slips (per-example losses not averaged,
    a sum instead of a mean, a missing minus sign, probabilities instead of their
    log, softmax over the wrong dimension, not picking the true class, an overflow on
    large logits) each get their own hint.

    Introduced in lesson 04.
    """
    name = "Exercise 1 (cross_entropy_by_hand)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"cross_entropy_by_hand must be a function, got a {type(fn).__name__}")
    gen = torch.Generator().manual_seed(4)
    for batch, classes, scale in _CE_CASES:
        logits = torch.randn(batch, classes, generator=gen) * scale
        y = torch.randint(0, classes, (batch,), generator=gen)
        where = f"for logits of shape {(batch, classes)}" + (" with large values" if scale > 100 else "")
        try:
            got = fn(logits.clone(), y.clone())
        except Exception as err:  # learner code may fail in any way
            return report(name, False, f"{where} it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return report(name, None)
        value = _as_number(got)
        if value is None:
            return report(name, False, f"return the loss as a tensor (or a number), got a {type(got).__name__}")
        per_example = F.cross_entropy(logits.double(), y, reduction="none")
        expected = per_example.mean().item()
        if isinstance(value, torch.Tensor):
            if value.shape == per_example.shape and torch.allclose(value, per_example, atol=1e-4):
                return report(name, False, f"you returned one loss per example, shape {tuple(value.shape)}: "
                              "average them with .mean() to get a single number")
            return report(name, False, f"{where} the answer has shape {tuple(value.shape)}; "
                          "the loss must be a single number (a 0-d tensor)")
        if _close(value, expected):
            continue
        if scale > 100 and not torch.isfinite(torch.tensor(value)):
            return report(name, False, f"{where} you got {value}: exp() of a large logit overflows to inf, "
                          "or a probability underflows to 0 and log(0) = -inf. Work in log space: "
                          "torch.log_softmax, or torch.logsumexp (it subtracts the row maximum for you)")
        log_probs = torch.log_softmax(logits.double(), dim=1)
        picked_probs = log_probs.exp()[torch.arange(batch), y]
        wrong_dim = -torch.log_softmax(logits.double(), dim=0)[torch.arange(batch), y].mean()
        if _close(value, -expected):
            return report(name, False, "the sign is flipped: the loss is MINUS the log-probability of the true class")
        if batch > 1 and _close(value, expected * batch):
            return report(name, False, f"this is the sum over the batch (B = {batch}): take the mean instead")
        if _close(value, -picked_probs.mean()) or _close(value, -(picked_probs.log10()).mean()):
            return report(name, False, "take the natural log of the probabilities: loss = -log(p_true), "
                          "e.g. with torch.log_softmax(logits, dim=1)")
        if batch > 1 and _close(value, wrong_dim):
            return report(name, False, "softmax over the wrong dimension: the classes are along dim=1 "
                          "(each row must sum to 1), not dim=0")
        if _close(value, -log_probs.mean()):
            return report(name, False, "you averaged over every class: pick only the true class of each "
                          "row, log_probs[torch.arange(B), y]")
        if scale > 100:
            return report(name, False, f"{where} you got {value:.6g} instead of {expected:.6g}: the formula is "
                          "right for small logits but not stable; use torch.logsumexp or subtract the row max")
        return report(name, False, f"{where} you got {value:.6g} but F.cross_entropy gives {expected:.6g}; "
                      "the loss is mean over rows of (logsumexp(row) - row[y])")
    return report(name, True, f"matches F.cross_entropy on {len(_CE_CASES)} batches, large logits included")


def _holds(container: Any, target: Mapping, depth: int = 2) -> bool:
    """Return True if ``container`` equals ``target`` or holds it (dict values, list items) within ``depth`` levels."""
    if isinstance(container, Mapping) and dict(container) == dict(target):
        return True
    if depth == 0:
        return False
    items = container.values() if isinstance(container, Mapping) else container if isinstance(container, list | tuple) else []
    return any(_holds(item, target, depth - 1) for item in items)


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
    name = "Exercise 2 (save_and_reload)"
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"save_and_reload must be a function, got a {type(fn).__name__}")
    if not callable(build_model) or not isinstance(hparams, Mapping) or not isinstance(X, torch.Tensor):
        raise ValueError("check_save_and_reload needs build_model (a function), hparams (a dict) and X (a tensor)")
    if folder is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _check_round_trip(name, fn, build_model, dict(hparams), X, Path(tmp))
    return _check_round_trip(name, fn, build_model, dict(hparams), X, Path(folder))


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

    try:
        with torch_load_calls() as calls:
            got = fn(model, dict(hparams), path)
    except Exception as err:  # learner code may fail in any way
        return report(name, False, f"calling save_and_reload(model, hparams, path) raised {type(err).__name__}: {err}")
    try:
        if is_missing(got):
            return report(name, None)
        if not isinstance(got, nn.Module):
            return report(name, False, f"return the reloaded model (an nn.Module), got a {type(got).__name__}")
        if got is model:
            return report(name, False, "you returned the model you were given: build a fresh one with "
                          "build_model(**hparams) and load the saved weights into it")
        if not path.is_file():
            return report(name, False, f"nothing was written to {path.name}: save with torch.save(checkpoint, path)")
        if not calls:
            return report(name, False, "the file was never read back: load it with torch.load(path, weights_only=True) "
                          "instead of reusing the tensors in memory")
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
        if predictions.shape != expected.shape or not torch.allclose(predictions, expected, atol=1e-6):
            return report(name, False, "the reloaded model predicts differently: call "
                          "new_model.load_state_dict(checkpoint['model_state']) on the fresh model")
        note = "" if all(flag is True for flag in calls) else (
            " (tip: write weights_only=True explicitly; older PyTorch versions default to False)")
        return report(name, True, f"same {len(got_state)} tensors and same predictions after the round trip, "
                      f"read back safely{note}")
    finally:
        model.load_state_dict(original_state)
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------ Exercise 3: Fashion-MNIST
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


def check_fashion_classifier(model: Any, mean: float, std: float) -> bool:
    """Check a Fashion-MNIST classifier on the 10,000 test images it never saw.

    ``model`` takes images of shape (B, 1, 28, 28), normalised with the training pixels'
    ``mean`` and ``std`` (as the lesson prepares them), and returns logits (B, 10). It
    passes with a test accuracy of at least ``FASHION_PASS_MARK``. The check loads the test
    images itself; it also measures 2,000 training images outside the lesson's subset, so
    a model trained on the test images is recognised. An untrained model, one that
    predicts one class, one trained on MNIST digits, and wrong shapes each get their own
    hint. The model's train/eval mode is restored afterwards.
    """
    name = "Exercise 3 (train_fashion_classifier)"
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
        return _check_fashion(name, model, float(mean), float(std))
    except Exception as err:  # anything the check itself cannot handle is reported, never raised
        return report(name, False, f"the check could not measure the model: {type(err).__name__}: {err}")
    finally:
        model.train(was_training)


def _check_fashion(name: str, model: nn.Module, mean: float, std: float) -> bool:
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
    counts = torch.bincount(preds, minlength=10)
    if counts.max().item() == len(preds):
        top = int(counts.argmax())
        return report(name, False, f"it predicts '{test.classes[top]}' for every test image (accuracy "
                      f"{accuracy:.3f}): the model is untrained or collapsed. Train it on X_fashion, y_fashion")
    if accuracy < FASHION_PASS_MARK:
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
                      f"{FASHION_PASS_MARK:.2f}: train for more epochs or on all of X_fashion, and make sure "
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
                  f"{FASHION_PASS_MARK:.2f}, chance 0.10; {held_out:.3f} on {_HELD_OUT:,} other unseen training images)")
