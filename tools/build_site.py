"""Build the course website from the committed, executed notebooks: ``make site``.

Nothing is executed again: every lesson page shows the outputs and figures that
``make notebooks`` saved. The script

1. finds the pages: every lesson (``notebooks/[0-9][0-9]_*.ipynb``), every assignment's
   learner version (``notebooks/assignments/*.ipynb``), the debugging guide, the
   assignments' README and the measured report with its charts, and a home page made from
   the lesson table of README.md;
2. copies them into a staging folder (``artifacts/site-src/``), the repository's layout
   kept, with every relative link rewritten for the site: a link to another page stays a
   page link (anchors included), ``../README.md`` becomes the home page, and a link to any
   other file of the repository (a learner version, an answer notebook, a script) becomes a
   download of that file; a link to a file that does not exist stops the build;
3. adds a facts box under each notebook's title: the run time measured by ``make notebooks``
   (``notebooks/timings.json``), the torch release it was verified with (printed by the
   notebook itself when it prints one, otherwise the torch that requirements.lock pins for
   the Python that executed it), a download of the notebook as committed, and its learner
   version;
4. runs Sphinx (myst-nb, the book theme, MathJax 3 served from the site) with warnings as
   errors, into ``artifacts/site/``.

The notebooks themselves are only read; the staging folder and the site are git-ignored.
The "Open in Colab / Kaggle" links are not added here: every notebook already carries them in
its generated first cells (``helpers.authoring``, from ``[tool.course]`` in pyproject.toml), so
the pages show the same links as the notebooks, made from the one setting.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import posixpath
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "site"
STAGING = ROOT / "artifacts" / "site-src"
OUTPUT = ROOT / "artifacts" / "site"
DOCTREES = ROOT / "artifacts" / "site-doctrees"
TABLE_START, TABLE_END = "<!-- lesson-table:start -->", "<!-- lesson-table:end -->"
LESSON_GLOB = "notebooks/[0-9][0-9]_*.ipynb"
ASSIGNMENT_GLOB = "notebooks/assignments/*.ipynb"
# Markdown pages of the site besides the notebooks, in the order of the navigation
MARKDOWN_PAGES = ("notebooks/assignments/README.md", "notebooks/DEBUGGING.md", "reports/REPORT.md")
FILES = "_files"  # downloads: exact copies of repository files, under the same relative paths
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
# MathJax 3 files the pages need: the TeX-to-HTML component, its fonts, and the TeX
# extensions it loads on demand (\boldsymbol, \cancel, ...)
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui")

# A code span, or a Markdown link or image: [text](target "title")
_LINK = re.compile(
    r"(?P<code>`+[^`\n]*?`+)"
    r"|(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"\n]*\")?\)"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# a line such as "torch           : 2.15.0+cu132" or "torch 2.15.0 | onnx 1.23.2" printed by a cell
_TORCH_PRINTED = re.compile(r"^\s*torch\s*:?\s+(\d+)\.(\d+)\.\d+", re.MULTILINE)
_TORCH_PIN = re.compile(r"^torch==(\d+)\.(\d+)[^\s;]*\s*(?:;\s*(.+))?$", re.MULTILINE)


class BuildError(RuntimeError):
    """The site cannot be built as asked (a broken link, a missing page, Sphinx failed)."""


@dataclass(frozen=True)
class Rewritten:
    """Markdown with its links rewritten for the site, and the repository files it needs.

    ``downloads``: files linked to as downloads (copied under ``_files/``); ``images``: files
    shown as images (copied beside the page, at their own relative path). Introduced for
    ``make site``.
    """

    text: str
    downloads: frozenset[str]
    images: frozenset[str]


def lesson_paths(root: Path = ROOT) -> list[str]:
    """The lessons, in course order: ``notebooks/NN_*.ipynb`` as repository-relative POSIX paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.glob(LESSON_GLOB))


