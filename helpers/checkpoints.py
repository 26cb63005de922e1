"""Checkpoints that can rebuild their model: weights + the architecture's hyper-parameters + optimizer state.

A ``state_dict`` alone holds tensors by name; to use it you must already have built a
model of exactly the right shape. A checkpoint written by ``save_checkpoint`` also
stores the keyword arguments that build the model (``hparams``), so
``load_checkpoint(path, build_model)`` can call ``build_model(**hparams)`` and load the
weights into it. Files are always read with ``torch.load(..., weights_only=True)``,
which refuses any pickled object that is not plain data, so loading a file from a
stranger cannot run their code.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["CHECKPOINT_KEYS", "save_checkpoint", "load_checkpoint", "compare_state_dicts"]

CHECKPOINT_KEYS = ("hparams", "model_state", "optimizer_state", "epoch", "extra")
_PLAIN_TYPES = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Raise ValueError unless ``value`` is plain data that ``weights_only=True`` can load back."""
    if isinstance(value, (*_PLAIN_TYPES, torch.Tensor)):
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _PLAIN_TYPES):
                raise ValueError(f"{where} has a key of type {type(key).__name__}; use str or int keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where} is a {type(value).__name__}, which torch.load(..., weights_only=True) refuses to "
        "load; store plain data instead (numbers, strings, booleans, None, lists, dicts, tensors), "
        "e.g. the name of an activation as a string rather than the function"
    )


