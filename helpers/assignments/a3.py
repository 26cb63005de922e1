"""Assignment A3 · Ship it: the Fashion-MNIST handout (``a3_training_data``) and the checks of its three tasks."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.assignments._common import _close, _err, _model_device
from helpers.checks import is_missing, missing_result, never_raises, report, torch_load_calls

__all__ = [
    "A3_INPUT_NAME",
    "A3_OUTPUT_NAME",
    "A3_MIN_ACCURACY",
    "A3_TRAIN_SIZE",
    "a3_training_data",
    "check_a3_task1",
    "check_a3_task2",
    "check_a3_task3",
]


# ===================================================================== A3 · ship it
A3_INPUT_NAME = "images"
A3_OUTPUT_NAME = "logits"
A3_MIN_ACCURACY = 0.89  # on the 10,000 Fashion-MNIST test images; see the A3 notebook for the measurements
A3_TRAIN_SIZE = 50_000  # training images handed out; the other 10,000 are held back by the checks
_A3_MEMORISED_GAP = 0.03  # one unseen set this far above the other: the model has seen its images
_A3_NOISE_STD = 0.03  # the noise of the fresh copy: invisible to a trained model (-0.001 for the solution's CNN)
_A3_NOISED_DROP = 0.02  # more lost than this on the noised copy: the model knows the exact test images
_A3_CEILING = 0.98  # above this on the test images: no model trained on 50,000 images gets there; it has seen them
_A3_FASHION_MEAN, _A3_FASHION_STD = 0.286, 0.353  # of Fashion-MNIST's training pixels, to two digits


@lru_cache(maxsize=1)
def _a3_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(handed-out images uint8, their labels, held-back images uint8, their labels) of Fashion-MNIST's training set."""
    from helpers.data import fashion_subset_indices, load_fashion_mnist

    train = load_fashion_mnist(train=True)
    inside = np.zeros(len(train), dtype=bool)
    inside[fashion_subset_indices(train.targets, A3_TRAIN_SIZE, seed=0)] = True
    given, held = torch.from_numpy(np.flatnonzero(inside)), torch.from_numpy(np.flatnonzero(~inside))
    return train.data[given], train.targets[given], train.data[held], train.targets[held]


def a3_training_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The Fashion-MNIST training images handed out for A3, as the contract feeds them to a model.

    Returns ``(X, y)``: ``X`` float32 of shape (50000, 1, 28, 28) with pixels in [0, 1] and
    ``y`` int64 of shape (50000,), a seeded stratified 5,000 images per class of the official
    60,000. The checks hold the other 10,000 back, and load the 10,000 test images themselves.
    A new copy on every call: changing it cannot change what the checks see.

    Introduced in assignment A3.
    """
    images, labels, _, _ = _a3_split()
    return (images.float() / 255).unsqueeze(1), labels.clone()


@lru_cache(maxsize=1)
def _a3_test_set() -> tuple[np.ndarray, np.ndarray]:
    from helpers.data import load_fashion_mnist

    test = load_fashion_mnist(train=False)
    X = (test.data.numpy().astype(np.float32) / 255.0)[:, None]  # (10000, 1, 28, 28) in [0, 1]
    return X, test.targets.numpy().astype(np.int64)


@lru_cache(maxsize=1)
def _a3_held_back() -> tuple[np.ndarray, np.ndarray]:
    _, _, images, labels = _a3_split()
    return (images.numpy().astype(np.float32) / 255.0)[:, None], labels.numpy().astype(np.int64)


def _a3_noised(X: np.ndarray, y: np.ndarray, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A shuffled copy of ``(X, y)`` with Gaussian noise (std ``_A3_NOISE_STD``) added, clipped to [0, 1].

    Without ``seed`` the noise and the order come from ``secrets``, drawn anew at every call:
    the learner's code cannot know or choose them, so a model that looks images up by their
    exact pixels (a hash, a dictionary) or by their position meets images it never saw, while
    a trained model barely notices (the solution's CNN: 0.9016 on the test images, 0.9004 to
    0.9042 over 20 noised copies).
    """
    if X.dtype != np.float32 or X.ndim != 4 or len(X) != len(y):
        raise ValueError(f"expected float32 images (N, 1, 28, 28) and N labels, got {X.dtype} of shape {X.shape} "
                         f"and {len(y)} labels")
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    order = rng.permutation(len(X))
    noise = rng.standard_normal(X.shape, dtype=np.float32) * np.float32(_A3_NOISE_STD)
    return np.clip(X[order] + noise, 0.0, 1.0), y[order]


