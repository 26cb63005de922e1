"""Section 6: the time and disk a fresh ``make test``-style environment costs.

The Makefile's set-up recipe is ``$(PYTHON) tools/install_env.py .venv`` (``PYTHON``
defaults to ``python3``): it creates the venv, installs uv from PyPI into it (the version
``requirements.lock`` names), installs the course with ``uv pip install -c
requirements.lock -e '.[dev]'`` (exactly the locked versions), and checks that
``torch``, ``torchvision`` and ``helpers`` import. This module runs the same script in a
temporary folder, on a copy of the files the install reads (``pyproject.toml``,
``README.md``, ``requirements.lock``, ``helpers/``, ``tools/install_env.py``), so nothing
is written into the repository, times each step, measures the new environment's size on
disk, and deletes it.

By default uv and pip get empty, temporary cache folders (``UV_CACHE_DIR``,
``PIP_CACHE_DIR``), so every package is fetched and unpacked as on a machine that never
installed the course; the caches it fills are measured and deleted too.
``cache="existing"`` uses your normal caches instead (a faster, warm install). Other pip
settings (index, find-links) are left as they are and listed in the report, because a
local mirror changes the time (uv reads none of pip's settings).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks import ROOT

__all__ = [
    "SetupCost",
    "disk_usage_bytes",
    "largest_entries",
    "redact_url",
    "pip_sources",
    "measure_setup_cost",
]

INSTALL_SCRIPT = "tools/install_env.py"
CHECK_CODE = "import torch, torchvision, helpers; print('installed torch', torch.__version__, 'torchvision', torchvision.__version__)"
PROJECT_FILES = ("pyproject.toml", "README.md", "requirements.lock", "helpers", INSTALL_SCRIPT)
MIN_FREE_BYTES = 15 * 2**30  # room for the environment (about 6 GiB with CUDA wheels) and pip's cache


@dataclass
class SetupCost:
    """What section 6 measured (``mode`` says how much of it was done)."""

    mode: str  # "full", "bare-venv" (quick mode: an empty venv only) or "skipped"
    reason: str = ""  # why it was skipped
    python: str = ""
    cache: str = ""  # "empty" or "existing"
    steps_s: dict[str, float] = field(default_factory=dict)
    disk_bytes: int = 0
    cache_bytes: int | None = None
    largest: list[tuple[str, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    pip_version: str = ""
    check_output: str = ""

    @property
    def total_s(self) -> float:
        return sum(self.steps_s.values())


def disk_usage_bytes(path: str | os.PathLike) -> int:
    """Return the disk space ``path`` occupies, like ``du -s``: allocated blocks, hard links counted once.

    Symbolic links are not followed. Raises ValueError for a path that does not exist.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ValueError(f"cannot measure {str(path)!r}: it does not exist")
    seen: set[tuple[int, int]] = set()

    def size(st: os.stat_result) -> int:
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return 0
        seen.add(key)
        blocks = getattr(st, "st_blocks", None)  # not on Windows
        return blocks * 512 if blocks is not None else st.st_size

    total = size(path.lstat())
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    total += size(os.lstat(os.path.join(folder, name)))
                except OSError:
                    continue
    return total


def largest_entries(folder: str | os.PathLike, count: int = 5) -> list[tuple[str, int]]:
    """Return the ``count`` largest entries of ``folder`` as ``[(name, bytes), ...]``, largest first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is not a folder")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    sizes = [(entry.name, disk_usage_bytes(entry)) for entry in folder.iterdir()]
    return sorted(sizes, key=lambda item: -item[1])[:count]


def redact_url(value: str) -> str:
    """Return ``value`` with any user name or password removed from URLs in it (space-separated list)."""
    parts = []
    for item in value.split():
        split = urlsplit(item)
        if split.username or split.password:
            host = split.hostname or ""
            if split.port:
                host += f":{split.port}"
            item = urlunsplit((split.scheme, f"***@{host}", split.path, split.query, split.fragment))
        parts.append(item)
    return " ".join(parts)


def pip_sources(python: str | os.PathLike = sys.executable) -> list[str]:
    """Return where pip looks for packages besides PyPI: index and find-links settings, credentials removed.

    Reads ``pip config list`` run by ``python`` and the ``PIP_*`` environment variables.
    """
    keys = ("index-url", "extra-index-url", "find-links", "no-index")
    found = []
    try:
        done = subprocess.run(
            [str(python), "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as err:
        done = None
        found.append(f"(could not read pip's configuration: {type(err).__name__})")
    if done is not None and done.returncode != 0:
        found.append(f"(could not read pip's configuration: exit status {done.returncode})")
    out = done.stdout if done is not None and done.returncode == 0 else ""
    for line in out.splitlines():
        name, _, value = line.partition("=")
        if name.startswith(":env:"):  # the environment variables are listed below
            continue
        if any(name.strip().endswith(k) for k in keys):
            found.append(f"pip config {name.strip()} = {redact_url(value.strip().strip(chr(39)))}")
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        if os.environ.get(name):
            found.append(f"environment {name} = {redact_url(os.environ[name])}")
    return found


def _python() -> str:
    """The interpreter the Makefile would use: $PYTHON, else python3 on the PATH, else this one."""
    return shutil.which(os.environ.get("PYTHON", "python3")) or sys.executable


def _run(step: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise RuntimeError(f"set-up step '{step}' did not finish within {timeout:.0f} s") from err
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise RuntimeError(f"set-up step '{step}' failed (exit status {done.returncode}):\n{tail}")
    return seconds, done.stdout.strip()


def _venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv``, found by the install script's own ``venv_python``."""
    spec = importlib.util.spec_from_file_location("install_env", ROOT / INSTALL_SCRIPT)
    install_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(install_env)
    return install_env.venv_python(venv)


