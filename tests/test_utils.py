import random

import numpy as np
import pytest
import torch

from helpers.utils import (
    artifacts_dir,
    course_root,
    data_dir,
    get_device,
    seed_everything,
    shown_path,
)


def test_seed_everything_repeats_all_generators():
    seed_everything(5)
    first = (random.random(), np.random.rand(), torch.rand(2))
    seed_everything(5)
    second = (random.random(), np.random.rand(), torch.rand(2))
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])


def test_seed_everything_deterministic_flags():
    seed_everything(0, deterministic=True)
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False


@pytest.mark.parametrize("bad", [1.5, "0", None, -1, 2**32, True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed must"):
        seed_everything(bad)


def test_get_device_defaults_to_an_available_device():
    device = get_device()
    assert isinstance(device, torch.device)
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert device.type == "cpu"


def test_get_device_prefer_cpu_and_bad_input():
    assert get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device string"):
        get_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            get_device("cuda")


def test_course_root_finds_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_ROOT", raising=False)
    root = course_root()
    assert (root / "helpers").is_dir() and (root / "notebooks").is_dir()
    monkeypatch.chdir(root / "notebooks")
    assert course_root() == root


def test_artifacts_and_data_dirs_respect_course_root(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    out = artifacts_dir("04", "run1")
    assert out == tmp_path / "artifacts" / "04" / "run1" and out.is_dir()
    assert data_dir("cache") == tmp_path / "data" / "cache"
    assert artifacts_dir("04") == tmp_path / "artifacts" / "04"  # second call: no "file exists"


@pytest.mark.parametrize("bad", ["..", "a/b", "", 4])
def test_artifacts_dir_rejects_paths_that_escape(bad, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    with pytest.raises(ValueError, match="plain folder name"):
        artifacts_dir(bad)


def test_shown_path_is_relative_inside_the_course(monkeypatch, tmp_path):
    root = tmp_path / "course"
    (root / "helpers").mkdir(parents=True)
    (root / "notebooks").mkdir()
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.chdir(root / "notebooks")
    target = root / "artifacts" / "08" / "model.onnx"
    assert shown_path(target) == "../artifacts/08/model.onnx"
    assert shown_path(str(target)) == "../artifacts/08/model.onnx"
    assert "course" not in shown_path(target)


def test_shown_path_keeps_paths_outside_the_course(monkeypatch, tmp_path):
    root = tmp_path / "course"
    (root / "helpers").mkdir(parents=True)
    (root / "notebooks").mkdir()
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.chdir(root)
    outside = tmp_path / "elsewhere" / "x.onnx"
    assert shown_path(outside) == str(outside)
    monkeypatch.chdir(tmp_path)  # working outside the course: absolute, as given
    assert shown_path(root / "data") == str(root / "data")


@pytest.mark.parametrize("bad", [None, 3, ["a"]])
def test_shown_path_rejects_non_paths(bad):
    with pytest.raises(ValueError, match="path must be a str or a path"):
        shown_path(bad)
