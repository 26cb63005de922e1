"""The generated first cells of every notebook: links to Colab and Kaggle, and the set-up cell.

The set-up cell's logic is run here with fakes for pip and for the installed versions (fast);
the real paths run elsewhere: "already installed" in every nbval run of `make test` and in
`test_setup_cell_does_nothing_where_the_course_is_installed` below, "install from a wheel" in
`make standalone` (tools/standalone_check.py), which CI runs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import authoring

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = authoring.read_settings(ROOT / "pyproject.toml")


def _settings(**changes) -> authoring.CourseSettings:
    fields = {"repository": "someone/course", "branch": "main", "package": "pytorch-course-helpers",
              "version": "0.1.0", "torch": ("2.14", "2.15"), "torchvision": ("0.29",)}
    return authoring.CourseSettings(**{**fields, **changes})


# --- the one setting -------------------------------------------------------------------------


def test_settings_come_from_pyproject():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert SETTINGS.repository == data["tool"]["course"]["repository"]
    assert SETTINGS.version == data["project"]["version"] and SETTINGS.package == data["project"]["name"]
    assert SETTINGS.torch == ("2.14", "2.15") and SETTINGS.torchvision == ("0.29",)  # torch>=2.14,<2.16
    assert SETTINGS.install_source() == f"pytorch-course-helpers @ git+https://github.com/{SETTINGS.repository}@v0.1.0"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"repository": "no-slash"}, "OWNER/NAME"),
        ({"repository": "a/b c"}, "OWNER/NAME"),
        ({"branch": "-bad"}, "branch"),
        ({"branch": "main; rm"}, "branch"),
        ({"version": "1.2"}, "1.2.3"),
        ({"torch": ()}, "non-empty tuple"),
        ({"torchvision": ("0.x",)}, "minor versions"),
    ],
)
def test_bad_settings_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        _settings(**changes)


def test_read_settings_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="no pyproject.toml"):
        authoring.read_settings(tmp_path / "pyproject.toml")
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\nversion = "0.1.0"\ndependencies = ["torch>=2.14,<2.16"]\n')
    with pytest.raises(ValueError, match=r"\[tool.course\]"):
        authoring.read_settings(path)
    path.write_text(path.read_text() + '[tool.course]\nrepository = "a/b"\n')
    with pytest.raises(ValueError, match="torch and torchvision"):
        authoring.read_settings(path)
    path.write_text(path.read_text().replace('"torch>=2.14,<2.16"', '"torch>=2.14", "torchvision<1"'))
    with pytest.raises(ValueError, match="must bound torch"):
        authoring.read_settings(path)


def test_links_open_the_exercise_version():
    settings = _settings()
    links, _ = authoring.bootstrap_cells("notebooks/03_neural_networks.ipynb", settings)
    assert "(https://colab.research.google.com/github/someone/course/blob/main/notebooks/learner/03_neural_networks.ipynb)" in links
    assert "(https://kaggle.com/kernels/welcome?src=https://github.com/someone/course/blob/main/notebooks/learner/03_neural_networks.ipynb)" in links
    links, _ = authoring.bootstrap_cells("notebooks/assignments/solutions/A2_transfer_learning.ipynb", settings)
    assert "/blob/main/notebooks/assignments/A2_transfer_learning.ipynb)" in links and "solutions" not in links
    with pytest.raises(ValueError, match="repository-relative .ipynb"):
        authoring.bootstrap_cells("/abs/01.ipynb", settings)
    with pytest.raises(ValueError, match="repository-relative .ipynb"):
        settings.colab_url("notebooks/01.py")


# --- placing the cells -------------------------------------------------------------------------


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 42 · Demo"), nbformat.v4.new_markdown_cell("## Setup"),
                nbformat.v4.new_code_cell("import torch", execution_count=1)]
    return nb


def test_cells_go_before_the_first_code_cell_and_a_second_pass_changes_nothing():
    nb = authoring.add_bootstrap(_notebook(), "notebooks/42_demo.ipynb", _settings())
    kinds = [(c.cell_type, c.metadata.get("tags", [])) for c in nb.cells]
    assert kinds[2:4] == [("markdown", ["course-bootstrap"]), ("code", ["course-bootstrap"])]
    assert nb.cells[4].source == "import torch"
    assert [c.id for c in nb.cells[2:4]] == ["course-links", "course-setup"]
    nb.cells[3].execution_count = 1  # as an executed notebook has it
    again = authoring.add_bootstrap(nb, "notebooks/42_demo.ipynb", _settings())
    assert nbformat.writes(again) == nbformat.writes(nb)
    moved = authoring.add_bootstrap(nb, "notebooks/42_demo.ipynb", _settings(repository="fork/course"))
    assert "fork/course" in moved.cells[2].source and moved.cells[3].execution_count == 1  # kept, refreshed


def test_a_notebook_without_code_is_refused():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# only words")]
    with pytest.raises(ValueError, match="no code cell"):
        authoring.add_bootstrap(nb, "notebooks/42_demo.ipynb", _settings())


def test_every_committed_notebook_has_the_current_cells():
    notebooks = authoring.all_notebooks(ROOT / "notebooks")
    assert len(notebooks) >= 14
    assert authoring.stamp_all(ROOT / "notebooks", check=True) == [], "run `make learner`"
    for answer in notebooks:  # the learner versions inherit them
        for path in (answer, authoring.learner_path(answer)):
            nb = nbformat.read(path, as_version=4)
            first_code = next(c for c in nb.cells if c.cell_type == "code")
            assert "course-bootstrap" in first_code.metadata.get("tags", []), path
            assert first_code.get("outputs", []) == [], f"{path}: the set-up cell printed something here"


# --- what the set-up cell does -------------------------------------------------------------------


class _Pip:
    """Stands in for subprocess.run: records pip's command and the constraints it was given."""

    def __init__(self, probe_ok: bool = True):
        self.probe_ok, self.calls, self.constraints = probe_ok, [], None

    def __call__(self, command, **kwargs):
        self.calls.append(command)
        if command[1:3] == ["-m", "pip"]:
            self.constraints = Path(command[command.index("-c") + 1]).read_text()
            return subprocess.CompletedProcess(command, 0)
        return subprocess.CompletedProcess(command, 0 if self.probe_ok else 1)


