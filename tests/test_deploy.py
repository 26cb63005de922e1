"""Unit tests for helpers.deploy (lesson 08): ONNX export, sessions, operator counts, timing."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from helpers import utils
from helpers.deploy import export_onnx, median_latency, onnx_op_counts, onnx_session


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


class _TwoInputs(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * 2 + b


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    model = _tiny()
    export_onnx(model, torch.randn(2, 4), path, input_names=["x"], output_names=["y"], dynamo=False)
    return model, path


# --- export_onnx ------------------------------------------------------------------


def test_export_writes_a_valid_file_with_names_and_a_dynamic_batch(tiny_file):
    _, path = tiny_file
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["y"]
    assert _dims(model.graph.input[0]) == ["batch", 4]
    assert _dims(model.graph.output[0]) == ["batch", 3]


@pytest.mark.parametrize("batch", [2, 5, 1])
def test_exported_file_matches_pytorch_at_several_batch_sizes(tiny_file, batch):
    model, path = tiny_file
    session = onnx_session(path)
    X = torch.randn(batch, 4)
    (got,) = session.run(None, {"x": X.numpy()})
    with torch.no_grad():
        expected = model(X).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_fixed_batch_export_refuses_another_batch_size(tmp_path):
    path = export_onnx(_tiny(), torch.randn(2, 4), tmp_path / "fixed.onnx", ["x"], ["y"], dynamic_batch=False,
                       dynamo=False)
    model = onnx.load(str(path))
    assert _dims(model.graph.input[0]) == [2, 4]
    session = onnx_session(path)
    assert session.run(None, {"x": np.zeros((2, 4), np.float32)})[0].shape == (2, 3)
    with pytest.raises(Exception, match="Got: 5 Expected: 2"):
        session.run(None, {"x": np.zeros((5, 4), np.float32)})


def test_export_returns_a_path_overwrites_and_leaves_no_partial_file(tmp_path):
    target = tmp_path / "sub" / "model.onnx"
    first = export_onnx(_tiny(), torch.randn(2, 4), str(target), ["x"], ["y"], dynamo=False)
    assert first == target and target.is_file()
    target.write_bytes(b"stale")
    second = export_onnx(_tiny(), torch.randn(2, 4), target, ["x"], ["y"], dynamo=False)
    assert second == target
    onnx.checker.check_model(onnx.load(str(target)))
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]


def test_export_uses_eval_mode_and_restores_the_mode(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    model.train()
    path = export_onnx(model, torch.randn(8, 4), tmp_path / "m.onnx", ["x"], ["y"], dynamo=False)
    assert model.training
    assert "Dropout" not in onnx_op_counts(path)
    X = torch.randn(3, 4)
    model.eval()
    with torch.no_grad():
        expected = model(X).numpy()
    np.testing.assert_allclose(onnx_session(path).run(None, {"x": X.numpy()})[0], expected, rtol=1e-5, atol=1e-6)


def test_export_with_two_inputs_and_a_single_string_name(tmp_path):
    path = export_onnx(_TwoInputs(), (torch.randn(2, 3), torch.randn(2, 3)), tmp_path / "two.onnx", ["a", "b"], "out",
                       dynamo=False)
    session = onnx_session(path)
    assert [i.name for i in session.get_inputs()] == ["a", "b"]
    assert [o.name for o in session.get_outputs()] == ["out"]
    a, b = np.ones((4, 3), np.float32), np.full((4, 3), 0.5, np.float32)
    np.testing.assert_allclose(session.run(None, {"a": a, "b": b})[0], a * 2 + b)


def test_legacy_export_stores_metadata_and_filters_only_its_own_notice(tmp_path):
    import warnings

    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum() > 0 else -x  # a data-dependent branch: TracerWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export_onnx(Branchy(), torch.ones(2, 3), tmp_path / "b.onnx", ["x"], ["y"], dynamo=False,
                           metadata={"classes": '["cat", "dog"]', "mean": "0.5"})
    messages = [str(w.message) for w in caught]
    assert not any(m.startswith("You are using the legacy TorchScript-based ONNX export") for m in messages)
    assert any(w.category.__name__ == "TracerWarning" for w in caught), messages  # still reaches the caller
    meta = onnx_session(path).get_modelmeta().custom_metadata_map
    assert meta == {"classes": '["cat", "dog"]', "mean": "0.5"}


@pytest.mark.slow
def test_export_with_the_dynamo_exporter(tmp_path, capsys):
    model = _tiny()
    path = export_onnx(model, torch.randn(2, 4), tmp_path / "dynamo.onnx", ["x"], ["y"], metadata={"k": "v"})
    assert onnx_session(path).get_modelmeta().custom_metadata_map == {"k": "v"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dynamo.onnx"]  # no external .data file
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    assert _dims(loaded.graph.input[0])[1:] == [4]
    assert isinstance(_dims(loaded.graph.input[0])[0], str)  # symbolic batch axis
    X = torch.randn(6, 4)
    with torch.no_grad():
        expected = model(X).numpy()
    np.testing.assert_allclose(onnx_session(path).run(None, {"x": X.numpy()})[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "not a model"}, "torch.nn.Module"),
        ({"example": [[1.0, 2.0]]}, "example must be a tensor"),
        ({"example": np.zeros((2, 4), np.float32)}, "example must be a tensor"),
        ({"example": ()}, "example must be a tensor"),
        ({"path": "model.pt"}, "must end in .onnx"),
        ({"path": 42}, "str or pathlib.Path"),
        ({"input_names": ["x", "extra"]}, "1 example input"),
        ({"input_names": []}, "non-empty list"),
        ({"input_names": [3]}, "non-empty strings"),
        ({"output_names": ["y", "y"]}, "distinct"),
        ({"output_names": ["x"]}, "both an input and an output"),
        ({"dynamic_batch": "yes"}, "dynamic_batch must be True or False"),
        ({"dynamo": 1}, "dynamo must be True or False"),
        ({"example": torch.tensor(1.0)}, "0-d example"),
        ({"metadata": ["classes"]}, "metadata must be a dict"),
        ({"metadata": {"classes": ["cat", "dog"]}}, "json.dumps"),
        ({"metadata": {"": "x"}}, "non-empty strings"),
    ],
)
def test_export_rejects_bad_arguments(tmp_path, kwargs, message):
    args = {
        "model": _tiny(),
        "example": torch.randn(2, 4),
        "path": tmp_path / "m.onnx",
        "input_names": ["x"],
        "output_names": ["y"],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        export_onnx(**args)


# --- onnx_session -----------------------------------------------------------------


def test_session_missing_file_is_a_clear_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ONNX file at .*export_onnx"):
        onnx_session(tmp_path / "nothing.onnx")


def test_session_truncated_file_is_a_clear_value_error(tiny_file, tmp_path):
    _, path = tiny_file
    data = path.read_bytes()
    half = tmp_path / "half.onnx"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid ONNX model .*truncated"):
        onnx_session(half)


def test_session_text_file_posing_as_onnx_is_a_clear_value_error(tmp_path):
    fake = tmp_path / "fake.onnx"
    fake.write_text("this is a text file, not a model\n")
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        onnx_session(fake)


def test_session_empty_file_and_folder_are_rejected(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        onnx_session(empty)
    with pytest.raises(ValueError, match="folder"):
        onnx_session(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threads": 0}, "threads must be None or a positive int"),
        ({"threads": 1.5}, "threads must be None or a positive int"),
        ({"threads": True}, "threads must be None or a positive int"),
        ({"providers": ["NoSuchExecutionProvider"]}, "unknown execution provider"),
        ({"providers": []}, "non-empty list"),
    ],
)
def test_session_rejects_bad_arguments(tiny_file, kwargs, message):
    _, path = tiny_file
    with pytest.raises(ValueError, match=message):
        onnx_session(path, **kwargs)


def test_session_rejects_a_non_path():
    with pytest.raises(ValueError, match="str or pathlib.Path"):
        onnx_session(None)


def test_session_with_threads_runs(tiny_file):
    _, path = tiny_file
    session = onnx_session(path, threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.run(["y"], {"x": np.zeros((3, 4), np.float32)})[0].shape == (3, 3)


def test_session_bad_feeds_raise_onnxruntime_errors(tiny_file):
    _, path = tiny_file
    session = onnx_session(path)
    with pytest.raises(ValueError, match="missing from input feed"):
        session.run(None, {"input": np.zeros((2, 4), np.float32)})
    with pytest.raises(Exception, match="Invalid rank"):
        session.run(None, {"x": np.zeros(4, np.float32)})
    with pytest.raises(Exception, match="tensor\\(double\\)"):
        session.run(None, {"x": np.zeros((2, 4))})


# --- onnx_op_counts ---------------------------------------------------------------


def test_op_counts_from_a_path_and_from_a_model(tiny_file):
    _, path = tiny_file
    counts = onnx_op_counts(path)
    assert counts == {"Gemm": 2, "Relu": 1}
    assert list(counts) == ["Gemm", "Relu"]  # most frequent first
    assert onnx_op_counts(onnx.load(str(path))) == counts
    assert onnx_op_counts(str(path)) == counts


def test_op_counts_bad_input(tiny_file, tmp_path):
    _, path = tiny_file
    with pytest.raises(FileNotFoundError, match="no ONNX file"):
        onnx_op_counts(tmp_path / "missing.onnx")
    half = tmp_path / "half.onnx"
    half.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        onnx_op_counts(half)
    with pytest.raises(ValueError, match="onnx.ModelProto or the path"):
        onnx_op_counts(_tiny())


# --- median_latency ---------------------------------------------------------------


def test_median_latency_calls_warmup_plus_repeats_and_returns_median_and_iqr(monkeypatch):
    calls = []
    durations = iter([5.0, 1.0, 3.0, 2.0, 4.0])  # seconds per timed call
    clock = {"now": 0.0}

    def fake_perf_counter() -> float:
        return clock["now"]

    def fn() -> None:
        calls.append(1)
        if len(calls) > 2:  # the two warm-up calls are not timed
            clock["now"] += next(durations)

    monkeypatch.setattr(utils.time, "perf_counter", fake_perf_counter)  # the timing loop lives in helpers.utils
    median, spread = median_latency(fn, repeats=5, warmup=2)
    assert len(calls) == 7
    assert median == pytest.approx(3.0)
    assert spread == pytest.approx(2.0)  # 75th percentile 4 minus 25th percentile 2


def test_median_latency_real_clock_and_single_repeat():
    median, spread = median_latency(lambda: sum(range(100)), repeats=1, warmup=0)
    assert median >= 0 and spread == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fn": 3}, "fn must be a function"),
        ({"repeats": 0}, "repeats must be a positive int"),
        ({"repeats": True}, "repeats must be a positive int"),
        ({"repeats": 2.0}, "repeats must be a positive int"),
        ({"warmup": -1}, "warmup must be an int >= 0"),
    ],
)
def test_median_latency_rejects_bad_arguments(kwargs, message):
    args = {"fn": lambda: None, "repeats": 3, "warmup": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        median_latency(**args)
