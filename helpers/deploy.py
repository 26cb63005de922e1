"""Deployment with ONNX: export a model to a file, open it with ONNX Runtime, look inside, time it.

The four functions package what lesson 08 does in the open:

* ``export_onnx`` writes a model to an ``.onnx`` file with named inputs and outputs,
  (by default) a dynamic batch axis and, optionally, metadata such as class names;
* ``onnx_session`` opens such a file with ONNX Runtime and turns its cryptic errors for
  a missing, truncated or non-ONNX file into clear ``FileNotFoundError``/``ValueError``;
* ``onnx_op_counts`` counts the operators in the graph;
* ``median_latency`` times a function the robust way (warm-up, then median and IQR).
"""

from __future__ import annotations

import os
import statistics
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from helpers.utils import _call_times, shown_path

__all__ = ["export_onnx", "onnx_session", "onnx_op_counts", "median_latency"]


def _check_names(names: Any, what: str) -> list[str]:
    """Return ``names`` as a list of distinct non-empty strings (a single string counts as one name)."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Sequence) or not names:
        raise ValueError(f"{what} must be a non-empty list of strings such as ['images'], got {names!r}")
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ValueError(f"{what} must hold non-empty strings, got {list(names)!r} (bad: {bad!r})")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} must be distinct, got {list(names)!r}")
    return list(names)


def _check_path(path: Any, what: str = "path") -> Path:
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"{what} must be a str or pathlib.Path to an .onnx file, got {type(path).__name__}")
    return Path(path)


# The one warning export_onnx filters: the legacy exporter's notice that it is legacy. It is
# harmless (the caller asked for dynamo=False on purpose) and says nothing about the export.
_LEGACY_NOTICE = r"You are using the legacy TorchScript-based ONNX export"


def _check_metadata(metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata must be a dict of str -> str such as {{'classes': '...'}}, got {type(metadata).__name__}")
    bad = {k: v for k, v in metadata.items() if not isinstance(k, str) or not k or not isinstance(v, str)}
    if bad:
        raise ValueError(
            f"metadata keys must be non-empty strings and values strings (use json.dumps for lists), got {bad!r}"
        )
    return dict(metadata)


def export_onnx(
    model: nn.Module,
    example: torch.Tensor | Sequence[torch.Tensor],
    path: str | os.PathLike,
    input_names: Sequence[str] = ("images",),
    output_names: Sequence[str] = ("logits",),
    dynamic_batch: bool = True,
    dynamo: bool = True,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Return the path of a new ONNX file holding ``model`` run on ``example`` (B, ...) -> (B, ...).

    ``example`` is one input tensor or a tuple of them (one per entry of
    ``input_names``); its values do not matter, only its shapes and dtypes. With
    ``dynamic_batch=True`` the first axis of every input is declared dynamic and named
    ``"batch"`` (``dynamic_shapes`` with ``torch.export.Dim("batch")`` for the dynamo
    exporter, ``dynamic_axes`` for the TorchScript one), so the file accepts any batch
    size; the other axes are fixed to the example's. The model is exported in eval mode
    (dropout off, batch-norm running statistics) and put back in the mode it was in.
    ``metadata`` (optional, str -> str) is stored in the file's ``metadata_props``, where
    any ONNX Runtime client can read it (``session.get_modelmeta().custom_metadata_map``):
    class names, normalisation constants, the input size. An existing file is replaced;
    the new one is written under a temporary name first, so a failed export never leaves
    half a file behind.

    ``dynamo=True`` (default) uses torch's default exporter, built on ``torch.export``:
    the maintained path, with a cleaner, optimised graph, but it takes seconds rather
    than a fraction of one. ``dynamo=False`` uses the deprecated TorchScript-based
    exporter, which traces one forward pass; keep it for models the dynamo path refuses.

    Warnings are not hidden, with one exception: the TorchScript exporter's
    ``DeprecationWarning`` that begins "You are using the legacy TorchScript-based ONNX
    export", which only repeats that ``dynamo=False`` was chosen. Every other warning
    (a ``TracerWarning`` about a frozen branch, for one) reaches the caller.

    Introduced in lesson 08.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    inputs = (example,) if isinstance(example, torch.Tensor) else example
    if (
        not isinstance(inputs, tuple | list)
        or not inputs
        or not all(isinstance(t, torch.Tensor) for t in inputs)
    ):
        raise ValueError(
            "example must be a tensor such as torch.randn(2, 3, 224, 224) or a tuple of tensors, "
            f"got {type(example).__name__}"
        )
    inputs = tuple(inputs)
    input_names = _check_names(input_names, "input_names")
    output_names = _check_names(output_names, "output_names")
    if len(input_names) != len(inputs):
        raise ValueError(
            f"got {len(inputs)} example input(s) but {len(input_names)} input name(s) {input_names}; "
            "give one name per input tensor"
        )
    clash = sorted(set(input_names) & set(output_names))
    if clash:
        raise ValueError(f"a name cannot be both an input and an output, got {clash}")
    if not isinstance(dynamic_batch, bool):
        raise ValueError(f"dynamic_batch must be True or False, got {dynamic_batch!r}")
    if not isinstance(dynamo, bool):
        raise ValueError(f"dynamo must be True or False, got {dynamo!r}")
    metadata = _check_metadata(metadata)
    path = _check_path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end in .onnx, got {str(path)!r}")
    if any(t.ndim == 0 for t in inputs) and dynamic_batch:
        raise ValueError("dynamic_batch=True needs inputs with a batch axis; got a 0-d example tensor")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.onnx")
    was_training = model.training
    model.eval()
    try:
        if dynamo:
            dynamic_shapes = None
            if dynamic_batch:
                batch = torch.export.Dim("batch")
                dynamic_shapes = tuple({0: batch} for _ in inputs)
            program = torch.onnx.export(
                model,
                inputs,
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            for key, value in metadata.items():
                program.model.metadata_props[key] = value
            program.save(str(tmp))
        else:
            dynamic_axes = None
            if dynamic_batch:
                dynamic_axes = {name: {0: "batch"} for name in [*input_names, *output_names]}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_LEGACY_NOTICE, category=DeprecationWarning)
                torch.onnx.export(
                    model,
                    inputs,
                    str(tmp),
                    input_names=input_names,
                    output_names=output_names,
                    dynamic_axes=dynamic_axes,
                    dynamo=False,
                )
            if metadata:
                proto = onnx.load(str(tmp))
                for key, value in metadata.items():
                    entry = proto.metadata_props.add()
                    entry.key, entry.value = key, value
                onnx.save(proto, str(tmp))
        os.replace(tmp, path)
    finally:
        model.train(was_training)
        tmp.unlink(missing_ok=True)
    return path


def _reason(err: BaseException) -> str:
    """Return the first line of an error message, without ONNX Runtime's prefix."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split(" : ")[-1].strip()