def _run_setup_cell(monkeypatch, *, installed: bool, versions: dict | None, probe_ok: bool = True,
                    source: str | None = None):
    _, code = authoring.bootstrap_cells("notebooks/42_demo.ipynb", _settings())
    pip = _Pip(probe_ok)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: real_find_spec(name, *a) if installed or name != "helpers" else None)

    def version(name):
        if versions is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", pip)
    if source:
        monkeypatch.setenv("COURSE_PACKAGE_SOURCE", source)
    else:
        monkeypatch.delenv("COURSE_PACKAGE_SOURCE", raising=False)
    exec(compile(code, "setup-cell", "exec"), {})
    return pip


def test_setup_cell_does_nothing_when_helpers_is_importable(monkeypatch, capsys):
    pip = _run_setup_cell(monkeypatch, installed=True, versions={"torch": "2.15.0", "torchvision": "0.29.2"})
    assert pip.calls == [] and capsys.readouterr().out == ""


def test_setup_cell_keeps_a_working_supported_pair(monkeypatch, capsys):
    pip = _run_setup_cell(monkeypatch, installed=False, versions={"torch": "2.14.1+cu124", "torchvision": "0.29.0"},
                          source="/tmp/wheels/course.whl")
    install = pip.calls[-1]
    assert install[:4] == [sys.executable, "-m", "pip", "install"] and "/tmp/wheels/course.whl" in install
    assert pip.constraints == "torch==2.14.1+cu124\ntorchvision==0.29.0\n"
    assert "keeping torch 2.14.1+cu124 and torchvision 0.29.0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("versions", "probe_ok"),
    [
        ({"torch": "2.9.1", "torchvision": "0.24.1"}, True),  # an older pair than the course supports
        ({"torch": "2.15.0", "torchvision": "0.30.0"}, True),  # a pair the course has not been tested with
        ({"torch": "2.15.0", "torchvision": "0.29.2"}, False),  # supported versions that do not work together
        (None, True),  # no torch at all
    ],
)
def test_setup_cell_installs_the_supported_pair_otherwise(monkeypatch, capsys, versions, probe_ok):
    pip = _run_setup_cell(monkeypatch, installed=False, versions=versions, probe_ok=probe_ok)
    assert pip.constraints == ""
    assert "git+https://github.com/someone/course@v0.1.0" in pip.calls[-1][5]
    assert "with torch 2.14/2.15 and torchvision 0.29, as the course needs" in capsys.readouterr().out


def test_setup_cell_does_nothing_where_the_course_is_installed(tmp_path):
    """The real cell, in a fresh interpreter of this environment: no output, no pip (the
    source it would install from does not exist, so trying would fail)."""
    _, code = authoring.bootstrap_cells("notebooks/42_demo.ipynb", SETTINGS)
    env = {"PATH": "/usr/bin:/bin", "COURSE_PACKAGE_SOURCE": str(tmp_path / "missing.whl")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []
