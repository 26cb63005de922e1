"""Execute every learner version as a learner would: no answers, lenient checks.

Each must run top to bottom without an exception, and each exercise check must
report the exercise as not done yet.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers.authoring import answer_notebooks, learner_path

ROOT = Path(__file__).resolve().parent.parent
# Slow tier (about 3 minutes): `make test-slow`, which CI and `make test-all` run after `make test`.
pytestmark = pytest.mark.slow

LEARNERS = [learner_path(p) for p in answer_notebooks(ROOT / "notebooks")]


@pytest.mark.parametrize("path", LEARNERS, ids=[str(p.relative_to(ROOT)) for p in LEARNERS])
def test_learner_version_runs_and_reports_not_done(path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)  # the kernel inherits this environment
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"
    )
    stubs = sum("# YOUR CODE HERE" in c.source for c in nb.cells if c.cell_type == "code")
    assert text.count("not done yet") >= stubs, f"expected a 'not done yet' report for each of {stubs} exercises"
    assert "✓" not in text, "a check passed although the learner version holds no answers"
