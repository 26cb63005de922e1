"""The offline guarantee and imports under the `spawn` start method (Windows, macOS)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

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


def test_every_helper_module_imports_under_spawn():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        assert pool.apply(_import_all, (HELPER_MODULES,)) == len(HELPER_MODULES)
