"""Release and autograde the assignments with real nbgrader (0.9.6), and check every mark.

In a temporary nbgrader course folder, for each assignment (A1, A2, A3):

1. ``nbgrader generate_assignment``: the stamped source (``tools/nbgrader_meta.py``) becomes
   the release students get (solutions replaced by ``raise NotImplementedError()``, hidden
   tests removed, outputs cleared, every other cell locked);
2. three submissions built from that release: ``answer`` (the answers filled in: full marks),
   ``stub`` (the release as it is: zero) and ``partial`` (the answers with some tasks
   deliberately wrong: ``BROKEN`` below says which, and those tasks must be the ones failing);
3. ``nbgrader autograde`` re-executes each submission in a clean kernel (the environment's
   ``python3``, which imports ``helpers``) and ``nbgrader generate_feedback`` writes the
   feedback pages.

The marks of every task of every submission are read back from the gradebook and compared
with what they must be; a short table is printed and the exit status is 1 on any mismatch.
Runs offline (the notebooks need nothing but the installed course). About 3 minutes on a quiet
2-core CPU for everything (measured: 184 s; 7-10 minutes when other jobs share the cores), most
of it A2's baselines and A3's training; ``--assignments A1`` narrows it down.

    python tools/nbgrader_check.py                       # all three, all three submissions
    python tools/nbgrader_check.py --assignments A1 A2   # some
    python tools/nbgrader_check.py --students answer     # only the full answers
    python tools/nbgrader_check.py --keep /tmp/course    # keep the course folder to look at

Needs nbgrader (``pip install -e '.[grading]'``; ``make grade-test`` installs it when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbgrader_meta  # noqa: E402 (the stamping tool beside this file)

ASSIGNMENTS = {"A1": "A1_fundamentals", "A2": "A2_transfer_learning", "A3": "A3_ship_it"}
STUDENTS = ("answer", "stub", "partial")

# The partly wrong submission: per assignment, the solution cells (by grade_id) whose answer is
# replaced by a plausible mistake. Every task named here must score 0, every other one in full.
BROKEN: dict[str, dict[str, str]] = {
    "A1": {
        # the first derivative instead of the second
        "task1-answer": (
            "def second_derivative(f, x):\n"
            "    x = x.detach().requires_grad_(True)\n"
            "    (first,) = torch.autograd.grad(f(x).sum(), x)\n"
            "    return first\n"
        ),
        # softmax applied before a loss that applies it again
        "task4-answer": (
            "def cross_entropy_from_logits(logits, labels):\n"
            "    return nn.functional.cross_entropy(torch.softmax(logits, dim=1), labels)\n"
            "\n\n"
            "def binary_cross_entropy_from_probs(probs, labels):\n"
            "    return nn.functional.binary_cross_entropy(probs, labels.float())\n"
        ),
    },
    "A2": {
        # the pretrained model with its new head left untrained
        "task2-answer": "model = load_efficientnet_lite0(num_classes=5, freeze_features=True)\n",
    },
    "A3": {
        # a linear model after 20 small steps: far below 0.89, so the ONNX export of it fails
        # too (task 3 checks the accuracy in ONNX Runtime), while saving and loading it works
        "task1-answer": (
            "def build_model():\n"
            "    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))\n"
            "\n\n"
            "torch.manual_seed(0)\n"
            "model = build_model()\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for start in range(0, 2000, 100):\n"
            "    loss = F.cross_entropy(model(X_train[start:start + 100]), y_train[start:start + 100])\n"
            "    optimizer.zero_grad()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "model.eval()\n"
        ),
    },
}
FAILING = {"A1": {1, 4}, "A2": {2}, "A3": {1, 3}}  # the tasks BROKEN breaks, graded 0

CONFIG = """\
c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.CourseDirectory.course_id = "pytorch-course"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_assignments = {assignments!r}
c.CourseDirectory.db_students = {students!r}
c.Execute.timeout = 900  # seconds per cell: A3 trains a CNN in one cell
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""


