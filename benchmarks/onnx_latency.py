"""Section 5: ONNX Runtime against eager PyTorch for lesson 08's model.

The model is the one lesson 08 ships: the ImageNet-trained EfficientNet-Lite0 from
``helpers.pretrained.load_efficientnet_lite0`` (1,000-class head, eval mode), exported
with ``helpers.deploy.export_onnx`` (dynamo exporter, dynamic batch axis) into a
temporary folder, and opened with ``helpers.deploy.onnx_session``. As in the lesson,
inputs are ``image_size`` x ``image_size`` (160 by default) and both runtimes use one
thread, so the comparison is between the engines, not between thread pools.

For each batch size both runtimes get the same random input. After ``warmup``
untimed calls each, the calls are timed one by one, alternating PyTorch and ONNX
Runtime so that a burst of load from another program hits both; the report gives the
median and the interquartile range of each, and their ratio. Parity is the largest
absolute difference between the two runtimes' logits on that input.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.recipes import single_thread
from benchmarks.stats import Summary, ratio, summarize

__all__ = ["LatencyRow", "OnnxResult", "measure_onnx_latency"]


@dataclass
class LatencyRow:
    """Timings of one batch size in both runtimes."""

    batch: int
    repeats: int
    torch_s: list[float]
    onnx_s: list[float]
    max_abs_error: float
    same_top1: bool

    @property
    def torch_summary(self) -> Summary:
        return summarize(self.torch_s, f"PyTorch times at batch {self.batch}")

    @property
    def onnx_summary(self) -> Summary:
        return summarize(self.onnx_s, f"ONNX Runtime times at batch {self.batch}")

    @property
    def speedup(self) -> float:
        """Median PyTorch time / median ONNX Runtime time: above 1 means ONNX Runtime is faster."""
        return ratio(self.torch_summary.median, self.onnx_summary.median, f"batch {self.batch} speed-up")


@dataclass
class OnnxResult:
    """Everything section 5 reports."""

    image_size: int
    threads: int
    warmup: int
    export_s: float
    file_bytes: int
    rows: list[LatencyRow]


def measure_onnx_latency(
    image_size: int = 160,
    repeats: dict[int, int] | None = None,
    warmup: int = 2,
    threads: int = 1,
    seed: int = 0,
    log=print,
) -> OnnxResult:
    """Export lesson 08's model to a temporary ONNX file and time both runtimes; see the module docstring.

    ``repeats`` maps each batch size to its number of timed calls (default ``{1: 20, 32: 5}``).
    """
    from helpers.deploy import export_onnx, onnx_session
    from helpers.pretrained import load_efficientnet_lite0

    repeats = dict(repeats) if repeats is not None else {1: 20, 32: 5}
    if not repeats:
        raise ValueError("repeats must name at least one batch size, e.g. {1: 20, 32: 5}")
    for batch, count in repeats.items():
        for name, value in (("batch size", batch), (f"repeats for batch {batch}", count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an int >= 32, got {image_size!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")

    rows = []
    with single_thread(threads), tempfile.TemporaryDirectory(prefix="course-onnx-") as tmp:
        model = load_efficientnet_lite0()  # eval mode, ImageNet head, as in lesson 08
        generator = torch.Generator().manual_seed(seed)
        example = torch.randn(2, 3, image_size, image_size, generator=generator)
        start = time.perf_counter()
        path = export_onnx(model, example, Path(tmp) / "efficientnet_lite0.onnx")
        export_s = time.perf_counter() - start
        file_bytes = path.stat().st_size
        session = onnx_session(path, threads=threads)
        for batch, count in repeats.items():
            row = _time_batch(model, session, batch, count, warmup, image_size, generator)
            rows.append(row)
            log(f"  batch {batch}: PyTorch {row.torch_summary.median * 1e3:.1f} ms, ONNX Runtime "
                f"{row.onnx_summary.median * 1e3:.1f} ms, max |difference| {row.max_abs_error:.2e}")
        del session  # release the file before the folder is removed (needed on Windows)
    return OnnxResult(
        image_size=image_size, threads=threads, warmup=warmup, export_s=export_s, file_bytes=file_bytes, rows=rows
    )


def _time_batch(model, session, batch: int, repeats: int, warmup: int, image_size: int, generator) -> LatencyRow:
    X = torch.randn(batch, 3, image_size, image_size, generator=generator)  # the same input for both
    X_np = X.numpy()
    feed = {session.get_inputs()[0].name: X_np}

    def run_torch() -> torch.Tensor:
        with torch.inference_mode():
            return model(X)

    def run_onnx() -> np.ndarray:
        return session.run(None, feed)[0]

    for _ in range(warmup):
        run_torch()
        run_onnx()
    torch_s, onnx_s = [], []
    for _ in range(repeats):
        for fn, times in ((run_torch, torch_s), (run_onnx, onnx_s)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    torch_out, onnx_out = run_torch().numpy(), run_onnx()
    return LatencyRow(
        batch=batch,
        repeats=repeats,
        torch_s=torch_s,
        onnx_s=onnx_s,
        max_abs_error=float(np.abs(torch_out - onnx_out).max()),
        same_top1=bool((torch_out.argmax(axis=1) == onnx_out.argmax(axis=1)).all()),
    )

