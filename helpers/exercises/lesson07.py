"""Exercise checks for lesson 07 (transfer learning): a new head for a frozen ResNet, and class centroids.

Introduced in lesson 07.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision import models

from helpers.checks import is_missing, is_stub, missing_result, never_raises, report

__all__ = ["head_cases", "check_prepare_for_new_task", "check_class_centroids"]


def _resnet18() -> nn.Module:
    return models.resnet18(weights=None)  # the architecture only: nothing is downloaded


def _bottleneck_resnet() -> nn.Module:
    # One bottleneck block per stage: ResNet-50's 2,048-feature head on a smaller body.
    return models.ResNet(models.resnet.Bottleneck, [1, 1, 1, 1])


def head_cases() -> list[tuple[str, Callable[[], nn.Module], int]]:
    """Return the test configurations ``(label, build_model, num_classes)``.

    ResNet-18 hands its head 512 features, the bottleneck ResNet 2,048 (like ResNet-50),
    so an answer that hard-codes 512 fails the last case.

    Introduced in lesson 07.
    """
    return [
        ("resnet18, 3 classes", _resnet18, 3),
        ("resnet18, 10 classes", _resnet18, 10),
        ("bottleneck resnet (2048 features), 2 classes", _bottleneck_resnet, 2),
    ]


def _backbone(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if not n.startswith("fc.")]


@never_raises("prepare_for_new_task")
def check_prepare_for_new_task(fn: Callable | None, name: str = "prepare_for_new_task") -> bool:
    """Check ``fn(model, num_classes)`` on fresh torchvision ResNets; return True if it prepares them for transfer learning.

    For every case of ``head_cases()`` the check builds a ResNet, calls ``fn`` and then
    looks at behaviour, not at how the answer is written:

    * every backbone parameter (all but ``model.fc``) has ``requires_grad == False``;
    * ``model.fc`` is a new module whose parameters are all trainable;
    * a batch ``(2, 3, 64, 64)`` gives logits of shape ``(2, num_classes)``;
    * the returned parameters (a list or a generator) are exactly the new head's, and one
      SGD step over them changes the head and leaves every backbone weight as it was.

    Hints name the usual mistakes: the head frozen too (freezing after replacing), the
    backbone left trainable, ``in_features`` hard-coded, the wrong class count, the old head
    kept, all parameters handed to the optimizer.

    Introduced in lesson 07.
    """
    with torch.random.fork_rng(devices=[]):  # seeds set here must not change the notebook's random numbers
        return _check_prepare_for_new_task(fn, name)


def _check_prepare_for_new_task(fn: Callable | None, name: str = "prepare_for_new_task") -> bool:
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    cases = head_cases()
    for label, build, num_classes in cases:
        torch.manual_seed(0)
        model = build()
        old_head = model.fc
        in_features = old_head.in_features
        shown = f"case '{label}'"
        try:
            returned = fn(model, num_classes)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"{shown}: calling it raised {type(err).__name__}: {err}")
        backbone = _backbone(model)
        trainable = [n for n, p in backbone if p.requires_grad]
        if is_missing(returned) and model.fc is old_head and len(trainable) == len(backbone) and is_stub(fn):
            return report(name, None)
        if model.fc is old_head:
            return report(name, False, f"{shown}: model.fc is still the original 1000-class layer. "
                          "Hint: assign a new layer, model.fc = nn.Linear(..., num_classes)")
        head = list(model.fc.parameters())
        if not head:
            return report(name, False, f"{shown}: the new model.fc has no parameters; it should be a layer "
                          "that learns, such as nn.Linear")
        if not all(p.requires_grad for p in head):
            return report(name, False, f"{shown}: the new head is frozen too, so nothing can learn. Hint: "
                          "freeze the old parameters first, then replace the head (a new layer is trainable), "
                          "or freeze only the backbone")
        if trainable:
            return report(name, False, f"{shown}: {len(trainable)} of {len(backbone)} backbone parameter "
                          f"tensors still have requires_grad=True (e.g. {trainable[0]}). Hint: set "
                          "p.requires_grad = False on every parameter except the new head's")
        model.eval()
        try:
            with torch.no_grad():
                out = model(torch.randn(2, 3, 64, 64))
        except RuntimeError as err:
            hint = ""
            if "shapes cannot be multiplied" in str(err) or "size mismatch" in str(err):
                hint = (f" Hint: the backbone hands the head {in_features} features here; read "
                        "in_features from the old head (model.fc.in_features) instead of hard-coding it")
            return report(name, False, f"{shown}: a forward pass raised RuntimeError: {err}.{hint}")
        if tuple(out.shape) != (2, num_classes):
            hint = ""
            if out.ndim == 2 and out.shape[1] != num_classes:
                hint = f" Hint: the new head must output num_classes = {num_classes} scores, not {out.shape[1]}"
            return report(name, False, f"{shown}: a batch of 2 images gave logits of shape {tuple(out.shape)}, "
                          f"expected {(2, num_classes)}.{hint}")
        if is_missing(returned):
            return report(name, False, f"{shown}: the model is ready but nothing was returned. Hint: return the "
                          "parameters the optimizer should update, model.fc.parameters()")
        if isinstance(returned, nn.Module):
            return report(name, False, f"{shown}: returned a module ({type(returned).__name__}); return its "
                          "parameters, the thing an optimizer takes (model.fc.parameters())")
        try:
            returned = list(returned)
        except TypeError:
            return report(name, False, f"{shown}: returned a {type(returned).__name__}; return the head's "
                          "parameters (a list or model.fc.parameters())")
        if not all(isinstance(p, torch.Tensor) for p in returned):
            return report(name, False, f"{shown}: the returned items are not all parameters; return "
                          "model.fc.parameters()")
        head_ids = {id(p) for p in head}
        extra = [p for p in returned if id(p) not in head_ids]
        if extra:
            return report(name, False, f"{shown}: returned {len(returned)} tensors, {len(extra)} of them frozen "
                          f"backbone weights. Hint: hand the optimizer only the head's {len(head)} "
                          "(model.fc.parameters()). Not for speed (torch.optim skips parameters whose .grad "
                          "is None, so frozen ones cost nothing) but because the optimizer then says what "
                          "trains, and layers you unfreeze later join as their own param group with a "
                          "smaller lr and their own weight decay, instead of silently training at the "
                          "head's settings")
        if {id(p) for p in returned} != head_ids:
            return report(name, False, f"{shown}: returned {len(returned)} of the head's {len(head)} parameter "
                          "tensors; return all of them (weight and bias): model.fc.parameters()")
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        model.train()
        optimizer = torch.optim.SGD(returned, lr=0.1)
        nn.functional.cross_entropy(model(torch.randn(4, 3, 64, 64)), torch.arange(4) % num_classes).backward()
        optimizer.step()
        moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
        if not moved or any(not n.startswith("fc.") for n in moved):
            return report(name, False, f"{shown}: one training step changed {moved or 'nothing'}; "
                          "only the head (fc) should change")
    return report(name, True, f"backbone frozen, new trainable head, optimizer over the head only, "
                  f"on all {len(cases)} cases")


def _centroid_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    generator = torch.Generator().manual_seed(7)
    X = torch.randn(12, 4, generator=generator)
    y = torch.tensor([2, 0, 1, 2, 0, 1, 1, 2, 0, 0, 2, 1])  # classes interleaved, not sorted
    X_wide = torch.randn(7, 6, generator=generator)
    y_wide = torch.tensor([0, 1, 1, 0, 1, 1, 1])  # unequal class sizes
    return [("12 rows, 4 features, 3 classes", X, y, 3), ("7 rows, 6 features, 2 unequal classes", X_wide, y_wide, 2)]


@never_raises("class_centroids")
def check_class_centroids(fn: Callable | None, name: str = "class_centroids") -> bool:
    """Check ``fn(X, y, num_classes)``: row ``c`` of its (num_classes, D) result must be the mean of ``X[y == c]``.

    Runs on small random cases with interleaved labels and unequal class sizes. Hints name
    the usual mistakes: the mean over features instead of rows (``dim=1``), the transposed
    result (D, num_classes), one overall mean repeated, the sum instead of the mean, rows
    out of class order, a NumPy array or a list instead of a tensor. Never raises for a
    wrong answer (except in strict mode).

    Introduced in lesson 07.
    """
    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    for label, X, y, num_classes in _centroid_cases():
        shown = f"case '{label}'"
        expected = torch.stack([X[y == c].mean(dim=0) for c in range(num_classes)])  # (C, D)
        try:
            got = fn(X.clone(), y.clone(), num_classes)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"{shown}: calling it raised {type(err).__name__}: {err}")
        if is_missing(got):
            return missing_result(name, fn, got)
        if not isinstance(got, torch.Tensor):
            return report(name, False, f"{shown}: returned a {type(got).__name__}; return one tensor "
                          "(num_classes, D), e.g. torch.stack([...]) of the class means")
        if got.is_floating_point() is False:
            return report(name, False, f"{shown}: returned integers ({got.dtype}); a mean of float features is float")
        shape = tuple(got.shape)
        if shape == (X.shape[1], num_classes) and X.shape[1] != num_classes:
            return report(name, False, f"{shown}: shape {shape} is transposed; one row per class: "
                          f"({num_classes}, {X.shape[1]})")
        if shape != tuple(expected.shape):
            hint = ""
            if shape in ((num_classes,), (num_classes, 1)):
                hint = " Hint: this looks like a mean over the features (dim=1); average over the rows, dim=0"
            return report(name, False, f"{shown}: expected shape {tuple(expected.shape)} (num_classes, D), "
                          f"got {shape}.{hint}")
        got = got.detach().float()
        if torch.allclose(got, expected, atol=1e-5):
            continue
        sums = torch.stack([X[y == c].sum(dim=0) for c in range(num_classes)])
        if torch.allclose(got, sums, atol=1e-4):
            return report(name, False, f"{shown}: these are the sums of each class's rows; divide by the "
                          "number of rows, or use .mean(dim=0)")
        if torch.allclose(got, X.mean(dim=0).expand_as(expected), atol=1e-5):
            return report(name, False, f"{shown}: every row is the mean of all of X; average only the rows "
                          "of class c, X[y == c]")
        for order in (torch.arange(num_classes).flip(0),):
            if torch.allclose(got, expected[order], atol=1e-5):
                return report(name, False, f"{shown}: the rows are out of order; row c must belong to class c")
        return report(name, False, f"{shown}: row 0 should be {expected[0].tolist()} (the mean of the "
                      f"rows labelled 0), got {got[0].tolist()}")
    return report(name, True, "row c is the mean of class c's rows, on every case")
