"""Run every notebook again and check two properties of what it reports.

Used by ``make rerun`` after ``make test`` (whose nbval pass already executed every
notebook once in the same checkout). Each notebook is executed twice more, in fresh
kernels, and three things are checked:

* **re-runs:** a notebook executed again in the same checkout still runs top to bottom
  (no "file exists" error, no reliance on a fresh ``artifacts/``);
* **same machine (strict):** the two executions print *identical* figures. PyTorch
  promises reproducible results on one machine and one build, so any difference here
  is a missing seed or another source of randomness;
* **against the committed outputs (tolerant):** the committed outputs were written by
  ``make notebooks`` on *some* machine, maybe with another CPU, whose math libraries
  (MKL, oneDNN) take other code paths and round differently in the last digits. So
  the figures are compared with the tolerance policy below, which absorbs that noise
  and still catches a real change (an accuracy 3 points lower, a changed shape, a
  removed seed).

The tolerance policy (also in CONTRIBUTING.md), applied line by line to the text a cell
printed (stdout and the plain-text form of its results):

1. The text between the numbers must be identical (runs of spaces are ignored, since
   tables and tensors pad their columns to the width of the numbers).
2. A number written as an integer (shapes, counts, class indices, epochs) must be equal.
3. Numerical noise: when both numbers are below 1e-3 in size (parity errors,
   ``maxdiff``, a gradient check), they agree if both are at most 1e-6 or if they are
   within a factor of 10 of each other (the same order of magnitude).
4. Every other number (accuracies, losses, checksums, percentages) may move by
   ``max(0.005, 1 % of its size)``: half a point of accuracy written as a fraction,
   one percent of a loss or of a percentage.

Not compared: stderr (progress bars, warnings), images and HTML, and measured durations,
which are masked wherever they appear (``4.2 s``, ``310 ms``, ``12.5 it/s``, ...). A cell
whose whole output is a measurement (a latency table, a profiler table) carries
``# NBVAL_IGNORE_OUTPUT`` and is skipped.

Exit status 0 when every notebook ran and both properties held, 1 otherwise (each
difference is printed with its cell number and the rule it broke).
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
# the tolerance policy (see the module docstring and CONTRIBUTING.md)
NOISE_BELOW = 1e-3  # numbers smaller than this in size are numerical noise...
ZERO_BELOW = 1e-6  # ...and all noise at most this big counts as zero
NOISE_FACTOR = 10.0  # noise must keep its order of magnitude
ABS_TOL = 0.005  # any other number may move by max(ABS_TOL, REL_TOL * its size)
REL_TOL = 0.01

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
# a number in printed text: optional sign, digits (thousands may be grouped with commas),
# optional fraction and exponent. Not a digit inside a name such as conv1 or fc2.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w])")
_SPACES = re.compile(r"\s+")
_PADDING = re.compile(r"[ \t]{2,}")


def default_notebooks() -> list[Path]:
    """Lessons and assignment answers, in course order."""
    notebooks = ROOT / "notebooks"
    return sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) + sorted((notebooks / "assignments" / "solutions").glob("*.ipynb"))


def normalise(text: str) -> str:
    """Mask measured durations, memory addresses, port numbers and the checkout's location; collapse padding."""
    text = _DURATION.sub("<time>", text)
    text = _ADDRESS.sub("0x…", text)
    text = _CHECKOUT_PATH.sub("<checkout>/", text)
    text = _PORT.sub(r"\1:<port>", text)
    # runs of spaces collapse to one: a table pads its columns to the width of what it holds, so a
    # masked duration ("9.8 s" or "10.2 s") changes the padding of the whole row
    return "\n".join(_PADDING.sub(" ", line).rstrip() for line in text.splitlines()).strip()


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


def split_numbers(line: str) -> tuple[list[str], list[str]]:
    """Split a line into the text around its numbers (spaces removed) and the numbers as written."""
    numbers = [m.group() for m in _NUMBER.finditer(line)]
    texts = [_SPACES.sub("", part) for part in _NUMBER.split(line)]
    return texts, numbers


def _value(written: str) -> float:
    return float(written.replace(",", ""))


def _is_integer(written: str) -> bool:
    return not any(c in written for c in ".eE")


