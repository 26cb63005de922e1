"""Measure the course on this machine in one run and write ``reports/REPORT.md`` with its charts.

Usage::

    python -m benchmarks.report                 # the full report (about 12 minutes), into reports/
    python -m benchmarks.report --quick         # a tiny configuration in seconds, into artifacts/report-quick/
    python -m benchmarks.report --notebooks notebooks/04_training.ipynb --skip-setup --out /tmp/r

The six sections (see each module for the details of its measurement):

1. run time and peak memory of every notebook, each executed in a fresh kernel;
2. the learning results those executions printed (MLP, CNN, transfer learning, A2);
3. the course's MNIST recipes against classic tutorial recipes, on one time budget;
4. the overhead of ``helpers.training.fit`` over a bare hand-written loop;
5. ONNX Runtime against eager PyTorch for lesson 08's EfficientNet-Lite0;
6. the time and disk a fresh ``make test``-style environment takes.

A section that fails is reported as failed in the markdown, the others are still
written, and the command exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import ROOT
from benchmarks.machine import CpuMeter, CpuUsage, MachineInfo, describe_machine
from benchmarks.stats import format_bytes, format_ms, format_seconds, median

if TYPE_CHECKING:  # the section modules import torch: load them only when a section runs
    from benchmarks.learning import LearningResult
    from benchmarks.notebooks_timing import NotebookResult
    from benchmarks.onnx_latency import OnnxResult
    from benchmarks.overhead import OverheadResult
    from benchmarks.recipes import RecipeResult
    from benchmarks.setup_cost import SetupCost

__all__ = ["Config", "Report", "run_report", "render", "main"]

LESSON_GOAL_S = 60.0
COURSE_GOAL_S = 360.0
SETUP_GOAL_S = 90  # a fresh `make venv` from an empty cache, on a 2-core machine
FIGURES = {"notebooks": "notebooks.png", "recipes": "recipes.png", "latency": "latency.png"}
SECTION_TITLES = {
    1: "## 1. Run time per notebook",
    2: "## 2. Learning results",
    3: "## 3. Course recipes vs classic recipes",
    4: "## 4. Overhead of `fit` over a bare loop",
    5: "## 5. ONNX Runtime vs PyTorch eager",
    6: "## 6. Set-up cost",
}


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


@dataclass(frozen=True)
class Config:
    """What to measure and how hard. ``Config.full()`` and ``Config.quick()`` are the two presets."""

    quick_mode: bool = False
    notebooks: tuple[Path, ...] = ()  # empty: every lesson and assignment answer
    notebook_runs: int = 1
    cell_timeout: int = 300
    repeats: int = 5  # timed pairs in section 4; timed calls at batch 32 in section 5 (batch 1 gets 4x)
    recipe_runs: int = 3
    budget_s: float = 15.0
    overhead_epochs: int = 2
    onnx_image_size: int = 160
    setup: str = "full"  # "full", "bare-venv" or "skipped"
    setup_cache: str = "empty"
    setup_timeout_s: float = 1800.0

    @classmethod
    def full(cls, **changes) -> Config:
        return replace(cls(), **changes).checked()

    @classmethod
    def quick(cls, **changes) -> Config:
        preset = cls(
            quick_mode=True,
            notebooks=(ROOT / "notebooks" / "01_tensors.ipynb",),
            repeats=2,
            recipe_runs=2,
            budget_s=0.3,
            overhead_epochs=1,
            onnx_image_size=64,
            setup="bare-venv",
        )
        return replace(preset, **changes).checked()

    def checked(self) -> Config:
        """Return self after checking every field; raise ValueError naming the first bad one."""
        for name in ("notebook_runs", "cell_timeout", "repeats", "recipe_runs", "overhead_epochs"):
            _positive_int(getattr(self, name), name)
        if isinstance(self.budget_s, bool) or not isinstance(self.budget_s, int | float) or not self.budget_s > 0:
            raise ValueError(f"budget_s must be a positive number of seconds, got {self.budget_s!r}")
        if isinstance(self.onnx_image_size, bool) or not isinstance(self.onnx_image_size, int) or self.onnx_image_size < 32:
            raise ValueError(f"onnx_image_size must be an int >= 32, got {self.onnx_image_size!r}")
        if self.setup not in ("full", "bare-venv", "skipped"):
            raise ValueError(f"setup must be 'full', 'bare-venv' or 'skipped', got {self.setup!r}")
        if self.setup_cache not in ("empty", "existing"):
            raise ValueError(f"setup_cache must be 'empty' or 'existing', got {self.setup_cache!r}")
        for path in self.notebooks:
            if not Path(path).is_file() or Path(path).suffix != ".ipynb":
                raise ValueError(f"notebook {str(path)!r} is not an existing .ipynb file")
        return self

    def notebook_paths(self) -> list[Path]:
        from benchmarks.notebooks_timing import default_notebooks

        return [Path(p) for p in self.notebooks] or default_notebooks()


@dataclass
class Report:
    """Everything one run measured, section by section (None where a section failed)."""

    config: Config
    machine: MachineInfo
    notebooks: list[NotebookResult] | None = None
    learning: list[LearningResult] | None = None
    recipes: list[RecipeResult] | None = None
    overhead: OverheadResult | None = None
    onnx: OnnxResult | None = None
    setup: SetupCost | None = None
    cpu: dict[int, CpuUsage] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    total_s: float = 0.0
    all_notebooks: bool = False


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_report(config: Config, log: Callable[[str], None] = _log) -> Report:
    """Run the six measurements of ``config`` and return them (nothing is written)."""
    from benchmarks.notebooks_timing import default_notebooks

    config = config.checked()
    report = Report(config=config, machine=describe_machine())
    start = time.perf_counter()
    paths = config.notebook_paths()
    report.all_notebooks = {p.resolve() for p in paths} == {p.resolve() for p in default_notebooks()}

    def section(number: int, work: Callable[[], None]) -> None:
        log(f"{SECTION_TITLES[number][3:]} ...")
        meter = CpuMeter()
        try:
            with meter:
                work()
        except Exception as err:  # noqa: BLE001 - reported in the markdown and in the exit status
            report.failures[number] = f"{type(err).__name__}: {err}"
            log(traceback.format_exc())
        if meter.usage is not None:
            report.cpu[number] = meter.usage

    def notebooks() -> None:
        from benchmarks.notebooks_timing import time_notebooks

        report.notebooks = time_notebooks(paths, config.notebook_runs, config.cell_timeout, log=log)
        failed = [r.notebook for r in report.notebooks if not r.ok]
        if failed:
            raise RuntimeError(f"notebook(s) failed to execute: {', '.join(failed)} (see the table)")

    def learning() -> None:
        from benchmarks.learning import collect_learning_results

        if report.notebooks is None:
            raise RuntimeError("section 1 produced no notebook outputs to read")
        outputs = {r.notebook: r.stdout for r in report.notebooks if r.ok}
        report.learning = collect_learning_results(outputs)

    def recipes() -> None:
        from benchmarks.recipes import run_recipes

        report.recipes = run_recipes(config.budget_s, config.recipe_runs, log=log)

    def overhead() -> None:
        from benchmarks.overhead import measure_fit_overhead

        report.overhead = measure_fit_overhead(config.repeats, config.overhead_epochs, log=log)

    def onnx() -> None:
        from benchmarks.onnx_latency import measure_onnx_latency

        report.onnx = measure_onnx_latency(
            config.onnx_image_size, {1: 4 * config.repeats, 32: config.repeats}, log=log
        )

    def setup() -> None:
        from benchmarks.setup_cost import measure_setup_cost

        report.setup = measure_setup_cost(config.setup, config.setup_cache, config.setup_timeout_s, log=log)

    for number, work in enumerate((notebooks, learning, recipes, overhead, onnx, setup), start=1):
        section(number, work)
    report.total_s = time.perf_counter() - start
    return report


# --------------------------------------------------------------------------- rendering
def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _machine_note(report: Report, number: int) -> str:
    cpu = report.cpu.get(number)
    busy = f" {cpu.sentence()}" if cpu is not None else ""
    return f"*Machine: {report.machine.short()}.{busy}*"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _render_notebooks(report: Report) -> list[str]:
    config = report.config
    runs = config.notebook_runs
    how = (
        f"**How it was measured.** Each notebook was executed "
        f"{'once' if runs == 1 else f'{runs} times (round after round; the table shows medians)'} "
        "from an in-memory copy, in a fresh `python3` kernel started by nbclient, with the notebook's own "
        "folder as working directory and `COURSE_STRICT_CHECKS=1`, as the tests run them; the executed copy "
        "was not saved. Wall time runs from the kernel's start to its shut-down. Peak memory is the largest "
        "sum of resident memory (RSS) over the kernel and every process it started, sampled every 0.05 s "
        "(pages shared between processes are counted once per process). CPU time is the user + system time "
        "of those processes; CPU / wall near 1 means the notebook kept one core busy, above 1 that it used more than one."
    )
    if runs == 1:
        how += " These are single executions, not medians: expect a few percent of noise."
    lines = [how, "", _machine_note(report, 1), ""]
    results = report.notebooks or []
    if not results:
        return lines
    rows = []
    for r in results:
        slow = r.runs[0].slowest_cells[0] if r.runs[0].slowest_cells else None
        slow_text = f"cell {slow.index}: {_code(slow.first_line)} {slow.seconds:.1f} s" if slow else ""
        status = "ok" if r.ok else f"FAILED: {r.error}"
        rows.append([
            r.notebook, f"{r.wall_s:.1f} s", format_bytes(r.peak_rss_bytes), f"{r.cpu_s:.1f} s",
            f"{r.cpu_s / r.wall_s:.2f}" if r.wall_s > 0 else "", slow_text, status,
        ])
    total = sum(r.wall_s for r in results)
    rows.append([f"**Total ({_plural(len(results), 'notebook')})**", f"**{total:.1f} s**",
                 f"max {format_bytes(max(r.peak_rss_bytes for r in results))}",
                 f"{sum(r.cpu_s for r in results):.1f} s", "", "", ""])
    lines += _table(["Notebook", "Wall time", "Peak memory", "CPU time", "CPU / wall", "Slowest cell", "Status"], rows)
    lines += ["", f"![Run time and peak memory per notebook]({FIGURES['notebooks']})", ""]
    lines += ["**Goals:** every lesson under 60 s, the whole course under 6 minutes on a 2-core CPU.", ""]
    lessons = [r for r in results if r.lesson]
    slow_lessons = [r for r in lessons if r.wall_s > LESSON_GOAL_S]
    if not lessons:
        lines.append("- Per-lesson goal: no lesson notebook was run in this configuration.")
    elif slow_lessons:
        names = "; ".join(f"{r.notebook} {r.wall_s:.1f} s{_slowest_cell(r)}" for r in slow_lessons)
        lines.append(f"- Per-lesson goal **missed** by {len(slow_lessons)} of {len(lessons)} lessons: {names}.")
    else:
        slowest = max(lessons, key=lambda r: r.wall_s)
        lines.append(f"- Per-lesson goal **met**: every lesson run ({_plural(len(lessons), 'lesson')}) took under "
                     f"60 s; the slowest was {slowest.notebook} at {slowest.wall_s:.1f} s.")
    overheads = [r.runs[0].wall_s - r.runs[0].cells_s for r in results if r.runs[0].cells_s > 0]
    if report.all_notebooks:
        verdict = "**met**" if total <= COURSE_GOAL_S else "**missed**"
        lines.append(f"- Whole-course goal {verdict}: the {len(results)} notebooks took {format_seconds(total)} "
                     f"in all ({total:.0f} s against {COURSE_GOAL_S:.0f} s).")
        if total > COURSE_GOAL_S:
            lines += _what_limits(report, results, total)
    else:
        lines.append(f"- Whole-course goal not assessed: only {_plural(len(results), 'selected notebook')} ran "
                     f"({format_seconds(total)}); the goal applies to the full set.")
    if overheads:
        lines.append(f"- Starting and stopping the kernels (wall time minus the cells' own time) took "
                     f"{sum(overheads):.1f} s in all ({sum(overheads) / total:.0%} of the total), a median of "
                     f"{median(overheads):.1f} s per notebook.")
    return lines


def _slowest_cell(result: NotebookResult) -> str:
    """", slowest cell `first line` 12.3 s" for the first run of a notebook result, or "" if unknown."""
    cells = result.runs[0].slowest_cells
    if not cells:
        return ""
    return f", slowest cell {_code(cells[0].first_line)} {cells[0].seconds:.1f} s"


def _what_limits(report: Report, results: list[NotebookResult], total: float) -> list[str]:
    ranked = sorted(results, key=lambda r: -r.wall_s)[:3]
    share = sum(r.wall_s for r in ranked) / total
    parts = [f"{r.notebook} {r.wall_s:.1f} s{_slowest_cell(r)}" for r in ranked]
    cpu = sum(r.cpu_s for r in results) / total
    kind = (
        "computation on the CPU (the kernels kept a core busy most of the time)"
        if cpu >= 0.8
        else "waiting as much as computing (kernel start-up, subprocesses, disk), not the CPU alone"
    )
    lines = [
        f"  - What limits it: the three slowest notebooks make up {share:.0%} of the total ({'; '.join(parts)}). "
        f"Across all notebooks CPU time was {cpu:.0%} of wall time, so the limit is {kind}."
    ]
    usage = report.cpu.get(1)
    if usage is not None and usage.others_share >= 0.05:
        lines.append(f"  - Other programs used {usage.others_share:.0%} of the CPU meanwhile, which slowed this run.")
    return lines


def _render_learning(report: Report) -> list[str]:
    lines = [
        "**How it was measured.** These numbers were not recomputed: they are read, with regular expressions, "
        "from what lessons 04, 06 and 07 and the A2 and A3 answers printed during their executions in section 1, so "
        "they come from exactly the code a learner runs (single executions, fixed seeds). If a notebook stops "
        "printing one of them, the report fails instead of going stale. Training times are the notebooks' own "
        "wall-clock measurements of their training calls.",
        "",
        f"*Machine: {report.machine.short()}; the figures come from the section 1 executions.*",
        "",
    ]
    results = report.learning or []
    if not results:
        return lines
    failed = {r.notebook for r in report.notebooks or [] if not r.ok}
    rows = [
        [r.figure.label, "notebook failed" if r.figure.notebook in failed else r.value_text(),
         r.seconds_text(), r.figure.notebook, r.figure.note]
        for r in results
    ]
    lines += _table(["Result", "Value", "Training time", "Printed by", "Data"], rows)
    missing = sorted({r.figure.notebook for r in results if not r.measured} - failed)
    if missing:
        lines += ["", f"Rows marked \"not run\": this configuration did not execute {', '.join(missing)}."]
    return lines


def _render_recipes(report: Report) -> list[str]:
    from benchmarks.recipes import pair_ratios

    config = report.config
    lines = [
        f"**How it was measured.** Every recipe trained on the bundled MNIST (`helpers.load_mnist`: 4,000 "
        f"training and 1,000 test digits, in memory), from seed 0, with the same loop "
        f"(`helpers.training.train_one_epoch`) and PyTorch on one thread as in the lessons, under the same "
        f"wall-clock budget of **{config.budget_s:g} s** of training, checked before every batch. The course "
        f"recipes stop when their lesson's plan is done or the budget is spent; the classic recipes keep "
        f"training until the budget is spent. Test accuracy is measured after training, outside the budget. "
        f"After one untimed warm-up run per recipe (up to 1 s), each recipe ran {config.recipe_runs} times; "
        f"the table shows medians. The classic recipes are the "
        f"well-known introductory MLP (784-128-64-10, plain SGD lr 0.003, batch 64) and the classic LeNet-style "
        f"tutorial CNN (conv 6/16 5x5, pooling, 120-84-10, SGD lr 0.001 momentum 0.9, batch 4) adapted to one "
        f"28 x 28 channel; they normalise with mean 0.5 and std 0.5 as their tutorials do.",
        "",
        _machine_note(report, 3),
        "",
    ]
    results = report.recipes or []
    if not results:
        return lines
    rows = [
        [r.recipe.name, r.recipe.origin, r.recipe.summary, f"{r.epochs:.2f}", r.stopped_by,
         f"{r.train_s:.1f} s", f"{r.accuracy:.3f}", f"{round((1 - r.accuracy) * 1000)}"]
        for r in results
    ]
    lines += _table(
        ["Recipe", "From", "Set-up", "Epochs done", "Stopped by", "Training time", "Test accuracy", "Test errors (of 1,000)"],
        rows,
    )
    ratio_rows = [
        [f"{p['course']} / {p['classic']}", f"{p['accuracy_ratio']:.3f}", f"{p['error_ratio']:.2f}", f"{p['time_ratio']:.2f}"]
        for p in pair_ratios(results)
    ]
    if ratio_rows:
        lines += ["", "Ratios, course recipe over its classic counterpart (below 1 for errors and time is better "
                  "for the course):", ""]
        lines += _table(["Pair", "Test accuracy ratio", "Test error ratio", "Training time ratio"], ratio_rows)
    lines += ["", f"![Test accuracy per recipe]({FIGURES['recipes']})"]
    return lines


def _render_overhead(report: Report) -> list[str]:
    from benchmarks.overhead import GOAL

    config = report.config
    lines = [
        f"**How it was measured.** `helpers.training.fit(..., progress=False)` and lesson 04's hand-written "
        f"loop (forward, loss, `zero_grad`, `backward`, `step`, running loss, then a validation pass) each "
        f"trained lesson 04's MLP (784-512-10, dropout, Adam lr 2e-3, batch 64) for {config.overhead_epochs} "
        f"epoch(s) on the bundled MNIST, validating on the 1,000 test digits after every epoch, from the same "
        f"seed and shuffling order, on one thread. Only the training call was timed (model, optimizer and "
        f"loaders were built before the clock started). After one untimed warm-up pair, {config.repeats} "
        f"pairs were timed, alternating which loop went first; the ratio is fit / bare for each pair.",
        "",
        _machine_note(report, 4),
        "",
    ]
    result = report.overhead
    if result is None:
        return lines
    rows = []
    for name, s in (("`fit`", result.fit_summary), ("bare loop", result.bare_summary)):
        rows.append([name, f"{s.median:.3f} s", f"{s.iqr:.3f} s", f"{s.minimum:.3f}-{s.maximum:.3f} s"])
    s = result.summary
    rows.append(["**fit / bare ratio**", f"**{s.median:.3f}**", f"{s.iqr:.3f}", f"{s.minimum:.3f}-{s.maximum:.3f}"])
    lines += _table(["Loop", "Median", "IQR", "Min-max"], rows)
    verdict = "**met**" if result.meets_goal else "**missed**"
    lines += [
        "",
        f"Goal: ratio at most {GOAL:.2f}; {verdict} with a median of {s.median:.3f} over {s.n} pairs. "
        f"Both loops produced the same losses and accuracies up to {result.max_difference:.1e} "
        "(0 means identical), so they did the same work.",
    ]
    if not result.meets_goal:
        excess = s.median - GOAL
        lines += [
            "",
            f"What limits it: the median misses the goal by {excess:.3f}, while the ratios themselves spread "
            f"over {s.minimum:.3f}-{s.maximum:.3f} (IQR {s.iqr:.3f}). Each timed run lasts about "
            f"{result.bare_summary.median:.1f} s, so scheduling noise on a shared 2-core machine is as large "
            "as the difference being measured. The only extra work `fit` does per batch is checking that "
            "the batch is a pair of tensors and that outputs and labels have the same number of rows "
            "(microseconds against milliseconds per batch); per epoch it also records the learning rate "
            "and the history. More repeats or longer runs (`--repeats`) narrow the estimate.",
        ]
    return lines


def _render_onnx(report: Report) -> list[str]:
    config = report.config
    lines = [
        f"**How it was measured.** Lesson 08's model, the ImageNet-trained EfficientNet-Lite0 from "
        f"`helpers.pretrained.load_efficientnet_lite0`, was exported with `helpers.deploy.export_onnx` "
        f"(dynamo exporter, dynamic batch axis) to a temporary folder and opened with "
        f"`helpers.deploy.onnx_session`. Inputs were {config.onnx_image_size} x {config.onnx_image_size} random "
        f"images, the same for both runtimes; both used one thread, as in the lesson; PyTorch ran under "
        f"`torch.inference_mode()`. After 2 untimed calls each, calls were timed one by one, alternating the "
        f"two runtimes. Speed-up is the median PyTorch time over the median ONNX Runtime time. Parity is the "
        f"largest absolute difference between the two runtimes' logits on the timed input.",
        "",
        _machine_note(report, 5),
        "",
    ]
    result = report.onnx
    if result is None:
        return lines
    rows = []
    for row in result.rows:
        t, o = row.torch_summary, row.onnx_summary
        rows.append([
            str(row.batch), str(row.repeats), f"{format_ms(t.median)} ({format_ms(t.iqr)})",
            f"{format_ms(o.median)} ({format_ms(o.iqr)})", f"{row.speedup:.2f}x",
            f"{row.max_abs_error:.2e}", "yes" if row.same_top1 else "no",
        ])
    lines += _table(
        ["Batch", "Timed calls each", "PyTorch eager median (IQR)", "ONNX Runtime median (IQR)",
         "Speed-up", "Max abs error", "Same top-1 class"],
        rows,
    )
    lines += [
        "",
        f"Export took {result.export_s:.1f} s (one export) and wrote a {format_bytes(result.file_bytes)} file.",
        "",
        f"![Latency per batch size]({FIGURES['latency']})",
    ]
    return lines


def _render_setup(report: Report) -> list[str]:
    result = report.setup
    intro = (
        "**How it was measured.** The Makefile's set-up recipe, run in a temporary folder on a copy of "
        "`pyproject.toml`, `README.md`, `requirements.lock`, `helpers/` and `tools/install_env.py`: "
        "`python3 -m venv`, then `tools/install_env.py` (uv from PyPI at the locked version, then "
        "`uv pip install -c requirements.lock -e '.[dev]'`: exactly the locked versions), then the import "
        "check of `torch`, `torchvision` and `helpers`. Each step is timed once (an install is a one-off "
        "event: a second one would find a warm cache); the size on disk is measured like `du -s`; the "
        "environment is deleted afterwards."
    )
    lines = [intro, "", _machine_note(report, 6), ""]
    if result is None:
        return lines
    if result.mode == "skipped":
        return lines + [f"**Skipped:** {result.reason}. No set-up cost was measured in this run."]
    if result.mode == "bare-venv":
        step, seconds = next(iter(result.steps_s.items()))
        return lines + [
            "**Quick mode: the course's set-up was not measured.** Only an empty environment was created "
            f"(`python -m venv --without-pip`, no packages): {step} took {seconds:.2f} s and "
            f"{format_bytes(result.disk_bytes)} of disk. Run without `--quick` for the real cost.",
        ]
    rows = [[_code(step), f"{seconds:.1f} s"] for step, seconds in result.steps_s.items()]
    rows.append(["**Total**", f"**{format_seconds(result.total_s)}**"])
    lines += _table(["Step", "Time"], rows)
    cache = (
        f"uv and pip started from **empty caches** (temporary `UV_CACHE_DIR` and `PIP_CACHE_DIR`), so every "
        f"package was fetched and unpacked as on a new machine; they filled "
        f"{format_bytes(result.cache_bytes or 0)} of cache, also deleted."
        if result.cache == "empty"
        else "uv and pip used their **existing caches** (a warm install; a first install takes longer)."
    )
    lines += [
        "",
        f"- Disk: the new environment takes **{format_bytes(result.disk_bytes)}**.",
        "- Largest entries in its site-packages: "
        + ", ".join(f"{name} {format_bytes(size)}" for name, size in result.largest) + ".",
        f"- {cache}",
        f"- Interpreter: {result.python}; {result.pip_version.split(' from ')[0]}; {result.check_output}.",
    ]
    if result.sources:
        lines.append("- Package sources besides PyPI that pip was configured with (pip installs only uv "
                     "itself; uv reads none of these): " + "; ".join(_code(s) for s in result.sources) + ".")
    else:
        lines.append("- pip was configured with no package source besides PyPI.")
    return lines


def _glance(report: Report) -> list[str]:
    from benchmarks.overhead import GOAL

    rows = []
    results = report.notebooks or []
    lessons = [r for r in results if r.lesson]
    if lessons:
        slowest = max(lessons, key=lambda r: r.wall_s)
        rows.append(["Every lesson under 60 s", f"slowest: {Path(slowest.notebook).stem} {slowest.wall_s:.1f} s",
                     "yes" if slowest.wall_s <= LESSON_GOAL_S else "**no**"])
    if results and report.all_notebooks:
        total = sum(r.wall_s for r in results)
        rows.append(["Whole course under 6 min", format_seconds(total), "yes" if total <= COURSE_GOAL_S else "**no**"])
    if report.overhead is not None:
        value = report.overhead.summary.median
        rows.append([f"`fit` / bare loop at most {GOAL:.2f}", f"{value:.3f}", "yes" if value <= GOAL else "**no**"])
    if report.onnx is not None:
        for row in report.onnx.rows:
            rows.append([f"ONNX Runtime speed-up, batch {row.batch}", f"{row.speedup:.2f}x", "(no goal)"])
    setup = report.setup
    if setup is not None and setup.mode == "full":
        where = "empty cache" if setup.cache == "empty" else "warm cache"
        rows.append([f"Set-up under {SETUP_GOAL_S} s ({where})", format_seconds(setup.total_s),
                     "yes" if setup.total_s <= SETUP_GOAL_S else "**no**"])
    if not rows:
        return []
    return ["## At a glance", "", *_table(["Goal", "Measured", "Met"], rows), ""]


def render(report: Report) -> str:
    """Return the markdown of the report."""
    config = report.config
    mode = (
        "**quick configuration** (a smoke test: tiny budgets, one small notebook; not the course's real numbers)"
        if config.quick_mode
        else "full configuration"
    )
    lines = [
        "# Benchmark report",
        "",
        f"Measured in one run of `python -m benchmarks.report` ({mode}), which took "
        f"{format_seconds(report.total_s)}. Every number below was measured in that run; rerun the command to "
        "refresh them. Timings depend on the machine and on what else it was doing: each section says how busy "
        "other programs kept the CPU.",
        "",
        report.machine.line(),
        "",
    ]
    if report.failures:
        failed = ", ".join(str(n) for n in sorted(report.failures))
        lines += [f"**Warning: section(s) {failed} failed; see below.**", ""]
    lines += _glance(report)
    renderers = {1: _render_notebooks, 2: _render_learning, 3: _render_recipes, 4: _render_overhead,
                 5: _render_onnx, 6: _render_setup}
    for number, title in SECTION_TITLES.items():
        lines += [title, ""]
        if number in report.failures:
            lines += [f"**This section failed:** {_code(report.failures[number])}", ""]
        lines += renderers[number](report)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: Report, out_dir: Path) -> Path:
    """Write REPORT.md and the charts into ``out_dir``; return the path of REPORT.md."""
    from benchmarks.figures import latency_chart, notebook_chart, recipe_chart

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in FIGURES.values():  # never leave a chart from an older run next to this report
        (out_dir / name).unlink(missing_ok=True)
    if report.notebooks:
        notebook_chart(report.notebooks, out_dir / FIGURES["notebooks"], LESSON_GOAL_S)
    if report.recipes:
        recipe_chart(report.recipes, out_dir / FIGURES["recipes"], report.config.budget_s)
    if report.onnx is not None:
        latency_chart(report.onnx, out_dir / FIGURES["latency"])
    path = out_dir / "REPORT.md"
    tmp = out_dir / ".REPORT.md.partial"
    tmp.write_text(render(report), encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- command line
def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path]:
    """Return the ``Config`` and the output folder the command line asks for."""
    from benchmarks.notebooks_timing import resolve_notebooks

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Measure the course on this machine and write REPORT.md with its charts.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="tiny configuration for a smoke test (seconds); writes to artifacts/report-quick/ "
                             "unless --out is given")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/)")
    parser.add_argument("--notebooks", nargs="+", metavar="NOTEBOOK",
                        help="notebooks for sections 1-2 (default: every lesson and assignment answer)")
    parser.add_argument("--repeats", type=_positive(int),
                        help="timed pairs in section 4 and timed calls at batch 32 in section 5, 4x that at batch 1 "
                             "(default 5)")
    parser.add_argument("--notebook-runs", type=_positive(int),
                        help="executions per notebook; more than 1 reports medians (default 1)")
    parser.add_argument("--recipe-runs", type=_positive(int), help="runs per recipe in section 3 (default 3)")
    parser.add_argument("--budget", type=_positive(float), help="training seconds per recipe in section 3 (default 15)")
    parser.add_argument("--skip-setup", action="store_true", help="do not measure section 6 (set-up cost)")
    parser.add_argument("--setup-cache", choices=("empty", "existing"),
                        help="section 6: start pip from an empty cache (default) or use your existing one")
    parser.add_argument("--timeout", type=_positive(int), help="seconds allowed per notebook cell (default 300)")
    args = parser.parse_args(argv)
    changes: dict = {}
    for arg, name in (("repeats", "repeats"), ("notebook_runs", "notebook_runs"), ("recipe_runs", "recipe_runs"),
                      ("budget", "budget_s"), ("setup_cache", "setup_cache"), ("timeout", "cell_timeout")):
        if getattr(args, arg) is not None:
            changes[name] = getattr(args, arg)
    if args.notebooks:
        try:
            changes["notebooks"] = tuple(resolve_notebooks(args.notebooks))
        except ValueError as err:
            parser.error(str(err))
    if args.skip_setup:
        changes["setup"] = "skipped"
    try:
        config = Config.quick(**changes) if args.quick else Config.full(**changes)
    except ValueError as err:
        parser.error(str(err))
    out = args.out or (ROOT / "artifacts" / "report-quick" if args.quick else ROOT / "reports")
    return config, out


def main(argv: list[str] | None = None) -> int:
    config, out = parse_args(argv)
    report = run_report(config)
    path = write_report(report, out)
    _log(f"wrote {path} in {format_seconds(report.total_s)}")
    if report.failures:
        for number, message in sorted(report.failures.items()):
            _log(f"section {number} failed: {message}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
