"""Unit tests for the lesson 08 exercise check: export a model that serves any batch size."""

from __future__ import annotations

import warnings

import pytest
import torch

from helpers.checks import CheckFailed
from helpers.deploy import export_onnx
from helpers.exercises.lesson08 import check_export_for_serving, exercise_model


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def _export(model, example, path, **kwargs):
    settings = dict(
        input_names=["images"],
        output_names=["logits"],
        dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
        dynamo=False,
    )
    settings.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), path, **settings)


def answer(model, example, path):
    model.eval()
    _export(model, example, path)


def with_the_helper(model, example, path):
    export_onnx(model, example, path, ["images"], ["logits"], dynamo=False)


def dynamo_answer(model, example, path):
    model.eval()
    onnx_program = torch.onnx.export(model, (example,), input_names=["images"], output_names=["logits"],
                                     dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True)
    onnx_program.save(path)
    return onnx_program


def dynamo_never_saved(model, example, path):
    model.eval()
    return torch.onnx.export(model, (example,), input_names=["images"], output_names=["logits"],
                             dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True)


@pytest.mark.slow
def test_the_dynamo_answer_passes_and_an_unsaved_program_gets_its_hint(tmp_path, capsys):
    assert check_export_for_serving(dynamo_answer, tmp_path / "d.onnx") is True
    assert "✓" in capsys.readouterr().out
    assert check_export_for_serving(dynamo_never_saved, tmp_path / "u.onnx") is False
    out = capsys.readouterr().out
    assert "made an ONNXProgram but wrote no file" in out and "onnx_program.save(path)" in out, out


def test_an_unsaved_program_is_named_without_exporting(tmp_path, capsys):
    class ONNXProgram:  # stands in for torch.onnx.ONNXProgram: the check reads only the type's name
        pass

    assert check_export_for_serving(lambda model, example, path: ONNXProgram(), tmp_path / "u.onnx") is False
    assert "made an ONNXProgram but wrote no file at u.onnx" in capsys.readouterr().out


def test_the_checks_do_not_hide_the_learners_warnings(tmp_path):
    def warns(model, example, path):
        warnings.warn("look at me", UserWarning, stacklevel=1)
        answer(model, example, path)

    with pytest.warns(UserWarning, match="look at me"):
        assert check_export_for_serving(warns, tmp_path / "w.onnx") is True


def test_answers_pass(tmp_path, capsys):
    assert check_export_for_serving(answer, tmp_path / "a.onnx") is True
    assert check_export_for_serving(with_the_helper, str(tmp_path / "b.onnx")) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "batches of 1, 3, 7" in out


def test_a_stale_file_does_not_count(tmp_path, capsys):
    path = tmp_path / "model.onnx"
    assert check_export_for_serving(answer, path) is True

    def stub(model, example, path):
        pass

    assert check_export_for_serving(stub, path) is False  # the file of the earlier call is removed first
    assert "no file at model.onnx" in capsys.readouterr().out


def test_stub_is_not_done(tmp_path, capsys):
    assert check_export_for_serving(None, tmp_path / "m.onnx") is False
    assert "not done yet" in capsys.readouterr().out


def default_names(model, example, path):
    model.eval()
    _export(model, example, path, input_names=None, output_names=None, dynamic_axes=None)


def wrong_output_name(model, example, path):
    model.eval()
    _export(model, example, path, output_names=["y"], dynamic_axes={"images": {0: "batch"}, "y": {0: "batch"}})


def fixed_batch(model, example, path):
    model.eval()
    _export(model, example, path, dynamic_axes=None)


def training_mode(model, example, path):
    from torch.onnx import TrainingMode

    _export(model, example, path, training=TrainingMode.TRAINING)  # the model was handed over in train mode


def writes_elsewhere(model, example, path):
    answer(model, example, path.with_name("other.onnx"))


def writes_garbage(model, example, path):
    path.write_bytes(b"<html>not a model</html>")


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (default_names, "input_names=['images']"),
        (wrong_output_name, "output_names=['logits']"),
        (fixed_batch, "batch axis is fixed at 2"),
        (fixed_batch, "dynamic_shapes=({0: torch.export.Dim('batch')},)"),
        (training_mode, "call model.eval() before exporting"),
        (writes_garbage, "is not a valid ONNX model"),
    ],
)
def test_wrong_answers_get_their_hint(wrong, hint, tmp_path, capsys):
    assert check_export_for_serving(wrong, tmp_path / "model.onnx") is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def test_no_file_is_named_with_a_hint_about_the_path(tmp_path, capsys):
    assert check_export_for_serving(writes_elsewhere, tmp_path / "model.onnx") is False
    out = capsys.readouterr().out
    assert "✗" in out and "left no file at model.onnx" in out and "the path you were given" in out
    assert not (tmp_path / "model.onnx").exists()


def test_a_crash_is_reported_not_raised(tmp_path, capsys):
    def crashes_for_real(model, example, path):
        raise RuntimeError("boom")

    assert check_export_for_serving(crashes_for_real, tmp_path / "m.onnx") is False
    assert "raised RuntimeError: boom" in capsys.readouterr().out


def test_the_exercise_model_is_in_training_mode_with_real_statistics():
    model = exercise_model()
    assert model.training
    assert model[1].running_mean.abs().sum() > 0.1
    x = torch.randn(4, 1, 8, 8)
    assert model.eval()(x).shape == (4, 3)


@pytest.mark.parametrize("path", [None, 3, "model.pt"])
def test_bad_path_raises(path):
    with pytest.raises(ValueError, match="ending in .onnx"):
        check_export_for_serving(answer, path)


def test_bad_input_is_reported(tmp_path, capsys):
    assert check_export_for_serving(42, tmp_path / "m.onnx") is False
    assert "expected a function, got a int" in capsys.readouterr().out


def test_strict_mode_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed):
        check_export_for_serving(fixed_batch, tmp_path / "m.onnx")
    assert check_export_for_serving(answer, tmp_path / "m.onnx") is True


def test_the_check_leaves_the_global_random_state_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_export_for_serving(answer, tmp_path / "m.onnx")
    assert torch.equal(torch.rand(3), expected)


def exports_another_model(model, example, path):
    other = exercise_model().eval()
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(0.5)
    answer(other, example, path)


def test_another_model_is_not_blamed_on_eval_mode(tmp_path, capsys):
    assert check_export_for_serving(exports_another_model, tmp_path / "model.onnx") is False
    out = capsys.readouterr().out
    assert "holds another model" in out and "model.eval()" not in out, out