def assignment_paths(root: Path = ROOT) -> list[str]:
    """The assignments' learner versions, in order: ``notebooks/assignments/*.ipynb``."""
    return sorted(p.relative_to(root).as_posix() for p in root.glob(ASSIGNMENT_GLOB))


def resolve(source: str, target: str) -> str:
    """The repository path that the relative link ``target`` in the file ``source`` points to.

    Both are POSIX paths relative to the repository root; an anchor is not part of ``target``.
    Raises ``ValueError`` for an empty target or one that leaves the repository.
    """
    if not target:
        raise ValueError(f"{source}: an empty link target")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    if joined == ".." or joined.startswith("../") or posixpath.isabs(target):
        raise ValueError(f"{source}: the link {target!r} points outside the repository")
    return joined


def relative_url(source: str, target: str) -> str:
    """The link from the page ``source`` to the site file ``target`` (both repository-relative)."""
    return posixpath.relpath(target, posixpath.dirname(source) or ".")


def rewrite_links(
    markdown: str, source: str, pages: set[str] | frozenset[str], exists: Callable[[str], bool]
) -> Rewritten:
    """Rewrite the relative links of ``markdown`` (the text of the file ``source``) for the site.

    ``pages``: repository paths that become pages of the site; ``exists(path)`` says whether
    a repository file exists. A link to a page stays a link to it (with its anchor), one to
    ``README.md`` goes to the home page, one to any other file becomes a download of it, and
    an image is shipped beside the page. Links with a scheme (``https:``), bare anchors and
    code (spans and fenced blocks) are left alone. Raises ``ValueError`` naming the file and
    the link when a link points to a file that does not exist.
    """
    if not isinstance(markdown, str):
        raise ValueError(f"markdown must be a str, not {type(markdown).__name__}")
    downloads: set[str] = set()
    images: set[str] = set()

    def replace(match: re.Match) -> str:
        if match.group("code"):
            return match.group(0)
        target = match.group("target")
        if _SCHEME.match(target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo_path = resolve(source, path)
        if repo_path == "README.md":
            new = relative_url(source, "index.md")
        elif not exists(repo_path):
            raise ValueError(f"{source}: the link {target!r} points to {repo_path}, which does not exist")
        elif repo_path in pages:
            new = relative_url(source, repo_path) + (f"#{anchor}" if anchor else "")
        elif match.group("bang") and repo_path.lower().endswith(IMAGE_SUFFIXES):
            images.add(repo_path)
            new = relative_url(source, repo_path)
        else:
            downloads.add(repo_path)
            new = "path:" + relative_url(source, f"{FILES}/{repo_path}")  # path: makes MyST a download
        title = match.group("title") or ""
        return f"{match.group('bang')}[{match.group('text')}]({new}{title})"

    out, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
        else:
            out.append(line if fenced else _LINK.sub(replace, line))
    return Rewritten("".join(out), frozenset(downloads), frozenset(images))


def lesson_table(readme: str) -> str:
    """The lesson table of README.md: the lines between the lesson-table markers, stripped.

    Raises ``ValueError`` when a marker is missing or the table is empty.
    """
    if TABLE_START not in readme or TABLE_END not in readme:
        raise ValueError(f"README.md has no lesson table: the markers {TABLE_START} and {TABLE_END} are missing")
    start = readme.index(TABLE_START) + len(TABLE_START)
    end = readme.index(TABLE_END)
    if end < start:
        raise ValueError(f"README.md: {TABLE_END} comes before {TABLE_START}")
    table = readme[start:end].strip()
    if not table.startswith("|"):
        raise ValueError("README.md: the lesson table between the markers is empty")
    return table


def home_page(readme: str, toc: dict[str, list[str]]) -> str:
    """The Markdown of the home page: README's title, first paragraph and lesson table, then the
    navigation in course order (``toc``: caption -> repository paths of its pages, in order).

    Raises ``ValueError`` when README.md has no ``# `` title or no lesson table.
    """
    lines = readme.splitlines()
    titles = [i for i, line in enumerate(lines) if line.startswith("# ")]
    if not titles:
        raise ValueError("README.md has no '# ' title for the home page")
    first = titles[0]
    paragraph: list[str] = []
    for line in lines[first + 1 :]:
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            break
    parts = [lines[first], "", *paragraph, "", "## The lessons", "", lesson_table(readme), ""]
    parts += [
        "Each page shows a lesson as `make notebooks` executed it, with every output and figure. To do the",
        "exercises, download the learner version from the box under the lesson's title, or open",
        "`notebooks/learner/` in your checkout.",
    ]
    listed = {p for paths in toc.values() for p in paths}
    if "notebooks/DEBUGGING.md" in listed:
        parts.append("When a training run misbehaves, the [debugging guide](notebooks/DEBUGGING.md) is the checklist.")
    if "reports/REPORT.md" in listed:
        parts.append("[The report](reports/REPORT.md) has the course's measured numbers.")
    parts.append("")
    for caption, paths in toc.items():
        if not paths:
            continue
        entries = [posixpath.splitext(p)[0] for p in paths]
        parts += ["```{toctree}", ":hidden:", f":caption: {caption}", "", *entries, "```", ""]
    return "\n".join(parts)


def printed_torch_version(nb: dict) -> str | None:
    """The torch release (``"2.15"``) that a cell of the notebook ``nb`` printed, or ``None``."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            found = _TORCH_PRINTED.search(text)
            if found:
                return f"{found.group(1)}.{found.group(2)}"
    return None


def locked_torch_version(lock: str, python_version: str) -> str | None:
    """The torch release (``"2.15"``) that the lock file text ``lock`` pins for ``python_version``.

    ``python_version`` is a full version such as ``"3.11.7"``; ``None`` when no pin applies.
    Raises ``ValueError`` for a version that is not ``X.Y`` or ``X.Y.Z``.
    """
    from packaging.markers import Marker

    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", python_version or ""):
        raise ValueError(f"python_version must look like 3.11 or 3.11.7, not {python_version!r}")
    short = ".".join(python_version.split(".")[:2])
    env = {"python_full_version": python_version, "python_version": short}
    for major, minor, marker in _TORCH_PIN.findall(lock):
        if not marker or Marker(marker).evaluate(env):
            return f"{major}.{minor}"
    return None


def facts_box(
    page: str,
    seconds: float | None,
    torch: str | None,
    torch_source: str,
    downloads: list[tuple[str, str]],
) -> str:
    """The Markdown of the facts box under a notebook page's title.

    ``page``: the page's repository path; ``seconds``: its measured run time (``None`` when not
    measured yet); ``torch``: the release it was verified with and ``torch_source`` how that
    is known; ``downloads``: (label, repository path) pairs, linked under ``_files/``.
    Raises ``ValueError`` for a negative time.
    """
    if seconds is not None and seconds < 0:
        raise ValueError(f"{page}: a run time cannot be negative ({seconds})")
    run_time = (
        f"**Run time:** {max(1, round(seconds))} s on a 2-core CPU, measured by `make notebooks`"
        if seconds is not None
        else "**Run time:** not measured yet (`make notebooks` measures it)"
    )
    verified = f"**Verified with torch {torch}** ({torch_source})" if torch else "**torch release:** unknown"
    links = [f"[{label}](path:{relative_url(page, f'{FILES}/{path}')})" for label, path in downloads]
    return "\n".join([":::{container} course-meta", run_time, "·", verified, "", " · ".join(links), ":::", ""])


def _markdown_cell(source: str, with_id: bool) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": source}
    if with_id:  # nbformat 4.5 and later: every cell has an id
        cell["id"] = "course-facts"
    return cell


def _write(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` unless it already holds it (Sphinx then skips unchanged pages)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def mathjax_dir() -> Path:
    """The folder of MathJax 3's browser files (``es5/``) in the installed django-static-mathjax."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("MathJax is not installed: run `make site`, which installs the site extra")
    for location in spec.submodule_search_locations:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / "tex-chtml.js").is_file():
            return es5
    raise BuildError("the installed package `mathjax` has no static/mathjax/es5/tex-chtml.js")


