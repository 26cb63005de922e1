"""The offline guarantee and imports under the `spawn` start method (Windows, macOS)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from torch.utils.data import Dataset

ROOT = Path(__file__).resolve().parent.parent
GUARD = ROOT / "tools" / "offline"
HELPER_MODULES = [
    p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
    for p in sorted((ROOT / "helpers").rglob("*.py"))
    if p.name != "__main__.py"
]


def _guarded(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, COURSE_OFFLINE_GUARD="1", PYTHONPATH=str(GUARD))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def test_guard_refuses_the_internet_but_allows_loopback():
    result = _guarded(
        "import socket\n"
        "try:\n    socket.create_connection(('93.184.216.34', 80), timeout=5)\nexcept OSError as e:\n    print('refused:', e)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        "socket.create_connection(s.getsockname(), timeout=5).close(); print('loopback ok')\n"
    )
    assert "refused: offline guard" in result.stdout, result.stderr
    assert "loopback ok" in result.stdout


@pytest.mark.slow
def test_full_download_offline_fails_within_10_seconds_with_advice(tmp_path):
    result = _guarded(
        "import time\n"
        "import torchvision.datasets\nfrom helpers.data import load_mnist\n"
        "start = time.perf_counter()\n"
        f"try:\n    load_mnist(full=True, root={str(tmp_path)!r})\nexcept RuntimeError as e:\n    print(e)\n"
        "print('seconds:', time.perf_counter() - start)\n"
    )
    assert "load_mnist(full=False)" in result.stdout, result.stderr
    seconds = float(result.stdout.rsplit("seconds:", 1)[1])
    assert seconds < 10


def _import_all(names):
    import importlib

    for name in names:
        importlib.import_module(name)
    return len(names)


@pytest.mark.slow
def test_every_helper_module_imports_under_spawn():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        assert pool.apply(_import_all, (HELPER_MODULES,)) == len(HELPER_MODULES)


# ---- tests of the tests: each property, broken on purpose, is caught ---------------------


@pytest.mark.slow
def test_a_notebook_that_reaches_the_internet_fails_under_the_guard(tmp_path, monkeypatch):
    """The kernels of the test run inherit the guard, so a lesson that downloads would fail."""
    import importlib.util

    import nbformat
    from nbclient.exceptions import CellExecutionError

    spec = importlib.util.spec_from_file_location("check_reruns", ROOT / "tools" / "check_reruns.py")
    reruns = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reruns)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import urllib.request\nurllib.request.urlopen('http://example.com', timeout=5)")]
    path = tmp_path / "downloads.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("COURSE_OFFLINE_GUARD", "1")
    monkeypatch.setenv("PYTHONPATH", str(GUARD))
    try:
        reruns.execute(path, timeout=60)
    except CellExecutionError as err:
        assert "offline guard" in str(err)
    else:  # pragma: no cover - only reached if the guard is broken
        raise AssertionError("a notebook reached the internet although the offline guard was on")


class _ImportableSquares(Dataset):
    """A Dataset defined at module level: worker processes started with spawn can import it."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return i * i


@pytest.mark.slow
def test_spawned_workers_need_an_importable_dataset():
    """What lesson 05 explains: with spawn, a Dataset must be importable; a local one fails."""
    import pickle

    import torch
    from torch.utils.data import DataLoader

    ctx = multiprocessing.get_context("spawn")
    loader = DataLoader(_ImportableSquares(), batch_size=2, num_workers=1, multiprocessing_context=ctx)
    assert [b.tolist() for b in loader] == [[0, 1], [4, 9]]

    class LocalSquares(torch.utils.data.Dataset):  # defined inside a function, as in a careless script
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i * i

    broken = DataLoader(LocalSquares(), batch_size=2, num_workers=1, multiprocessing_context=ctx)
    try:
        with warnings.catch_warnings():  # torch also warns about the pickling error it raises
            warnings.simplefilter("ignore")
            list(broken)
    except (AttributeError, pickle.PicklingError, RuntimeError) as err:
        assert "LocalSquares" in str(err) or "pickle" in str(err).lower()
    else:  # pragma: no cover - only reached if spawn could run an unimportable class
        raise AssertionError("a local Dataset worked under spawn; the portability test would not notice")
