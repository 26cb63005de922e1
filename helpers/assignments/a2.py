"""Assignment A2 · Transfer learning: the course photos it is set on (``a2_data``) and its checks.

The learner gets a few labelled photos per class and the validation photos. The check
builds its own evaluation set inside the call: the 25 public test photos plus every
photo of the training pool that the learner's draw left out (100), every other photo of
each class mirrored left to right. It scores balanced accuracy (the mean of the
per-class accuracies: mammals outnumber vehicles five to one) and prints only a coarse
band, never the exact figure.

Introduced in assignment A2.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.assignments._common import _err, _model_device
from helpers.checks import is_missing, missing_result, never_raises, report
from helpers.photos import PHOTO_CLASSES, PHOTO_SIZE, photo_splits

__all__ = [
    "A2_CLASSES",
    "A2_MAX_SHOTS",
    "A2_MIN_ACCURACY",
    "a2_data",
    "evaluate_a2",
    "check_a2_preprocess",
    "check_a2",
]

A2_CLASSES = PHOTO_CLASSES  # bird, flower, fruit, mammal, vehicle
A2_MAX_SHOTS = 5  # the check's photos are the ones the 5-shot draw leaves out, so a2_data offers 1 to 5
A2_MIN_ACCURACY = 0.80  # balanced accuracy on the check's photos (half of them mirrored)
_A2_LOW_BAND = 0.60  # the check says "below 0.60" or "0.60-0.80", never the figure itself
_A2_BATCH = 25  # photos per forward pass in the check
_MEAN_01 = (0.5, 0.5, 0.5)  # what EfficientNet-Lite0 expects
_IMAGENET_MEAN = (0.485, 0.456, 0.406)  # what most torchvision models expect, and a common slip here
_IMAGENET_STD = (0.229, 0.224, 0.225)


# ------------------------------------------------------------------ data
def _check_shots_seed(shots: Any, seed: Any) -> None:
    if isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= A2_MAX_SHOTS:
        raise ValueError(f"shots must be an int from 1 to {A2_MAX_SHOTS}, got {shots!r} (the check measures on "
                         f"the photos a {A2_MAX_SHOTS}-shot draw leaves out, so more would overlap them)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")


@lru_cache(maxsize=8)
def _decoded(pairs: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The photos of ``pairs`` decoded once, channels last; read-only, so callers hand out copies."""
    from helpers.fewshot import photo_tensors

    X, y = photo_tensors(list(pairs), size=PHOTO_SIZE)  # (N, 3, 224, 224)
    X = np.ascontiguousarray(X.permute(0, 2, 3, 1).numpy())  # (N, 224, 224, 3)
    y = y.numpy()
    X.flags.writeable = y.flags.writeable = False
    return X, y


def _load_hwc(pairs: list) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X uint8 (N, 224, 224, 3), y int64 (N,))`` for ``(path, label)`` pairs, a fresh copy."""
    X, y = _decoded(tuple((str(path), int(label)) for path, label in pairs))
    return X.copy(), y.copy()


def a2_data(shots: int = 5, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return the A2 data: ``{"train": (X, y), "val": (X, y)}``, X uint8 (N, 224, 224, 3), y int64 (N,).

    Images are RGB, channels last (as ``np.asarray`` of a photo gives them), labels index
    ``A2_CLASSES`` (bird, flower, fruit, mammal, vehicle). ``train`` holds ``shots``
    photos per class (1 to 5) drawn with ``seed`` from the training pool of
    ``helpers.photos.photo_splits``; for one seed a smaller draw is part of a larger one.
    ``val`` holds the 15 fixed validation photos (3 per class), for choosing settings.
    Every call returns new arrays. The check measures on the photos the 5-shot draw of
    the same seed leaves out, plus the test photos; pass it the seed you used.

    Introduced in assignment A2.
    """
    _check_shots_seed(shots, seed)
    splits = photo_splits(shots, seed)
    return {"train": _load_hwc(splits["train"]), "val": _load_hwc(splits["val"])}


