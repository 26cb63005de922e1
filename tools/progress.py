"""Where am I? Run your own notebooks and print one table of your exercises: ✓, ✗ with the hint, or not started.

Usage: ``python tools/progress.py [--only 03 A1] [--timeout 300] [--total 1800] [NOTEBOOK ...]``
(``make progress``; default: every lesson in ``notebooks/learner/`` and every assignment in
``notebooks/assignments/``, as you saved them).

Each notebook runs top to bottom in a fresh kernel, in its own folder (so relative paths work
as in JupyterLab), with lenient checks (``COURSE_STRICT_CHECKS`` is removed), and with errors
allowed, so a cell that fails does not hide the exercises after it. The notebook is read into
memory and never written back: your file, its outputs and its timestamps stay as they are.

The exercises are the calls of ``check_*`` functions imported from ``helpers.exercises`` or
``helpers.assignments``, found in the cells' code. Their results come from the JSON lines
that ``helpers.checks.report`` appends to the file named by ``COURSE_CHECK_LOG`` (one line
per check), or, where a cell left none there, from the ``✓`` / ``✗`` / ``…`` lines the
checks print. An exercise whose check cell raised before reporting, or was never executed
(the time limit of its notebook, or of the whole run, came first), is "not reached", with
the reason.

Exit status: 0 when every notebook ran (whatever the results), 1 when one could not be
run at all (unreadable, or no kernel), 2 for bad arguments, 130 after Ctrl-C (the table of
what ran so far is printed first).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LOG_ENV = "COURSE_CHECK_LOG"
STRICT_ENV = "COURSE_STRICT_CHECKS"
CHECK_MODULES = ("helpers.exercises", "helpers.assignments")
# What helpers.checks.report prints: "✓ name: message", "✗ name: message", "… name: message".
REPORT_LINE = re.compile(r"^(?P<mark>[✓✗…]) (?P<name>[^:\n]+?): (?P<message>.*)$")
MARKS = {"✓": "pass", "✗": "fail", "…": "todo"}
SYMBOLS = {"pass": "✓", "fail": "✗", "todo": "·", "unreached": "!"}
HINT_WIDTH = 110  # characters of a hint shown in the table


@dataclass
class Result:
    """One exercise of one notebook: ``status`` is pass, fail, todo (not started) or unreached."""

    notebook: str
    exercise: str
    status: str
    message: str = ""


@dataclass
class CheckCell:
    """A code cell that calls exercise checks: its index among all cells and the check functions it calls."""

    index: int
    calls: list[str]
    records: list[dict[str, Any]] = field(default_factory=list)


def default_notebooks(root: Path = NOTEBOOKS) -> list[Path]:
    """The learner's notebooks: the lessons in ``learner/`` and the assignments (not their solutions)."""
    return sorted((root / "learner").glob("[0-9][0-9]_*.ipynb")) + sorted((root / "assignments").glob("A*.ipynb"))


def select(paths: Sequence[Path], only: Sequence[str]) -> list[Path]:
    """Keep the notebooks whose file name starts with one of ``only`` (``"03"``, ``"A1"``); all when empty."""
    if not only:
        return list(paths)
    chosen = [p for p in paths if any(p.name.lower().startswith(key.lower()) for key in only)]
    unknown = [key for key in only if not any(p.name.lower().startswith(key.lower()) for p in paths)]
    if unknown:
        names = ", ".join(p.stem for p in paths) or "none"
        raise ValueError(f"no notebook starts with {', '.join(map(repr, unknown))}; the notebooks are: {names}")
    return chosen