def _reason(err: BaseException) -> str:
    """Return the informative line of a ``torch.load`` error, without colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    refused = [line for line in lines if "GLOBAL" in line]  # names what was refused, e.g. GLOBAL io.open
    if refused:
        line = refused[0].split("WeightsUnpickler error:")[-1].strip()
        return line.split(". Please use")[0].rstrip(".")
    if "WeightsUnpickler error:" in text:
        lines = [line.strip() for line in text.split("WeightsUnpickler error:", 1)[1].splitlines() if line.strip()]
    first = lines[0].split(". ")[0].rstrip(".") if lines else repr(err)  # the first sentence
    return first if len(first) <= 160 else first[:157] + "..."


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    hparams: Mapping[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model``'s weights with the keyword arguments that rebuild it; return the file's ``Path``.

    The file holds a dict with keys ``hparams`` (so that ``build_model(**hparams)``
    recreates the architecture), ``model_state``, ``optimizer_state`` (or None),
    ``epoch`` (or None) and ``extra`` (a dict of your own plain data, e.g. metrics).
    Every value must be plain data so that ``torch.load(..., weights_only=True)``
    can read it back. The file is written to a temporary name first and then
    renamed, so an interrupted save never leaves half a checkpoint behind.

    Introduced in lesson 04.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(hparams, Mapping):
        raise ValueError(
            f"hparams must be a dict of the keyword arguments that build the model, e.g. "
            f"{{'hidden': 128}}, got {type(hparams).__name__}"
        )
    if not all(isinstance(key, str) for key in hparams):
        raise ValueError(f"hparams keys must be argument names (str), got {list(hparams)}")
    _check_plain(dict(hparams), "hparams")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
        raise ValueError(f"epoch must be an int or None, got {epoch!r}")
    if extra is not None and not isinstance(extra, Mapping):
        raise ValueError(f"extra must be a dict or None, got {type(extra).__name__}")
    _check_plain(dict(extra or {}), "extra")
    checkpoint = {
        "hparams": dict(hparams),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "epoch": epoch,
        "extra": dict(extra or {}),
    }
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path {path} is a folder; give a file name such as {path / 'model.pt'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def compare_state_dicts(expected: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    """Return a list of human-readable differences between two state_dicts (empty if they fit).

    ``expected`` is what the model has (``model.state_dict()``), ``got`` what the file
    holds. Lists the keys missing from the file, the unexpected keys in it, and the
    tensors whose shapes differ.

    Introduced in lesson 04.
    """
    problems = []
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    if missing:
        problems.append(f"missing keys (the model has them, the file does not): {missing}")
    if unexpected:
        problems.append(f"unexpected keys (the file has them, the model does not): {unexpected}")
    for key in expected:
        if key in got and isinstance(got[key], torch.Tensor) and isinstance(expected[key], torch.Tensor):
            if got[key].shape != expected[key].shape:
                problems.append(
                    f"shape of {key!r}: model {tuple(expected[key].shape)}, file {tuple(got[key].shape)}"
                )
    return problems


def load_checkpoint(
    path: str | Path,
    build_model: Callable[..., nn.Module],
    build_optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, torch.optim.Optimizer | None, dict]:
    """Rebuild a model (and optionally its optimizer) from a checkpoint; return ``(model, optimizer, checkpoint)``.

    ``build_model(**checkpoint["hparams"])`` recreates the architecture, then the saved
    weights are loaded into it. With ``build_optimizer`` (a function of the model's
    parameters, e.g. ``lambda params: torch.optim.Adam(params)``) the optimizer is built
    for the new model and its saved state (Adam's moving averages, step counts) restored;
    otherwise the returned optimizer is None. The file is read with
    ``torch.load(path, weights_only=True)``: a file holding anything other than plain
    data is refused with ``ValueError`` and none of its code runs.

    Introduced in lesson 04.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; save one with save_checkpoint(path, model, hparams)")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the checkpoint file inside it")
    if not callable(build_model):
        raise ValueError(
            f"build_model must be a function (or class) that takes the saved hparams as keyword "
            f"arguments and returns the model, got {type(build_model).__name__}"
        )
    try:
        with warnings.catch_warnings():  # a foreign pickle protocol only adds noise before the refusal
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt zip, truncated pickle, forbidden global: all unreadable
        raise ValueError(
            f"{path} could not be read as a checkpoint with torch.load(weights_only=True) "
            f"({type(err).__name__}: {_reason(err)}). It is truncated or corrupt, not a PyTorch "
            "file, or it holds pickled Python objects rather than plain data; nothing in it was "
            "executed. Never load a file you do not trust with weights_only=False."
        ) from err
    if not isinstance(checkpoint, dict) or not {"hparams", "model_state"} <= set(checkpoint):
        found = sorted(map(str, checkpoint)) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        bare = isinstance(checkpoint, dict) and checkpoint and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()
        )
        advice = (
            " It looks like a bare state_dict: build the model yourself and call "
            "model.load_state_dict(torch.load(path, weights_only=True))."
            if bare
            else " Save checkpoints with save_checkpoint(path, model, hparams)."
        )
        raise ValueError(
            f"{path} is not a checkpoint: expected a dict with keys {list(CHECKPOINT_KEYS)}, "
            f"found {found}.{advice}"
        )
    hparams = checkpoint["hparams"]
    if not isinstance(hparams, dict):
        raise ValueError(f"{path}: checkpoint['hparams'] must be a dict, got {type(hparams).__name__}")
    try:
        model = build_model(**hparams)
    except TypeError as err:
        raise ValueError(
            f"build_model could not be called with the saved hparams {hparams}: {err}. "
            "Pass the function that built the saved model."
        ) from err
    if not isinstance(model, nn.Module):
        raise ValueError(f"build_model must return an nn.Module, it returned a {type(model).__name__}")
    problems = compare_state_dicts(model.state_dict(), checkpoint["model_state"])
    if problems:
        raise ValueError(
            f"{path} was saved from another architecture than build_model(**{hparams}) creates:\n  "
            + "\n  ".join(problems)
            + "\nPass the build function that matches the saved model."
        )
    model.load_state_dict(checkpoint["model_state"])
    model.to(map_location)
    optimizer = None
    if build_optimizer is not None:
        if checkpoint.get("optimizer_state") is None:
            raise ValueError(
                f"{path} holds no optimizer state; save it with save_checkpoint(..., optimizer=optimizer) "
                "or leave build_optimizer out"
            )
        optimizer = build_optimizer(model.parameters())
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(
                f"build_optimizer must return a torch.optim.Optimizer, it returned a {type(optimizer).__name__}"
            )
        try:
            optimizer.load_state_dict(checkpoint["optimizer_state"])
        except (ValueError, KeyError) as err:
            raise ValueError(
                f"the saved optimizer state does not fit the optimizer that build_optimizer made: {err}"
            ) from err
    return model, optimizer, checkpoint
