"""The PNG charts the report embeds, drawn with matplotlib's object API (no pyplot, no window)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.notebooks_timing import NotebookResult
from benchmarks.onnx_latency import OnnxResult
from benchmarks.recipes import RecipeResult

__all__ = ["notebook_chart", "recipe_chart", "latency_chart"]

DPI = 100


def _short(notebook: str) -> str:
    return Path(notebook).stem


def notebook_chart(results: list[NotebookResult], path: Path, goal_s: float = 60.0) -> Path:
    """Bar chart of each notebook's run time (with the per-lesson goal) and peak memory."""
    if not results:
        raise ValueError("no notebook results to draw")
    names = [_short(r.notebook) for r in results]
    seconds = [r.wall_s for r in results]
    memory = [r.peak_rss_bytes / 2**20 for r in results]
    colors = ["tab:red" if not r.ok else ("tab:blue" if r.lesson else "tab:purple") for r in results]
    height = 1.2 + 0.35 * len(results)
    fig = Figure(figsize=(10, height), dpi=DPI, layout="constrained")
    ax_time, ax_mem = fig.subplots(1, 2, sharey=True)
    positions = list(range(len(results)))
    ax_time.barh(positions, seconds, color=colors)
    ax_time.axvline(goal_s, color="black", linestyle="--", linewidth=1, label=f"goal: {goal_s:.0f} s per lesson")
    for y, value in zip(positions, seconds, strict=True):
        ax_time.text(value, y, f" {value:.1f}", va="center", fontsize=8)
    ax_time.set_yticks(positions, names)
    ax_time.invert_yaxis()
    ax_time.set_xlabel("wall time (s), fresh kernel included")
    ax_time.set_xlim(0, max(max(seconds), goal_s) * 1.15)
    ax_time.legend(loc="lower right", fontsize=8)
    ax_mem.barh(positions, memory, color=colors)
    for y, value in zip(positions, memory, strict=True):
        ax_mem.text(value, y, f" {value:.0f}", va="center", fontsize=8)
    ax_mem.set_xlabel("peak resident memory (MiB), kernel + children")
    ax_mem.set_xlim(0, max(memory) * 1.2 if max(memory) > 0 else 1)
    fig.suptitle("Run time and memory per notebook (blue: lessons, purple: assignment answers)", fontsize=10)
    fig.savefig(path)
    return path


def recipe_chart(results: list[RecipeResult], path: Path, budget_s: float) -> Path:
    """Bar chart of test accuracy per recipe, labelled with the training time each used."""
    if not results:
        raise ValueError("no recipe results to draw")
    fig = Figure(figsize=(8, 3.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    names = [r.recipe.name for r in results]
    accuracy = [r.accuracy for r in results]
    colors = ["tab:blue" if r.recipe.name.startswith("course") else "tab:gray" for r in results]
    ax.bar(names, accuracy, color=colors)
    for x, r in enumerate(results):
        ax.text(x, r.accuracy, f"{r.accuracy:.3f}\n{r.train_s:.1f} s", ha="center", va="bottom", fontsize=8)
    low = min(accuracy)
    ax.set_ylim(max(0.0, low - 0.15), 1.05)
    ax.set_ylabel("test accuracy (median)")
    ax.set_title(f"Bundled MNIST, same seed, at most {budget_s:g} s of training each", fontsize=10)
    fig.savefig(path)
    return path


def latency_chart(result: OnnxResult, path: Path) -> Path:
    """Median latency per batch size for both runtimes, with the interquartile range as error bars."""
    if not result.rows:
        raise ValueError("no latency rows to draw")
    fig = Figure(figsize=(4 * len(result.rows), 3.2), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(result.rows), squeeze=False)[0]
    for ax, row in zip(axes, result.rows, strict=True):
        summaries = [row.torch_summary, row.onnx_summary]
        medians = [s.median * 1e3 for s in summaries]
        errors = [[(s.median - s.q1) * 1e3 for s in summaries], [(s.q3 - s.median) * 1e3 for s in summaries]]
        ax.bar(["PyTorch eager", "ONNX Runtime"], medians, yerr=errors, capsize=4, color=["tab:orange", "tab:green"])
        for x, value in enumerate(medians):  # inside the bar, clear of the error bar
            ax.text(x, value / 2, f"{value:.1f} ms", ha="center", va="center", fontsize=9, color="white")
        ax.set_title(f"batch {row.batch} ({row.repeats} timed calls each)", fontsize=10)
        ax.set_ylabel("median latency (ms), bars: IQR")
    fig.suptitle(
        f"EfficientNet-Lite0 at {result.image_size} px, {result.threads} thread(s)", fontsize=10
    )
    fig.savefig(path)
    return path