def _a3_unseen_hint(acc: float, noised_acc: float) -> str:
    """A hint when the test images score too well to be unseen, or much better than a noised copy of them, else ''."""
    if acc > _A3_CEILING:
        return (f"accuracy {acc:.3f} on the test images: no model trained on 50,000 images comes this close to 1. "
                "The model has seen the test images (a lookup?); train it on a3_training_data() only")
    if acc - noised_acc > _A3_NOISED_DROP:
        return (f"accuracy {acc:.3f} on the test images but {noised_acc:.3f} on a copy with faint fresh noise (std "
                f"{_A3_NOISE_STD}): the model recognises the exact test images rather than clothes (a lookup by "
                "their pixels?). Train it on a3_training_data() only")
    return ""


def _a3_torch_logits(model: nn.Module, X: np.ndarray, batch_size: int = 500) -> torch.Tensor:
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = []
            for start in range(0, len(X), batch_size):
                part = torch.from_numpy(X[start:start + batch_size]).to(device)
                out = model(part)
                if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(part), 10):
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise ValueError(f"the model must return logits (B, 10) for images (B, 1, 28, 28), got {got}")
                parts.append(out.detach().float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts)


def _a3_accuracy(logits: torch.Tensor | np.ndarray, y: np.ndarray) -> float:
    predictions = np.asarray(logits.argmax(1) if isinstance(logits, torch.Tensor) else logits.argmax(axis=1))
    return float((predictions == y).mean())


def _a3_seen_hint(test_acc: float, held_acc: float) -> str:
    """A hint when one unseen set scores clearly above the other (the model has seen it), else ''."""
    if test_acc - held_acc > _A3_MEMORISED_GAP:
        return (f"accuracy {test_acc:.3f} on the test images but {held_acc:.3f} on 10,000 training images it never "
                "saw: was it trained on the test set? Train only on a3_training_data(); the test images are for "
                "the final measurement")
    if held_acc - test_acc > _A3_MEMORISED_GAP:
        return (f"accuracy {held_acc:.3f} on the 10,000 held-back training images but {test_acc:.3f} on the test "
                "images: it was trained on images outside a3_training_data() (the full training files?). Train on "
                "the 50,000 images handed out only")
    return ""


def _a3_low_accuracy_hint(model: nn.Module, acc: float, predictions: torch.Tensor, mark: float) -> str:
    """Why a model scores below the mark: one class, raw vs normalised pixels, digits, or just too little training."""
    from helpers.data import FASHION_MNIST_CLASSES, mnist_arrays

    X, y = _a3_test_set()
    try:  # pixels 0-255: the model was trained on raw bytes and sees [0, 1] here, often one class for all
        bytes_acc = _a3_accuracy(_a3_torch_logits(model, X * 255.0), y)
    except Exception:  # only a diagnosis
        bytes_acc = 0.0
    if bytes_acc >= max(acc + 0.05, 0.5):
        return (f"accuracy {acc:.3f} on pixels in [0, 1] but {bytes_acc:.3f} when the check feeds pixels 0-255: the "
                "model was trained on unscaled pixels. The contract feeds x / 255 (as a3_training_data() gives it); "
                "train on those, or divide by 255 inside the model only if it is trained that way too")
    counts = torch.bincount(predictions, minlength=10)
    if counts.max().item() == len(predictions):
        return (f"it predicts '{FASHION_MNIST_CLASSES[int(counts.argmax())]}' for every image (accuracy {acc:.3f}): "
                "the model is untrained or collapsed; train it")
    try:
        normalised = _a3_accuracy(_a3_torch_logits(model, (X - _A3_FASHION_MEAN) / _A3_FASHION_STD), y)
    except Exception:  # only a diagnosis
        normalised = 0.0
    if normalised >= max(acc + 0.05, 0.5):  # clearly better on normalised pixels: it was trained on them
        return (f"accuracy {acc:.3f} on raw [0, 1] pixels but {normalised:.3f} when the check normalises them: the "
                "contract feeds raw pixels. Put the normalisation inside the model (a first layer that computes "
                "(x - mean) / std) and train it that way")
    digits = mnist_arrays()
    try:
        digit_acc = _a3_accuracy(_a3_torch_logits(model, digits["x_test"].astype(np.float32)[:, None] / 255.0),
                                 digits["y_test"])
    except Exception:  # only a diagnosis
        digit_acc = 0.0
    if digit_acc >= 0.8:
        return (f"accuracy {acc:.3f} on clothes but {digit_acc:.3f} on MNIST digits: this model learned digits. "
                "Train it on a3_training_data()")
    if acc < 0.2:
        return f"accuracy {acc:.3f}, near chance (0.10): is the model trained?"
    return (f"test accuracy {acc:.3f} is below {mark:.2f}. Lesson 06's recipe unchanged stops short of "
            "it: use more of the 50,000 images rather than more epochs over a few, a larger batch, and a learning "
            "rate that warms up and then decays every step (OneCycleLR); keep model.train() on while training")