def _read_model_file(path: Any, what: str) -> Path:
    path = _check_path(path, what)
    if not path.exists():
        raise FileNotFoundError(
            f"no ONNX file at {shown_path(path)!r}; export one first, e.g. with "
            "export_onnx(model, example, path)"
        )
    if not path.is_file():
        raise ValueError(f"{shown_path(path)!r} is a folder, expected an .onnx file")
    if path.stat().st_size == 0:
        raise ValueError(f"{shown_path(path)!r} is empty (0 bytes); export the model again")
    return path


def onnx_session(
    path: str | os.PathLike,
    threads: int | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> ort.InferenceSession:
    """Return an ONNX Runtime ``InferenceSession`` for the model in ``path``, ready for ``.run``.

    ``threads`` (optional) fixes the number of threads ONNX Runtime uses inside one
    operator; ``None`` lets it choose (one per physical core). ``providers`` lists the
    execution providers to try, in order; the CPU one is always available.

    A missing file raises ``FileNotFoundError``; an empty, truncated or non-ONNX file
    raises ``ValueError`` that says so (ONNX Runtime itself only reports a protobuf
    parsing failure).

    Introduced in lesson 08.
    """
    path = _read_model_file(path, "path")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be None or a positive int, got {threads!r}")
    providers = _check_names(providers, "providers")
    available = ort.get_available_providers()
    unknown = [p for p in providers if p not in available]
    if unknown:
        raise ValueError(f"unknown execution provider(s) {unknown}; this machine offers {available}")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as err:  # onnxruntime raises its own exception classes (InvalidProtobuf, ...)
        raise ValueError(
            f"{shown_path(path)!r} is not a valid ONNX model "
            f"({type(err).__name__}: {_reason(err).replace(str(path), shown_path(path))}); "
            "it may be truncated (an interrupted copy or export) or another kind of file. "
            "Export the model again."
        ) from err


def onnx_op_counts(model_or_path: onnx.ModelProto | str | os.PathLike) -> dict[str, int]:
    """Return ``{op_type: count}`` for the nodes of an ONNX graph, most frequent first.

    Accepts a loaded ``onnx.ModelProto`` or the path of an ``.onnx`` file. Only the
    main graph is counted (the bodies of ``If``/``Loop`` nodes are not opened).

    Introduced in lesson 08.
    """
    if isinstance(model_or_path, onnx.ModelProto):
        model = model_or_path
    elif isinstance(model_or_path, str | os.PathLike):
        path = _read_model_file(model_or_path, "model_or_path")
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as err:  # protobuf's DecodeError and friends
            raise ValueError(
                f"{shown_path(path)!r} is not a valid ONNX model "
            f"({type(err).__name__}: {_reason(err).replace(str(path), shown_path(path))}); "
                "it may be truncated or another kind of file. Export the model again."
            ) from err
    else:
        raise ValueError(
            f"model_or_path must be an onnx.ModelProto or the path of an .onnx file, got {type(model_or_path).__name__}"
        )
    counts = Counter(node.op_type for node in model.graph.node)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def median_latency(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> tuple[float, float]:
    """Return ``(median_s, iqr_s)``: the median time of ``repeats`` calls of ``fn()`` and their spread.

    ``fn`` takes no arguments (wrap a call with ``lambda: model(X)``). It is first
    called ``warmup`` times untimed (first calls pay for memory allocation, lazy
    initialisation and cold caches), then ``repeats`` times under
    ``time.perf_counter``. The spread is the interquartile range: the middle half of
    the timings lie within a window that wide. The median ignores the odd slow run
    caused by another program.

    Introduced in lesson 08.
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function of no arguments such as lambda: model(X), got {type(fn).__name__}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int (5 or more gives a steadier median), got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    times = _call_times(fn, repeats, warmup)
    q25, q75 = np.percentile(times, [25, 75])
    return statistics.median(times), float(q75 - q25)
