"""tools/progress.py (make progress): the learner's table of exercises, from notebooks run as saved.

The unit tests build tiny notebooks in memory (no kernel: well under a second in all, plus
importing helpers.checks, i.e. torch, when the suite has not yet). The slow tests start real
kernels: a tiny notebook calling real lesson-01 checks, the time limits, then the tool on
copies of committed learner versions (every exercise "not started") and on the answer
notebooks (every exercise ✓): about 2.5 minutes together.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("progress", ROOT / "tools" / "progress.py")
progress = importlib.util.module_from_spec(_spec)
sys.modules["progress"] = progress  # dataclasses look their module up by name
_spec.loader.exec_module(progress)

IMPORTS = "from helpers.exercises.lesson01 import check_label_probs, check_pairwise_distances, check_to_batch_first"
SHORT = ["01_tensors", "02_autograd", "A1_fundamentals"]  # the three quickest notebooks with exercises


def _cell(source: str, stdout: str = "", error: tuple[str, str] | None = None, count: int | None = None):
    cell = new_code_cell(source, execution_count=count)
    if stdout:
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=stdout))
    if error:
        cell.outputs.append(nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[]))
    return cell


def test_check_cells_finds_imported_checks_in_source_order_and_ignores_the_rest():
    cells = [
        new_markdown_cell("check_to_batch_first(f) in prose is not a call"),
        _cell("%matplotlib inline\n" + IMPORTS + "\nimport onnx"),
        _cell("# check_to_batch_first(f) in a comment\nonnx.checker.check_model(m)\ncheck_local(x)"),
        _cell("ok = check_pairwise_distances(\n    pd,\n)\ncheck_label_probs(lp)"),
        _cell("def broken(:\n    check_to_batch_first(f)"),  # does not parse: no exercise found in it
    ]
    found = progress.check_cells(cells)
    assert [(c.index, c.calls) for c in found] == [(3, ["check_pairwise_distances", "check_label_probs"])]


def test_assignment_imports_in_parentheses_count():
    cells = [_cell("from helpers.assignments import (\n    check_a1_task1,\n    check_a1_task2,\n)\nfrom helpers.checks import score"),
             _cell('results["task 1"] = check_a1_task1(f)'), _cell("summary = score(results, tasks=2)")]
    assert [(c.index, c.calls) for c in progress.check_cells(cells)] == [(1, ["check_a1_task1"])]


def test_parse_report_lines_reads_the_three_marks_of_report():
    text = ("some output\n✓ Exercise 1 (to_batch_first): correct on 4 batches\n"
            "✗ Task 2 (ConvWithBatchNorm): shape is (1, 2) but should be (2, 1): check it\n"
            "… Exercise 3 (label_probs): not done yet: replace the line\n✓ not a report line\n")
    assert progress.parse_report_lines(text) == [
        {"name": "Exercise 1 (to_batch_first)", "status": "pass", "message": "correct on 4 batches"},
        {"name": "Task 2 (ConvWithBatchNorm)", "status": "fail", "message": "shape is (1, 2) but should be (2, 1): check it"},
        {"name": "Exercise 3 (label_probs)", "status": "todo", "message": "not done yet: replace the line"},
    ]


def test_collect_tells_pass_fail_todo_and_unreached_apart():
    cells = [
        _cell(IMPORTS, count=1),
        _cell("check_to_batch_first(f)", "✗ Exercise 1 (to_batch_first): values go up to 255: divide by 255\n", count=2),
        _cell("check_pairwise_distances(pd)", error=("NameError", "name 'pd' is not defined"), count=3),
        _cell("check_label_probs(lp)", "… Exercise 3 (label_probs): not done yet\n", count=4),
        _cell("check_to_batch_first(g)", count=5),  # ran, printed nothing
    ]
    results = progress.collect("01_tensors", cells, executed={0, 1, 2, 3, 4})
    assert [(r.exercise, r.status) for r in results] == [
        ("Exercise 1 (to_batch_first)", "fail"), ("check_pairwise_distances", "unreached"),
        ("Exercise 3 (label_probs)", "todo"), ("check_to_batch_first", "unreached")]
    assert results[0].message == "values go up to 255: divide by 255"
    assert results[1].message == "cell [3] raised NameError: name 'pd' is not defined"
    assert "printed nothing" in results[3].message
    cells[1].outputs = [nbformat.v4.new_output("error", ename="SyntaxError", evalue="invalid syntax", traceback=[])]
    later = progress.collect("01_tensors", cells, executed={0, 1, 2, 3, 4})[1]
    assert later.message == ("after cell [2] raised SyntaxError: invalid syntax, "
                             "cell [3] raised NameError: name 'pd' is not defined")


def test_collect_marks_cells_after_a_stop_as_not_reached_with_the_reason():
    cells = [_cell(IMPORTS), _cell("check_to_batch_first(f)", "✓ Exercise 1 (to_batch_first): correct\n"),
             _cell("check_label_probs(lp)")]
    results = progress.collect("01", cells, executed={0, 1}, stopped="the time limit (5 s) ran out before it")
    assert [r.status for r in results] == ["pass", "unreached"]
    assert results[1].message == "the time limit (5 s) ran out before it"


def test_logged_records_win_over_printed_lines():
    cells = [_cell(IMPORTS), _cell("check_to_batch_first(f)", "✗ Exercise 1 (to_batch_first): printed\n")]
    checks = progress.check_cells(cells)
    checks[0].records = [{"name": "Exercise 1 (to_batch_first)", "status": "pass", "message": "logged"}]
    results = progress.collect("01", cells, executed={0, 1}, checks=checks)
    assert [(r.status, r.message) for r in results] == [("pass", "logged")]


def test_read_new_returns_only_the_lines_appended_since_last_time(tmp_path):
    log = tmp_path / "log.jsonl"
    assert progress._read_new(log, 0) == ([], 0)
    log.write_text(json.dumps({"name": "a", "status": "pass"}) + "\n")
    first, seen = progress._read_new(log, 0)
    with log.open("a") as f:
        f.write("not json\n" + json.dumps({"name": "b", "status": "todo", "message": "m"}) + "\n")
    second, _ = progress._read_new(log, seen)
    assert [r["name"] for r in first] == ["a"] and second == [{"name": "b", "status": "todo", "message": "m"}]


def test_table_has_one_row_per_exercise_and_a_total():
    R = progress.Result
    results = [R("01_tensors", "Exercise 1", "pass"), R("01_tensors", "Exercise 2", "fail", "x" * 300),
               R("A1_fundamentals", "Task 1", "todo", "not done yet"), R("A1_fundamentals", "Task 2", "unreached", "why")]
    text = progress.table(results, [("A3_ship_it", "cannot read A3_ship_it.ipynb")], seconds=12.4)
    lines = text.splitlines()
    assert lines[0].split() == ["notebook", "exercise", "result"]
    assert lines[2].startswith("01_tensors") and lines[3].startswith(" ")  # the notebook is named once
    assert "✗ xxx" in lines[3] and lines[3].endswith("…") and len(lines[3]) < 160  # long hints are cut
    assert "· not started" in lines[4] and "! not reached: why" in lines[5]
    assert "(could not run)" in lines[6]
    assert lines[-1] == "total: 1/4 ✓, 1 ✗, 1 not started, 1 not reached (3 notebooks, 12 s); 1 could not run"


def test_select_by_prefix_and_a_clear_error_for_an_unknown_one():
    paths = [Path("learner/01_tensors.ipynb"), Path("learner/03_neural_networks.ipynb"), Path("A1_fundamentals.ipynb")]
    assert progress.select(paths, ["03", "a1"]) == paths[1:]
    assert progress.select(paths, []) == paths
    with pytest.raises(ValueError, match="no notebook starts with '07'"):
        progress.select(paths, ["07"])


def test_default_notebooks_are_the_learner_versions_and_assignments():
    names = [p.relative_to(ROOT / "notebooks").as_posix() for p in progress.default_notebooks()]
    assert "learner/01_tensors.ipynb" in names and "assignments/A1_fundamentals.ipynb" in names
    assert not any(name.startswith("assignments/solutions") or "/" not in name for name in names)


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert progress.main(["--only", "99"]) == 2
    assert progress.main([str(tmp_path / "missing.ipynb")]) == 2
    assert progress.main(["--timeout", "0"]) == 2
    assert "progress:" in capsys.readouterr().err


def test_report_appends_one_json_line_per_check_to_the_log(tmp_path, monkeypatch, capsys):
    """The hook in helpers.checks.report that the tool reads (skipped where helpers.checks has none yet)."""
    from helpers import checks

    if not hasattr(checks, "CHECK_LOG_ENV"):
        pytest.skip("helpers.checks has no COURSE_CHECK_LOG hook: the tool reads the printed lines")
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(checks.CHECK_LOG_ENV, str(log))
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    checks.report("Exercise 1 (a)", True)
    checks.report("Exercise 2 (b)", False, "line one\nline two")
    checks.report("Exercise 3 (c)", None)
    records, _ = progress._read_new(log, 0)
    assert [(r["name"], r["status"]) for r in records] == [
        ("Exercise 1 (a)", "pass"), ("Exercise 2 (b)", "fail"), ("Exercise 3 (c)", "todo")]
    assert records[1]["message"] == "line one line two" and records[2]["message"].startswith("not done yet")
    assert progress.parse_report_lines(capsys.readouterr().out) == records  # both routes agree


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_tiny_notebook_with_real_checks_in_a_real_kernel(tmp_path, capsys, monkeypatch):
    """5-11 s: a kernel, torch imported, three real checks and a logged record; the file stays as it was."""
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")  # the tool must take it away from the kernel
    nb = new_notebook(cells=[
        _cell(IMPORTS),
        _cell("def to_batch_first(images):\n    import torch\n    return torch.from_numpy(images)\n\n"
              "check_to_batch_first(to_batch_first);"),
        _cell("raise RuntimeError('my own bug')"),
        _cell("check_pairwise_distances(pairwise_distances);"),  # never defined: NameError
        _cell("label_probs = None\ncheck_label_probs(label_probs);"),
        _cell("import json, os\nwith open(os.environ['COURSE_CHECK_LOG'], 'a') as f:\n"
              "    f.write(json.dumps({'name': 'Logged', 'status': 'pass', 'message': ''}) + '\\n')\n"
              "print('✗ Printed: only printed, so the logged record wins')\n"
              "if False:\n    check_to_batch_first(None)  # makes it a check cell; never runs"),
    ])
    path = tmp_path / "01_mine.ipynb"
    nbformat.write(nb, path)
    before = _digest(path)
    assert progress.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert _digest(path) == before, "the learner's notebook was written to"
    rows = out.splitlines()
    assert "Exercise 1 (to_batch_first)" in rows[2] and "✗ for input (B, H, W, C) = (2, 4, 4, 3) the shape" in rows[2]
    assert "! not reached: after cell [3] raised RuntimeError: my own bug, cell [4] raised NameError" in rows[3]
    assert "Exercise 3 (label_probs)" in rows[4] and "· not started" in rows[4]
    assert "Logged" in rows[5] and "✓" in rows[5]
    assert rows[-1].startswith("total: 1/4 ✓, 1 ✗, 1 not started, 1 not reached (1 notebook,")


@pytest.mark.slow
def test_time_limits_stop_a_notebook_and_skip_the_next(tmp_path, capsys):
    """About 27 s: a cell that sleeps past the notebook's limit; the next notebook is not run at all."""
    slow = new_notebook(cells=[_cell(IMPORTS), _cell("check_label_probs(None);"), _cell("import time\ntime.sleep(60)"),
                               _cell("check_to_batch_first(None);")])
    slow.cells[3].outputs.append(nbformat.v4.new_output(  # saved by an earlier run: must not count
        "stream", name="stdout", text="✓ Exercise 1 (to_batch_first): correct\n"))
    nbformat.write(slow, tmp_path / "01_slow.ipynb")
    nbformat.write(new_notebook(cells=[_cell(IMPORTS), _cell("check_label_probs(None);")]), tmp_path / "02_next.ipynb")
    assert progress.main([str(tmp_path / "01_slow.ipynb"), str(tmp_path / "02_next.ipynb"),
                          "--timeout", "25", "--total", "25"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "· not started" in rows[2]
    assert "check_to_batch_first" in rows[3] and "time limit (25 s for this notebook)" in rows[3]
    assert "02_next" in rows[4] and "whole run's time limit (25 s)" in rows[4]
    assert rows[-1].startswith("total: 0/3 ✓, 0 ✗, 1 not started, 2 not reached (2 notebooks,")


def _run_copies(paths: list[Path], tmp_path: Path, capsys) -> tuple[list[str], dict[Path, str]]:
    copies = []
    for path in paths:
        copy = tmp_path / path.parent.relative_to(ROOT) / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        copies.append(copy)
    before = {copy: _digest(copy) for copy in copies}
    assert progress.main([str(c) for c in copies]) == 0
    assert {copy: _digest(copy) for copy in copies} == before, "a notebook was written to"
    return capsys.readouterr().out.splitlines(), before


@pytest.mark.slow
def test_fresh_checkout_learner_versions_are_all_not_started(tmp_path, capsys):
    """25-45 s (measured on a busy 2-core CPU): lessons 01 and 02 and assignment A1 as committed (no answers)."""
    paths = [ROOT / "notebooks" / "learner" / "01_tensors.ipynb", ROOT / "notebooks" / "learner" / "02_autograd.ipynb",
             ROOT / "notebooks" / "assignments" / "A1_fundamentals.ipynb"]
    rows, _ = _run_copies(paths, tmp_path, capsys)
    total = rows[-1]
    assert total.startswith("total: 0/11 ✓, 0 ✗, 11 not started, 0 not reached (3 notebooks"), "\n".join(rows)


@pytest.mark.slow
def test_answer_notebooks_are_all_passing(tmp_path, capsys):
    """45-70 s (measured on a busy 2-core CPU): the answers of lessons 01 and 02 and assignment A1."""
    paths = [ROOT / "notebooks" / "01_tensors.ipynb", ROOT / "notebooks" / "02_autograd.ipynb",
             ROOT / "notebooks" / "assignments" / "solutions" / "A1_fundamentals.ipynb"]
    rows, _ = _run_copies(paths, tmp_path, capsys)
    assert rows[-1].startswith("total: 11/11 ✓, 0 ✗, 0 not started, 0 not reached (3 notebooks"), "\n".join(rows)
