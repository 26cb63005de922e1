"""One source of truth for exercises: generate learner versions from the answer notebooks.

Answer notebooks hold working answers between nbgrader-style markers::

    ### BEGIN SOLUTION
    # STUB: batch_shape = None
    batch_shape = tuple(images.shape)
    ### END SOLUTION

The learner version replaces everything between the markers by ``# YOUR CODE HERE``
followed by the ``# STUB:`` lines turned into code (``batch_shape = None``), so the
learner notebook still runs top to bottom and its check reports "not done yet".
Without a ``# STUB:`` line the block becomes ``pass`` (fine inside a function body).
Outputs, execution counts and the ``# NBVAL_CHECK_OUTPUT`` / ``# NBVAL_IGNORE_OUTPUT: why``
markers are removed.

Run ``python -m helpers.authoring`` to regenerate every learner version, or
``python -m helpers.authoring --check`` to list the stale ones (exit status 1).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

__all__ = [
    "BEGIN",
    "END",
    "strip_solutions",
    "make_learner_notebook",
    "answer_notebooks",
    "learner_path",
    "generate_all",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB_PREFIX = "# STUB:"
YOUR_CODE = "# YOUR CODE HERE"
YOUR_ANSWER_MD = "_Your answer here._"
LEARNER_DIR = "learner"
SOLUTIONS_DIR = "solutions"
_LESSON_LINK = re.compile(r"\]\((\d\d_[\w-]+\.ipynb)\)")


def strip_solutions(source: str, markdown: bool = False) -> str:
    """Return ``source`` with every solution block replaced by its learner stub.

    Raises ``ValueError`` for unbalanced or nested markers.

    Introduced in lesson 00.
    """
    out: list[str] = []
    inside = False
    indent = ""
    stubs: list[str] = []
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"line {number}: {BEGIN!r} inside another solution block")
            inside, indent, stubs = True, line[: len(line) - len(line.lstrip())], []
            continue
        if stripped == END:
            if not inside:
                raise ValueError(f"line {number}: {END!r} without a matching {BEGIN!r}")
            inside = False
            if markdown:
                out.append(YOUR_ANSWER_MD)
            else:
                out.append(indent + YOUR_CODE)
                out.extend(indent + stub for stub in stubs) if stubs else out.append(indent + "pass")
            continue
        if inside:
            if stripped.startswith(STUB_PREFIX):
                stubs.append(stripped[len(STUB_PREFIX):].strip())
            continue
        if stripped.startswith("#") and stripped.lstrip("# ").startswith("NBVAL_"):
            continue  # test-harness marker (check or ignore output): no use to a learner
        out.append(line)
    if inside:
        raise ValueError(f"a {BEGIN!r} block is never closed with {END!r}")
    return "\n".join(out)


def has_solutions(nb) -> bool:
    """Return True if any cell of the notebook contains a solution block."""
    return any(BEGIN in "".join(cell.get("source", "")) for cell in nb["cells"])


def make_learner_notebook(nb, depth_up: bool = True):
    """Return a copy of the notebook ``nb`` with answers stubbed out and every output cleared.

    With ``depth_up`` (a learner version one folder below its lesson), links such as
    ``](02_autograd.ipynb)`` are rewritten to ``](../02_autograd.ipynb)``.

    Introduced in lesson 00.
    """
    learner = copy.deepcopy(nb)
    for cell in learner["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "code":
            cell["source"] = strip_solutions(source)
            cell["outputs"] = []
            cell["execution_count"] = None
            cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k not in {"execution"}}
        elif cell["cell_type"] == "markdown":
            if BEGIN in source:
                source = strip_solutions(source, markdown=True)
            cell["source"] = _LESSON_LINK.sub(r"](../\1)", source) if depth_up else source
    learner["metadata"] = {k: v for k, v in learner.get("metadata", {}).items() if k in {"kernelspec", "language_info"}}
    return learner


def answer_notebooks(notebooks_dir: Path) -> list[Path]:
    """Return the answer notebooks that contain exercises: lessons and assignment solutions."""
    import nbformat

    candidates = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    candidates += sorted((notebooks_dir / "assignments" / SOLUTIONS_DIR).glob("*.ipynb"))
    return [p for p in candidates if has_solutions(nbformat.read(p, as_version=4))]


def learner_path(answer: Path) -> Path:
    """Map an answer notebook to its learner version.

    ``notebooks/NN_x.ipynb`` → ``notebooks/learner/NN_x.ipynb``;
    ``notebooks/assignments/solutions/A1.ipynb`` → ``notebooks/assignments/A1.ipynb``.
    """
    if answer.parent.name == SOLUTIONS_DIR:
        return answer.parent.parent / answer.name
    return answer.parent / LEARNER_DIR / answer.name


def _render(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def generate_all(notebooks_dir: Path, check: bool = False) -> list[Path]:
    """Write (or with ``check=True`` only compare) every learner version; return the stale/written paths."""
    import nbformat

    changed = []
    for answer in answer_notebooks(notebooks_dir):
        target = learner_path(answer)
        text = _render(make_learner_notebook(nbformat.read(answer, as_version=4), depth_up=target.parent.name == LEARNER_DIR))
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        changed.append(target)
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks", type=Path, help="folder of answer notebooks")
    parser.add_argument("--check", action="store_true", help="only report stale learner versions")
    args = parser.parse_args(argv)
    changed = generate_all(args.notebooks, check=args.check)
    verb = "stale" if args.check else "written"
    for path in changed:
        print(f"{verb}: {path}")
    if not changed:
        print("learner versions are up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
