"""tools/standalone_check.py: the wheel-only run of every learner notebook (`make standalone`).

The whole run takes minutes and is a CI stage of its own; these tests cover its parts: which
notebooks it runs, how it judges a wheel, and the environment its kernels get.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("standalone_check", ROOT / "tools" / "standalone_check.py")
standalone = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standalone)


def _wheel(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "course-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return path


def test_it_runs_every_learner_version_then_the_assignments():
    notebooks = standalone.learner_notebooks()
    names = [p.name for p in notebooks]
    assert names[0] == "00_getting_started.ipynb"  # the one whose set-up cell installs the wheel
    assert [p.parent.name for p in notebooks].count("learner") == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert names[-3:] == ["A1_fundamentals.ipynb", "A2_transfer_learning.ipynb", "A3_ship_it.ipynb"]
    assert all("solutions" not in p.parts for p in notebooks)


def test_an_empty_notebook_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="make learner"):
        standalone.learner_notebooks(tmp_path)


def test_a_wheel_is_judged_by_what_the_notebooks_need(tmp_path):
    good = _wheel(tmp_path, ["helpers/__init__.py", *standalone.NEEDED_IN_WHEEL])
    assert standalone.wheel_problems(good) == []
    (tmp_path / "bad").mkdir()
    bad = _wheel(tmp_path / "bad", ["helpers/__init__.py", "helpers/ddp_mnist.py", "notebooks/01_tensors.ipynb"])
    problems = standalone.wheel_problems(bad)
    assert "the wheel lacks helpers/photos_data/MANIFEST.csv" in problems
    assert "the wheel carries a checkout file: notebooks/01_tensors.ipynb" in problems


def test_kernels_see_the_fresh_environment_and_no_course_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ROOT", str(ROOT))
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{ROOT / 'tools' / 'offline'}")
    env = standalone.environment(tmp_path / "venv", tmp_path)
    assert "COURSE_ROOT" not in env
    assert env["PYTHONPATH"] == str(ROOT / "tools" / "offline")  # only make's offline guard
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "venv" / "bin")
    assert env["JUPYTER_PATH"] == ""
    monkeypatch.delenv("PYTHONPATH")
    assert standalone.environment(tmp_path / "venv", tmp_path)["PYTHONPATH"] == ""


@pytest.mark.slow
def test_the_built_wheel_carries_the_photos_and_the_ddp_script(tmp_path):
    """Builds the real wheel (about 10 s; needs the package registry for setuptools)."""
    standalone._run([sys.executable, "-m", "uv", "build", "--out-dir", str(tmp_path), str(ROOT)])
    (wheel,) = tmp_path.glob("*.whl")
    assert standalone.wheel_problems(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        photos = [n for n in archive.namelist() if n.startswith("helpers/photos_data/images/")]
    assert len(photos) == 165
