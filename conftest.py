"""Test-run settings shared by unit tests and nbval.

* Learner versions are not collected by nbval: they have no stored outputs and
  their checks are meant to report "not done"; tests/test_learner_versions.py
  executes them instead.
* After the run, a table of per-notebook wall times (sum of nbval's cell times).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

collect_ignore_glob = ["notebooks/learner/*", "notebooks/assignments/*.ipynb", "artifacts/*", "data/*"]

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
