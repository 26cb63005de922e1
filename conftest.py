"""Test-run settings shared by unit tests and nbval.

* Learner versions (notebooks/learner/, notebooks/assignments/*.ipynb) are not
  collected by nbval: they have no stored outputs and their checks are meant to
  report "not done"; tests/test_learner_versions.py executes them instead. The
  assignment answers in notebooks/assignments/solutions/ are collected.
* After the run, a table of per-notebook wall times (sum of nbval's cell times).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
# Folders whose notebooks nbval must not collect. The assignment learner versions sit directly in
# notebooks/assignments/ while their answers are in notebooks/assignments/solutions/, which must be
# collected: so compare parent folders exactly (a glob's "*" would also match "solutions/...").
_NOT_COLLECTED = {_ROOT / "notebooks" / "learner", _ROOT / "notebooks" / "assignments"}
_NOT_COLLECTED_TREES = (_ROOT / "artifacts", _ROOT / "data", _ROOT / ".venv")


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path).resolve()
    if any(path == tree or tree in path.parents for tree in _NOT_COLLECTED_TREES):
        return True
    if path.suffix == ".ipynb" and path.parent in _NOT_COLLECTED:
        return True
    return None


_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_SECONDS:
        return
    terminalreporter.section("seconds per notebook (nbval)")
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        flag = "  <-- over 60 s" if seconds > 60 else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {Path(path)}{flag}")
    terminalreporter.write_line(f"{sum(_NOTEBOOK_SECONDS.values()):7.1f} s  total")
