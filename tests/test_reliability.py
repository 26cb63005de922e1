"""Tests of the reliability checks themselves: each must fail when its property is broken.

* re-runs and determinism: ``tools/check_reruns.py`` (run by ``make rerun``);
* a clean tree: ``tools/check_clean.py`` (run after ``make test``, ``make rerun``, ``make e2e``);
* the browser test: ``tools/e2e_lab.py`` proves itself with ``--self-test`` inside ``make e2e``;
  here only its pure parts are tested (no browser in the unit tests).

The offline guard, hostile pickles, corrupt ONNX files and the spawn start method have
their own tests (test_offline_and_portability.py, test_checkpoints.py, test_deploy.py).
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reruns():
    return _tool("check_reruns")


@pytest.fixture(scope="module")
def clean():
    return _tool("check_clean")


def _notebook(folder: Path, *cells: str, name: str = "demo.ipynb") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / name
    nbformat.write(nb, path)
    return path


def _committed(path: Path, reruns) -> Path:
    """Execute ``path`` once and save it with outputs, as `make notebooks` does."""
    nb = reruns.execute(path, timeout=60)
    nbformat.write(nb, path)
    return path


# ---- re-runs and determinism -------------------------------------------------------------


def test_normalise_masks_durations_but_keeps_results(reruns):
    text = "test accuracy 0.943 after 4.2 s of training (310 ms per epoch, 12.5 it/s)\nshape (64, 10) at 0x7f3a2b1c9d00"
    assert reruns.normalise(text) == (
        "test accuracy 0.943 after <time> of training (<time> per epoch, <time>)\nshape (64, 10) at 0x…"
    )
    # numbers that are not durations stay, so a changed accuracy or shape is still caught
    assert reruns.normalise("accuracy 0.943, 5 samples") == "accuracy 0.943, 5 samples"
    assert reruns.normalise("closed by peer [127.0.0.1]:28856") == "closed by peer [127.0.0.1]:<port>"
    # another clone of the course lives in another folder
    for root in ("/work/main", "/tmp/cc", "/home/ana/pytorch-course"):
        masked = reruns.normalise(f"torch lives in : {root}/.venv/lib/site-packages")
        assert masked == "torch lives in : <checkout>/.venv/lib/site-packages"
        assert reruns.normalise(f"files go to {root}/data/full.") == "files go to <checkout>/data/full."
    assert reruns.normalise("saved to artifacts/04/model.pt") == "saved to artifacts/04/model.pt"
    # a table row pads its columns to the width of a duration that is masked anyway
    row_a, row_b = "CNN   105,962   97.6%   24   9.8 s    1.2 s", "CNN   105,962   97.6%   24    10.2 s   1.2 s"
    assert reruns.normalise(row_a) == reruns.normalise(row_b) == "CNN 105,962 97.6% 24 <time> <time>"
    assert reruns.normalise("CNN   105,962   97.6%") != reruns.normalise("CNN   105,962   97.5%")


def test_execute_leaves_this_process_environment_alone(reruns, tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    nb = reruns.execute(_notebook(tmp_path, "import os\nprint(os.environ.get('COURSE_STRICT_CHECKS'))"), timeout=60)
    assert nb.cells[0].outputs[0]["text"] == "1\n"  # the kernel ran with strict checks
    assert "COURSE_STRICT_CHECKS" not in __import__("os").environ


@pytest.mark.slow
def test_a_seeded_notebook_passes(reruns, tmp_path):
    path = _committed(_notebook(tmp_path, "import torch\ntorch.manual_seed(0)\nprint(torch.rand(3))"), reruns)
    assert reruns.main([str(path)]) == 0


@pytest.mark.slow
def test_an_unseeded_notebook_is_caught_by_both_properties(reruns, tmp_path, capsys):
    path = _committed(_notebook(tmp_path, "import torch\nprint('weights', torch.rand(4))"), reruns)
    assert reruns.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "same machine: 1 cells differ" in out and "(not identical)" in out
    assert "committed outputs: 1 cells outside the tolerance policy" in out and "more than the" in out


@pytest.mark.slow
def test_a_changed_result_is_caught_against_the_committed_outputs(reruns, tmp_path, capsys):
    """Deterministic, so the same-machine property holds; the committed figure is 3 points off."""
    path = _committed(_notebook(tmp_path, "print('accuracy', 0.976)", "print('shape', (64, 10))"), reruns)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "print('accuracy', 0.946)"
    nb.cells[1].source = "print('shape', (64, 12))"
    nbformat.write(nb, path)
    assert reruns.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "same machine" not in out and "committed outputs: 2 cells outside the tolerance policy" in out
    assert "0.976 vs 0.946" in out and "10 vs 12: integers must be equal" in out


@pytest.mark.slow
def test_an_ignored_cell_is_not_compared(reruns, tmp_path):
    path = _committed(_notebook(tmp_path, "# NBVAL_IGNORE_OUTPUT\nimport torch\nprint(torch.rand(3))"), reruns)
    assert reruns.main([str(path)]) == 0


@pytest.mark.slow
def test_a_notebook_that_fails_when_run_twice_is_caught(reruns, tmp_path, capsys):
    # the first run creates a folder; the second fails with FileExistsError, as a careless lesson would
    made = tmp_path / "made_by_the_notebook"
    path = _committed(_notebook(tmp_path, f"import os\nos.mkdir({str(made)!r})\nprint('ok')"), reruns)
    assert reruns.main([str(path)]) == 1
    assert "FileExistsError" in capsys.readouterr().out


# the figures the issue saw move between an AMD EPYC and an Intel Xeon: all within the policy
CPU_NOISE = [
    ("maxdiff: 3.05e-16", "maxdiff: 2.78e-16"),
    ("tensor([1., 1., 1., 1.])", "tensor([1.0000, 1.0000, 1.0000, 1.0000])"),
    ("weight max |manual - SGD| = 0.0e+00", "weight max |manual - SGD| = 1.2e-07"),
    ("ONNX Runtime vs PyTorch: max |diff| = 1.96e-05", "ONNX Runtime vs PyTorch: max |diff| = 1.45e-05"),
    ("checksum -119.22769", "checksum -119.227748"),
    ("test accuracy 0.976", "test accuracy 0.978"),
    ("MLP 0.941 | CNN 0.976", "MLP 0.942 | CNN 0.975"),
    ("loss 2.3026 -> 0.3121", "loss 2.3026 -> 0.3109"),
    ("pretrained head: 98.8 %", "pretrained head: 98.4 %"),
    ("tensor([[ 0.1000, -2.5000]])", "tensor([[ 0.1, -2.5]])"),
]
# real changes: each must still be caught, with the rule it broke
REAL_CHANGES = [
    ("test accuracy 0.976", "test accuracy 0.946", "more than the"),  # 3 points lower
    ("pretrained head: 98.8 %", "pretrained head: 95.8 %", "more than the"),
    ("loss 0.3121", "loss 0.3321", "more than the"),  # 6 % higher
    ("shape torch.Size([64, 10])", "shape torch.Size([64, 12])", "integers must be equal"),
    ("1,234,567 parameters", "1,234,568 parameters", "integers must be equal"),
    ("top-1: tabby cat", "top-1: tiger cat", "text around the numbers"),
    ("conv1 weight", "conv2 weight", "text around the numbers"),
    ("dtype float32", "dtype float64", "text around the numbers"),
    ("parity error 1e-05", "parity error 3e-04", "order of magnitude"),
    ("(3, 4)", "(3, 4, 1)", "text around the numbers"),
]


@pytest.mark.parametrize(("committed", "fresh"), CPU_NOISE)
def test_cpu_noise_is_within_the_tolerance_policy(reruns, committed, fresh):
    assert reruns.lines_agree(committed, fresh) is None


@pytest.mark.parametrize(("committed", "fresh", "rule"), REAL_CHANGES)
def test_real_changes_break_the_tolerance_policy(reruns, committed, fresh, rule):
    assert rule in reruns.lines_agree(committed, fresh)


def test_numbers_are_read_as_written(reruns):
    texts, numbers = reruns.split_numbers("torch.Size([64, 1, 28, 28]) fc2 784-512-10 1,000 x=-0.5 1e-3")
    assert numbers == ["64", "1", "28", "28", "784", "512", "10", "1,000", "-0.5", "1e-3"]
    assert "fc2" in "".join(texts)  # a digit inside a name is text, not a number
    assert reruns.numbers_agree("2", "2.0") is None  # a float that prints as an integer elsewhere
    assert reruns.numbers_agree("7", "8") == "integers must be equal"


def _executed(source: str, text: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    return nb


def test_compare_is_strict_on_one_machine_and_tolerant_against_the_committed_outputs(reruns):
    committed, fresh = _executed("print(acc)", "accuracy 0.976\n"), _executed("print(acc)", "accuracy 0.978\n")
    assert reruns.compare(committed, fresh, tolerant=True) == []
    strict = reruns.compare(committed, fresh, labels=("run 1", "run 2"))
    assert strict == ["code cell 1: run 1 'accuracy 0.976', run 2 'accuracy 0.978' (not identical)"]
    worse = _executed("print(acc)", "accuracy 0.946\n")
    assert "more than the" in reruns.compare(committed, worse, tolerant=True)[0]
    longer = _executed("print(acc)", "accuracy 0.976\nepoch 7\n")  # an extra line: early stopping moved
    assert "different numbers of lines" in reruns.compare(committed, longer, tolerant=True)[0]


def test_a_notebook_with_a_different_number_of_cells_is_reported(reruns):
    a, b = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    a.cells = [nbformat.v4.new_code_cell("1")]
    assert reruns.compare(a, b) == ["the notebooks have 1 and 0 code cells"]


def test_stderr_and_figures_are_not_compared(reruns):
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="epochs: 100%|####| 3/3\n"),
        nbformat.v4.new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure size 640x480>"}),
        nbformat.v4.new_output("stream", name="stdout", text="loss 0.25\n"),
    ]
    assert reruns.reported_text(cell) == "loss 0.25"


# ---- a clean working tree ----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("artifacts/\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", ".gitignore"], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True
    )
    return tmp_path


def test_a_notebook_writing_under_artifacts_leaves_the_tree_clean(clean, reruns, repo):
    path = _notebook(repo, "from pathlib import Path\nPath('artifacts').mkdir(exist_ok=True)\nPath('artifacts/out.txt').write_text('x')")
    subprocess.run(["git", "-C", str(repo), "add", path.name], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "nb"], check=True)
    reruns.execute(path, timeout=60)
    assert clean.main([str(repo)]) == 0


def test_a_notebook_writing_outside_artifacts_is_caught(clean, reruns, repo, capsys):
    path = _notebook(repo, "open('results.csv', 'w').write('accuracy,0.9')")
    subprocess.run(["git", "-C", str(repo), "add", path.name], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "nb"], check=True)
    reruns.execute(path, timeout=60)
    assert clean.main([str(repo)]) == 1
    assert "?? results.csv" in capsys.readouterr().out


def test_check_clean_counts_only_what_the_run_changed(clean, repo, capsys):
    """A learner's own edits made before the run do not fail the check; a run's changes do."""
    record = repo / "artifacts" / "before.json"
    (repo / "mine.txt").write_text("my notes")  # the learner's file, there before the run
    assert clean.main(["--record", str(record), str(repo)]) == 0
    assert clean.main(["--since", str(record), str(repo)]) == 0
    assert clean.main([str(repo)]) == 1  # without a record every change counts
    capsys.readouterr()
    (repo / "mine.txt").write_text("overwritten by the run")  # an already changed file, changed again
    (repo / "results.csv").write_text("accuracy,0.9")
    assert clean.main(["--since", str(record), str(repo)]) == 1
    out = capsys.readouterr().out
    assert "?? mine.txt" in out and "?? results.csv" in out
    with pytest.raises(ValueError, match="needs a file name"):
        clean.main(["--since"])


def test_check_clean_skips_outside_git_and_rejects_a_missing_folder(clean, tmp_path, capsys):
    assert clean.main([str(tmp_path)]) == 0
    assert "not a git checkout" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no folder at"):
        clean.changes(tmp_path / "missing")


# ---- the browser test's own parts --------------------------------------------------------


def test_e2e_writes_a_notebook_that_raises(tmp_path, monkeypatch):
    e2e = _tool("e2e_lab")
    monkeypatch.setattr(e2e, "SHOTS", tmp_path / "artifacts" / "e2e")
    monkeypatch.setattr(e2e, "ROOT", tmp_path)
    rel = e2e.write_broken_notebook()
    nb = nbformat.read(tmp_path / rel, as_version=4)
    assert rel == "artifacts/e2e/broken_on_purpose.ipynb"
    assert any("raise ValueError" in c.source for c in nb.cells)


def test_e2e_settings_keep_the_repository_clean_and_render_every_cell(tmp_path):
    e2e = _tool("e2e_lab")
    e2e.write_settings(tmp_path)
    import json

    docmanager = json.loads((tmp_path / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings").read_text())
    tracker = json.loads((tmp_path / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").read_text())
    assert docmanager == {"autosave": False}
    assert tracker == {"windowingMode": "none"}
    assert "--no-sandbox" in e2e.CHROMIUM_ARGS and "--disable-background-networking" in e2e.CHROMIUM_ARGS


def test_e2e_rejects_a_missing_notebook(capsys):
    e2e = _tool("e2e_lab")
    with pytest.raises(SystemExit):
        e2e.main(["notebooks/does_not_exist.ipynb"])
    assert "no notebook at notebooks/does_not_exist.ipynb" in capsys.readouterr().err
