"""Exercise checks for lesson 08 (ONNX): export a model that serves any batch size.

Introduced in lesson 08.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.checks import CheckUsageError, is_missing, is_stub, never_raises, report
from helpers.deploy import onnx_session

__all__ = ["exercise_model", "check_export_for_serving"]

BATCH_SIZES = (1, 3, 7)  # none of them is the example's batch of 2


def exercise_model() -> nn.Module:
    """Return the small seeded CNN the check exports: conv, batch norm, ReLU, dropout, pooling, linear.

    It is returned in **training mode** with non-trivial batch-norm statistics, as a model
    is right after training, so an export that forgets ``model.eval()`` keeps dropout
    active and uses batch statistics, and its outputs differ. Input ``(B, 1, 8, 8)``,
    output ``(B, 3)`` logits.

    Introduced in lesson 08.
    """
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3),
    )
    with torch.no_grad():
        for _ in range(3):  # move the running mean and variance away from 0 and 1
            model(torch.randn(16, 1, 8, 8) * 2 + 1)
    return model.train()


def _exported_in_training_mode(session: Any, model: nn.Module, X: torch.Tensor, got: np.ndarray) -> bool:
    """True when the file behaves like ``model`` in training mode: random (dropout) or with batch statistics."""
    again = session.run(None, {"images": X.numpy()})[0]
    if not np.allclose(again, got, rtol=1e-5, atol=1e-6):
        return True  # a different answer for the same batch: dropout is still on
    was_training = model.training
    model.train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    try:
        with torch.no_grad():
            batch_statistics = model(X).numpy()
    finally:
        model.train(was_training)
    return bool(np.allclose(got, batch_statistics, rtol=1e-3, atol=1e-5))


@never_raises("export_for_serving")
def check_export_for_serving(fn: Callable | None, path: str | Path, name: str = "export_for_serving") -> bool:
    """Check ``fn(model, example, path)`` by running the file it writes in ONNX Runtime; return True if it serves.

    The check deletes ``path``, calls ``fn`` with ``exercise_model()`` (in training mode)
    and an example batch of shape ``(2, 1, 8, 8)``, then reads the file back itself: it
    must pass ``onnx.checker``, have one input called ``images`` and one output called
    ``logits``, and give the same logits as the model in eval mode (``rtol=1e-3``,
    ``atol=1e-5``) for batches of 1, 3 and 7. Either exporter (``dynamo=True`` or
    ``False``) is fine. Hints: an ``ONNXProgram`` returned but never saved, wrong names, a
    fixed batch axis, training mode exported. No file written at all counts as "not done
    yet". Warnings raised by the learner's export are not hidden.

    Introduced in lesson 08.
    """
    with torch.random.fork_rng(devices=[]):  # seeds set here must not change the notebook's random numbers
        return _check_export_for_serving(fn, path, name)


def _check_export_for_serving(fn: Callable | None, path: str | Path, name: str = "export_for_serving") -> bool:
    import onnx

    if is_missing(fn):
        return report(name, None)
    if not callable(fn):
        return report(name, False, f"expected a function, got a {type(fn).__name__}")
    if not isinstance(path, str | Path) or Path(path).suffix != ".onnx":
        raise CheckUsageError(f"path must be a str or Path ending in .onnx, got {path!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a file left by an earlier run must not count
    model = exercise_model()
    example = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    try:
        returned = fn(model, example, path)  # warnings are left visible: a TracerWarning is worth seeing
    except Exception as err:  # the learner's code may fail in any way
        return report(name, False, f"calling it raised {type(err).__name__}: {err}")
    if not path.exists() and type(returned).__name__ == "ONNXProgram":
        return report(name, False, f"your function made an ONNXProgram but wrote no file at {path.name}: "
                      "torch.onnx.export(model, args) without a path only returns the program. "
                      "Hint: call onnx_program.save(path), or pass path as the third argument")
    if not path.exists() and is_stub(fn):  # the untouched stub (``pass``): "not done yet"
        return report(name, None, f"not done yet: no file at {path.name} after the call (if your function "
                      "exports, pass it the path you were given: torch.onnx.export's third argument, f)")
    if not path.exists():
        return report(name, False, f"your function ran but left no file at {path.name}: pass it the path you were "
                      "given (torch.onnx.export's third argument, f, or onnx_program.save(path))")
    try:
        onnx.checker.check_model(onnx.load(path))
    except Exception as err:  # a broken or foreign file
        return report(name, False, f"{path.name} is not a valid ONNX model: {type(err).__name__}: {err}")
    session = onnx_session(path, threads=1)
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != ["images"]:
        return report(name, False, f"the graph's inputs are {inputs}; a caller needs one input called 'images'. "
                      "Hint: input_names=['images']")
    if outputs != ["logits"]:
        return report(name, False, f"the graph's outputs are {outputs}; expected one called 'logits'. "
                      "Hint: output_names=['logits']")
    batch_axis = session.get_inputs()[0].shape[0]  # an int when fixed, a name such as 'batch' when open
    if isinstance(batch_axis, int):
        return report(name, False, f"the input's batch axis is fixed at {batch_axis}, so only batches of "
                      f"{batch_axis} would run. Hint: dynamic_shapes=({{0: torch.export.Dim('batch')}},) with "
                      "dynamo=True, or dynamic_axes={'images': {0: 'batch'}, 'logits': {0: 'batch'}} "
                      "with dynamo=False")
    model.eval()
    for batch in BATCH_SIZES:
        X = torch.randn(batch, 1, 8, 8, generator=torch.Generator().manual_seed(10 + batch))
        try:
            got = session.run(None, {"images": X.numpy()})[0]
        except Exception as err:  # ONNX Runtime's errors are plain exceptions
            return report(name, False, f"ONNX Runtime failed on a batch of {batch}: {err}. Hint: the batch axis "
                          "of both 'images' and 'logits' must be dynamic")
        with torch.no_grad():
            expected = model(X).numpy()
        if got.shape != expected.shape:
            return report(name, False, f"a batch of {batch} gave logits of shape {got.shape}, expected "
                          f"{expected.shape}. Hint: mark axis 0 of 'logits' as dynamic too")
        if not np.allclose(got, expected, rtol=1e-3, atol=1e-5):
            diff = float(np.abs(got - expected).max())
            if _exported_in_training_mode(session, model, X, got):
                return report(name, False, f"for a batch of {batch} the file's logits differ from the model's in "
                              f"eval mode by up to {diff:.3g}. Hint: call model.eval() before exporting, so "
                              "dropout is off and batch norm uses its running statistics")
            return report(name, False, f"for a batch of {batch} the file's logits differ from the model's by up to "
                          f"{diff:.3g}, in eval mode and in training mode alike: the file holds another model. "
                          "Hint: export the model you are given (the function's argument), not a new or "
                          "other one")
    return report(name, True, f"'images' -> 'logits', dynamic batch; ONNX Runtime matches PyTorch for "
                  f"batches of {', '.join(map(str, BATCH_SIZES))}")