def _parse(source: str) -> ast.Module | None:
    """The cell's code as a syntax tree (IPython magics and shell lines blanked), or None if it does not parse."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def check_names(cells: Sequence[Any]) -> set[str]:
    """Names imported in any code cell from ``helpers.exercises…`` or ``helpers.assignments…``."""
    names: set[str] = set()
    for cell in cells:
        if cell.get("cell_type") != "code" or (tree := _parse(_source(cell))) is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(CHECK_MODULES):
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def check_cells(cells: Sequence[Any]) -> list[CheckCell]:
    """The code cells that call an imported ``check_*`` function, in order, with the calls in source order."""
    imported = {name for name in check_names(cells) if name.startswith("check_")}
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or (tree := _parse(_source(cell))) is None:
            continue
        calls = [
            node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported
        ]
        calls.sort(key=lambda node: (node.lineno, node.col_offset))
        if calls:
            found.append(CheckCell(index, [node.func.id for node in calls]))  # type: ignore[union-attr]
    return found


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parse_report_lines(text: str) -> list[dict[str, Any]]:
    """The check reports in printed text: one ``{"name", "status", "message"}`` per ✓ / ✗ / … line."""
    records = []
    for line in text.splitlines():
        match = REPORT_LINE.match(line.strip())
        if match:
            records.append({"name": match["name"], "status": MARKS[match["mark"]], "message": match["message"]})
    return records


def _stdout(cell: Any) -> str:
    return "".join(
        "".join(o.get("text", "")) for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def _error(cell: Any) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = " ".join(str(output.get("evalue", "")).split())
            return f"{output.get('ename', 'Error')}: {value}" if value else str(output.get("ename", "Error"))
    return None


def _cell_label(cell: Any, index: int) -> str:
    count = cell.get("execution_count")
    return f"cell [{count}]" if count else f"cell {index + 1}"


def collect(notebook: str, cells: Sequence[Any], executed: set[int], stopped: str | None = None,
            checks: Sequence[CheckCell] | None = None) -> list[Result]:
    """Turn an executed notebook into one Result per exercise check call.

    ``cells`` are the notebook's cells after the run (outputs filled in), ``executed`` the
    indices of the cells that ran to the end, and ``stopped`` why the run ended early (for
    the exercises after that point), or None. ``checks`` are the check cells found before
    the run (default: found in ``cells``). A check cell's results are the records the checks
    logged while it ran (``CheckCell.records``, set by the runner), or else the report lines
    it printed.
    """
    results = []
    for check in check_cells(cells) if checks is None else checks:
        cell = cells[check.index]
        ran = check.index in executed  # a cell that never ran may still hold outputs saved earlier
        records = check.records or (parse_report_lines(_stdout(cell)) if ran else [])
        for record in records:
            results.append(Result(notebook, str(record.get("name", "?")), str(record.get("status", "fail")),
                                  str(record.get("message", ""))))
        if len(records) >= len(check.calls):
            continue
        if not ran:
            reason = stopped or "its cell was not executed"
        elif (error := _error(cell)) is not None:
            reason = f"{_cell_label(cell, check.index)} raised {error}"
            earlier = next((i for i in range(check.index) if i in executed and _error(cells[i])), None)
            if earlier is not None:  # e.g. a NameError here because the cell defining the answer failed
                reason = f"after {_cell_label(cells[earlier], earlier)} raised {_error(cells[earlier])}, {reason}"
        else:
            reason = f"{_cell_label(cell, check.index)} ran but its check printed nothing"
        for name in check.calls[len(records):]:
            results.append(Result(notebook, name, "unreached", reason))
    return results


def _clip(text: str, width: int = HINT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def describe(result: Result) -> str:
    """The table's result column: ✓, ✗ and the hint, · not started, ! not reached and why."""
    if result.status == "pass":
        return "✓"
    if result.status == "fail":
        return f"✗ {_clip(result.message)}"
    if result.status == "todo":
        return "· not started"
    return f"! not reached: {_clip(result.message)}"


def table(results: Sequence[Result], problems: Sequence[tuple[str, str]] = (), seconds: float | None = None) -> str:
    """One table, lesson × exercise, and a total line; ``problems`` are notebooks that could not run (name, why)."""
    rows = [("notebook", "exercise", "result")]
    shown = None
    for result in results:
        rows.append((result.notebook if result.notebook != shown else "", result.exercise, describe(result)))
        shown = result.notebook
    for name, why in problems:
        rows.append((name, "(could not run)", _clip(why)))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows]
    lines.insert(1, "-" * min(len(max(lines, key=len)), widths[0] + widths[1] + 4 + HINT_WIDTH + 16))
    counts = {status: sum(r.status == status for r in results) for status in SYMBOLS}
    total = (f"total: {counts['pass']}/{len(results)} ✓, {counts['fail']} ✗, {counts['todo']} not started, "
             f"{counts['unreached']} not reached")
    notebooks = len({r.notebook for r in results} | {name for name, _ in problems})
    total += f" ({notebooks} notebook{'s' * (notebooks != 1)}"
    total += f", {seconds:.0f} s)" if seconds is not None else ")"
    if problems:
        total += f"; {len(problems)} could not run"
    return "\n".join([*lines, total])