def stage(
    root: Path = ROOT,
    staging: Path = STAGING,
    conf_dir: Path = CONF_DIR,
    mathjax: Path | None = None,
) -> list[str]:
    """Fill ``staging`` with the site's sources; return the repository paths of its pages, in order.

    ``root``: the repository; ``conf_dir``: the Sphinx configuration copied in (``site/``);
    ``mathjax``: MathJax's ``es5`` folder (default: the installed one). Raises ``BuildError``
    for a broken link, no lessons or a README without its lesson table.
    """
    lessons, assignments = lesson_paths(root), assignment_paths(root)
    if not lessons:
        raise BuildError(f"no lessons found ({LESSON_GLOB})")
    markdown_pages = [p for p in MARKDOWN_PAGES if (root / p).is_file()]
    pages = set(lessons) | set(assignments) | set(markdown_pages)
    timings = json.loads((root / "notebooks" / "timings.json").read_text(encoding="utf-8"))
    lock = (root / "requirements.lock").read_text(encoding="utf-8")

    def exists(path: str) -> bool:
        return (root / path).is_file()

    written: set[Path] = set()
    downloads: set[str] = set()
    images: set[str] = set()

    def put(rel: str, data: str | bytes) -> None:
        _write(staging / rel, data)
        written.add(staging / rel)

    def rewrite(text: str, source: str) -> str:
        try:
            done = rewrite_links(text, source, pages, exists)
        except ValueError as err:
            raise BuildError(str(err)) from err
        downloads.update(done.downloads)
        images.update(done.images)
        return done.text

    for rel in lessons + assignments:
        nb = json.loads((root / rel).read_text(encoding="utf-8"))
        is_assignment = rel in assignments
        # an assignment's page is its learner version (no outputs): facts come from its answers
        executed = f"notebooks/assignments/solutions/{Path(rel).name}" if is_assignment else rel
        executed_nb = json.loads((root / executed).read_text(encoding="utf-8")) if exists(executed) else nb
        torch = printed_torch_version(executed_nb)
        torch_source = "printed by the notebook when it was executed"
        python = executed_nb.get("metadata", {}).get("language_info", {}).get("version", "")
        if torch is None and re.fullmatch(r"\d+\.\d+(\.\d+)?", python):
            torch = locked_torch_version(lock, python)
            torch_source = f"pinned by requirements.lock for Python {python}, which executed it"
        if is_assignment:
            offered = [("Download this assignment (.ipynb)", rel)]
            if exists(executed):
                offered.append(("the answers (.ipynb)", executed))
        else:
            offered = [("Download this notebook (.ipynb, with outputs)", rel)]
            learner = f"notebooks/learner/{Path(rel).name}"
            if exists(learner):
                offered.append(("the learner version, exercises to do (.ipynb)", learner))
        downloads.update(path for _, path in offered)
        box = facts_box(rel, timings.get(executed), torch, torch_source, offered)
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                source = cell["source"]
                cell["source"] = rewrite("".join(source) if isinstance(source, list) else source, rel)
        nb["cells"].insert(1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0, _markdown_cell(box, nb.get("nbformat_minor", 0) >= 5))
        nb.get("metadata", {}).pop("widgets", None)  # no widget JavaScript from a CDN
        put(rel, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")

    for rel in markdown_pages:
        put(rel, rewrite((root / rel).read_text(encoding="utf-8"), rel))

    toc = {"Lessons": lessons, "Assignments": [p for p in markdown_pages if "assignments/" in p] + assignments}
    toc["Reference"] = [p for p in markdown_pages if "assignments/" not in p]
    readme = (root / "README.md").read_text(encoding="utf-8")
    try:
        put("index.md", rewrite(home_page(readme, toc), "README.md"))
    except ValueError as err:
        raise BuildError(str(err)) from err

    for rel in sorted(images):
        put(rel, (root / rel).read_bytes())
    for rel in sorted(downloads):
        put(f"{FILES}/{rel}", (root / rel).read_bytes())
    for src in conf_dir.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            put(src.relative_to(conf_dir).as_posix(), src.read_bytes())
    es5 = mathjax or mathjax_dir()
    for part in MATHJAX_PARTS:
        src = es5 / part
        if not src.exists():
            raise BuildError(f"MathJax has no {part} in {es5}")
        for file in [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file()):
            put(f"_static/mathjax/{file.relative_to(es5).as_posix()}", file.read_bytes())
    # files of an earlier build that this one no longer has (a renamed lesson)
    for old in sorted(staging.rglob("*"), reverse=True):
        if old.is_file() and old not in written:
            old.unlink()
        elif old.is_dir() and not any(old.iterdir()):
            old.rmdir()
    return ["index.md", *toc["Lessons"], *toc["Assignments"], *toc["Reference"]]


def build(staging: Path = STAGING, output: Path = OUTPUT, jobs: str = "auto") -> None:
    """Run Sphinx on ``staging`` into ``output``, warnings as errors; raise ``BuildError`` when it fails.

    Always a full build: an incremental one keeps the old navigation on pages that did not
    change (a new lesson would be missing from their sidebars) and the pages of a renamed lesson.
    """
    if output.exists():
        if any(output.iterdir()) and not (output / ".buildinfo").is_file():
            raise BuildError(f"refusing to replace {output}: it is not a site that Sphinx built")
        shutil.rmtree(output)
    shutil.rmtree(DOCTREES, ignore_errors=True)
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-j", jobs,
        "-d", str(DOCTREES), str(staging), str(output),
    ]  # fmt: skip
    if subprocess.run(command, cwd=staging).returncode != 0:
        raise BuildError("Sphinx reported errors (above); the site was not built")


