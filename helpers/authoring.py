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
markers are removed, and so is what only nbgrader uses (see ``tools/nbgrader_meta.py``): the
``nbgrader`` cell metadata and the hidden tests of the check cells, everything from
``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` (an ``assert`` on the check's result,
which would stop a learner's Run All at the first task not done yet).

Every notebook also starts its code with two generated cells, tagged ``course-bootstrap``: a
line of links that open the learner version in Colab or Kaggle, and a small set-up cell that
installs the course package where it is missing (Colab, Kaggle, a bare Jupyter) and does
nothing where it is installed. Both are made from one setting, ``[tool.course]`` in
``pyproject.toml`` (the GitHub repository and branch), with the package version and the
torch / torchvision versions that ``pyproject.toml`` allows.

Run ``python -m helpers.authoring`` to refresh those cells and regenerate every learner
version, or ``python -m helpers.authoring --check`` to list the stale notebooks (exit status 1).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEGIN",
    "END",
    "strip_solutions",
    "make_learner_notebook",
    "answer_notebooks",
    "learner_path",
    "generate_all",
    "BOOTSTRAP_TAG",
    "CourseSettings",
    "read_settings",
    "bootstrap_cells",
    "add_bootstrap",
    "all_notebooks",
    "stamp_all",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
STUB_PREFIX = "# STUB:"
YOUR_CODE = "# YOUR CODE HERE"
YOUR_ANSWER_MD = "_Your answer here._"
LEARNER_DIR = "learner"
SOLUTIONS_DIR = "solutions"
_LESSON_LINK = re.compile(r"\]\((\d\d_[\w-]+\.ipynb)\)")
BOOTSTRAP_TAG = "course-bootstrap"
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_MINOR = re.compile(r"^\d+\.\d+$")


def strip_solutions(source: str, markdown: bool = False) -> str:
    """Return ``source`` with every solution block replaced by its learner stub, and every
    hidden-test block (nbgrader's) removed.

    Raises ``ValueError`` for unbalanced or nested markers.

    Introduced in lesson 00.
    """
    out: list[str] = []
    inside = False
    indent = ""
    stubs: list[str] = []
    hidden = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            if hidden or inside:
                raise ValueError(f"line {number}: {HIDDEN_BEGIN!r} inside another block")
            hidden = True
            continue
        if stripped == HIDDEN_END:
            if not hidden:
                raise ValueError(f"line {number}: {HIDDEN_END!r} without a matching {HIDDEN_BEGIN!r}")
            hidden = False
            continue
        if hidden:
            continue
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
    if hidden:
        raise ValueError(f"a {HIDDEN_BEGIN!r} block is never closed with {HIDDEN_END!r}")
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
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
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


# ------------------------------------------------------------------ the generated first cells
@dataclass(frozen=True)
class CourseSettings:
    """What the generated first cells of every notebook are made from (see ``read_settings``).

    ``repository``: OWNER/NAME on GitHub; ``branch``: where the notebooks are opened from;
    ``package``: the distribution name; ``version``: its version (a release is tagged
    ``v<version>``); ``torch`` and ``torchvision``: the minor versions (``"2.15"``) the course
    supports, from the bounds of ``pyproject.toml``.
    """

    repository: str
    branch: str
    package: str
    version: str
    torch: tuple[str, ...]
    torchvision: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.repository, str) or not _REPOSITORY.match(self.repository):
            raise ValueError(f"repository must be OWNER/NAME as on GitHub, not {self.repository!r}")
        if not isinstance(self.branch, str) or not _BRANCH.match(self.branch):
            raise ValueError(f"branch must be a git branch name such as 'main', not {self.branch!r}")
        if not isinstance(self.package, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", self.package):
            raise ValueError(f"package must be a distribution name, not {self.package!r}")
        if not isinstance(self.version, str) or not _VERSION.match(self.version):
            raise ValueError(f"version must look like 1.2.3, not {self.version!r}")
        for name in ("torch", "torchvision"):
            minors = getattr(self, name)
            if not minors or not all(isinstance(m, str) and _MINOR.match(m) for m in minors):
                raise ValueError(f"{name} must be a non-empty tuple of minor versions such as ('2.15',), not {minors!r}")

    def install_source(self) -> str:
        """What the set-up cell gives pip: this version of the package, from the repository's tag."""
        return f"{self.package} @ git+https://github.com/{self.repository}@v{self.version}"

    def colab_url(self, path: str) -> str:
        """The address that opens the repository notebook ``path`` in Google Colab."""
        return f"https://colab.research.google.com/github/{self.repository}/blob/{self.branch}/{_notebook_path(path)}"

    def kaggle_url(self, path: str) -> str:
        """The address that opens the repository notebook ``path`` in a Kaggle notebook."""
        blob = f"https://github.com/{self.repository}/blob/{self.branch}/{_notebook_path(path)}"
        return f"https://kaggle.com/kernels/welcome?src={blob}"


def _notebook_path(path: str) -> str:
    if not isinstance(path, str) or not path.endswith(".ipynb") or path.startswith(("/", "..")) or "\\" in path:
        raise ValueError(f"path must be a repository-relative .ipynb path such as 'notebooks/01_tensors.ipynb', not {path!r}")
    return path


def _minors(spec: str, name: str) -> tuple[str, ...]:
    """The minor versions (``"2.14"``, ``"2.15"``) that a requirement's specifier allows."""
    from packaging.requirements import Requirement

    requirement = Requirement(spec)
    bounds = {s.operator: s.version for s in requirement.specifier}
    if ">=" not in bounds or "<" not in bounds:
        raise ValueError(f"pyproject.toml must bound {name} as '>=A.B,<C.D' (found {spec!r})")
    low = [int(x) for x in bounds[">="].split(".")[:2]]
    high = [int(x) for x in bounds["<"].split(".")[:2]]
    if low[0] != high[0]:
        raise ValueError(f"the bounds of {name} must share a major version (found {spec!r})")
    minors = [f"{low[0]}.{m}" for m in range(low[1], high[1] + 1)]
    return tuple(m for m in minors if requirement.specifier.contains(f"{m}.0", prereleases=False))


def read_settings(pyproject: Path) -> CourseSettings:
    """Read ``[tool.course]``, the package's name and version and the torch bounds from ``pyproject``.

    Raises ``ValueError`` when the file or a setting is missing or malformed.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the dev extra installs tomli
        import tomli as tomllib
    pyproject = Path(pyproject)
    if not pyproject.is_file():
        raise ValueError(f"no pyproject.toml at {pyproject}")
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    course = data.get("tool", {}).get("course")
    if not isinstance(course, dict) or "repository" not in course:
        raise ValueError(f"{pyproject.name} needs a [tool.course] table with repository = \"OWNER/NAME\"")
    project = data.get("project", {})
    found = {}
    for spec in project.get("dependencies", []):
        name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower()
        if name in {"torch", "torchvision"}:
            found[name] = _minors(spec, name)
    if set(found) != {"torch", "torchvision"}:
        raise ValueError(f"{pyproject.name} must list torch and torchvision among its dependencies")
    return CourseSettings(
        repository=course["repository"],
        branch=course.get("branch", "main"),
        package=project.get("name", ""),
        version=project.get("version", ""),
        torch=found["torch"],
        torchvision=found["torchvision"],
    )


def _learner_link_path(path: str) -> str:
    """The repository path of the learner version of the notebook ``path`` (itself when it is one)."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[-2] == SOLUTIONS_DIR:
        return "/".join(parts[:-2] + parts[-1:])
    if len(parts) == 2 and parts[0] == "notebooks" and re.match(r"^\d\d_", parts[1]):
        return f"notebooks/{LEARNER_DIR}/{parts[1]}"
    return path


def _starts(versions: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{m}."' for m in versions) + ("," if len(versions) == 1 else "") + ")"


def bootstrap_cells(path: str, settings: CourseSettings) -> tuple[str, str]:
    """The sources of the two generated first cells of the repository notebook ``path``.

    The markdown cell links to the learner version in Colab and Kaggle. The code cell does
    nothing when ``helpers`` is importable. Otherwise it installs the course package with pip:
    from ``settings.install_source()``, or from the environment variable
    ``COURSE_PACKAGE_SOURCE`` when it is set (a wheel, a folder or another address). A torch +
    torchvision pair that is already installed, one the course supports, and that works (a
    torchvision operator runs in a separate process) is kept by pinning it; otherwise pip
    installs the pair ``pyproject.toml`` asks for.
    """
    target = _learner_link_path(_notebook_path(path))
    links = (
        f"**Run it in the cloud:** [Open in Colab]({settings.colab_url(target)}) · "
        f"[Open in Kaggle]({settings.kaggle_url(target)}) (the exercise version). There the next cell "
        "installs the course package first, in about a minute; where the course is installed "
        "(`make lab`) it does nothing."
    )
    torch_versions = "/".join(settings.torch)
    vision_versions = "/".join(settings.torchvision)
    code = f'''# Set-up, generated (see the README, "Open a lesson in Colab"): installs the course package
# when it is missing (Colab, Kaggle, a bare Jupyter); does nothing where it is installed.
import importlib.util

if importlib.util.find_spec("helpers") is None:
    import os
    import subprocess
    import sys
    import tempfile
    from importlib.metadata import PackageNotFoundError, version

    source = os.environ.get("COURSE_PACKAGE_SOURCE") or "{settings.install_source()}"
    try:  # keep the host's torch + torchvision if it is a working pair the course supports
        pair = version("torch"), version("torchvision")
    except PackageNotFoundError:
        pair = None
    probe = "import torch, torchvision; torchvision.ops.nms(torch.zeros(1, 4), torch.ones(1), 0.5)"
    keep = (pair is not None and pair[0].startswith({_starts(settings.torch)})
            and pair[1].startswith({_starts(settings.torchvision)})
            and subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0)
    print(f"installing the course package from {{source}}:",
          f"keeping torch {{pair[0]}} and torchvision {{pair[1]}}" if keep else
          "with torch {torch_versions} and torchvision {vision_versions}, as the course needs")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
        pins.write(f"torch=={{pair[0]}}\\ntorchvision=={{pair[1]}}\\n" if keep else "")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source, "-c", pins.name], check=True)
    importlib.invalidate_caches()'''
    return links, code


def _is_bootstrap(cell) -> bool:
    return BOOTSTRAP_TAG in cell.get("metadata", {}).get("tags", [])


def add_bootstrap(nb, path: str, settings: CourseSettings):
    """Return a copy of ``nb`` whose two generated first cells are current (see ``bootstrap_cells``).

    Cells already there keep their place, id, execution count and outputs, and only get the
    current source; missing ones are inserted just before the first code cell. Running it twice
    gives the same notebook. Raises ``ValueError`` for a notebook without a code cell.
    """
    import nbformat

    links, code = bootstrap_cells(path, settings)
    nb = copy.deepcopy(nb)
    cells = nb["cells"]
    present = [c for c in cells if _is_bootstrap(c)]
    kinds = [c["cell_type"] for c in present]
    if kinds == ["markdown", "code"]:
        present[0]["source"], present[1]["source"] = links, code
        return nb
    nb["cells"] = cells = [c for c in cells if not _is_bootstrap(c)]
    first = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), None)
    if first is None:
        raise ValueError(f"{path} has no code cell: the set-up cell goes before the first one")
    with_ids = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
    new = [nbformat.v4.new_markdown_cell(links), nbformat.v4.new_code_cell(code)]
    for cell, cell_id in zip(new, ("course-links", "course-setup"), strict=True):
        cell["metadata"] = {"tags": [BOOTSTRAP_TAG]}
        if with_ids:
            cell["id"] = cell_id
        else:
            cell.pop("id", None)
    cells[first:first] = new
    return nb


def all_notebooks(notebooks_dir: Path) -> list[Path]:
    """Every notebook of the course that carries the generated first cells: lessons, the
    assignments' solutions, and the learner versions made from them (which inherit them)."""
    return sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")) + sorted(
        (notebooks_dir / "assignments" / SOLUTIONS_DIR).glob("*.ipynb")
    )


def stamp_all(notebooks_dir: Path, check: bool = False) -> list[Path]:
    """Refresh (or with ``check=True`` only compare) the generated first cells of every answer
    notebook; return the stale or written paths. The settings come from the ``pyproject.toml``
    next to ``notebooks_dir``."""
    import nbformat

    notebooks_dir = Path(notebooks_dir)
    settings = read_settings(notebooks_dir.resolve().parent / "pyproject.toml")
    changed = []
    for answer in all_notebooks(notebooks_dir):
        relative = answer.resolve().relative_to(notebooks_dir.resolve().parent).as_posix()
        nb = nbformat.read(answer, as_version=4)
        text = _render(add_bootstrap(nb, relative, settings))
        if answer.read_text(encoding="utf-8") == text:
            continue
        changed.append(answer)
        if not check:
            answer.write_text(text, encoding="utf-8")
    return changed


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
    changed = stamp_all(args.notebooks, check=args.check) + generate_all(args.notebooks, check=args.check)
    verb = "stale" if args.check else "written"
    for path in changed:
        print(f"{verb}: {path}")
    if not changed:
        print("the generated first cells and the learner versions are up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