@dataclass
class Outcome:
    """Marks of one submission: task -> (score, max score), and the expected scores."""

    assignment: str
    student: str
    marks: dict[int, tuple[float, float]] = field(default_factory=dict)
    expected: dict[int, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return set(self.marks) == set(self.expected) and all(
            abs(self.marks[t][0] - self.expected[t]) < 1e-9 for t in self.expected
        )


def _answer_code(source: str) -> str:
    """The answer as a student would submit it: the source without markers and ``# STUB:`` lines."""
    keep = [
        line
        for line in source.splitlines()
        if line.strip() not in {nbgrader_meta.BEGIN, nbgrader_meta.END} and not line.strip().startswith("# STUB:")
    ]
    return "\n".join(keep) + "\n"


def submission(release: dict, source: dict, broken: dict[str, str]) -> dict:
    """Return the release notebook with its solution cells filled from ``source`` (or ``broken``)."""
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in source["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    unknown = set(broken) - set(answers)
    if unknown:
        raise ValueError(f"BROKEN names solution cells the source does not have: {sorted(unknown)}")
    nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = broken[grade_id] if grade_id in broken else _answer_code(answers[grade_id])
    return nb


def _nbgrader(root: Path, *args: str, log: Path) -> None:
    env = dict(os.environ)
    env.pop("COURSE_STRICT_CHECKS", None)  # checks return False; the hidden tests fail the cell
    # the python3 kernel spec runs `python`: the environment's own, which imports helpers
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    command = [sys.executable, "-m", "nbgrader", *args]
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ nbgrader {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {done.returncode}); see {log}")


def check_release(text: str, name: str) -> list[str]:
    """Return what is wrong with a released notebook's text: answers or hidden tests left in it."""
    problems = []
    for marker in (nbgrader_meta.BEGIN, nbgrader_meta.HIDDEN_BEGIN, "assert results["):
        if marker in text:
            problems.append(f"{name}: the release still contains {marker!r}")
    if "raise NotImplementedError()" not in text:
        problems.append(f"{name}: the release has no stubbed solution")
    return problems


def run(
    root: Path, sources: Path, assignments: list[str], students: tuple[str, ...] = STUDENTS
) -> tuple[list[Outcome], list[str], dict[str, float]]:
    """Build the course in ``root``, release, autograde and give feedback; return marks, problems, timings."""
    import nbformat
    from nbgrader.api import Gradebook

    problems: list[str] = []
    timings: dict[str, float] = {}
    log = root / "nbgrader.log"
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        CONFIG.format(
            root=str(root),
            assignments=[{"name": a} for a in assignments],
            students=[{"id": s} for s in students],
        ),
        encoding="utf-8",
    )
    sources_nb = {}
    for assignment in assignments:
        name = ASSIGNMENTS[assignment]
        path = sources / f"{name}.ipynb"
        stale = nbgrader_meta.stale_sources([path])
        edits = nbgrader_meta.missing_source_edits(nbformat.read(path, as_version=4))
        if stale or edits:
            raise ValueError(f"{path} is not ready for nbgrader: run python tools/nbgrader_meta.py --check")
        target = root / "source" / assignment / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        sources_nb[assignment] = json.loads(path.read_text(encoding="utf-8"))
        start = time.perf_counter()
        _nbgrader(root, "generate_assignment", assignment, "--force", log=log)
        timings[f"{assignment} release"] = time.perf_counter() - start
        release_path = root / "release" / assignment / path.name
        release_text = release_path.read_text(encoding="utf-8")
        problems += check_release(release_text, f"{assignment} release")
        release = json.loads(release_text)
        for student in students:
            if student == "stub":
                nb = release
            else:
                nb = submission(release, sources_nb[assignment], BROKEN[assignment] if student == "partial" else {})
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            (folder / path.name).write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
        start = time.perf_counter()
        _nbgrader(root, "autograde", assignment, "--force", log=log)
        timings[f"{assignment} autograde"] = time.perf_counter() - start
        start = time.perf_counter()
        _nbgrader(root, "generate_feedback", assignment, "--force", log=log)
        timings[f"{assignment} feedback"] = time.perf_counter() - start
        for student in students:
            page = root / "feedback" / student / assignment / f"{name}.html"
            if not page.is_file():
                problems.append(f"{assignment}/{student}: no feedback page at {page}")
            elif student == "partial":
                html = page.read_text(encoding="utf-8")
                for task in sorted(FAILING[assignment]):
                    if f"task {task} fails its check" not in html:
                        problems.append(f"{assignment}/partial: the feedback does not say task {task} fails")
    outcomes = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for assignment in assignments:
            name = ASSIGNMENTS[assignment]
            points = nbgrader_meta.POINTS[name]
            for student in students:
                outcome = Outcome(assignment, student)
                for task, value in points.items():
                    grade = gradebook.find_grade(f"task{task}-check", name, assignment, student)
                    outcome.marks[task] = (grade.score, grade.max_score)
                    if grade.max_score != value:
                        problems.append(f"{assignment} task {task}: worth {grade.max_score} in nbgrader, {value} in POINTS")
                    failing = student == "stub" or (student == "partial" and task in FAILING[assignment])
                    outcome.expected[task] = 0.0 if failing else float(value)
                outcomes.append(outcome)
                if not outcome.ok:
                    problems.append(f"{assignment}/{student}: marks {outcome.marks} but expected {outcome.expected}")
    return outcomes, problems, timings


def table(outcomes: list[Outcome]) -> str:
    """Return the marks as a plain-text table, one row per submission."""
    rows = ["assignment  student  total   per task (score/max)                          ok"]
    for o in outcomes:
        total = sum(s for s, _ in o.marks.values())
        most = sum(m for _, m in o.marks.values())
        tasks = "  ".join(f"{t}: {s:g}/{m:g}" for t, (s, m) in sorted(o.marks.items()))
        rows.append(f"{o.assignment:<11} {o.student:<8} {total:>4g}/{most:<3g} {tasks:<45} {'yes' if o.ok else 'NO'}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=list(ASSIGNMENTS), choices=list(ASSIGNMENTS))
    parser.add_argument("--students", nargs="+", default=list(STUDENTS), choices=list(STUDENTS))
    parser.add_argument("--sources", type=Path, default=nbgrader_meta.SOLUTIONS, help="folder of stamped sources")
    parser.add_argument("--keep", type=Path, help="build the course folder here (must not exist) and keep it")
    args = parser.parse_args(argv)
    try:
        import nbgrader
    except ImportError:
        print("nbgrader is not installed: pip install -e '.[grading]' (or make grade-test)", file=sys.stderr)
        return 2
    if args.keep is not None and args.keep.exists():
        print(f"error: {args.keep} exists; --keep needs a new folder", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp) / "course"
        try:
            outcomes, problems, timings = run(root, args.sources.resolve(), args.assignments, tuple(args.students))
        except (ValueError, RuntimeError) as err:
            log = root / "nbgrader.log"
            if log.is_file():
                print(log.read_text(encoding="utf-8")[-6000:], file=sys.stderr)
            print(f"error: {err}", file=sys.stderr)
            return 1
    print(f"nbgrader {nbgrader.__version__}:")
    print(table(outcomes))
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + f"; total {time.perf_counter() - start:.0f}")
    for problem in problems:
        print("MISMATCH:", problem)
    passed = sum(o.ok for o in outcomes)
    print(f"{passed} passed, {len(outcomes) - passed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