def site_requirements(pyproject: str) -> list[str]:
    """The requirements of the ``site`` extra in the text of ``pyproject.toml``.

    Lets a publishing job install only what the build needs (no torch). Raises ``ValueError``
    when the file has no ``site`` extra.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10 in a bare environment: the extra is one line
        section = re.search(r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[|\Z)", pyproject, re.M | re.S)
        found = section and re.search(r"^site\s*=\s*\[([^\]]*)\]", section.group(1), re.M)
        wanted = re.findall(r'"([^"]+)"', found.group(1)) if found else []
    else:
        wanted = tomllib.loads(pyproject).get("project", {}).get("optional-dependencies", {}).get("site", [])
    if not wanted:
        raise ValueError("pyproject.toml has no `site` extra under [project.optional-dependencies]")
    return list(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where the site goes (default {OUTPUT})")
    parser.add_argument("--jobs", default="auto", help="Sphinx's parallel jobs (default: auto)")
    parser.add_argument(
        "--requirements", action="store_true", help="print the site extra's requirements, one a line, and stop"
    )
    args = parser.parse_args(argv)
    if args.requirements:
        print("\n".join(site_requirements((ROOT / "pyproject.toml").read_text(encoding="utf-8"))))
        return 0
    started = time.monotonic()
    try:
        pages = stage()
        staged = time.monotonic()
        build(output=args.output, jobs=args.jobs)
    except (BuildError, ValueError) as err:
        print(f"make site: {err}", file=sys.stderr)
        return 1
    print(
        f"site: {len(pages)} pages in {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
        f" (staged in {staged - started:.1f} s, Sphinx {time.monotonic() - staged:.1f} s);"
        f" open {args.output / 'index.html'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
