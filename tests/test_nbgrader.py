"""The nbgrader metadata of the assignment answers (tools/nbgrader_meta.py): about 5 s, mostly imports.

The tests that need nbgrader itself (its metadata validator and release preprocessors, in
process) skip when it is not installed: it is the ``grading`` extra. The real release + autograde
of every assignment is ``make grade-test`` (tools/nbgrader_check.py, minutes), not a test here.
"""

import copy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import authoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbgrader_meta as meta  # noqa: E402

SOURCES = {path.stem: nbformat.read(path, as_version=4) for path in meta.SOURCES}
TASKS = {"A1_fundamentals": 5, "A2_transfer_learning": 2, "A3_ship_it": 3}


def with_hidden_tests(nb):
    """A copy of ``nb`` with the source edit the tool asks for applied to every check cell."""
    nb = copy.deepcopy(nb)
    for cell, (role, task) in zip(nb.cells, meta.cell_roles(nb), strict=True):
        if role == "test" and not cell.source.rstrip().endswith(meta.hidden_test(task)):
            cell.source = cell.source.rstrip("\n") + "\n" + meta.hidden_test(task)
    return nb


def without_bootstrap(nb):
    """A copy of ``nb`` without the generated cells tagged ``course-bootstrap``."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if meta.BOOTSTRAP_TAG not in c.metadata.get("tags", [])]
    return nb


def with_bootstrap(nb):
    """A copy of ``nb`` with the two generated cells (links, set-up) before its first code cell, as
    ``helpers.authoring`` inserts them (whether or not ``nb`` already has them)."""
    nb = without_bootstrap(nb)
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    links = nbformat.v4.new_markdown_cell("**Run it in the cloud:** ...", metadata={"tags": [meta.BOOTSTRAP_TAG]})
    setup = nbformat.v4.new_code_cell(
        "import importlib.util\n\nif importlib.util.find_spec('helpers') is None:\n    raise SystemExit('install the course')",
        metadata={"tags": [meta.BOOTSTRAP_TAG]},
    )
    nb.cells[first:first] = [links, setup]
    return nb


def stamped(name, nb=None):
    return meta.stamp_notebook(SOURCES[name] if nb is None else nb, meta.POINTS[name])


def nbg(cell):
    return cell.metadata["nbgrader"]


def tiny(*sources):
    """A notebook of code cells with ids, from their sources."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_stamping_is_idempotent_and_touches_only_nbgrader_metadata(name):
    once = stamped(name)
    assert stamped(name, once) == once
    assert meta._render(stamped(name, once)) == meta._render(once)
    for before, after in zip(SOURCES[name].cells, once.cells, strict=True):
        assert after.source == before.source
        assert {k: v for k, v in after.metadata.items() if k != "nbgrader"} == {
            k: v for k, v in before.metadata.items() if k != "nbgrader"
        }
        assert after.get("outputs") == before.get("outputs")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_solution_region_is_in_a_solution_cell_and_every_check_is_a_test(name):
    nb = stamped(name)
    tests = []
    for cell in nb.cells:
        info = nbg(cell)
        has_region = meta.BEGIN in cell.source
        assert info["solution"] == has_region, cell.source[:80]
        assert info["locked"] == (not has_region)
        assert info["schema_version"] == 3 and info["task"] is False
        if info["grade"]:
            assert 'results["task ' in cell.source and "check_" in cell.source
            assert info["locked"] and not info["solution"]
            tests.append(info["grade_id"])
        else:
            assert "points" not in info
    assert tests == [f"task{n}-check" for n in range(1, TASKS[name] + 1)]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_points_sum_to_ten_one_test_cell_per_task(name):
    nb = stamped(name)
    points = {nbg(c)["grade_id"]: nbg(c)["points"] for c in nb.cells if nbg(c)["grade"]}
    assert sum(points.values()) == 10
    assert points == {f"task{t}-check": p for t, p in meta.POINTS[name].items()}
    assert len(meta.POINTS[name]) == TASKS[name]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_grade_ids_are_unique_and_stable_when_the_bootstrap_cells_are_inserted(name):
    plain = stamped(name, without_bootstrap(SOURCES[name]))
    ids = [nbg(c)["grade_id"] for c in plain.cells]
    assert len(set(ids)) == len(ids)
    assert all(meta._GRADE_ID.match(i) for i in ids)
    boot = stamped(name, with_bootstrap(SOURCES[name]))
    boot_ids = [nbg(c)["grade_id"] for c in boot.cells]
    generated = [meta.BOOTSTRAP_TAG + "-markdown", meta.BOOTSTRAP_TAG]
    assert [i for i in boot_ids if i.startswith(meta.BOOTSTRAP_TAG)] == generated
    assert [i for i in boot_ids if i not in generated] == ids  # nothing else renamed
    for cell in boot.cells:
        if meta.BOOTSTRAP_TAG in cell.metadata.get("tags", []):
            assert nbg(cell)["locked"] and not nbg(cell)["solution"] and not nbg(cell)["grade"]
    # the committed sources (with or without the generated cells) get the same ids
    assert [nbg(c)["grade_id"] for c in stamped(name).cells if not nbg(c)["grade_id"].startswith("course-")] == ids


