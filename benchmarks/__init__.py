"""benchmarks: measure the course on the current machine and write ``reports/REPORT.md``.

Run ``python -m benchmarks.report`` (``--help`` lists the options). Each module covers
one section of the report:

* ``machine``: what the machine is, and how busy other programs kept its CPU;
* ``notebooks_timing``: every notebook executed in a fresh kernel, timed, memory sampled;
* ``learning``: the accuracies the lessons print, read back from those executions;
* ``recipes``: the course's MNIST recipes against classic tutorial recipes, same time budget;
* ``overhead``: ``helpers.training.fit`` against a bare hand-written loop;
* ``onnx_latency``: ONNX Runtime against eager PyTorch for the lesson-08 model;
* ``setup_cost``: the time and disk a fresh ``make test``-style environment takes;
* ``stats`` and ``figures``: medians, spreads and ratios, and the PNG charts;
* ``report``: the command line, running the sections and writing the markdown.

Nothing here writes into the repository except the chosen output folder (default
``reports/``); notebooks are executed from in-memory copies, and exported files and
temporary environments live in temporary folders.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT"]
