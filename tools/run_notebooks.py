"""Execute answer notebooks from a fresh kernel, save their outputs, and record run times.

Usage: ``python tools/run_notebooks.py [NOTEBOOK ...]`` (default: every lesson and
assignment solution). For each notebook it:

1. runs every cell in a new kernel with strict checks on (a failing exercise check
   stops the run), in the notebook's own folder;
2. saves the outputs in place (execution counts 1..N);
3. writes the measured wall time into the notebook's "**Run time:**" line and into
   ``notebooks/timings.json``, from which the README's lesson table is rebuilt.

Before, it refreshes the generated set-up cells of every notebook; after, it regenerates the
learner versions (both as ``python -m helpers.authoring`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIMINGS = NOTEBOOKS / "timings.json"
RUN_TIME = re.compile(r"(\*\*Run time:\*\* about )(\d+|N)( s)")
TABLE_START, TABLE_END = "<!-- lesson-table:start -->", "<!-- lesson-table:end -->"


def default_notebooks() -> list[Path]:
    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assignments = sorted((NOTEBOOKS / "assignments" / "solutions").glob("*.ipynb"))
    return lessons + assignments


def execute(path: Path, timeout: int = 300) -> float:
    """Run ``path`` top to bottom in a fresh kernel, save it, and return the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    os.environ["COURSE_STRICT_CHECKS"] = "1"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    _stamp_run_time(nb, seconds)
    nbformat.write(nb, path)
    return seconds


def _stamp_run_time(nb, seconds: float) -> None:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and RUN_TIME.search(cell.source):
            cell.source = RUN_TIME.sub(lambda m: f"{m.group(1)}{max(1, round(seconds))}{m.group(3)}", cell.source)
            return


def _title_and_summary(path: Path) -> tuple[str, str]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source if nb.cells else ""
    title_match = re.search(r"^#\s+(.+)$", first, flags=re.M)
    # the summary may wrap over several lines: take the whole paragraph
    learn_match = re.search(r"^\*\*In one line:\*\*\s*(.+?)(?:\n\s*\n|\Z)", first, flags=re.M | re.S)
    title = title_match.group(1).strip() if title_match else path.stem
    summary = " ".join(learn_match.group(1).split()) if learn_match else ""
    return title, summary


def update_readme(timings: dict[str, float]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        return
    from helpers.authoring import _learner_link_path, read_settings

    settings = read_settings(ROOT / "pyproject.toml")
    rows = ["| Notebook | What you learn | Run time (2-core CPU) | Open in |", "|---|---|---|---|"]
    for rel in sorted(timings):
        path = ROOT / rel
        if not path.is_file():
            continue
        title, summary = _title_and_summary(path)
        link = f"[{title}]({rel})"
        if path.parent.name == "solutions":  # learners open the version without answers
            learner = path.parent.parent / path.name
            link = f"[{title}]({learner.relative_to(ROOT).as_posix()}) ([answers]({rel}))"
        elif (path.parent / "learner" / path.name).is_file():  # a lesson with exercises
            link += f" ([exercises](notebooks/learner/{path.name}))"
        target = _learner_link_path(rel)  # learners open the version with exercises
        cloud = f"[Colab]({settings.colab_url(target)}) · [Kaggle]({settings.kaggle_url(target)})"
        rows.append(f"| {link} | {summary} | {round(timings[rel])} s | {cloud} |")
    total = sum(v for k, v in timings.items() if (ROOT / k).is_file())
    rows.append(f"| **Total** | | **{round(total)} s** | |")
    start = text.index(TABLE_START) + len(TABLE_START)
    end = text.index(TABLE_END)
    readme.write_text(text[:start] + "\n" + "\n".join(rows) + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks and save outputs.")
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {}
    from helpers.authoring import generate_all, stamp_all

    for stamped in stamp_all(NOTEBOOKS):  # the generated first cells, before they are executed
        print(f"set-up cells refreshed: {stamped.relative_to(ROOT)}")
    for path in paths:
        print(f"running {path.relative_to(ROOT)} ...", flush=True)
        seconds = execute(path, args.timeout)
        timings[str(path.relative_to(ROOT))] = round(seconds, 1)
        print(f"  {seconds:.1f} s", flush=True)
    timings = {k: v for k, v in sorted(timings.items()) if (ROOT / k).is_file()}
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    update_readme(timings)
    for written in generate_all(NOTEBOOKS):
        print(f"learner version written: {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
