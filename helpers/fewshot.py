"""Few-shot classification of the course photos: tensors, a hand-made baseline, a small CNN, a fair score.

The pieces lesson 07 and assignment A2 share when they measure accuracy against the number
of labelled photos per class (``helpers.photos``):

* ``photo_tensors(pairs, size)``: ``photo_splits`` pairs -> a uint8 image batch and labels;
* ``handmade_features(X)``: a joint colour histogram per image, the baseline without learning
  features;
* ``nearest_centroid(train, y_train, eval)``: classify each evaluation vector by the closest
  class mean;
* ``scratch_cnn(num_classes)``: a three-block CNN with batch norm for small (32 or 64 px) RGB inputs, the
  "no pretraining" model;
* ``balanced_accuracy(pred, y, num_classes)``: the mean of per-class accuracies, fair when one
  class dominates the evaluation set (the photos have three times more mammals than vehicles).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from helpers.photos import load_photo

__all__ = [
    "HIST_BINS",
    "photo_tensors",
    "handmade_features",
    "nearest_centroid",
    "scratch_cnn",
    "balanced_accuracy",
]

HIST_BINS = 4  # levels per colour channel of handmade_features: 4 x 4 x 4 = 64 colour cells


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def photo_tensors(pairs: Sequence[tuple[str | Path, int]], size: int = 224) -> tuple[torch.Tensor, torch.Tensor]:
    """Load ``(path, label)`` pairs (a list from ``photo_splits``) as ``(X, y)`` tensors.

    ``X`` is uint8 ``(N, 3, size, size)`` in the pairs' order, resized with Pillow's
    antialiased bilinear filter when ``size`` differs from the file's size (the course
    photos are 224 x 224); ``y`` is int64 ``(N,)``. Scale with ``X.float() / 255`` before
    a network. An empty list, a pair that is not ``(path, int label)``, or a ``size`` under
    8 raises ``ValueError``; an unreadable file raises ``load_photo``'s ``ValueError``.

    Introduced in lesson 07.
    """
    _check_int("size", size, 8)
    if isinstance(pairs, str | Path) or not isinstance(pairs, Sequence):
        raise ValueError(f"pairs must be a list of (path, label) pairs such as photo_splits(5)['train'], "
                         f"got {type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError("pairs is empty: nothing to load")
    images, labels = [], []
    for number, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"pairs[{number}] must be a (path, label) pair, got {pair!r}")
        path, label = pair
        if isinstance(label, bool) or not isinstance(label, int | np.integer) or label < 0:
            raise ValueError(f"pairs[{number}] has label {label!r}: labels must be non-negative ints")
        image = load_photo(path)
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))  # (3, size, size)
        labels.append(int(label))
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def _check_uint8_images(X) -> None:
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"expected a uint8 tensor of RGB images (N, 3, H, W), got {type(X).__name__}")
    if X.ndim != 4 or X.shape[1] != 3:
        hint = " (channels last? use X.permute(0, 3, 1, 2))" if X.ndim == 4 and X.shape[-1] == 3 else ""
        raise ValueError(f"expected RGB images (N, 3, H, W), got shape {tuple(X.shape)}{hint}")
    if X.dtype != torch.uint8:
        raise ValueError(f"expected uint8 pixel values 0-255 (as photo_tensors returns), got dtype {X.dtype}")
    if X.shape[0] == 0:
        raise ValueError("expected at least one image, got an empty batch")


def handmade_features(X: torch.Tensor, bins: int = HIST_BINS) -> torch.Tensor:
    """Return the joint colour histogram of each image: float ``(N, bins**3)``, each row summing to 1.

    Each channel of a uint8 image ``(N, 3, H, W)`` is cut into ``bins`` equal ranges, so
    every pixel falls into one of ``bins**3`` colour cells; the feature is the fraction of
    pixels in each cell. It knows colour and nothing of shape: the baseline that learns no
    features. A tensor that is not uint8 ``(N, 3, H, W)`` or ``bins`` outside 2..16 raises
    ``ValueError``.

    Introduced in lesson 07.
    """
    _check_uint8_images(X)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 16:
        raise ValueError(f"bins must be an int from 2 to 16, got {bins!r}")
    q = (X.long() * bins) // 256  # (N, 3, H, W): level 0..bins-1 per channel
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]  # (N, H, W): one colour cell per pixel
    cell = cell.flatten(1)  # (N, H*W)
    hist = torch.zeros(X.shape[0], bins**3).scatter_add_(1, cell, torch.ones(cell.shape))
    return hist / cell.shape[1]


def _check_labels(name: str, y, n: int) -> None:
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype not in (torch.int64, torch.int32, torch.int16,
                                                                         torch.int8, torch.uint8):
        raise ValueError(f"{name} must be a 1-D integer tensor of class labels, got "
                         f"{type(y).__name__ if not isinstance(y, torch.Tensor) else (tuple(y.shape), y.dtype)}")
    if len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels for {n} rows")
    if n and int(y.min()) < 0:
        raise ValueError(f"{name} holds a negative label ({int(y.min())}): labels are class indices from 0")


def nearest_centroid(features_train: torch.Tensor, y_train: torch.Tensor, features_eval: torch.Tensor) -> torch.Tensor:
    """Predict a label for each row of ``features_eval``: the class whose mean training vector is closest.

    ``features_train`` (N, D) float with labels ``y_train`` (N,); ``features_eval`` (M, D).
    The centroid of a class is the mean of its training rows; distance is Euclidean. Only
    classes present in ``y_train`` can be predicted. Returns int64 labels (M,). Wrong
    shapes, a mismatch of D or N, or empty training data raise ``ValueError``.

    Introduced in lesson 07.
    """
    for name, F in (("features_train", features_train), ("features_eval", features_eval)):
        if not isinstance(F, torch.Tensor) or F.ndim != 2 or not F.is_floating_point():
            raise ValueError(f"{name} must be a 2-D float tensor (rows, features), got "
                             f"{tuple(F.shape) if isinstance(F, torch.Tensor) else type(F).__name__}"
                             f"{'' if not isinstance(F, torch.Tensor) else ' ' + str(F.dtype)}")
    if features_train.shape[0] == 0:
        raise ValueError("features_train is empty: a centroid needs at least one example per class")
    if features_train.shape[1] != features_eval.shape[1]:
        raise ValueError(f"features_train has {features_train.shape[1]} features per row, features_eval "
                         f"{features_eval.shape[1]}: compute both with the same function")
    _check_labels("y_train", y_train, features_train.shape[0])
    classes = torch.unique(y_train.long())  # sorted
    centroids = torch.stack([features_train[y_train == c].mean(0) for c in classes])  # (C, D)
    nearest = torch.cdist(features_eval, centroids).argmin(1)  # (M,)
    return classes[nearest]


def scratch_cnn(num_classes: int = 5, width: int = 8) -> nn.Module:
    """Return a fresh three-block CNN for small RGB inputs (32 or 64 px): (B, 3, H, W) -> logits (B, num_classes).

    Each block is 3 x 3 convolution, batch norm, ReLU (and 2 x 2 max pooling after the
    first two), with ``width``, ``2 * width`` and ``4 * width`` channels (8/16/32 by
    default: about 6 k parameters, cheap enough to train a dozen times on a CPU), then
    global average pooling and ``nn.Linear(4 * width, num_classes)``. Any input of at
    least 4 x 4 works. Weights come from torch's global (seeded) generator.
    ``num_classes`` below 2 or ``width`` below 1 raises ``ValueError``.

    Introduced in lesson 07.
    """
    _check_int("num_classes", num_classes, 2)
    _check_int("width", width, 1)

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(
        *block(3, width), nn.MaxPool2d(2),  # (B, w, H/2, W/2)
        *block(width, 2 * width), nn.MaxPool2d(2),  # (B, 2w, H/4, W/4)
        *block(2 * width, 4 * width),  # (B, 4w, H/4, W/4)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 4w)
        nn.Linear(4 * width, num_classes),  # (B, num_classes)
    )


def balanced_accuracy(pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> float:
    """Return the mean over classes of the fraction of that class's examples predicted correctly.

    ``pred`` and ``y`` are 1-D integer tensors of the same length (or ``pred`` may be logits
    (N, num_classes), reduced with ``argmax``). Classes absent from ``y`` are left out of
    the mean. Unlike plain accuracy, a model that always answers the largest class scores
    ``1 / number of classes``. Mismatched lengths, labels outside ``0..num_classes-1`` or an
    empty ``y`` raise ``ValueError``.

    Introduced in lesson 07.
    """
    _check_int("num_classes", num_classes, 2)
    if isinstance(pred, torch.Tensor) and pred.ndim == 2 and pred.is_floating_point():
        if pred.shape[1] != num_classes:
            raise ValueError(f"pred looks like logits with {pred.shape[1]} columns, expected num_classes = {num_classes}")
        pred = pred.argmax(1)
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.is_floating_point():
        raise ValueError("y must be a 1-D integer tensor of true labels")
    if len(y) == 0:
        raise ValueError("y is empty: nothing to score")
    _check_labels("pred", pred, len(y))
    for name, t in (("pred", pred), ("y", y)):
        if int(t.min()) < 0 or int(t.max()) >= num_classes:
            raise ValueError(f"{name} holds labels outside 0..{num_classes - 1}: "
                             f"min {int(t.min())}, max {int(t.max())}")
    pred, y = pred.cpu().long(), y.cpu().long()
    recalls = [(pred[y == c] == c).double().mean().item() for c in range(num_classes) if (y == c).any()]
    return float(sum(recalls) / len(recalls))
