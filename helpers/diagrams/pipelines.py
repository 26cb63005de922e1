"""Figures for lesson 05 · Data pipelines: when the batches of a ``DataLoader`` arrive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["plot_batch_timeline"]


def _check_ax(ax):
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes (from plt.subplots) or None, got {type(ax).__name__}")


def _check_times(label: object, times: object) -> list[float]:
    if not isinstance(label, str) or not label:
        raise ValueError(f"every key of runs must be a non-empty label string, got {label!r}")
    if isinstance(times, str | bytes) or not isinstance(times, Sequence) or len(times) == 0:
        raise ValueError(f"runs[{label!r}] must be a non-empty list of arrival times in seconds, got {times!r}")
    values = []
    for t in times:
        if isinstance(t, bool) or not isinstance(t, int | float) or t != t or t < 0:
            raise ValueError(f"runs[{label!r}] must hold times >= 0 in seconds, got {t!r}")
        values.append(float(t))
    if any(b < a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"runs[{label!r}] must be arrival times since the start, in increasing order")
    return values


def plot_batch_timeline(runs: Mapping[str, Sequence[float]], ax=None):
    """Draw, for each run, a staircase of batches received against time (ms); return the axes.

    ``runs`` maps a label (``"num_workers=0"``) to the arrival time of each batch in
    seconds since the loop started, in increasing order: ``times[k]`` is when batch
    ``k + 1`` reached the training loop (``helpers.loaders.batch_arrival_times``
    measures them). A dot marks each arrival; the step to the right of the first dot
    is the start-up cost, and the slope after it the steady throughput.

    Introduced in lesson 05.
    """
    import matplotlib.pyplot as plt

    if not isinstance(runs, Mapping) or len(runs) == 0:
        raise ValueError(f"runs must be a non-empty dict {{label: arrival times}}, got {type(runs).__name__}")
    checked = {label: _check_times(label, times) for label, times in runs.items()}
    _check_ax(ax)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for label, times in checked.items():
        ms = [0.0] + [1000 * t for t in times]
        counts = list(range(len(ms)))
        (line,) = ax.step(ms, counts, where="post", label=f"{label} ({1000 * times[-1]:.0f} ms)")
        ax.plot(ms[1:], counts[1:], "o", color=line.get_color(), markersize=4)
    ax.set_xlabel("time since the loop started (ms)")
    ax.set_ylabel("batches received")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return ax