def _grader_pairs(seed: int) -> list:
    """The check's photos: the test split plus the pool photos the 5-shot draw of ``seed`` leaves out."""
    splits = photo_splits(A2_MAX_SHOTS, seed)
    drawn = {path for path, _ in splits["train"]}
    pool = photo_splits(None, seed)["train"]
    return list(splits["test"]) + [pair for pair in pool if pair[0] not in drawn]


def _grader_images(seed: int) -> np.ndarray:
    """The check's photos, uint8 (M, 224, 224, 3), without their labels (they are read after predicting)."""
    return _load_hwc(_grader_pairs(seed))[0]


def _grader_labels(seed: int) -> torch.Tensor:
    return torch.tensor([label for _, label in _grader_pairs(seed)], dtype=torch.int64)


# ------------------------------------------------------------------ running the learner's code
def _logits(model: nn.Module, preprocess: Callable, X: np.ndarray, shuffle: bool = False) -> torch.Tensor:
    """Return the model's logits (N, 5) for uint8 photos X (N, 224, 224, 3), in eval mode, without gradients.

    With ``shuffle`` the photos go through in an order drawn afresh on every call (the
    rows come back in the original order), so their position says nothing about their
    class. Raises ValueError with a hint when preprocess or the model give something unusable.
    """
    device = _model_device(model)
    order = np.random.default_rng().permutation(len(X)) if shuffle else np.arange(len(X))
    chunks = []
    for start in range(0, len(X), _A2_BATCH):
        part = X[order[start:start + _A2_BATCH]].copy()
        try:
            batch = preprocess(part)
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"preprocess raised {_err(err)}; it receives a uint8 NumPy array (N, 224, 224, 3)") from err
        if not isinstance(batch, torch.Tensor):
            raise ValueError(f"preprocess must return a torch.Tensor batch, got a {type(batch).__name__}")
        if batch.ndim == 0 or len(batch) != len(part):
            raise ValueError(f"preprocess turned {len(part)} photos into a tensor of shape {tuple(batch.shape)}; "
                             "keep one row per photo")
        try:
            logits = model(batch.to(device))
        except Exception as err:  # the learner's code may fail in any way
            raise ValueError(f"the model raised {_err(err)} on preprocess's batch of shape {tuple(batch.shape)}") from err
        if not isinstance(logits, torch.Tensor) or logits.shape != (len(part), len(A2_CLASSES)):
            got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            extra = ": the 1,000-way ImageNet head is still there; give it a new head with 5 outputs" if (
                isinstance(logits, torch.Tensor) and logits.ndim == 2 and logits.shape[-1] == 1000) else ""
            raise ValueError(f"the model must return logits of shape ({len(part)}, 5), got {got}{extra}")
        chunks.append(logits.detach().float().cpu())
    out = torch.empty(len(X), len(A2_CLASSES))
    out[torch.from_numpy(order)] = torch.cat(chunks)
    return out


def _in_eval(model: nn.Module, run: Callable[[], Any]) -> Any:
    """Run ``run()`` with ``model`` in eval mode, without gradients, leaving the RNG and the mode as they were."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            return run()
    finally:
        model.train(was_training)


def _balanced(pred: torch.Tensor, y: torch.Tensor) -> float:
    from helpers.fewshot import balanced_accuracy

    return balanced_accuracy(pred, y, len(A2_CLASSES))


def evaluate_a2(model: nn.Module, preprocess: Callable[[np.ndarray], torch.Tensor], shots: int = 5,
                seed: int = 0) -> dict[str, float]:
    """Return ``{"train_accuracy", "val_accuracy"}``: balanced accuracy on ``a2_data(shots, seed)``.

    Each uint8 batch (N, 224, 224, 3) goes through ``preprocess`` and then ``model`` in
    eval mode under ``torch.no_grad()``; the model's mode is restored afterwards. These
    are your own numbers, for choosing settings: the check's photos are not among them,
    and the check reports only a band. A model or preprocess that fails, or logits that
    are not (N, 5), raise ValueError with a hint.

    Introduced in assignment A2.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(preprocess):
        raise ValueError(f"preprocess must be a function, got {type(preprocess).__name__}")
    data = a2_data(shots, seed)
    result = {}
    for split in ("train", "val"):
        X, y = data[split]
        logits = _in_eval(model, lambda X=X: _logits(model, preprocess, X))
        result[f"{split}_accuracy"] = _balanced(logits.argmax(1), torch.from_numpy(y))
    return result


