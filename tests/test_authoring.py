from pathlib import Path

import nbformat
import pytest

from helpers import authoring

ANSWER = """x = 1
### BEGIN SOLUTION
# STUB: y = None
y = x + 1
### END SOLUTION
print(y)"""


def test_strip_solutions_uses_stub_lines():
    assert authoring.strip_solutions(ANSWER) == "x = 1\n# YOUR CODE HERE\ny = None\nprint(y)"


def test_strip_solutions_keeps_indentation_and_defaults_to_pass():
    source = "def f(a):\n    ### BEGIN SOLUTION\n    return a * 2\n    ### END SOLUTION"
    assert authoring.strip_solutions(source) == "def f(a):\n    # YOUR CODE HERE\n    pass"


def test_strip_solutions_drops_nbval_markers_and_handles_markdown():
    assert authoring.strip_solutions("# NBVAL_CHECK_OUTPUT\nprint(1)") == "print(1)"
    assert authoring.strip_solutions("# NBVAL_IGNORE_OUTPUT: timings\nprint(2)") == "print(2)"
    # a comment that merely mentions the marker later in the line stays
    assert authoring.strip_solutions("# see NBVAL_CHECK_OUTPUT\nprint(3)").startswith("# see")
    md = "Answer:\n### BEGIN SOLUTION\nIt is 42.\n### END SOLUTION"
    assert authoring.strip_solutions(md, markdown=True) == "Answer:\n_Your answer here._"


@pytest.mark.parametrize(
    "source,message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without a matching"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unbalanced_markers_are_errors(source, message):
    with pytest.raises(ValueError, match=message):
        authoring.strip_solutions(source)


def test_make_learner_notebook_clears_outputs_and_rewrites_links():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("[next](02_autograd.ipynb) and [web](https://pytorch.org)"),
        nbformat.v4.new_code_cell(ANSWER, execution_count=3, outputs=[nbformat.v4.new_output("stream", text="2\n")]),
    ]
    learner = authoring.make_learner_notebook(nb)
    assert learner.cells[0].source == "[next](../02_autograd.ipynb) and [web](https://pytorch.org)"
    assert learner.cells[1].outputs == [] and learner.cells[1].execution_count is None
    assert "y + 1" not in learner.cells[1].source
    assert nb.cells[1].execution_count == 3  # the answer notebook is untouched


def test_learner_path_mapping(tmp_path):
    assert authoring.learner_path(tmp_path / "01_tensors.ipynb") == tmp_path / "learner" / "01_tensors.ipynb"
    solution = tmp_path / "assignments" / "solutions" / "A1.ipynb"
    assert authoring.learner_path(solution) == tmp_path / "assignments" / "A1.ipynb"


def test_generate_all_writes_then_reports_nothing_stale(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(ANSWER)]
    nbformat.write(nb, tmp_path / "05_x.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "06_no_exercises.ipynb")
    assert authoring.generate_all(tmp_path, check=True) == [tmp_path / "learner" / "05_x.ipynb"]
    assert authoring.generate_all(tmp_path) == [tmp_path / "learner" / "05_x.ipynb"]
    assert authoring.generate_all(tmp_path, check=True) == []
    assert not (tmp_path / "learner" / "06_no_exercises.ipynb").exists()


def test_main_refreshes_the_first_cells_then_the_learner_versions(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (tmp_path / "pyproject.toml").write_text((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · X"), nbformat.v4.new_code_cell(ANSWER)]
    nbformat.write(nb, notebooks / "05_x.ipynb")
    assert authoring.main(["--notebooks", str(notebooks), "--check"]) == 1
    assert "stale:" in capsys.readouterr().out
    assert authoring.main(["--notebooks", str(notebooks)]) == 0
    learner = nbformat.read(notebooks / "learner" / "05_x.ipynb", as_version=4)
    assert [c.metadata.get("tags", []) for c in learner.cells[1:3]] == [["course-bootstrap"]] * 2
    assert authoring.main(["--notebooks", str(notebooks), "--check"]) == 0


def test_strip_solutions_drops_hidden_tests():
    source = 'results["task 1"] = c(f)\n### BEGIN HIDDEN TESTS\nassert results["task 1"], "m"\n### END HIDDEN TESTS'
    assert authoring.strip_solutions(source) == 'results["task 1"] = c(f)'
    for bad in ("### BEGIN HIDDEN TESTS\nassert x", "### END HIDDEN TESTS"):
        with pytest.raises(ValueError, match="HIDDEN TESTS"):
            authoring.strip_solutions(bad)


def test_learner_versions_carry_no_nbgrader_metadata():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A9"), nbformat.v4.new_code_cell(ANSWER)]
    for cell in nb.cells:
        cell.metadata["nbgrader"] = {"grade_id": "x", "locked": True}
    learner = authoring.make_learner_notebook(nb)
    assert all("nbgrader" not in cell.metadata for cell in learner.cells)
    assert all("nbgrader" in cell.metadata for cell in nb.cells)  # the source is untouched
