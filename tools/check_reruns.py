"""Re-run every notebook in this checkout and compare what it reports with the committed outputs.

Used by ``make test-all`` right after ``make test`` (whose nbval pass already executed
every notebook once in the same checkout), so one more execution proves two things:

* **re-runs:** a notebook executed a second time in the same checkout still runs top
  to bottom (no "file exists" error, no reliance on a fresh ``artifacts/``);
* **determinism:** the committed outputs come from a fresh execution by
  ``make notebooks``; this execution is another fresh one. Every figure a notebook
  prints (accuracies, losses, shapes, checked values) must come out identical.

What is compared: per code cell, the text the cell printed to stdout and the text form
of its result. Not compared: stderr (progress bars, warnings), images and HTML, and
measured durations, which are masked wherever they appear (``4.2 s``, ``310 ms``,
``12.5 it/s``, ...). A cell whose whole output is a measurement (a latency table, a
profiler table) carries ``# NBVAL_IGNORE_OUTPUT`` and is skipped.

Exit status 0 when every notebook ran and matched, 1 otherwise (each difference is
printed with its cell number).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_MARK = "NBVAL_IGNORE_OUTPUT"
# a number followed by a unit of time, or a rate per second: measured, so never reproducible
_DURATION = re.compile(
    r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?\s?"
    r"(?:ms|µs|us|ns|s|sec|secs|seconds?|min|minutes?|it/s|s/it|samples/s|images/s|img/s)(?![\w/])"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
# an absolute path into the checkout: another clone lives elsewhere (/work/main vs /tmp/clone)
_CHECKOUT_PATH = re.compile(
    r"(?<![\w.])(?:/[\w.+@-]+)+?/(?=(?:\.venv|data|artifacts|notebooks|helpers|tools|scripts|benchmarks)(?:/|\b))"
)
_PORT = re.compile(r"((?:\d{1,3}\.){3}\d{1,3}\]?|localhost):\d{2,5}")  # a port picked by the system


def default_notebooks() -> list[Path]:
    """Lessons and assignment answers, in course order."""
    notebooks = ROOT / "notebooks"
    return sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) + sorted((notebooks / "assignments" / "solutions").glob("*.ipynb"))


def normalise(text: str) -> str:
    """Mask measured durations, memory addresses, port numbers and the checkout's location."""
    text = _DURATION.sub("<time>", text)
    text = _ADDRESS.sub("0x…", text)
    text = _CHECKOUT_PATH.sub("<checkout>/", text)
    text = _PORT.sub(r"\1:<port>", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def reported_text(cell) -> str:
    """The text a code cell reported: stdout, then the plain-text form of its results."""
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif kind in {"execute_result", "display_data"} and "text/plain" in out.get("data", {}):
            if "image/png" in out["data"] or "text/html" in out["data"]:
                continue  # a figure or a table rendered as HTML: its repr holds no figures
            parts.append(out["data"]["text/plain"])
    return normalise("".join(parts))


def compare(committed, fresh) -> list[str]:
    """Return one message per code cell whose reported text differs between two runs of a notebook."""
    old = [c for c in committed.cells if c.cell_type == "code"]
    new = [c for c in fresh.cells if c.cell_type == "code"]
    if len(old) != len(new):
        return [f"the notebooks have {len(old)} and {len(new)} code cells"]
    problems = []
    for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
        if IGNORE_MARK in a.source:
            continue
        before, after = reported_text(a), reported_text(b)
        if before != after:
            for line_a, line_b in zip_longest(before.splitlines(), after.splitlines(), fillvalue="<nothing>"):
                if line_a != line_b:
                    problems.append(f"code cell {number}: committed {line_a!r}, now {line_b!r}")
                    break
    return problems


def execute(path: Path, timeout: int, strict: bool = True):
    """Execute ``path`` in a fresh kernel with its folder as working directory; return the executed copy."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)  # the kernel's environment; this process's stays as it is
    if strict:
        env["COURSE_STRICT_CHECKS"] = "1"
    else:
        env.pop("COURSE_STRICT_CHECKS", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="answer notebooks (default: every lesson and answer)")
    parser.add_argument("--learners", action="store_true", help="also re-run the learner versions (must not raise)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    import nbformat
    from nbclient.exceptions import CellExecutionError

    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    failed = 0
    for path in paths:
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        started = time.monotonic()
        committed = nbformat.read(path, as_version=4)
        try:
            fresh = execute(path, args.timeout)
        except CellExecutionError as err:
            failed += 1
            print(f"FAIL  {rel}: the second run raised\n{str(err)[-1500:]}", flush=True)
            continue
        problems = compare(committed, fresh)
        took = time.monotonic() - started
        if problems:
            failed += 1
            print(f"FAIL  {rel}: {len(problems)} cells report different figures ({took:.0f} s)", flush=True)
            for problem in problems:
                print(f"      {problem}", flush=True)
        else:
            print(f"ok    {rel}: ran again, same figures ({took:.0f} s)", flush=True)
    if args.learners:
        from helpers.authoring import answer_notebooks, learner_path

        for answer in answer_notebooks(ROOT / "notebooks"):
            learner = learner_path(answer)
            started = time.monotonic()
            try:
                execute(learner, args.timeout, strict=False)
                print(f"ok    {learner.relative_to(ROOT)}: ran again ({time.monotonic() - started:.0f} s)", flush=True)
            except CellExecutionError as err:
                failed += 1
                print(f"FAIL  {learner.relative_to(ROOT)}: the second run raised\n{str(err)[-1500:]}", flush=True)
    print(f"{failed} notebook(s) failed" if failed else "every notebook ran again with the same figures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