def _site_packages(venv: Path) -> Path | None:
    candidates = sorted(venv.glob("lib/python*/site-packages")) + [venv / "Lib" / "site-packages"]
    return next((c for c in candidates if c.is_dir()), None)


def measure_setup_cost(
    mode: str = "full", cache: str = "empty", timeout_s: float = 1800, root: Path = ROOT, log=print
) -> SetupCost:
    """Build a fresh environment in a temporary folder as the Makefile does, measure it, delete it.

    ``mode="full"`` runs the whole recipe; ``mode="bare-venv"`` only creates an empty
    environment without pip (quick mode: seconds, no network); ``mode="skipped"``
    measures nothing.
    """
    if mode not in ("full", "bare-venv", "skipped"):
        raise ValueError(f"mode must be 'full', 'bare-venv' or 'skipped', got {mode!r}")
    if cache not in ("empty", "existing"):
        raise ValueError(f"cache must be 'empty' or 'existing', got {cache!r}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if mode == "skipped":
        return SetupCost(mode="skipped", reason="skipped on request (--skip-setup)")
    python = _python()
    result = SetupCost(mode=mode, python=python, cache=cache if mode == "full" else "")
    with tempfile.TemporaryDirectory(prefix="course-setup-") as tmp:
        tmp_path = Path(tmp)
        free = shutil.disk_usage(tmp_path).free
        if mode == "full" and free < MIN_FREE_BYTES:
            return SetupCost(
                mode="skipped",
                reason=f"only {free / 2**30:.1f} GiB free under {tmp_path.parent}; the measurement needs "
                f"{MIN_FREE_BYTES / 2**30:.0f} GiB",
            )
        venv = tmp_path / "venv"
        env = dict(os.environ)
        if mode == "bare-venv":
            result.steps_s["create the venv (no pip)"], _ = _run(
                "venv", [python, "-m", "venv", "--without-pip", str(venv)], tmp_path, env, timeout_s
            )
            result.disk_bytes = disk_usage_bytes(venv)
            return result
        project = tmp_path / "project"
        project.mkdir()
        for name in PROJECT_FILES:
            source = root / name
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, project / name)
        pip_cache, uv_cache = tmp_path / "pip-cache", tmp_path / "uv-cache"
        if cache == "empty":
            pip_cache.mkdir()
            uv_cache.mkdir()
            env["PIP_CACHE_DIR"], env["UV_CACHE_DIR"] = str(pip_cache), str(uv_cache)
            env.pop("PIP_NO_CACHE_DIR", None)
            env.pop("UV_NO_CACHE", None)
        _, version = _run("python version", [python, "-c", "import platform; print(platform.python_version())"],
                          project, env, 60)
        result.python = f"{python} (Python {version})"
        deadline = time.perf_counter() + timeout_s
        log("  creating the venv ...")
        result.steps_s["python -m venv"], _ = _run("venv", [python, "-m", "venv", str(venv)], project, env, timeout_s)
        venv_py = str(_venv_python(venv))
        _, result.pip_version = _run("pip --version", [venv_py, "-m", "pip", "--version"], project, env, 60)
        result.sources = pip_sources(venv_py)  # the user's and the machine's pip settings apply to it too
        log("  tools/install_env.py: uv, then the locked versions ...")
        result.steps_s["uv from PyPI + the locked install (tools/install_env.py)"], _ = _run(
            "install", [python, INSTALL_SCRIPT, str(venv), "--python", python], project, env,
            max(1.0, deadline - time.perf_counter()),
        )
        result.steps_s["import check"], result.check_output = _run(
            "import check", [venv_py, "-c", CHECK_CODE], project, env, 300
        )
        log("  measuring disk use ...")
        result.disk_bytes = disk_usage_bytes(venv)
        site = _site_packages(venv)
        if site is not None:
            result.largest = largest_entries(site, 5)
        if cache == "empty":
            result.cache_bytes = disk_usage_bytes(pip_cache) + disk_usage_bytes(uv_cache)
    return result