def numbers_agree(committed: str, fresh: str) -> str | None:
    """Apply the tolerance policy to two numbers as written; return None or the rule broken."""
    if _is_integer(committed) and _is_integer(fresh):
        return None if _value(committed) == _value(fresh) else "integers must be equal"
    a, b = _value(committed), _value(fresh)
    size = max(abs(a), abs(b))
    if size < NOISE_BELOW:
        if size <= ZERO_BELOW:
            return None
        small, large = sorted((abs(a), abs(b)))
        if small > 0 and large / small <= NOISE_FACTOR:
            return None
        return f"noise below {NOISE_BELOW:g} must keep its order of magnitude (or stay at most {ZERO_BELOW:g})"
    allowed = max(ABS_TOL, REL_TOL * size)
    if abs(a - b) <= allowed:
        return None
    return f"differs by {abs(a - b):.3g}, more than the {allowed:.3g} allowed"


def lines_agree(committed: str, fresh: str) -> str | None:
    """Compare two printed lines under the tolerance policy; return None or why they differ."""
    texts_a, numbers_a = split_numbers(committed)
    texts_b, numbers_b = split_numbers(fresh)
    if texts_a != texts_b or len(numbers_a) != len(numbers_b):
        return "the text around the numbers differs"
    for a, b in zip(numbers_a, numbers_b, strict=True):
        broken = numbers_agree(a, b)
        if broken:
            return f"{a} vs {b}: {broken}"
    return None


def compare(committed, fresh, tolerant: bool = False, labels: tuple[str, str] = ("committed", "now")) -> list[str]:
    """Return one message per code cell whose reported text differs between two runs of a notebook.

    ``tolerant=False``: the texts must be identical (two runs on one machine).
    ``tolerant=True``: the tolerance policy of this module (committed outputs from any machine).
    ``labels`` name the two runs in the messages.
    """
    old = [c for c in committed.cells if c.cell_type == "code"]
    new = [c for c in fresh.cells if c.cell_type == "code"]
    if len(old) != len(new):
        return [f"the notebooks have {len(old)} and {len(new)} code cells"]
    problems = []
    for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
        if IGNORE_MARK in a.source:
            continue
        before, after = reported_text(a), reported_text(b)
        if before == after:
            continue
        for line_a, line_b in zip_longest(before.splitlines(), after.splitlines(), fillvalue="<nothing>"):
            if line_a == line_b:
                continue
            if "<nothing>" in (line_a, line_b):
                why = "the runs printed different numbers of lines"
            else:
                why = lines_agree(line_a, line_b) if tolerant else "not identical"
            if why:
                problems.append(f"code cell {number}: {labels[0]} {line_a!r}, {labels[1]} {line_b!r} ({why})")
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


def check_notebook(path: Path, runs: int, timeout: int) -> tuple[str, list[str], list[str]]:
    """Execute ``path`` ``runs`` times; return (the error of a run that raised, or "",
    same-machine problems, against-committed problems)."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    committed = nbformat.read(path, as_version=4)
    executions = []
    for attempt in range(1, runs + 1):
        try:
            executions.append(execute(path, timeout))
        except CellExecutionError as err:
            return f"execution {attempt} raised\n{str(err)[-1500:]}", [], []
    same = compare(executions[0], executions[1], labels=("run 1", "run 2")) if runs >= 2 else []
    return "", same, compare(committed, executions[0], tolerant=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="answer notebooks (default: every lesson and answer)")
    parser.add_argument("--learners", action="store_true", help="also re-run the learner versions (must not raise)")
    parser.add_argument("--runs", type=int, default=2, choices=(1, 2),
                        help="executions per notebook: 2 checks both properties, 1 only the committed outputs")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    failed = 0
    for path in paths:
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        started = time.monotonic()
        crash, same, against = check_notebook(path, args.runs, args.timeout)
        took = time.monotonic() - started
        if crash:
            failed += 1
            print(f"FAIL  {rel}: {crash}", flush=True)
        elif same or against:
            failed += 1
            print(f"FAIL  {rel} ({took:.0f} s)", flush=True)
            if same:
                print(f"      same machine: {len(same)} cells differ between two executions here", flush=True)
                for problem in same:
                    print(f"        {problem}", flush=True)
            if against:
                print(f"      committed outputs: {len(against)} cells outside the tolerance policy", flush=True)
                for problem in against:
                    print(f"        {problem}", flush=True)
        else:
            what = "twice, identical figures; " if args.runs == 2 else ""
            print(f"ok    {rel}: ran {what}committed outputs within tolerance ({took:.0f} s)", flush=True)
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
    print(f"{failed} notebook(s) failed" if failed else "every notebook ran again: same figures here, committed outputs within tolerance")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
