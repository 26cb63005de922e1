"""Reproducibility, device choice and the places where the course reads and writes files."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["seed_everything", "get_device", "course_root", "artifacts_dir", "data_dir"]

_ROOT_ENV = "COURSE_ROOT"


def seed_everything(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python, NumPy and torch (CPU and every CUDA device); return the seed.

    With ``deterministic=True`` cuDNN is also told to pick deterministic kernels
    and not to benchmark, which costs speed on a GPU and changes nothing on a CPU.

    Introduced in lesson 00.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available ``torch.device``: CUDA, then Apple's MPS, then the CPU.

    ``prefer="cpu"`` (or any device string) forces that device; asking for one that
    is not available raises ``ValueError``.

    Introduced in lesson 00.
    """
    if prefer is not None:
        try:
            device = torch.device(prefer)
        except (RuntimeError, TypeError) as err:
            raise ValueError(
                f"prefer must be a device string such as 'cpu' or 'cuda', got {prefer!r}"
            ) from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("prefer='cuda' was asked for but torch.cuda.is_available() is False")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("prefer='mps' was asked for but torch.backends.mps.is_available() is False")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def course_root() -> Path:
    """Return the course's top folder (the one holding ``helpers/`` and ``notebooks/``).

    Looks at the ``COURSE_ROOT`` environment variable, then walks up from the current
    folder, then tries the folder above this package; falls back to the current folder.

    Introduced in lesson 00.
    """
    env = os.environ.get(_ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "helpers").is_dir() and (folder / "notebooks").is_dir():
            return folder
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / "notebooks").is_dir():
        return package_parent
    return here


def shown_path(path: str | os.PathLike) -> str:
    """Return ``path`` as a learner would type it here: relative to the current folder when it
    lies inside the course (``../artifacts/08/model.onnx`` from ``notebooks/``), else as given.

    Used in error messages, so that what a notebook prints names the same file on every
    machine instead of one user's home folder.

    Introduced in lesson 05.
    """
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path must be a str or a path, got {type(path).__name__}")
    absolute = Path(path).resolve()
    root = course_root()
    if not absolute.is_relative_to(root) or not Path.cwd().resolve().is_relative_to(root):
        return str(path)
    return os.path.relpath(absolute)


def artifacts_dir(*parts: str) -> Path:
    """Return (and create) ``<course root>/artifacts/<parts...>``: where notebooks write files.

    ``artifacts/`` is git-ignored, so whatever a lesson saves there never dirties the
    repository. ``artifacts_dir("04")`` gives ``artifacts/04``.

    Introduced in lesson 00.
    """
    path = _sub_dir("artifacts", parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(*parts: str) -> Path:
    """Return (and create) ``<course root>/data/<parts...>``: the git-ignored data cache.

    Introduced in lesson 00.
    """
    path = _sub_dir("data", parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub_dir(top: str, parts: tuple[str, ...]) -> Path:
    for part in parts:
        if not isinstance(part, str) or not part or part in {".", ".."} or "/" in part or "\\" in part:
            raise ValueError(
                f"each part must be a plain folder name such as '04', got {part!r}"
            )
    return course_root().joinpath(top, *parts)


def _call_times(fn: Callable[[], Any], repeats: int, warmup: int) -> list[float]:
    """Call ``fn()`` ``warmup`` times untimed, then return the seconds of each of ``repeats`` timed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