# ------------------------------------------------------------------ diagnosing preprocess
def _reference(X: np.ndarray, size: tuple[int, int], mean, std) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, *size), resized, scaled to [0, 1], normalised with ``mean``/``std``."""
    x = torch.from_numpy(X).permute(0, 3, 1, 2).float().div(255)  # (N, 3, H, W)
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def _signature(x: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and std of a batch (N, 3, H, W): six numbers that tell normalisations apart."""
    x = x.detach().double().cpu()
    return torch.cat([x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))])


def _preprocess_problem(batch: torch.Tensor, X: np.ndarray) -> str | None:
    """Return a hint naming what is wrong with a (N, 3, H, W) float batch made from photos X, or None."""
    lo, hi = batch.min().item(), batch.max().item()
    size = (batch.shape[-2], batch.shape[-1])
    if hi > 5:
        return (f"values range over [{lo:.3g}, {hi:.3g}]: scale the pixels to [0, 1] (/ 255) before normalising "
                "(mean 0.5, std 0.5)")
    channels = batch.detach().float()
    if torch.allclose(channels[:, 0], channels[:, 1]) and torch.allclose(channels[:, 1], channels[:, 2]):
        return "the three channels are identical (grey): keep the photo's colours, the pretrained model was trained on RGB"
    candidates = {
        "right": (_MEAN_01, _MEAN_01, False),
        "unnormalised": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), False),
        "imagenet": (_IMAGENET_MEAN, _IMAGENET_STD, False),
        "bgr": (_MEAN_01, _MEAN_01, True),
    }
    got = _signature(batch)
    distance = {}
    for name, (mean, std, flip) in candidates.items():
        ref = _reference(X, size, mean, std)
        distance[name] = (got - _signature(ref.flip(1) if flip else ref)).abs().sum().item()
    best = min(distance, key=distance.get)
    if best == "unnormalised" or (lo >= -0.01 and hi <= 1.01):
        return ("values lie in [0, 1]: normalise them the way EfficientNet-Lite0 was trained, (x - 0.5) / 0.5 per "
                "channel, so they lie in [-1, 1]")
    if best == "imagenet":
        return ("the batch is normalised with the ImageNet mean and std (0.485, 0.456, 0.406 / 0.229, 0.224, 0.225), "
                "which torchvision's models use; EfficientNet-Lite0 expects mean 0.5 and std 0.5")
    if best == "bgr":
        return "the colour channels are in reverse order (BGR): keep them as R, G, B"
    # the right normalisation: is the picture itself intact (not a reshape of channels-last data)?
    ref = _reference(X, size, _MEAN_01, _MEAN_01)
    straight = torch.corrcoef(torch.stack([batch.detach().double().cpu().flatten(), ref.double().flatten()]))[0, 1]
    if size[0] == size[1]:
        turned = ref.transpose(-1, -2).double().flatten()
        swapped = torch.corrcoef(torch.stack([batch.detach().double().cpu().flatten(), turned]))[0, 1]
        if swapped > straight + 0.2:
            return "rows and columns are swapped (each photo is transposed): use X.permute(0, 3, 1, 2), not (0, 3, 2, 1)"
    if straight < 0.5:
        return ("the values are right but the pictures are scrambled: the photos are channels-last (N, H, W, 3); "
                "move the axis with permute(0, 3, 1, 2), a reshape or view mixes the pixels up")
    return None


