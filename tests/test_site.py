"""Unit tests of the website's pure logic: tools/build_site.py and tools/site_check.py.

Fast: no Sphinx run and no browser (``make site-test`` does those, on the real site).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import authoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_site  # noqa: E402
import site_check  # noqa: E402

PAGES = frozenset({"notebooks/04_training.ipynb", "notebooks/05_data_pipelines.ipynb", "notebooks/DEBUGGING.md"})
FILES = PAGES | {"notebooks/learner/04_training.ipynb", "helpers/ddp_mnist.py", "reports/latency.png", "README.md"}


def exists(path: str) -> bool:
    return path in FILES


def rewrite(text: str, source: str = "notebooks/04_training.ipynb") -> build_site.Rewritten:
    return build_site.rewrite_links(text, source, PAGES, exists)


# --- links -----------------------------------------------------------------------------------


def test_page_links_stay_page_links_with_their_anchor():
    done = rewrite("[05 · Data pipelines →](05_data_pipelines.ipynb) and [errors](DEBUGGING.md#errors-with-a-message)")
    assert done.text == "[05 · Data pipelines →](05_data_pipelines.ipynb) and [errors](DEBUGGING.md#errors-with-a-message)"
    assert not done.downloads and not done.images


def test_readme_becomes_the_home_page_and_other_files_downloads():
    done = rewrite("[Course README](../README.md) · [the script](../helpers/ddp_mnist.py)")
    assert "[Course README](../index.md)" in done.text
    assert "[the script](path:../_files/helpers/ddp_mnist.py)" in done.text
    assert done.downloads == {"helpers/ddp_mnist.py"}


def test_links_from_the_home_page_are_relative_to_the_root():
    done = rewrite("[04](notebooks/04_training.ipynb) ([exercises](notebooks/learner/04_training.ipynb))", "README.md")
    assert done.text == "[04](notebooks/04_training.ipynb) ([exercises](path:_files/notebooks/learner/04_training.ipynb))"


def test_images_ship_beside_the_page():
    done = rewrite('![latency](latency.png "Latency")', "reports/REPORT.md")
    assert done.text == '![latency](latency.png "Latency")'
    assert done.images == {"reports/latency.png"} and not done.downloads


def test_urls_anchors_and_code_are_left_alone():
    text = "[docs](https://pytorch.org/docs) [up](#setup) `[not](a-link.md)`\n```\n[x](nowhere.md)\n```\n"
    assert rewrite(text).text == text


def test_a_link_to_a_missing_file_names_the_file_and_the_link():
    with pytest.raises(ValueError, match=r"04_training.ipynb: the link 'no_such\.ipynb' points to notebooks/no_such\.ipynb"):
        rewrite("[gone](no_such.ipynb)")


def test_a_link_out_of_the_repository_is_refused():
    with pytest.raises(ValueError, match="outside the repository"):
        rewrite("[up](../../elsewhere.md)")
    with pytest.raises(ValueError, match="an empty link"):
        build_site.resolve("README.md", "")


def test_rewrite_refuses_what_is_not_text():
    with pytest.raises(ValueError, match="must be a str"):
        build_site.rewrite_links(["# a list"], "README.md", PAGES, exists)


# --- the home page ----------------------------------------------------------------------------

README = """# A course

A numbered series of notebooks.
Second line of the paragraph.

## The lessons
<!-- lesson-table:start -->
| Notebook | What you learn | Run time (2-core CPU) |
|---|---|---|
| [04 · Training](notebooks/04_training.ipynb) | losses | 53 s |
<!-- lesson-table:end -->
"""


def test_home_page_has_the_title_paragraph_table_and_navigation_in_order():
    toc = {"Lessons": ["notebooks/04_training.ipynb", "notebooks/05_data_pipelines.ipynb"], "Reference": ["notebooks/DEBUGGING.md"]}
    page = build_site.home_page(README, toc)
    assert page.startswith("# A course\n\nA numbered series of notebooks.\nSecond line of the paragraph.\n")
    assert "| [04 · Training](notebooks/04_training.ipynb) | losses | 53 s |" in page
    lessons = page.index(":caption: Lessons")
    assert lessons < page.index("notebooks/04_training\nnotebooks/05_data_pipelines") < page.index(":caption: Reference")
    # and it survives the link rewriting (its own links all resolve)
    assert build_site.rewrite_links(page, "README.md", PAGES | {"reports/REPORT.md"}, lambda p: True).text


def test_lesson_table_needs_its_markers_and_rows():
    assert build_site.lesson_table(README).splitlines()[0].startswith("| Notebook")
    with pytest.raises(ValueError, match="no lesson table"):
        build_site.lesson_table("# A course\n")
    with pytest.raises(ValueError, match="empty"):
        build_site.lesson_table("<!-- lesson-table:start -->\n<!-- lesson-table:end -->")
    with pytest.raises(ValueError, match="no '# ' title"):
        build_site.home_page("no title\n" + README.split("\n", 1)[1], {})


def test_the_real_readme_gives_a_home_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lessons = build_site.lesson_paths()
    page = build_site.home_page(readme, {"Lessons": lessons})
    assert lessons and all(Path(p).stem in page for p in lessons)


# --- facts: run time, torch, downloads ------------------------------------------------------

LOCK = """torch==2.14.1 ; python_full_version < '3.11'
    # via pytorch-course-helpers
