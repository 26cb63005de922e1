"""Assignment A2 · Transfer learning: the texture patches it is set on (``a2_data``) and its checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.assignments._common import _err, _model_device
from helpers.checks import is_missing, report

__all__ = [
    "A2_CLASSES",
    "A2_MIN_ACCURACY",
    "A2_MAX_LOSS",
    "a2_data",
    "evaluate_a2",
    "check_a2_preprocess",
    "check_a2",
]


# ===================================================================== A2 · transfer learning
A2_CLASSES = ("brick", "grass", "gravel")
A2_PATCH = 32  # side of every patch, in pixels
A2_MIN_ACCURACY = 0.85
A2_MAX_LOSS = 0.25
_A2_SPLIT_ROW = 384  # rows above come from the training region, rows below are held out
_A2_ZOOM = (16, 64)  # side of the square cut from the photo before it is resized to 32 px
_A2_HELDOUT_PER_CLASS = 80
_A2_HELDOUT_SEED = 2024


def _a2_photo(name: str) -> np.ndarray:
    from skimage import data as skdata

    image = np.asarray(getattr(skdata, name)())
    return image[..., 0] if image.ndim == 3 else image  # (512, 512) uint8


def _a2_zoom_crops(rows: tuple[int, int], per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X uint8 (3 * per_class, 32, 32), y int64)``: squares of random size from ``rows``, resized to 32 px."""
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for label, name in enumerate(A2_CLASSES):
        photo = _a2_photo(name)
        for _ in range(per_class):
            side = int(rng.integers(_A2_ZOOM[0], _A2_ZOOM[1] + 1))
            r = int(rng.integers(rows[0], rows[1] - side + 1))
            c = int(rng.integers(0, photo.shape[1] - side + 1))
            square = torch.from_numpy(photo[r:r + side, c:c + side].astype(np.float32))[None, None]
            small = F.interpolate(square, size=(A2_PATCH, A2_PATCH), mode="bilinear", align_corners=False, antialias=True)
            crops.append(small[0, 0].round().clamp(0, 255).to(torch.uint8).numpy())
            labels.append(label)
    return np.stack(crops), np.asarray(labels, dtype=np.int64)


def a2_data(shots: int = 5, seed: int = 0, val_per_class: int = 30) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return the A2 data: ``{"train": (X, y), "val": (X, y)}``, X uint8 (N, 32, 32), y int64 (N,).

    ``train`` holds ``shots`` labelled patches per class (brick, grass, gravel),
    chosen with ``seed`` from the training region of ``helpers.data.texture_patches``
    (the top three quarters of each photo). ``val`` holds ``val_per_class`` patches per
    class cut from the same training region at random zoom (squares of 16 to 64 px
    resized to 32), for your own model selection. The check measures accuracy on
    patches cut the same way from the bottom quarter of the photos, which none of
    these come from.

    Introduced in assignment A2.
    """
    from helpers.data import texture_patches

    for value, label, low in [(shots, "shots", 1), (val_per_class, "val_per_class", 1)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    X, y = texture_patches(A2_PATCH)["train"]
    available = int(np.bincount(y).min())
    if shots > available:
        raise ValueError(f"shots can be at most {available} (training patches per class), got {shots}")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in range(len(A2_CLASSES))])
    val = _a2_zoom_crops((0, _A2_SPLIT_ROW), val_per_class, seed + 1000)
    return {"train": (X[chosen].copy(), y[chosen].copy()), "val": val}


@lru_cache(maxsize=1)
def _a2_heldout() -> tuple[np.ndarray, np.ndarray]:
    return _a2_zoom_crops((_A2_SPLIT_ROW, 512), _A2_HELDOUT_PER_CLASS, _A2_HELDOUT_SEED)


def _a2_logits(model: nn.Module, preprocess: Callable, X: np.ndarray, batch_size: int = 60) -> torch.Tensor:
    """Return the model's logits (N, 3) for uint8 patches X (N, 32, 32), in eval mode, without gradients.

    Raises ValueError with a hint when preprocess or the model give something unusable.
    """
    device = _model_device(model)
    chunks = []
    for start in range(0, len(X), batch_size):
        part = X[start:start + batch_size].copy()
        try:
            batch = preprocess(part)
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"preprocess raised {_err(err)}; it receives a uint8 NumPy array (N, 32, 32)") from err
        if not isinstance(batch, torch.Tensor):
            raise ValueError(f"preprocess must return a torch.Tensor batch, got a {type(batch).__name__}")
        if batch.ndim == 0 or len(batch) != len(part):
            raise ValueError(f"preprocess turned {len(part)} patches into a tensor of shape {tuple(batch.shape)}; "
                             "keep one row per patch")
        try:
            logits = model(batch.to(device))
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"the model raised {_err(err)} on preprocess's batch of shape {tuple(batch.shape)}") from err
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape != (len(part), len(A2_CLASSES)):
            got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            extra = ": the 1,000-way ImageNet head is still there; give it a new head with 3 outputs" if (
                isinstance(logits, torch.Tensor) and logits.shape[-1] == 1000) else ""
            raise ValueError(f"the model must return logits of shape ({len(part)}, 3), got {got}{extra}")
        chunks.append(logits.detach().float().cpu())
    return torch.cat(chunks)


def evaluate_a2(model: nn.Module, preprocess: Callable[[np.ndarray], torch.Tensor]) -> dict[str, float]:
    """Return ``{"accuracy", "loss", "train_accuracy", "distinct_predictions"}`` of ``model`` on the A2 held-out patches.

    The held-out set is 240 patches (80 per class) cut at random zoom from the bottom
    quarter of the three texture photos, built here with a fixed seed. Each uint8
    batch (N, 32, 32) goes through ``preprocess`` and then ``model`` in eval mode
    under ``torch.no_grad()``; the model's train/eval mode is restored afterwards.
    ``train_accuracy`` is measured on ``a2_data()["train"]``. A model or preprocess
    that fails, or logits that are not (N, 3), raise ValueError with a hint.

    Introduced in assignment A2.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(preprocess):
        raise ValueError(f"preprocess must be a function, got {type(preprocess).__name__}")
    X, y = _a2_heldout()
    X_train, y_train = a2_data()["train"]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            logits = _a2_logits(model, preprocess, X)
            train_logits = _a2_logits(model, preprocess, X_train)
    finally:
        model.train(was_training)
    labels = torch.from_numpy(y)
    predictions = logits.argmax(dim=1)
    return {
        "accuracy": (predictions == labels).float().mean().item(),
        "loss": F.cross_entropy(logits, labels).item(),
        "train_accuracy": (train_logits.argmax(dim=1) == torch.from_numpy(y_train)).float().mean().item(),
        "distinct_predictions": int(predictions.unique().numel()),
    }