def _batch_problem(batch: Any, n: int) -> str | None:
    """Return a hint when ``batch`` is not a float tensor (n, 3, H, W) with finite values, else None."""
    if not isinstance(batch, torch.Tensor):
        return f"return a torch.Tensor, got a {type(batch).__name__}"
    if not batch.is_floating_point():
        return f"return floats (dtype {batch.dtype} cannot go through a network): .float() / 255"
    if batch.ndim == 4 and batch.shape[0] == n and batch.shape[-1] == 3 and batch.shape[1] != 3:
        return (f"for {n} photos return (N, 3, H, W), got {tuple(batch.shape)}: the channels are still last; "
                "move them with permute(0, 3, 1, 2)")
    if batch.ndim != 4 or batch.shape[0] != n or batch.shape[1] != 3:
        hint = f"for {n} photos return (N, 3, H, W) = ({n}, 3, H, W), got {tuple(batch.shape)}"
        if batch.ndim == 4 and batch.shape[1] == 1:
            hint += ": keep the three colour channels"
        elif batch.ndim == 3:
            hint += ": keep the batch axis and the three colour channels"
        return hint
    if batch.dtype != torch.float32:
        return f"return float32 (the model's weights are float32), got {batch.dtype}"
    if min(batch.shape[-2:]) < 32:
        return f"the photos became {tuple(batch.shape[-2:])} pixels: too small for the network; keep 224 (or near it)"
    if not torch.isfinite(batch).all():
        return "the batch holds nan or inf values"
    return None


@never_raises("A2 preprocess")
def check_a2_preprocess(preprocess: Any) -> bool:
    """Check ``preprocess(uint8 (N, 224, 224, 3)) -> float32 (N, 3, H, W)`` normalised for EfficientNet-Lite0.

    Runs it on 1, 4 and 13 training photos. Names the usual slips: a NumPy array or
    integers returned, channels left last or scrambled by a reshape, grey, values in
    0..255 or [0, 1], the ImageNet mean and std, BGR order.

    Introduced in assignment A2.
    """
    name = "A2 preprocess"
    if is_missing(preprocess):
        return report(name, None)
    if not callable(preprocess):
        return report(name, False, f"preprocess must be a function, got a {type(preprocess).__name__}")
    X = a2_data()["train"][0][::2]  # 13 photos, every class
    batch = None
    for n in (1, 4, len(X)):
        try:
            batch = preprocess(X[:n].copy())
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"for a uint8 array of shape {X[:n].shape} it raised {_err(err)}")
        if is_missing(batch):
            return missing_result(name, preprocess, batch)
        problem = _batch_problem(batch, n)
        if problem:
            return report(name, False, problem)
    problem = _preprocess_problem(batch[:4], X[:4])  # four photos tell normalisations apart
    if problem:
        return report(name, False, problem)
    lo, hi = batch.min().item(), batch.max().item()
    return report(name, True, f"(N, 224, 224, 3) uint8 -> {tuple(batch.shape[1:])} float32, values in [{lo:.2f}, {hi:.2f}]")


# ------------------------------------------------------------------ what the model is made of
@lru_cache(maxsize=1)
def _shipped_weights() -> dict[str, torch.Tensor]:
    """The stem convolution and every BatchNorm running mean of the shipped EfficientNet-Lite0 weights."""
    from helpers.pretrained import efficientnet_lite0_weights_path

    state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if k == "_conv_stem.weight" or k.endswith("running_mean")}


