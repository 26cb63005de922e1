"""The notebook runner: executes, stamps the run time, rebuilds the README table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())  # [tool.course]
    return module


def _lesson(tmp_path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 42 · Demo\n\n**In one line:** a demo lesson.\n\n**Run time:** about N s on a 2-core CPU."),
        nbformat.v4.new_code_cell(code),
    ]
    path = tmp_path / "notebooks" / "42_demo.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_execute_saves_outputs_and_stamps_time(runner, tmp_path):
    path = _lesson(tmp_path, "print(6 * 7)")
    seconds = runner.execute(path, timeout=120)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].execution_count == 1
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert f"about {max(1, round(seconds))} s" in nb.cells[0].source
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_execute_fails_on_a_failing_cell(runner, tmp_path):
    from nbclient.exceptions import CellExecutionError

    path = _lesson(tmp_path, "raise ValueError('broken lesson')")
    with pytest.raises(CellExecutionError, match="broken lesson"):
        runner.execute(path, timeout=120)


def test_update_readme_rewrites_only_the_table(runner, tmp_path):
    _lesson(tmp_path, "1")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{runner.TABLE_START}\nold\n{runner.TABLE_END}\noutro\n")
    runner.update_readme({"notebooks/42_demo.ipynb": 12.4, "notebooks/gone.ipynb": 3.0})
    text = readme.read_text()
    assert "| [42 · Demo](notebooks/42_demo.ipynb) | a demo lesson. | 12 s | [Colab](" in text
    assert "/blob/main/notebooks/learner/42_demo.ipynb) · [Kaggle](" in text  # the exercise version
    assert "gone" not in text and "old" not in text
    assert text.startswith("intro\n") and text.endswith("outro\n")


def test_a_lesson_with_exercises_links_its_learner_version(runner, tmp_path):
    for folder in ("notebooks", "notebooks/learner"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# 43 · Demo\n\n**In one line:** exercises inside.")]
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / folder / "43_demo.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text(f"{runner.TABLE_START}\n{runner.TABLE_END}\n")
    runner.update_readme({"notebooks/43_demo.ipynb": 5.0})
    assert "| [43 · Demo](notebooks/43_demo.ipynb) ([exercises](notebooks/learner/43_demo.ipynb)) |" in readme.read_text()


def test_summary_may_wrap_and_assignments_link_the_learner_version(runner, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A9 · Demo\n\n**In one line:** a summary that\nwraps onto a second line.\n\nMore text.")]
    path = tmp_path / "notebooks" / "assignments" / "solutions" / "A9_demo.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    assert runner._title_and_summary(path) == ("A9 · Demo", "a summary that wraps onto a second line.")
    readme = tmp_path / "README.md"
    readme.write_text(f"{runner.TABLE_START}\n{runner.TABLE_END}\n")
    runner.update_readme({"notebooks/assignments/solutions/A9_demo.ipynb": 5.0})
    assert (
        "| [A9 · Demo](notebooks/assignments/A9_demo.ipynb) ([answers](notebooks/assignments/solutions/A9_demo.ipynb))"
        in readme.read_text()
    )
    assert "/blob/main/notebooks/assignments/A9_demo.ipynb) · [Kaggle](https://kaggle.com/" in readme.read_text()