@never_raises("A3 task 1 (train a CNN)")
def check_a3_task1(model: Any, *, _mark: float = A3_MIN_ACCURACY) -> bool:
    """Check that ``model`` classifies Fashion-MNIST: float (B, 1, 28, 28) in [0, 1] -> logits (B, 10).

    The check runs the model itself, in eval mode without gradients, on the 10,000
    official test images, scaled to [0, 1] and not normalised further (a model that wants
    normalised inputs must do it inside). It passes at ``A3_MIN_ACCURACY``. The test images
    are public, so it also runs a shuffled copy of them with faint noise, both drawn afresh
    (from ``secrets``) at every call: a model that knows the exact test images (a lookup by
    their pixels or their order) scores much lower there, or implausibly close to 1 on the originals, and fails.
    It also runs the 10,000 training images that ``a3_training_data()`` holds back: a model that does much
    better on one of the two unseen sets has seen it, and fails with a hint. Below the mark,
    the hint tells one class, normalised inputs, a digit model and too little training apart.

    Introduced in assignment A3.
    """
    name = "A3 task 1 (train a CNN)"
    if is_missing(model):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"model must be an nn.Module, got {type(model).__name__}")
    X, y = _a3_test_set()
    try:
        logits = _a3_torch_logits(model, X)
    except ValueError as err:
        return report(name, False, str(err))
    except Exception as err:  # the learner's code may fail in any way
        hint = ""
        if "784" in str(err) or "mat1 and mat2" in str(err):
            hint = ". The model receives images (B, 1, 28, 28): flatten inside it (nn.Flatten) where needed"
        return report(name, False, f"the model raised {_err(err)} on a batch of shape (500, 1, 28, 28){hint}")
    acc = _a3_accuracy(logits, y)
    if acc < _mark:
        try:
            return report(name, False, _a3_low_accuracy_hint(model, acc, logits.argmax(dim=1), _mark))
        except Exception as err:  # the diagnosis must never raise
            return report(name, False, f"test accuracy {acc:.3f} is below {_mark:.2f} ({_err(err)})")
    memorised, held_acc = _a3_unseen_sets_hint(
        acc, lambda images: _a3_torch_logits(model, images), lambda err, where: f"the model raised {_err(err)} on {where}"
    )
    if memorised:
        return report(name, False, memorised)
    return report(name, True, f"test accuracy {acc:.3f} on the 10,000 test images (mark {_mark:.2f}; "
                  f"{held_acc:.3f} on 10,000 held-back training images; it holds on a freshly noised copy)")


def _a3_unseen_sets_hint(
    acc: float, run: Callable[[np.ndarray], Any], failed: Callable[[Exception, str], str]
) -> tuple[str, float]:
    """Compare the test accuracy ``acc`` with the two sets no model can have memorised.

    ``run`` maps images to logits (the learner's model, which may fail in any way). First a
    freshly noised, shuffled copy of the test images (``_a3_unseen_hint``), then the held-back
    training images (``_a3_seen_hint``). Return ``(hint, held-back accuracy)``: the hint is ''
    when both agree with ``acc``, else the line to report, ``failed(err, which set)`` when
    ``run`` raised.
    """
    X, y = _a3_test_set()
    sets = (
        ("a noised copy of the test images", lambda: _a3_noised(X, y), _a3_unseen_hint),
        ("the held-back training images", _a3_held_back, _a3_seen_hint),
    )
    other_acc = float("nan")
    for where, data, judge in sets:
        images, labels = data()
        try:
            other_acc = _a3_accuracy(run(images), labels)
        except Exception as err:  # the learner's code may fail in any way
            return failed(err, where), other_acc
        hint = judge(acc, other_acc)
        if hint:
            return hint, other_acc
    return "", other_acc


def _a3_state_dict_in(content: Any, expected_keys: set[str]) -> Mapping[str, Any] | None:
    """Return the state dict inside a loaded checkpoint: the dict itself or one of its values."""
    if isinstance(content, Mapping) and content and all(isinstance(v, torch.Tensor) for v in content.values()):
        return content
    if isinstance(content, Mapping):
        for value in content.values():
            if isinstance(value, Mapping) and set(map(str, value)) & expected_keys:
                return value
    return None


def _a3_replace_state(content: Any, old: Mapping[str, Any], new: Mapping[str, torch.Tensor]) -> Any:
    """``content`` with the state dict ``old`` inside it replaced by ``new`` (same layout otherwise)."""
    if content is old:
        return dict(new)
    return {key: (dict(new) if value is old else value) for key, value in content.items()}


def _a3_call_loader(load_model: Callable, path: Path) -> tuple[Any, list[Any]]:
    """Call ``load_model(path)``, recording the ``weights_only`` argument of every ``torch.load`` it makes."""
    with torch_load_calls() as calls:
        return load_model(path), calls


@never_raises("A3 task 2 (checkpoint)")
def check_a3_task2(path: Any, load_model: Any, model: Any) -> bool:
    """Check a checkpoint file and the function that brings a model back from it.

    The file at ``path`` must load with ``torch.load(path, weights_only=True)`` and hold
    ``model``'s state dict (on its own or inside a dict). ``load_model(path)`` must return a
    new model, ready for inference (eval mode), that predicts what ``model`` predicts. To be
    sure the file alone is enough, the check also writes a copy of the checkpoint with every
    weight changed, calls ``load_model`` on that copy, and expects the changed weights back:
    a loader that returns a copy of the model in memory (``copy.deepcopy``) fails.

    Introduced in assignment A3.
    """
    name = "A3 task 2 (checkpoint)"
    if is_missing(path) or is_missing(load_model):
        return report(name, None)
    if not isinstance(model, nn.Module):
        return report(name, False, f"pass the trained model as the third argument, got {type(model).__name__}")
    if isinstance(load_model, nn.Module) or not callable(load_model):
        return report(name, False, f"load_model must be a function load_model(path) -> model, got "
                      f"{type(load_model).__name__}: wrap your loading code in a def")
    file = Path(path)
    if not file.is_file():
        return report(name, False, f"no file at {file}: save with torch.save(model.state_dict(), path)")
    try:
        content = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # pickles of whole objects, corrupt files, other formats
        if "Unsupported global" in str(err):
            return report(name, False, "the file does not load with torch.load(path, weights_only=True): it holds "
                          "pickled Python objects (torch.save(model) saves the whole object and its code). Save "
                          "model.state_dict() instead, which is plain tensors")
        return report(name, False, f"the file is not a PyTorch checkpoint ({_err(err)})")
    expected = model.state_dict()
    state = _a3_state_dict_in(content, set(expected))
    if state is None:
        found = sorted(map(str, content)) if isinstance(content, Mapping) else type(content).__name__
        return report(name, False, f"no state dict found in the file (it holds {found}); save model.state_dict(), "
                      "on its own or inside a dict")
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        return report(name, False, f"the saved state dict does not fit the model: missing keys {missing[:4]}, "
                      f"unexpected keys {extra[:4]}")
    for key, value in expected.items():
        if not isinstance(state[key], torch.Tensor) or state[key].shape != value.shape or not torch.equal(
            state[key].cpu(), value.detach().cpu()
        ):
            return report(name, False, f"the saved {key!r} differs from the model's: save after training")
    try:
        restored, calls = _a3_call_loader(load_model, file)
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"load_model(path) raised {_err(err)}")
    if is_missing(restored):
        return missing_result(name, load_model, restored)
    if not isinstance(restored, nn.Module):
        hint = ""
        if type(restored).__name__ == "_IncompatibleKeys":
            hint = (": load_state_dict returns a report of missing/unexpected keys, not the model. Call "
                    "model.load_state_dict(...) and then return the model")
        return report(name, False, f"load_model must return an nn.Module, got {type(restored).__name__}{hint}")
    if restored is model:
        return report(name, False, "load_model returned the very model you trained: build a fresh one with "
                      "build_model() and load the file into it")
    if any(flag is False for flag in calls):
        return report(name, False, "never pass weights_only=False: it lets a file run any code while it loads. "
                      "Use torch.load(path, weights_only=True)")
    restored_state = restored.state_dict()
    if set(restored_state) != set(expected) or any(
        not torch.equal(restored_state[k].detach().cpu(), expected[k].detach().cpu()) for k in expected
    ):
        return report(name, False, "the model load_model returns has other weights than the file: call "
                      "load_state_dict(torch.load(path, weights_only=True)) on the fresh model")
    X = _a3_test_set()[0][:64]
    try:
        reference = _a3_torch_logits(model, X)
        with torch.no_grad():
            got = restored(torch.from_numpy(X).to(_model_device(restored)))
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"running the models raised {_err(err)}")
    if not isinstance(got, torch.Tensor) or not _close(got.float().cpu(), reference, 1e-5, 1e-4):
        if restored.training:
            return report(name, False, "the model load_model returns gives other outputs because it is in training "
                          "mode (dropout, batch norm): call .eval() on it before returning it")
        return report(name, False, "the model load_model returns gives other outputs than model on the same images")
    # The file alone must be enough: every floating-point weight changed, the loader must bring the change back.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        changed = {k: (v + 0.01 * torch.randn_like(v) + 0.01) if v.is_floating_point() else v.clone()
                   for k, v in ((k, v.detach().cpu()) for k, v in state.items())}
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / file.name
        torch.save(_a3_replace_state(content, state, changed), other)
        try:
            second, _ = _a3_call_loader(load_model, other)
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"load_model raised {_err(err)} on a copy of the checkpoint at another path: "
                          "it must load the file it is given")
    if second is restored or not isinstance(second, nn.Module):
        return report(name, False, "load_model returned the same object twice: build a fresh model on every call")
    second_state = second.state_dict()
    if any(not torch.equal(second_state[k].detach().cpu(), changed[k]) for k in changed if k in second_state):
        return report(name, False, "load_model ignores the file it is given: for a checkpoint with other weights it "
                      "returned the trained model's (a copy kept in memory, such as copy.deepcopy(model)?). Build the "
                      "model with build_model() and load torch.load(path, weights_only=True) into it")
    note = "" if all(flag is True for flag in calls) else (
        " (tip: write weights_only=True explicitly; older PyTorch versions default to False)")
    return report(name, True, "the file loads with weights_only=True, and load_model(path) rebuilds a model from the "
                  f"file alone that predicts exactly the same{note}")