def check_a2_preprocess(preprocess: Any) -> bool:
    """Check that ``preprocess(uint8 (N, 32, 32)) -> float tensor (N, 3, H, W)`` with finite values, any N.

    Introduced in assignment A2.
    """
    name = "A2 preprocess"
    if is_missing(preprocess):
        return report(name, None)
    if not callable(preprocess):
        return report(name, False, f"preprocess must be a function, got a {type(preprocess).__name__}")
    X = a2_data()["train"][0]
    for n in (1, 4, len(X)):
        try:
            batch = preprocess(X[:n].copy())
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"for a uint8 array of shape {X[:n].shape} it raised {_err(err)}")
        if is_missing(batch):
            return report(name, None)
        if not isinstance(batch, torch.Tensor):
            return report(name, False, f"return a torch.Tensor, got a {type(batch).__name__}")
        if not batch.is_floating_point():
            return report(name, False, f"return floats (dtype {batch.dtype} cannot go through a network): .float() / 255")
        if batch.ndim != 4 or batch.shape[0] != n or batch.shape[1] != 3:
            hint = f"for {n} patches return (N, 3, H, W) = ({n}, 3, H, W), got {tuple(batch.shape)}"
            if batch.ndim == 3:
                hint += ": add the channel axis (unsqueeze(1))"
            elif batch.ndim == 4 and batch.shape[1] == 1:
                hint += ": the pretrained model wants 3 channels; repeat the grey one"
            return report(name, False, hint)
        if not torch.isfinite(batch).all():
            return report(name, False, "the batch holds nan or inf values")
    lo, hi = batch.min().item(), batch.max().item()
    if hi > 50:
        return report(name, False, f"values range over [{lo:.3g}, {hi:.3g}]: scale the pixels (/ 255) and normalise "
                      "them the way the pretrained model expects (mean 0.5, std 0.5)")
    return report(name, True, f"(N, 32, 32) uint8 -> {tuple(batch.shape[1:])} float batch, values in [{lo:.2f}, {hi:.2f}]")


def check_a2(model: Any, preprocess: Any) -> bool:
    """Check the A2 model on held-out patches it never saw: accuracy >= 0.85 or cross-entropy <= 0.25.

    The check builds the held-out patches itself (see ``evaluate_a2``), runs
    ``model(preprocess(X))`` in eval mode without gradients, and refuses constant
    predictions. A model that fits its training patches but fails on the held-out
    ones gets a hint about memorising.

    Introduced in assignment A2.
    """
    name = "A2 (transfer learning)"
    if is_missing(model) or is_missing(preprocess):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"model must be an nn.Module (the check calls model.eval()), got {type(model).__name__}")
    if not callable(preprocess):
        return report(name, False, f"preprocess must be a function, got a {type(preprocess).__name__}")
    try:
        result = evaluate_a2(model, preprocess)
    except ValueError as err:
        return report(name, False, str(err))
    except Exception as err:  # anything else the learner's code may raise
        return report(name, False, f"running model(preprocess(X)) raised {_err(err)}")
    acc, loss, train_acc = result["accuracy"], result["loss"], result["train_accuracy"]
    summary = f"held-out accuracy {acc:.3f}, loss {loss:.3f} on 240 patches it never saw"
    if result["distinct_predictions"] == 1:
        return report(name, False, f"{summary}: it predicts the same class for every patch (constant predictions); "
                      "train the head, and check the labels and the learning rate")
    if acc >= A2_MIN_ACCURACY or loss <= A2_MAX_LOSS:
        return report(name, True, summary)
    hint = f"{summary}; it needs accuracy >= {A2_MIN_ACCURACY} (or loss <= {A2_MAX_LOSS})"
    if train_acc >= 0.95:
        hint += (f". It gets {train_acc:.2f} on its own training patches: it memorised them instead of learning what "
                 "generalises. Start from pretrained features, augment (flips, rotations, zoom), add weight decay")
    return report(name, False, hint)
