"""Every public check of every lesson and assignment returns a bool and prints one line, whatever the answer does.

The checks are discovered (every ``check_*`` in the ``__all__`` of ``helpers.exercises.lessonNN``
and ``helpers.assignments.aN``), so a new check is covered without editing this file. A check
that needs more than the learner's answer gets the other arguments from ``_EXTRA`` below.
The battery of hostile answers: code that raises (with terminal colour codes in the message),
values of the wrong type, float64 where float32 is expected, tensors and models on the
``meta`` device, a function that does some work and forgets ``return``, classes whose
methods raise, and a loss on which ``backward()`` was already called.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import helpers.assignments
import helpers.exercises

# ------------------------------------------------------------------ discovery


def _modules() -> list[Any]:
    found = []
    for package in (helpers.exercises, helpers.assignments):
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                found.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return found


def _public_checks() -> dict[str, Callable]:
    checks = {}
    for module in _modules():
        for name in getattr(module, "__all__", []):
            if name.startswith("check_"):
                checks[f"{module.__name__.rsplit('.', 1)[1]}.{name}"] = getattr(module, name)
    return checks


CHECKS = _public_checks()

# ------------------------------------------------------------------ the hostile answers


class _Boom(RuntimeError):
    pass


def raises(*args: Any, **kwargs: Any) -> Any:
    raise _Boom("\x1b[31mboom\x1b[0m: the learner's code failed\nsecond line")


def attribute_error(*args: Any, **kwargs: Any) -> Any:
    return args[0].no_such_attribute


def wrong_type(*args: Any, **kwargs: Any) -> Any:
    return "a string"


def float64(*args: Any, **kwargs: Any) -> Any:
    return torch.zeros(4, 3, dtype=torch.float64)


def on_meta(*args: Any, **kwargs: Any) -> Any:
    return torch.empty(4, 3, device="meta")


def forgot_return(*args: Any, **kwargs: Any) -> Any:
    total = 0
    for value in args:
        total += 1 if value is not None else 0


def already_backward(*args: Any, **kwargs: Any) -> Any:
    w = torch.ones(3, requires_grad=True)
    loss = (w * 2).exp().sum()
    loss.backward()
    return loss


def returns_a_module(*args: Any, **kwargs: Any) -> Any:
    return nn.Linear(3, 2)


class RaisingModule(nn.Module):
    """A class whose constructor works and whose every method raises."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 2)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError("\x1b[1m'RaisingModule' object has no attribute 'weights'\x1b[0m")

    def __len__(self) -> int:
        raise TypeError("len went wrong")

    def __getitem__(self, index: Any) -> Any:
        raise KeyError(index)

    def step(self, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    @staticmethod
    def backward(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("backward went wrong")


class BrokenInit(nn.Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.sizes = args[0].shape  # AttributeError for a list or an int

    def forward(self, x: Any) -> Any:
        return x


class RaisingMapping(dict):
    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("no items here")

    def items(self) -> Any:
        raise RuntimeError("no items here")


def _double_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(10)).double()


def _meta_model() -> nn.Module:
    return nn.Linear(3, 2, device="meta")


HOSTILE: dict[str, Callable[[], Any]] = {
    "raises": lambda: raises,
    "attribute_error": lambda: attribute_error,
    "wrong_type": lambda: wrong_type,
    "float64": lambda: float64,
    "meta": lambda: on_meta,
    "forgot_return": lambda: forgot_return,
    "already_backward": lambda: already_backward,
    "returns_a_module": lambda: returns_a_module,
    "raising_class": lambda: RaisingModule,
    "raising_instance": lambda: RaisingModule(),
    "broken_init": lambda: BrokenInit,
    "float64_model": _double_model,
    "meta_model": _meta_model,
    "meta_tensor": lambda: torch.empty(3, device="meta"),
    "float64_array": lambda: np.zeros((2, 3)),
    "string": lambda: "answer",
    "raising_mapping": lambda: RaisingMapping(b=1),
    "number": lambda: 14.5,
}

# ------------------------------------------------------------------ the other arguments of some checks


def _lesson04_setups() -> tuple:
    def setup() -> tuple:
        model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
        return model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02)

    X = torch.randn(12, 12, generator=torch.Generator().manual_seed(3))
    return {"a": setup, "b": setup, "c": setup}, X, torch.arange(12) % 3


def _make_mlp(hidden: int = 8, depth: int = 1, dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(12, hidden), nn.ReLU(), nn.Dropout(dropout)]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(hidden, 3))


def _a3_checkpoint(tmp: Path) -> tuple[Path, nn.Module]:
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)).eval()
    path = tmp / "a3.pt"
    torch.save(model.state_dict(), path)
    return path, model