def _a3_dims(value_info) -> list[int | str]:
    dims = []
    for dim in value_info.type.tensor_type.shape.dim:
        dims.append(dim.dim_param if dim.dim_param else (dim.dim_value if dim.HasField("dim_value") else "?"))
    return dims


@never_raises("A3 task 3 (ONNX export)")
def check_a3_task3(path: Any, model: Any = None, *, _mark: float = A3_MIN_ACCURACY) -> bool:
    """Check an exported ONNX file by running it in ONNX Runtime on the 10,000 Fashion-MNIST test images.

    The contract: one input named ``"images"``, float32 (batch, 1, 28, 28) with a
    dynamic batch axis; one output named ``"logits"`` (batch, 10). The check runs the
    file with batch sizes 1, 7 and 10,000, needs the same answers for each, and
    accuracy >= ``A3_MIN_ACCURACY`` (and no sign of having seen the test images, as in
    task 1: a freshly noised copy of them, and the held-back training images). With
    ``model`` given, ONNX Runtime's logits must also match PyTorch's (to 1e-3).

    Introduced in assignment A3.
    """
    import onnx
    import onnxruntime as ort

    name = "A3 task 3 (ONNX export)"
    if is_missing(path):
        return report(name, None)
    file = Path(path)
    if not file.is_file():
        return report(name, False, f"no file at {file}: export with torch.onnx.export(model, example, path, ...)")
    try:
        proto = onnx.load(str(file))
        onnx.checker.check_model(proto)
    except Exception as err:  # protobuf errors, checker errors
        return report(name, False, f"{file.name} is not a valid ONNX model ({_err(err)}); export it again "
                      "with torch.onnx.export")
    graph_inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(graph_inputs) != 1:
        return report(name, False, f"the model has {len(graph_inputs)} inputs; it needs exactly one (the images)")
    inp, out = graph_inputs[0], proto.graph.output[0]
    if inp.name != A3_INPUT_NAME:
        return report(name, False, f"the input is named {inp.name!r}; the contract says {A3_INPUT_NAME!r}: "
                      f"export with input_names=[{A3_INPUT_NAME!r}]")
    if len(proto.graph.output) != 1 or out.name != A3_OUTPUT_NAME:
        names = [o.name for o in proto.graph.output]
        return report(name, False, f"the outputs are {names}; the contract says one output named {A3_OUTPUT_NAME!r}: "
                      f"export with output_names=[{A3_OUTPUT_NAME!r}]")
    if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        return report(name, False, "the input must be float32 (export with a float32 example such as torch.zeros(2, 1, 28, 28))")
    dims = _a3_dims(inp)
    if len(dims) != 4 or list(dims[1:]) != [1, 28, 28]:
        hint = f"the input has shape {dims}; the contract is (batch, 1, 28, 28)"
        if len(dims) == 2:
            hint += ": the file expects flattened images. Put nn.Flatten inside the model and export with a (B, 1, 28, 28) example"
        return report(name, False, hint)
    if isinstance(dims[0], int):
        return report(name, False, f"the batch size is fixed to {dims[0]}: export with a dynamic batch axis, "
                      f"dynamic_axes={{{A3_INPUT_NAME!r}: {{0: 'batch'}}, {A3_OUTPUT_NAME!r}: {{0: 'batch'}}}} "
                      "(or dynamic_shapes with dynamo=True)")
    try:
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        return report(name, False, f"ONNX Runtime cannot open the file ({_err(err)})")
    X, y = _a3_test_set()
    runs: dict[int, np.ndarray] = {}
    for batch in (1, 7, len(X)):
        try:
            (logits,) = session.run([A3_OUTPUT_NAME], {A3_INPUT_NAME: X[:batch]})
        except Exception as err:  # onnxruntime raises its own exception types
            return report(name, False, f"ONNX Runtime failed on a batch of {batch} ({_err(err)}): a reshape inside the "
                          "model may hard-code the batch size; use x.flatten(1) or nn.Flatten")
        if logits.shape != (batch, 10):
            return report(name, False, f"for a batch of {batch} the output has shape {logits.shape}, expected ({batch}, 10)")
        runs[batch] = logits
    if not (np.allclose(runs[1], runs[len(X)][:1], atol=1e-4) and np.allclose(runs[7], runs[len(X)][:7], atol=1e-4)):
        return report(name, False, "the same image gets different logits in batches of different sizes: was the model "
                      "exported in training mode (batch norm using batch statistics)? Call model.eval() first")
    acc = _a3_accuracy(runs[len(X)], y)
    if acc < _mark:
        return report(name, False, f"ONNX Runtime gets accuracy {acc:.3f} on the test images, below {_mark:.2f}: "
                      "export the trained model, in eval mode, taking raw [0, 1] pixels")
    memorised, _ = _a3_unseen_sets_hint(
        acc,
        lambda images: session.run([A3_OUTPUT_NAME], {A3_INPUT_NAME: images})[0],
        lambda err, where: f"ONNX Runtime failed on {where} ({_err(err)})",
    )
    if memorised:
        return report(name, False, memorised)
    if model is not None:
        if not isinstance(model, nn.Module):
            return report(name, False, f"model must be an nn.Module or None, got {type(model).__name__}")
        try:
            reference = _a3_torch_logits(model, X[:64])
        except Exception as err:  # the learner's code may fail in any way
            return report(name, False, f"running the PyTorch model raised {_err(err)}")
        diff = float(np.abs(reference.numpy() - runs[len(X)][:64]).max())
        if diff > 1e-3:
            return report(name, False, f"ONNX Runtime and PyTorch disagree (largest difference {diff:.3g}): export the "
                          "same trained model you pass here, after model.eval()")
    return report(name, True, f"ONNX Runtime accuracy {acc:.3f} on the 10,000 test images; batch sizes 1, 7 and "
                  "10,000 all work, and it holds on a freshly noised copy")