@contextmanager
def _kernel_environment(log: Path) -> Iterator[None]:
    """Within the block, kernels start lenient (no strict checks) and log every check to ``log``."""
    saved = {key: os.environ.get(key) for key in (LOG_ENV, STRICT_ENV)}
    os.environ.pop(STRICT_ENV, None)
    os.environ[LOG_ENV] = str(log)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _read_new(log: Path, seen: int) -> tuple[list[dict[str, Any]], int]:
    """The JSON records appended to ``log`` after its first ``seen`` bytes, and the new size."""
    if not log.is_file():
        return [], seen
    data = log.read_bytes()
    records = []
    for line in data[seen:].decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "name" in record and "status" in record:
            records.append(record)
    return records, len(data)


def run_notebook(path: Path, budget: float, cell_timeout: float) -> list[Result]:
    """Execute a copy of ``path`` in memory in a fresh kernel and return its exercises' results.

    ``budget`` bounds the whole notebook (seconds), ``cell_timeout`` one cell. Raises
    ``RuntimeError`` when the notebook cannot be read or its kernel cannot start.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # a learner's notebook may be damaged in any way
        raise RuntimeError(f"cannot read {path.name}: {type(err).__name__}: {err}") from err
    checks = check_cells(nb.cells)
    by_index = {check.index: check for check in checks}
    executed: set[int] = set()
    deadline = time.monotonic() + budget
    with tempfile.TemporaryDirectory(prefix="progress-") as tmp:
        log = Path(tmp) / "checks.jsonl"
        seen = 0

        def on_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
            nonlocal seen
            records, seen = _read_new(log, seen)
            if cell_index in by_index:
                by_index[cell_index].records = records
            executed.add(cell_index)

        def remaining(cell: Any) -> int:
            return max(1, min(int(cell_timeout), int(deadline - time.monotonic())))

        client = NotebookClient(
            nb, timeout_func=remaining, kernel_name="python3", allow_errors=True, record_timing=False,
            resources={"metadata": {"path": str(path.parent)}}, on_cell_executed=on_executed,
        )
        stopped = None
        with _kernel_environment(log):
            try:
                client.execute(stderr=subprocess.DEVNULL)  # the kernel's own start-up noise; cell output still comes back
            except CellTimeoutError:
                stopped = f"the time limit ({budget:.0f} s for this notebook) ran out before it"
            except DeadKernelError as err:
                stopped = f"the kernel died before it ({err})"
            except Exception as err:  # no kernel, or a broken notebook: nothing could run
                if not executed:
                    raise RuntimeError(f"cannot run {path.name}: {type(err).__name__}: {err}") from err
                stopped = f"the run stopped before it ({type(err).__name__}: {err})"
    return collect(path.stem, nb.cells, executed, stopped, checks)


def skipped(path: Path, why: str) -> list[Result]:
    """Every exercise of a notebook that was not run at all (the overall time limit), as not reached."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [Result(path.stem, name, "unreached", why) for check in check_cells(nb.cells) for name in check.calls]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run your notebooks (as saved, never modified) in fresh kernels and print your exercises' results.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: notebooks/learner/*.ipynb and notebooks/assignments/A*.ipynb)")
    parser.add_argument("--only", nargs="+", default=[], metavar="PREFIX",
                        help="only the notebooks whose name starts with one of these, e.g. --only 03 A1")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per notebook (default 300)")
    parser.add_argument("--total", type=float, default=1800, help="seconds allowed for the whole run (default 1800)")
    args = parser.parse_args(argv)
    try:
        if args.timeout <= 0 or args.total <= 0:
            raise ValueError(f"--timeout and --total must be positive, got {args.timeout:g} and {args.total:g}")
        paths = [p.resolve() for p in args.notebooks] or default_notebooks()
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"no such notebook: {', '.join(missing)}")
        paths = select(paths, args.only)
        if not paths:
            raise ValueError("no notebooks to run")
    except ValueError as err:
        print(f"progress: {err}", file=sys.stderr)
        return 2
    start = time.monotonic()
    results: list[Result] = []
    problems: list[tuple[str, str]] = []
    interrupted = False
    for path in paths:
        left = args.total - (time.monotonic() - start)
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        try:
            if interrupted:
                results += skipped(path, "not run: interrupted (Ctrl-C)")
            elif left < 1:
                results += skipped(path, f"not run: the whole run's time limit ({args.total:.0f} s) ran out")
            else:
                results += run_notebook(path, min(args.timeout, left), args.timeout)
        except KeyboardInterrupt:  # Ctrl-C: the table of what ran so far, the rest marked as not run
            interrupted = True
            results += skipped(path, "not run: interrupted (Ctrl-C)")
        except Exception as err:  # one broken notebook must not hide the others
            problems.append((path.stem, str(err)))
    print(table(results, problems, time.monotonic() - start))
    return 130 if interrupted else 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