def _extra(key: str, answer: Any, tmp: Path) -> tuple[tuple, int]:
    """The arguments for check ``key`` with ``answer`` in the learner's place(s), and the lines it prints."""
    if key == "lesson04.check_repairs":
        setups, X, y = _lesson04_setups()
        return (answer, setups, X, y), 1
    if key == "lesson04.check_save_and_reload":
        return (answer, _make_mlp, {"hidden": 8, "depth": 2, "dropout": 0.1}, torch.randn(5, 12)), 1
    if key == "lesson04.check_fashion_classifier":
        return (answer, 0.286, 0.353), 1
    if key == "lesson06.check_flat_features":
        features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
        return (answer, features, 3, 16), 1
    if key == "lesson08.check_export_for_serving":
        return (answer, tmp / "hostile.onnx"), 1
    if key == "a1.check_a1_task4":
        return (answer, answer), 2  # two parts, one line each
    if key == "a2.check_a2":
        return (answer, answer), 1
    if key == "a3.check_a3_task2":
        path, model = _a3_checkpoint(tmp)
        return (path, answer, model), 1
    if key == "a3.check_a3_task3":
        return (tmp / "missing.onnx", answer), 1
    return (answer,), 1


_EXTRA_KEYS = {
    "lesson04.check_repairs", "lesson04.check_save_and_reload", "lesson04.check_fashion_classifier",
    "lesson06.check_flat_features", "lesson08.check_export_for_serving", "a1.check_a1_task4", "a2.check_a2",
    "a3.check_a3_task2", "a3.check_a3_task3",
}
# Checks that run the learner's model on a whole data set: the battery on them is slow.
_SLOW = {"lesson04.check_fashion_classifier", "lesson04.check_repairs", "a2.check_a2", "a2.check_a2_preprocess", "a3.check_a3_task1",
         "a3.check_a3_task2", "a3.check_a3_task3", "lesson08.check_export_for_serving", "lesson07.check_prepare_for_new_task"}


# Checks whose function legitimately returns None (it works in place): "not done yet" is right there.
_NONE_IS_FINE = {"lesson03.check_init_weights"}


def test_discovery_finds_every_check() -> None:
    assert len(CHECKS) >= 30
    assert _EXTRA_KEYS <= set(CHECKS), sorted(_EXTRA_KEYS - set(CHECKS))
    assert _SLOW <= set(CHECKS), sorted(_SLOW - set(CHECKS))


def _run_battery(lenient: None, capsys: pytest.CaptureFixture, tmp_path: Path, key: str) -> None:
    check = CHECKS[key]
    failures = []
    for label, make in HOSTILE.items():
        args, lines = _extra(key, make(), tmp_path)
        capsys.readouterr()
        try:
            with torch.random.fork_rng(devices=[]):
                result = check(*args)
        except Exception as err:  # collected, so one run lists every hostile answer that escapes
            failures.append(f"{label}: raised {type(err).__name__}: {err}")
            continue
        out = capsys.readouterr().out.splitlines()
        if not isinstance(result, bool):
            failures.append(f"{label}: returned {type(result).__name__}, not a bool")
        if len(out) != lines:
            failures.append(f"{label}: printed {len(out)} lines instead of {lines}: {out}")
        if any("\x1b" in line for line in out):
            failures.append(f"{label}: printed terminal colour codes: {out}")
        if result is True:
            failures.append(f"{label}: a hostile answer passed: {out}")
        if label == "forgot_return" and key not in _NONE_IS_FINE and any("not done yet" in line for line in out):
            failures.append(f"{label}: a function that does some work and returns None was told 'not done yet': {out}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", sorted(set(CHECKS) - _SLOW))
def test_every_check_survives_hostile_answers(lenient, capsys, tmp_path, key):
    _run_battery(lenient, capsys, tmp_path, key)


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(_SLOW))
def test_every_heavy_check_survives_hostile_answers(lenient, capsys, tmp_path, key):
    _run_battery(lenient, capsys, tmp_path, key)