def test_repeated_bootstrap_cells_are_numbered():
    nb = tiny("import helpers", "import helpers", 'results["task 1"] = check_x(1)')
    for cell in nb.cells[:2]:
        cell.metadata["tags"] = [meta.BOOTSTRAP_TAG]
    assert [nbg(c)["grade_id"] for c in meta.stamp_notebook(nb, {1: 1}).cells] == [
        "course-bootstrap", "course-bootstrap-2", "task1-check"]


def test_solution_cells_take_the_task_of_the_next_check():
    nb = stamped("A1_fundamentals")
    answers = [nbg(c)["grade_id"] for c in nb.cells if nbg(c)["solution"]]
    assert answers == [f"task{n}-answer" for n in range(1, 6)]
    two = tiny("### BEGIN SOLUTION\na = 1\n### END SOLUTION", "### BEGIN SOLUTION\nb = 1\n### END SOLUTION",
               'results["task 1"] = check_x(a, b)')
    assert [nbg(c)["grade_id"] for c in meta.stamp_notebook(two, {1: 3}).cells] == [
        "task1-answer", "task1-answer-2", "task1-check"]


@pytest.mark.parametrize(
    ("sources", "points", "message"),
    [
        (["### BEGIN SOLUTION\na = 1", 'results["task 1"] = check_x(a)'], {1: 1}, "but 0"),
        (['### BEGIN SOLUTION\na = 1\n### END SOLUTION\nresults["task 1"] = check_x(a)'], {1: 1}, "check cell"),
        (['results["task 1"] = check_x(1)\nresults["task 2"] = check_y(2)'], {1: 1, 2: 1}, "2 checks in one cell"),
        (['results["task 1"] = check_x(1)', 'results["task 1"] = check_x(2)'], {1: 1}, "already checked"),
        (['results["task 1"] = check_x(1)', "### BEGIN SOLUTION\na = 1\n### END SOLUTION"], {1: 1}, "no check cell after"),
        (['results["task 2"] = check_x(1)'], {2: 1}, "expected 1..1"),
        (['results["task 1"] = check_x(1)', "score(results, tasks=2)"], {1: 1}, "tasks=2"),
        (['results["task 1"] = check_x(1)'], {1: 1, 2: 1}, "points are given for tasks [1, 2]"),
        (['results["task 1"] = check_x(1)'], {1: 0}, "positive integer"),
        (['results["task 1"] = check_x(1)'], {1: True}, "positive integer"),
    ],
)
def test_bad_input_gives_a_clear_value_error(sources, points, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        meta.stamp_notebook(tiny(*sources), points)


def test_bad_notebooks_give_a_clear_value_error():
    with pytest.raises(ValueError, match="non-empty 'cells'"):
        meta.stamp_notebook({"cells": []}, {})
    no_id = tiny("x = 1", 'results["task 1"] = check_x(1)')
    del no_id.cells[0]["id"]
    with pytest.raises(ValueError, match="no usable id"):
        meta.stamp_notebook(no_id, {1: 1})
    with pytest.raises(ValueError, match="no point scheme"):
        meta._points_for(Path("A9_new.ipynb"), meta.POINTS)
    with pytest.raises(ValueError, match="no notebook at"):
        meta.stale_sources([ROOT / "no-such.ipynb"])


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_missing_hidden_tests_are_reported_with_the_line_to_add(name):
    edited = with_hidden_tests(SOURCES[name])
    assert meta.missing_source_edits(edited) == []
    bare = copy.deepcopy(edited)
    for cell in bare.cells:
        cell.source = cell.source.split(meta.HIDDEN_BEGIN)[0].rstrip("\n")
    edits = meta.missing_source_edits(bare)
    assert len(edits) == TASKS[name]
    assert 'assert results["task 1"]' in edits[0]


def test_the_learner_generator_drops_hidden_tests_and_nbgrader_metadata():
    """helpers.authoring must strip what only nbgrader needs, or a learner's Run All stops at an assert.

    Fails until the change to helpers/authoring.py proposed with tools/nbgrader_meta.py is applied.
    """
    source = stamped("A1_fundamentals", with_bootstrap(with_hidden_tests(SOURCES["A1_fundamentals"])))
    learner = authoring.make_learner_notebook(source)
    text = meta._render(learner)
    assert "HIDDEN TESTS" not in text and "assert results[" not in text
    assert all("nbgrader" not in cell.metadata for cell in learner.cells)
    assert 'results["task 1"] = check_a1_task1(second_derivative)' in [c.source for c in learner.cells]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_stamped_metadata_is_valid_for_nbgrader(name):
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = stamped(name, with_bootstrap(with_hidden_tests(SOURCES[name])))
    MetadataValidator().validate_nb(nb)
    resources = {"language": "python"}
    release, _ = ClearSolutions().preprocess(copy.deepcopy(nb), resources)
    release, _ = ClearHiddenTests().preprocess(release, resources)
    text = nbformat.writes(release)
    assert meta.BEGIN not in text and meta.HIDDEN_BEGIN not in text and "assert results[" not in text
    assert text.count("raise NotImplementedError()") >= TASKS[name]


def test_committed_sources_are_stamped():
    """`python tools/nbgrader_meta.py --check`: fails until the hidden tests are added and --write is run."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "nbgrader_meta.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_ci_check_builds_submissions_from_the_release():
    import nbgrader_check as check

    source = stamped("A1_fundamentals", with_hidden_tests(SOURCES["A1_fundamentals"]))
    release = copy.deepcopy(source)
    for cell in release.cells:
        if nbg(cell)["solution"]:
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
        cell.source = cell.source.split(meta.HIDDEN_BEGIN)[0].rstrip("\n")  # as nbgrader releases it
    answer = nbformat.from_dict(check.submission(release, source, {}))
    partial = nbformat.from_dict(check.submission(release, source, check.BROKEN["A1"]))
    by_id = {nbg(c)["grade_id"]: c.source for c in answer.cells}
    assert "create_graph=True" in by_id["task1-answer"] and meta.BEGIN not in by_id["task1-answer"]
    assert "# STUB" not in "".join(by_id.values())
    broken = {nbg(c)["grade_id"]: c.source for c in partial.cells}
    assert broken["task1-answer"] == check.BROKEN["A1"]["task1-answer"]
    assert broken["task2-answer"] == by_id["task2-answer"]
    assert [c.source for c in answer.cells if not nbg(c)["solution"]] == [
        c.source for c in release.cells if not nbg(c)["solution"]]
    with pytest.raises(ValueError, match="task9-answer"):
        check.submission(release, source, {"task9-answer": "x = 1"})
    assert check.check_release(nbformat.writes(release), "A1") == []
    assert len(check.check_release(nbformat.writes(source), "A1")) == 4  # answers, hidden tests (2), no stub


def test_the_ci_check_breaks_exactly_the_tasks_it_expects_to_fail():
    import nbgrader_check as check

    assert set(check.BROKEN) == set(check.FAILING) == set(check.ASSIGNMENTS)
    for assignment, name in check.ASSIGNMENTS.items():
        ids = {nbg(c)["grade_id"] for c in stamped(name).cells}
        assert set(check.BROKEN[assignment]) <= ids
        broken_tasks = {int(grade_id[4:].split("-")[0]) for grade_id in check.BROKEN[assignment]}
        assert broken_tasks <= check.FAILING[assignment] < set(meta.POINTS[name])  # some still pass