def _backbone_report(model: nn.Module) -> dict[str, bool]:
    """``{"pretrained": a stem close to the shipped one, "drifted": BatchNorm statistics moved from the shipped ones}``."""
    try:
        shipped = _shipped_weights()
    except Exception:  # weights not installed: say nothing rather than fail
        return {"pretrained": True, "drifted": False}
    stem = shipped["_conv_stem.weight"].flatten().double()
    pretrained = False
    for param in model.parameters():
        if param.shape == shipped["_conv_stem.weight"].shape:
            p = param.detach().cpu().flatten().double()
            if F.cosine_similarity(p, stem, dim=0).item() > 0.9:
                pretrained = True
                break
    drifted = False
    for buffer_name, buffer in model.named_buffers():
        key = next((k for k in shipped if k != "_conv_stem.weight" and buffer_name.endswith(k)
                    and (len(buffer_name) == len(k) or buffer_name[-len(k) - 1] == ".")), None)
        if key is not None and buffer.shape == shipped[key].shape \
                and not torch.allclose(buffer.detach().cpu().float(), shipped[key].float(), atol=1e-5):
            drifted = True
            break
    return {"pretrained": pretrained, "drifted": drifted}


_DRIFT = ("the backbone's BatchNorm running statistics differ from the shipped weights: requires_grad_(False) does "
          "not stop them updating when the model runs in train mode; keep the backbone in eval mode (or train the "
          "head on cached features)")


# ------------------------------------------------------------------ the check
@never_raises("A2 (transfer learning)")
def check_a2(model: Any, preprocess: Any, seed: int = 0, *, _mark: float = A2_MIN_ACCURACY) -> bool:
    """Check the A2 model on photos it never saw: balanced accuracy >= 0.80, half of them mirrored.

    The check loads its photos itself (the test split and the training-pool photos that
    ``a2_data(5, seed)`` leaves out, 125), mirrors every other photo of each class left to
    right (so an exact-pixel lookup of the photos fails), runs ``model(preprocess(X))`` on
    them in an order drawn afresh, in eval mode without gradients, and computes the balanced
    accuracy. It prints a band, not the figure. Below the mark it names what it recognises: constant predictions, a wrong
    normalisation, a model memorising its photos or looking photos up, no pretrained
    backbone, a head left untrained, BatchNorm statistics changed by training.

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
        _check_shots_seed(A2_MAX_SHOTS, seed)
        measured = _measure(model, preprocess, seed)
    except ValueError as err:
        return report(name, False, str(err))
    except Exception as err:  # anything else the learner's code may raise
        return report(name, False, f"running model(preprocess(X)) raised {_err(err)}")
    score, n = measured["score"], measured["photos"]
    where = f"on {n} photos it never saw, half of them mirrored"
    mark = _mark  # fixed when the module is imported: rebinding A2_MIN_ACCURACY later changes nothing
    measured["mark"] = mark
    if measured["distinct"] == 1:
        problem = _input_problem(preprocess, seed)
        advice = f"its inputs look wrong: {problem}" if problem else \
            "train the head, and check the labels and the learning rate"
        return report(name, False, f"it predicts the same class for every photo (constant predictions) {where}; "
                      f"{advice}")
    backbone = _backbone_report(model)
    if score >= mark:
        note = f"; but {_DRIFT}" if backbone["drifted"] else ""
        return report(name, True, f"balanced accuracy >= {mark:.2f} {where}{note}")
    band = f"{_A2_LOW_BAND:.2f}-{mark:.2f}" if score >= _A2_LOW_BAND else f"below {_A2_LOW_BAND:.2f}"
    hint = f"balanced accuracy {band} {where}; it needs >= {mark:.2f}"
    hint += _why_low(model, preprocess, measured, backbone, seed)
    return report(name, False, hint)


def _mirror_half(y: torch.Tensor) -> torch.Tensor:
    """Which of the check's photos it mirrors: every other photo of each class (a fixed choice)."""
    flip = torch.zeros(len(y), dtype=torch.bool)
    for c in y.unique():
        flip[torch.nonzero(y == c).flatten()[1::2]] = True
    return flip


