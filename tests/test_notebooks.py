"""Properties of the committed notebooks, checked without running them (fast)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers.authoring import BEGIN, answer_notebooks, generate_all, learner_path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "assignments" / "solutions").glob("*.ipynb"))
ANSWERS = LESSONS + SOLUTIONS
LEARNERS = [learner_path(p) for p in answer_notebooks(NOTEBOOKS)]


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", ANSWERS, ids=_ids(ANSWERS))
def test_answer_notebooks_were_run_top_to_bottom_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts}; run `make notebooks`"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} has stored error outputs: {[e.ename for e in errors]}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lessons_have_the_standard_frame(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    number = path.name[:2]
    assert re.match(rf"# {number} · \S", first), "first cell must start with the title '# NN · Topic'"
    assert re.search(r"\*\*Run time:\*\* about \d+ s", first), "missing measured run time (run `make notebooks`)"
    assert "**In one line:**" in first and re.search(r"^1\. ", first, flags=re.M), "objectives missing"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in markdown and "## Going further" in markdown
    assert "pretrained=True" not in "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_learner_versions_are_up_to_date():
    stale = generate_all(NOTEBOOKS, check=True)
    assert not stale, f"stale learner versions {[str(p) for p in stale]}: run `make learner`"


@pytest.mark.parametrize("path", LEARNERS, ids=_ids(LEARNERS))
def test_learner_versions_hide_answers_and_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        assert BEGIN not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert any("# YOUR CODE HERE" in c.source for c in nb.cells)


def test_timings_cover_every_answer_notebook():
    timings = json.loads((NOTEBOOKS / "timings.json").read_text())
    missing = [p for p in _ids(ANSWERS) if p not in timings]
    assert not missing, f"no measured run time for {missing}: run `make notebooks`"
    lessons = set(_ids(LESSONS))  # every lesson, 00 to the last one
    slow = {k: v for k, v in timings.items() if k in lessons and v > 60}
    assert not slow, f"lessons over 60 s: {slow}"


def test_nbval_collects_answers_and_skips_learner_versions():
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ignored = lambda rel: bool(module.pytest_ignore_collect(ROOT / rel, None))  # noqa: E731
    assert not ignored("notebooks/01_tensors.ipynb")
    assert not ignored("notebooks/assignments/solutions/A1_fundamentals.ipynb")
    assert not ignored("notebooks/assignments/solutions")
    assert ignored("notebooks/assignments/A1_fundamentals.ipynb")
    assert ignored("notebooks/learner/01_tensors.ipynb")
    assert ignored("artifacts/e2e/broken_on_purpose.ipynb")
