"""helpers/ddp_mnist.py (run as `-m helpers.ddp_mnist`) really runs under torchrun with two gloo processes, and fails cleanly.

These tests start real processes (about 10 s each on an idle 2-core machine, mostly
importing torch), so they carry a timeout. They are marked slow: they run in
`make test-slow` (CI and `make test-all`), while lesson 09 itself launches the same
script under torchrun in every `make test`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODULE = ["-m", "helpers.ddp_mnist"]  # from the installed package, as lesson 09 runs it
LAUNCH = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"]
LIMIT_S = 150  # generous: shared CI machines can be several times slower than an idle one

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    result = subprocess.run(
        [*LAUNCH, *MODULE, *args], capture_output=True, text=True, timeout=LIMIT_S, env=env, cwd=cwd
    )
    return result, time.perf_counter() - start


@pytest.mark.timeout(LIMIT_S + 30)
def test_two_ranks_train_and_agree(tmp_path):
    result, _ = _run(["--epochs", "2"], cwd=tmp_path)  # any cwd works: the module comes from the installed package
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    for rank in (0, 1):
        assert re.search(rf"^\[rank {rank}\] 2000 of 4000 training samples, first indices \[", out, re.M), out
    assert "backend gloo, world size 2" in out
    assert "ranks agree: True" in out
    match = re.search(r"^test accuracy: (\d\.\d+) \(1000 test images", out, re.M)
    assert match, out
    assert float(match.group(1)) > 0.7  # an MLP after 2 epochs; about 0.90 when measured
    assert list(tmp_path.iterdir()) == []  # wrote nothing in the cwd


@pytest.mark.timeout(LIMIT_S + 30)
def test_failing_rank_ends_the_run_with_a_clear_message(tmp_path):
    result, seconds = _run(["--epochs", "2", "--fail-rank", "1"], cwd=tmp_path)
    assert result.returncode != 0
    assert "ddp_mnist.py: rank 1 failed: RuntimeError: --fail-rank 1" in result.stderr
    assert "ranks agree" not in result.stdout
    assert seconds < LIMIT_S


def test_refuses_to_run_without_torchrun():
    env = {k: v for k, v in os.environ.items() if k not in {"RANK", "WORLD_SIZE"}}
    result = subprocess.run([sys.executable, *MODULE], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "Start it with torchrun" in result.stderr


def test_rejects_a_fail_rank_outside_the_world():
    env = {**os.environ, "RANK": "0", "WORLD_SIZE": "2"}
    result = subprocess.run(
        [sys.executable, *MODULE, "--fail-rank", "5"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2
    assert "--fail-rank must be in 0..1, got 5" in result.stderr
