"""Stamp nbgrader 0.9.6 cell metadata onto the assignment answers, so instructors can autograde.

The three answers in ``notebooks/assignments/solutions/`` are nbgrader *source* notebooks once
stamped: ``nbgrader generate_assignment`` releases them, ``nbgrader autograde`` re-executes each
submission in a clean kernel and ``nbgrader generate_feedback`` writes the feedback. Which cell
is what comes from the sources themselves, never from a hand-kept list of cell numbers:

- **solution cells**: every cell holding ``### BEGIN SOLUTION`` ... ``### END SOLUTION``; the task
  of a solution cell is the task of the next check cell. ``grade_id``: ``task<N>-answer`` (then
  ``task<N>-answer-2``, ... when a task has several).
- **autograded test cells**: the check cells, ``results["task N"] = check_...(...)``, one per task,
  worth ``POINTS[notebook][N]`` points. ``grade_id``: ``task<N>-check``. A check prints its hint
  and returns ``False`` instead of raising (so a learner's Run All never stops), so each check
  cell also carries a hidden test, ``assert results["task N"], ...`` between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``: nbgrader removes it from what students
  get and puts it back when it autogrades, and the failed assertion is what costs the points.
- **read-only (locked) cells**: everything else, the score cell included. ``grade_id``:
  ``cell-<the cell's nbformat id>``, so inserting a cell renames nothing; the generated first
  cells tagged ``course-bootstrap`` (links, set-up) are locked too, named by tag and kind:
  ``course-bootstrap`` (the code cell), ``course-bootstrap-markdown`` (then ``-2``, ...).

The stamping is deterministic and idempotent (existing ``nbgrader`` metadata is recomputed, other
metadata left as it is). The tool never rewrites code: when a check cell lacks its hidden test,
``--check`` says which line to add.

    python tools/nbgrader_meta.py            # report what --write would change
    python tools/nbgrader_meta.py --check    # exit 1 when a source is not stamped (CI)
    python tools/nbgrader_meta.py --write    # stamp the sources in place

``tools/nbgrader_check.py`` releases and autogrades the stamped sources with real nbgrader.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "POINTS",
    "SOURCES",
    "BOOTSTRAP_TAG",
    "SCHEMA_VERSION",
    "hidden_test",
    "cell_roles",
    "stamp_notebook",
    "missing_source_edits",
    "stale_sources",
]

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "assignments" / "solutions"
SOURCES = tuple(SOLUTIONS / f"{name}.ipynb" for name in ("A1_fundamentals", "A2_transfer_learning", "A3_ship_it"))

# Points per task; every assignment is out of 10. A1's five tasks weigh the same; A2's task 2
# (a model that clears the mark on unseen photos) is the assignment, its preprocessing a step;
# A3's training to 0.89 outweighs saving and exporting.
POINTS: dict[str, dict[int, int]] = {
    "A1_fundamentals": {1: 2, 2: 2, 3: 2, 4: 2, 5: 2},
    "A2_transfer_learning": {1: 2, 2: 8},
    "A3_ship_it": {1: 4, 2: 3, 3: 3},
}
SCHEMA_VERSION = 3  # the cell metadata schema of nbgrader 0.9
BOOTSTRAP_TAG = "course-bootstrap"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_CHECK = re.compile(r'^results\["task (\d+)"\]\s*=\s*check_\w+\(', re.MULTILINE)
_SCORE = re.compile(r"\bscore\(\s*results\s*,\s*tasks\s*=\s*(\d+)\s*\)")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")  # what nbgrader's gradebook accepts as a cell name


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _lines(source: str, marker: str) -> int:
    return sum(line.strip() == marker for line in source.splitlines())


def hidden_test(task: int) -> str:
    """Return the hidden test a check cell of ``task`` must end with (four lines, no newline at the end)."""
    return (
        f"{HIDDEN_BEGIN}\n"
        f'assert results["task {task}"], "task {task} fails its check: see the line printed above"\n'
        f"{HIDDEN_END}"
    )


def cell_roles(nb: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """Return, for every cell of ``nb``, ``(role, task)``: role ``solution``, ``test`` or ``locked``.

    Raises ``ValueError`` for what nbgrader or the point scheme cannot work with: unbalanced
    solution markers, a solution region in a check cell or in a raw cell, a check cell with two
    checks or a task checked twice, a solution cell with no check cell after it, tasks that are
    not 1..N, or a score cell whose ``tasks=`` disagrees.
    """
    cells = nb.get("cells")
    if not isinstance(cells, list) or not cells:
        raise ValueError("not a notebook with cells: expected a dict with a non-empty 'cells' list")
    roles: list[tuple[str, int | None]] = []
    seen: dict[int, int] = {}
    score_tasks: int | None = None
    for index, cell in enumerate(cells):
        source = _source(cell)
        begins, ends = _lines(source, BEGIN), _lines(source, END)
        checks = [int(n) for n in _CHECK.findall(source)] if cell.get("cell_type") == "code" else []
        if begins != ends:
            raise ValueError(f"cell {index}: {begins} {BEGIN!r} but {ends} {END!r} lines")
        if begins and (checks or cell.get("cell_type") not in {"code", "markdown"}):
            raise ValueError(
                f"cell {index}: a solution region in a {'check' if checks else cell.get('cell_type')} cell;"
                " answers and checks must be separate code or markdown cells"
            )
        if len(checks) > 1:
            raise ValueError(f"cell {index}: {len(checks)} checks in one cell; nbgrader grades one task per test cell")
        if checks:
            task = checks[0]
            if task in seen:
                raise ValueError(f"cell {index}: task {task} is already checked in cell {seen[task]}")
            seen[task] = index
            roles.append(("test", task))
        elif begins:
            roles.append(("solution", None))
        else:
            roles.append(("locked", None))
        if match := _SCORE.search(source):
            score_tasks = int(match.group(1))
    # a solution cell belongs to the task of the next check cell
    upcoming: int | None = None
    for index in range(len(roles) - 1, -1, -1):
        role, task = roles[index]
        if role == "test":
            upcoming = task
        elif role == "solution":
            if upcoming is None:
                raise ValueError(f"cell {index}: a solution cell with no check cell after it")
            roles[index] = ("solution", upcoming)
    tasks = sorted(seen)
    if tasks != list(range(1, len(tasks) + 1)):
        raise ValueError(f"the check cells grade tasks {tasks}; expected 1..{len(tasks)}, each once")
    if score_tasks is not None and score_tasks != len(tasks):
        raise ValueError(f"the score cell says tasks={score_tasks} but the notebook checks {len(tasks)} tasks")
    return roles


def _grade_id(cell: Mapping[str, Any], index: int, taken: Mapping[str, int]) -> str:
    if BOOTSTRAP_TAG in cell.get("metadata", {}).get("tags", []):
        # named by tag and kind (the generator may make them afresh, with new ids)
        base = BOOTSTRAP_TAG if cell.get("cell_type") == "code" else f"{BOOTSTRAP_TAG}-{cell.get('cell_type')}"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}-{number}"
        return name
    cell_id = cell.get("id")
    if not isinstance(cell_id, str) or not _GRADE_ID.match(cell_id):
        raise ValueError(
            f"cell {index} has no usable id ({cell_id!r}): stable grade_ids need nbformat 4.5 cell ids"
            " (nbformat.validator.normalize adds them)"
        )
    return f"cell-{cell_id}"


def stamp_notebook(nb: Mapping[str, Any], points: Mapping[int, int]) -> Any:
    """Return a copy of ``nb`` whose every cell carries nbgrader 0.9 metadata (``metadata.nbgrader``).

    ``points`` maps each task number to its points (positive integers). Only the ``nbgrader``
    key of each cell's metadata changes; stamping a stamped notebook changes nothing.
    Raises ``ValueError`` for a notebook :func:`cell_roles` rejects, points that do not match
    its tasks, or a cell without an nbformat id.
    """
    roles = cell_roles(nb)
    tasks = {task for role, task in roles if role == "test"}
    if set(points) != tasks:
        raise ValueError(f"points are given for tasks {sorted(points)} but the notebook checks tasks {sorted(tasks)}")
    for task, value in points.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"task {task}: points must be a positive integer, got {value!r}")
    stamped = copy.deepcopy(nb)
    answers: dict[int, int] = {}
    grade_ids: dict[str, int] = {}
    for index, (cell, (role, task)) in enumerate(zip(stamped["cells"], roles, strict=True)):
        meta: dict[str, Any] = {"grade": role == "test"}
        if role == "solution":
            answers[task] = answers.get(task, 0) + 1
            grade_id = f"task{task}-answer" + (f"-{answers[task]}" if answers[task] > 1 else "")
        elif role == "test":
            grade_id = f"task{task}-check"
        else:
            grade_id = _grade_id(cell, index, grade_ids)
        if grade_id in grade_ids:
            raise ValueError(f"cells {grade_ids[grade_id]} and {index} would share grade_id {grade_id!r}")
        grade_ids[grade_id] = index
        meta["grade_id"] = grade_id
        meta["locked"] = role != "solution"
        if role == "test":
            meta["points"] = points[task]
        meta["schema_version"] = SCHEMA_VERSION
        meta["solution"] = role == "solution"
        meta["task"] = False
        cell.setdefault("metadata", {})["nbgrader"] = meta
    return stamped


def missing_source_edits(nb: Mapping[str, Any]) -> list[str]:
    """Return the edits (one message each) the check cells of ``nb`` still need; empty when none.

    Each check cell must end with :func:`hidden_test` for its task, so that autograding fails
    the cell when the check fails. The tool never adds it itself: answers' code is the authors'.
    """
    edits = []
    for index, (cell, (role, task)) in enumerate(zip(nb["cells"], cell_roles(nb), strict=True)):
        if role == "test" and not _source(cell).rstrip().endswith(hidden_test(task)):
            edits.append(f"cell {index} (task {task}): end the check cell with\n{hidden_test(task)}")
    return edits


def _points_for(path: Path, points: Mapping[str, Mapping[int, int]]) -> Mapping[int, int]:
    if path.stem not in points:
        raise ValueError(f"{path.name}: no point scheme (known: {', '.join(sorted(points))})")
    return points[path.stem]


def _render(nb: Any) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"  # how helpers.authoring and the notebook runner write


def stale_sources(
    paths: Sequence[Path] = SOURCES, write: bool = False, points: Mapping[str, Mapping[int, int]] = POINTS
) -> list[Path]:
    """Return the sources whose metadata is not stamped (and, with ``write=True``, stamp them)."""
    import nbformat

    stale = []
    for path in paths:
        if not path.is_file():
            raise ValueError(f"no notebook at {path}")
        text = path.read_text(encoding="utf-8")
        stamped = _render(stamp_notebook(nbformat.reads(text, as_version=4), _points_for(path, points)))
        if stamped != text:
            stale.append(path)
            if write:
                path.write_text(stamped, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when a source is not stamped or lacks a hidden test")
    mode.add_argument("--write", action="store_true", help="stamp the sources in place")
    parser.add_argument("paths", nargs="*", type=Path, help="source notebooks (default: the three assignment answers)")
    args = parser.parse_args(argv)
    import nbformat

    paths = args.paths or list(SOURCES)
    try:
        stale = stale_sources(paths, write=args.write)
        edits = {path: missing_source_edits(nbformat.read(path, as_version=4)) for path in paths}
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"{'stamped' if args.write else 'not stamped'}: {path}")
    for path, messages in edits.items():
        for message in messages:
            print(f"source edit needed in {path}: {message}")
    if not stale and not any(edits.values()):
        print("nbgrader metadata is up to date:", ", ".join(path.name for path in paths))
    for path in paths:
        total = sum(_points_for(path, POINTS).values())
        print(f"{path.stem}: {total} points ({', '.join(f'task {t}: {p}' for t, p in _points_for(path, POINTS).items())})")
    if args.write:
        return 1 if any(edits.values()) else 0
    return 1 if (stale or any(edits.values())) and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