torch==2.15.0 ; python_full_version >= '3.11'
torchvision==0.29.2
"""


def test_locked_torch_version_follows_the_python_marker():
    assert build_site.locked_torch_version(LOCK, "3.10.14") == "2.14"
    assert build_site.locked_torch_version(LOCK, "3.11.7") == "2.15"
    assert build_site.locked_torch_version("torch==2.15.1\n", "3.12") == "2.15"
    assert build_site.locked_torch_version("numpy==2.0\n", "3.12") is None
    with pytest.raises(ValueError, match="3.11 or 3.11.7"):
        build_site.locked_torch_version(LOCK, "eleven")


def test_printed_torch_version_reads_what_a_cell_printed():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["python          : 3.11.7\n", "torch           : 2.15.0+cu132\n"]},
    ]}]}  # fmt: skip
    assert build_site.printed_torch_version(nb) == "2.15"
    lesson08 = {"cells": [{"outputs": [{"data": {"text/plain": "torch 2.14.1 | onnx 1.23.2"}}]}]}
    assert build_site.printed_torch_version(lesson08) == "2.14"
    assert build_site.printed_torch_version({"cells": [{"outputs": [{"text": "torch tensors: 2 of them"}]}]}) is None


def test_the_lessons_say_which_torch_they_were_verified_with():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for rel in build_site.lesson_paths():
        nb = json.loads((ROOT / rel).read_text(encoding="utf-8"))
        python = nb["metadata"].get("language_info", {}).get("version", "3.11")
        assert build_site.printed_torch_version(nb) or build_site.locked_torch_version(lock, python), rel


def test_facts_box_links_downloads_relative_to_the_page():
    box = build_site.facts_box(
        "notebooks/04_training.ipynb", 53.3, "2.15", "printed by the notebook",
        [("this notebook", "notebooks/04_training.ipynb"), ("learner", "notebooks/learner/04_training.ipynb")],
    )  # fmt: skip
    assert box.startswith(":::{container} course-meta\n") and box.rstrip().endswith(":::")
    assert "53 s on a 2-core CPU" in box and "**Verified with torch 2.15** (printed by the notebook)" in box
    assert "[learner](path:../_files/notebooks/learner/04_training.ipynb)" in box
    assert "not measured yet" in build_site.facts_box("notebooks/10_new.ipynb", None, None, "", [])
    with pytest.raises(ValueError, match="cannot be negative"):
        build_site.facts_box("notebooks/04_training.ipynb", -1.0, "2.15", "", [])


def test_site_requirements_come_from_pyproject():
    wanted = build_site.site_requirements((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(r.startswith("myst-nb") for r in wanted) and not any(r.startswith("torch") for r in wanted)
    with pytest.raises(ValueError, match="no `site` extra"):
        build_site.site_requirements("[project]\nname = 'x'\n")


def test_site_requirements_without_a_toml_parser(monkeypatch):
    """A bare Python 3.10 (no tomllib, no tomli) still reads the one-line extra, the same way."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    parsed = build_site.site_requirements(pyproject)
    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` now fails
    assert build_site.site_requirements(pyproject) == parsed
    assert {r.split(">")[0] for r in parsed} >= {"sphinx", "myst-nb"}
    with pytest.raises(ValueError, match="no `site` extra"):
        build_site.site_requirements("[project.optional-dependencies]\ndev = [\"pytest\"]\n")


def test_pages_are_discovered_by_glob_in_course_order(tmp_path):
    for name in ("10_new.ipynb", "02_b.ipynb", "00_a.ipynb", "notes.ipynb", "assignments/A2_x.ipynb", "assignments/A1_y.ipynb"):
        (tmp_path / "notebooks" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "notebooks" / name).write_text("{}")
    assert build_site.lesson_paths(tmp_path) == ["notebooks/00_a.ipynb", "notebooks/02_b.ipynb", "notebooks/10_new.ipynb"]
    assert build_site.assignment_paths(tmp_path) == ["notebooks/assignments/A1_y.ipynb", "notebooks/assignments/A2_x.ipynb"]


# --- the browser check's pure parts ----------------------------------------------------------

ORIGIN = "http://127.0.0.1:8000"


def test_internal_target_resolves_relative_links_and_anchors():
    page = "notebooks/04_training.html"
    assert site_check.internal_target("05_data_pipelines.html#setup", page, ORIGIN) == ("notebooks/05_data_pipelines.html", "setup")
    assert site_check.internal_target("../_static/mathjax/tex-chtml.js?v=1", page, ORIGIN) == ("_static/mathjax/tex-chtml.js", "")
    assert site_check.internal_target("../", page, ORIGIN) == ("index.html", "")
    assert site_check.internal_target("#summary", page, ORIGIN) == (page, "summary")
    assert site_check.internal_target("../_images/a%20b.png", page, ORIGIN) == ("_images/a b.png", "")


def test_internal_target_ignores_links_that_leave_the_site():
    for url in ("https://pytorch.org/docs", "mailto:a@b.c", "javascript:void(0)", "data:image/png;base64,xx", "http://127.0.0.1:9999/x"):
        assert site_check.internal_target(url, "index.html", ORIGIN) is None
    with pytest.raises(ValueError, match="empty link"):
        site_check.internal_target("  ", "index.html", ORIGIN)


def test_raw_maths_finds_tex_left_in_the_text_and_nothing_else():
    assert site_check.raw_maths("the loss $\\log K$ is 2.30") == ["$\\log K$"]
    assert site_check.raw_maths("a \\frac{1}{2} half") == ["\\frac"]
    assert site_check.raw_maths("inline \\(x\\) maths") == ["\\("]
    assert site_check.raw_maths("$$") == ["$$"]
    assert site_check.raw_maths("it costs 5 $ and 3 $ more; 90 % of the data") == []
    with pytest.raises(ValueError, match="must be a str"):
        site_check.raw_maths(None)


def test_plant_faults_puts_every_fault_in_the_body():
    html = site_check.plant_faults("<html><body class='x'><p>hi</p></body></html>")
    assert html.index("<body class='x'>") < html.index("no-such-page-planted.html") < html.index("<p>hi</p>")
    assert all(fault in html for fault in site_check.PLANTED.values())
    with pytest.raises(ValueError, match="no <body>"):
        site_check.plant_faults("<p>no body</p>")


def test_site_pages_lists_the_home_page_first(tmp_path):
    with pytest.raises(ValueError, match="make site"):
        site_check.site_pages(tmp_path)
    for rel in ("index.html", "search.html", "notebooks/00_a.html", "_static/x.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html></html>")
    assert site_check.site_pages(tmp_path) == ["index.html", "notebooks/00_a.html", "search.html"]


# --- staging a tiny repository (no Sphinx) ---------------------------------------------------


def _notebook(cells: list[dict]) -> str:
    return json.dumps({"cells": cells, "metadata": {"language_info": {"version": "3.11.7"}}, "nbformat": 4, "nbformat_minor": 5})


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "id": "m", "metadata": {}, "source": text}


def _tiny_repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "README.md": README.replace("| 53 s |", "| 53 s |\n| [05 · Next](notebooks/05_next.ipynb) | more | 2 s |"),
        "requirements.lock": LOCK,
        "notebooks/timings.json": json.dumps({"notebooks/04_training.ipynb": 53.3}),
        "notebooks/04_training.ipynb": _notebook([
            _md("# 04 · Training\n\n[Course README](../README.md) · [05 · Next →](05_next.ipynb)"),
            {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "source": "print(1)",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "torch : 2.15.0\n"}]},
        ]),
        "notebooks/05_next.ipynb": _notebook([_md("# 05 · Next\n\n[the script](../scripts/run.py)")]),
        "notebooks/learner/04_training.ipynb": _notebook([]),
        "scripts/run.py": "print('hello')\n",
        "site/conf.py": "project = 'x'\n",
        "mathjax/tex-chtml.js": "// MathJax\n",
    }  # fmt: skip
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    for part in build_site.MATHJAX_PARTS[1:]:
        (root / "mathjax" / part).mkdir(parents=True, exist_ok=True)
    return root


def test_stage_copies_rewrites_and_adds_the_facts_box_without_touching_the_sources(tmp_path):
    root = _tiny_repository(tmp_path)
    before = (root / "notebooks/04_training.ipynb").read_text(encoding="utf-8")
    staging = tmp_path / "staging"
    (staging / "notebooks").mkdir(parents=True)
    (staging / "notebooks/99_renamed.ipynb").write_text("{}")  # left by an earlier build
    pages = build_site.stage(root, staging, conf_dir=root / "site", mathjax=root / "mathjax")
    assert pages == ["index.md", "notebooks/04_training.ipynb", "notebooks/05_next.ipynb"]
    assert (root / "notebooks/04_training.ipynb").read_text(encoding="utf-8") == before
    nb = json.loads((staging / "notebooks/04_training.ipynb").read_text(encoding="utf-8"))
    assert "[Course README](../index.md)" in nb["cells"][0]["source"]
    facts = nb["cells"][1]["source"]
    assert "53 s on a 2-core CPU" in facts and "Verified with torch 2.15** (printed by the notebook" in facts
    assert "path:../_files/notebooks/learner/04_training.ipynb" in facts
    assert nb["cells"][1]["id"] == "course-facts" and nb["cells"][2]["outputs"]
    second = json.loads((staging / "notebooks/05_next.ipynb").read_text(encoding="utf-8"))
    assert "not measured yet" in second["cells"][1]["source"]
    assert "pinned by requirements.lock for Python 3.11.7" in second["cells"][1]["source"]
    for rel in ("index.md", "conf.py", "_static/mathjax/tex-chtml.js", "_files/scripts/run.py",
                "_files/notebooks/04_training.ipynb", "_files/notebooks/learner/04_training.ipynb"):  # fmt: skip
        assert (staging / rel).is_file(), rel
    assert not (staging / "notebooks/99_renamed.ipynb").exists()
    home = (staging / "index.md").read_text(encoding="utf-8")
    assert ":caption: Lessons\n\nnotebooks/04_training\nnotebooks/05_next\n" in home


def test_stage_stops_on_a_broken_link_and_names_it(tmp_path):
    root = _tiny_repository(tmp_path)
    (root / "notebooks/05_next.ipynb").write_text(_notebook([_md("[gone](06_missing.ipynb)")]), encoding="utf-8")
    with pytest.raises(build_site.BuildError, match=r"05_next.ipynb: the link '06_missing.ipynb'"):
        build_site.stage(root, tmp_path / "staging", conf_dir=root / "site", mathjax=root / "mathjax")


def test_the_pages_keep_the_notebooks_generated_cloud_links_and_add_none(tmp_path):
    # the links come from [tool.course] through helpers.authoring, into the notebook itself;
    # the site must show them untouched (no rewriting of an outside address) and add no other
    root = _tiny_repository(tmp_path)
    settings = authoring.CourseSettings("someone/fork", "main", "course", "1.0.0", ("2.15",), ("0.29",))
    path = root / "notebooks/04_training.ipynb"
    nb = authoring.add_bootstrap(json.loads(path.read_text(encoding="utf-8")), "notebooks/04_training.ipynb", settings)
    path.write_text(json.dumps(nb), encoding="utf-8")
    links = next(c for c in nb["cells"] if c.get("id") == "course-links")["source"]
    links = "".join(links) if isinstance(links, list) else links
    assert settings.colab_url("notebooks/learner/04_training.ipynb") in links
    build_site.stage(root, tmp_path / "staging", conf_dir=root / "site", mathjax=root / "mathjax")
    staged = json.loads((tmp_path / "staging/notebooks/04_training.ipynb").read_text(encoding="utf-8"))
    cells = {c.get("id"): "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in staged["cells"]}
    assert cells["course-links"] == links
    assert "colab" not in cells["course-facts"].lower() and "kaggle" not in cells["course-facts"].lower()