def _measure(model: nn.Module, preprocess: Callable, seed: int) -> dict[str, float]:
    """Score the model on the check's photos; the labels are read only after every prediction is made."""
    X = _grader_images(seed)
    flip = _mirror_half(_grader_labels(seed)).numpy()
    X[flip] = X[flip][:, :, ::-1]  # (M, 224, 224, 3): every other photo of a class mirrored left to right
    logits = _in_eval(model, lambda: _logits(model, preprocess, X, shuffle=True))
    y = _grader_labels(seed)
    pred = logits.argmax(1)
    flip = torch.from_numpy(flip)
    plain, mirrored = _balanced(pred[~flip], y[~flip]), _balanced(pred[flip], y[flip])
    order, reordered = _best_class_order(pred, y)
    return {"score": _balanced(pred, y), "gap": abs(plain - mirrored), "photos": len(y),
            "distinct": int(pred.unique().numel()), "order": order, "reordered": reordered}


def _best_class_order(pred: torch.Tensor, y: torch.Tensor) -> tuple[tuple[int, ...], float]:
    """The relabelling of the predictions (class k read as ``order[k]``) with the best balanced accuracy, and that accuracy."""
    k = len(A2_CLASSES)
    best, best_score = tuple(range(k)), -1.0
    for order in itertools.permutations(range(k)):
        score = _balanced(torch.tensor(order)[pred.clamp(0, k - 1)], y)
        if score > best_score + 1e-9:
            best, best_score = order, score
    return best, best_score


def _input_problem(preprocess: Callable, seed: int) -> str | None:
    """What is wrong with preprocess's output for four validation photos, or None."""
    X = a2_data(A2_MAX_SHOTS, seed)["val"][0][::4]  # 4 photos
    try:
        sample = preprocess(X.copy())
    except Exception:  # it already ran on the check's photos; a failure here says nothing new
        return None
    if not isinstance(sample, torch.Tensor) or sample.ndim != 4 or sample.shape[1] != 3 \
            or not sample.is_floating_point():
        return None
    return _preprocess_problem(sample, X)


def _why_low(model: nn.Module, preprocess: Callable, measured: dict, backbone: dict, seed: int) -> str:
    """The hint for a score under the mark: the first mistake it recognises."""
    if measured["gap"] > 0.3:
        return (". It does far better on the photos as they are than mirrored (or the reverse): it looks photos up "
                "instead of recognising them; train it on a2_data() only")
    order, reordered = measured.get("order"), measured.get("reordered", 0.0)
    if order is not None and list(order) != sorted(order) and reordered >= max(measured.get("mark", A2_MIN_ACCURACY), measured["score"] + 0.3):
        swaps = ", ".join(f"output {i} is '{A2_CLASSES[c]}'" for i, c in enumerate(order) if i != c)
        return (f". Its predictions are right in another class order (balanced accuracy {reordered:.2f} once "
                f"relabelled: {swaps}): train with the labels of a2_data(), whose class i is A2_CLASSES[i]")
    problem = _input_problem(preprocess, seed)
    if problem:
        return f". Its inputs look wrong: {problem}"
    data = a2_data(A2_MAX_SHOTS, seed)
    if backbone["drifted"]:
        return f". {_DRIFT[0].upper()}{_DRIFT[1:]}"
    train = _in_eval(model, lambda: _logits(model, preprocess, data["train"][0]))
    train_acc = _balanced(train.argmax(1), torch.from_numpy(data["train"][1]))
    if not backbone["pretrained"]:
        start = ("start from load_efficientnet_lite0(), freeze its backbone and train a new 5-class head")
        if train_acc >= 0.95:
            return (". It fits its own training photos but not new ones: it memorised them. No pretrained "
                    f"EfficientNet-Lite0 backbone was found in the model; {start}")
        return (". No pretrained EfficientNet-Lite0 backbone was found in the model: a network trained from scratch "
                f"on 25 photos cannot get there; {start}")
    if train_acc < 0.5:
        return (". It does not even fit its own training photos: is the new head trained (on the backbone's "
                "features, with the labels in the same order)?")
    if train_acc >= 0.95:
        return (". It fits its own training photos but not new ones: freeze the pretrained backbone and train only "
                "the head (fine-tuning everything on 25 photos overfits); flips and weight decay help")
    return ". Train the head longer or with a larger learning rate, and compare settings on a2_data()['val']"
