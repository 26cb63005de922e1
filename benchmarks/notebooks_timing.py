"""Section 1: execute each notebook in a fresh kernel, timing it and sampling its memory.

Each notebook is read into memory and executed there with nbclient, the way
``tools/run_notebooks.py`` does it: a new ``python3`` kernel, the notebook's own folder
as the working directory, ``COURSE_STRICT_CHECKS=1`` so a broken exercise answer fails.
The executed copy is never written back to ``notebooks/``; only what the notebooks
themselves write (under ``artifacts/`` and ``data/``) reaches the disk.

While a notebook runs, a background thread sums the resident memory (RSS) of every
process this program has started (the kernel and anything the kernel starts, such as
``torchrun`` workers) every 0.05 s and keeps the largest sum.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks import ROOT
from benchmarks.stats import median

__all__ = [
    "CellTime",
    "NotebookRun",
    "NotebookResult",
    "ProcessTreeSampler",
    "default_notebooks",
    "resolve_notebooks",
    "stdout_text",
    "cell_times",
    "execute_notebook",
    "time_notebooks",
]

STRICT_ENV = {"COURSE_STRICT_CHECKS": "1"}


def default_notebooks(root: Path = ROOT) -> list[Path]:
    """Return the lessons ``notebooks/0*.ipynb`` and the assignment answers, in course order."""
    notebooks = root / "notebooks"
    return sorted(notebooks.glob("0*.ipynb")) + sorted((notebooks / "assignments" / "solutions").glob("*.ipynb"))


def resolve_notebooks(names: Sequence[str | os.PathLike], root: Path = ROOT) -> list[Path]:
    """Return the notebooks named in ``names`` (paths relative to the current folder or to ``root``).

    Raises ValueError for a name that is not an existing ``.ipynb`` file.
    """
    paths = []
    for name in names:
        candidate = Path(name)
        for path in (candidate, root / candidate):
            if path.is_file():
                break
        else:
            raise ValueError(f"notebook {str(name)!r} not found (looked in {Path.cwd()} and {root})")
        if path.suffix != ".ipynb":
            raise ValueError(f"{str(name)!r} is not a notebook (.ipynb file)")
        paths.append(path.resolve())
    if not paths:
        raise ValueError("no notebooks given")
    return paths


def is_lesson(path: str | Path) -> bool:
    """True for a lesson notebook (``notebooks/0*.ipynb``), False for an assignment or anything else."""
    path = Path(path)
    return path.parent.name == "notebooks" and path.name.startswith("0")


class ProcessTreeSampler:
    """Sample the summed RSS of every descendant of ``root_pid``; keep the peak and the CPU time seen.

    Reading one process's memory is cheap, finding the descendants is not (it scans
    every process), so the tree is re-scanned every ``rescan_s`` seconds and the known
    processes are read every ``interval_s`` seconds.
    """

    def __init__(self, root_pid: int | None = None, interval_s: float = 0.05, rescan_s: float = 0.5) -> None:
        if interval_s <= 0 or rescan_s <= 0:
            raise ValueError(f"interval_s and rescan_s must be positive, got {interval_s} and {rescan_s}")
        self._root = psutil.Process(root_pid if root_pid is not None else os.getpid())
        self._interval, self._rescan = interval_s, rescan_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak_rss = 0
        self.samples = 0
        self._cpu: dict[int, float] = {}  # pid -> last seen user + system seconds

    @property
    def cpu_seconds(self) -> float:
        """CPU time of the sampled processes as last seen (their final fraction of a second may be missed)."""
        return sum(self._cpu.values())

    def _descendants(self) -> list[psutil.Process]:
        try:
            return self._root.children(recursive=True)
        except psutil.Error:
            return []

    def _run(self) -> None:
        processes: list[psutil.Process] = []
        next_scan = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_scan:
                processes = self._descendants()
                next_scan = now + self._rescan
            total = 0
            for proc in processes:
                try:
                    with proc.oneshot():
                        total += proc.memory_info().rss
                        times = proc.cpu_times()
                        self._cpu[proc.pid] = times.user + times.system
                except psutil.Error:  # the process ended between the scan and the read
                    continue
            self.peak_rss = max(self.peak_rss, total)
            self.samples += 1
            self._stop.wait(self._interval)

    def __enter__(self) -> ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the kernel inherits them), then restore them."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class CellTime:
    """How long one code cell took, and its first line (to say which cell)."""

    index: int
    seconds: float
    first_line: str


@dataclass
class NotebookRun:
    """One fresh execution of one notebook."""

    notebook: str  # path relative to the repository root
    wall_s: float  # kernel start-up, every cell, kernel shut-down
    peak_rss_bytes: int
    cpu_s: float
    cells_s: float  # the cells alone, as the kernel reported them
    slowest_cells: list[CellTime]
    error: str | None = None
    stdout: str = field(default="", repr=False)


@dataclass
class NotebookResult:
    """All executions of one notebook, and their medians."""

    notebook: str
    runs: list[NotebookRun]

    @property
    def ok(self) -> bool:
        return all(run.error is None for run in self.runs)

    @property
    def error(self) -> str | None:
        return next((run.error for run in self.runs if run.error), None)

    @property
    def wall_s(self) -> float:
        return median([r.wall_s for r in self.runs], f"{self.notebook} wall times")

    @property
    def peak_rss_bytes(self) -> float:
        return median([r.peak_rss_bytes for r in self.runs], f"{self.notebook} peak memory")

    @property
    def cpu_s(self) -> float:
        return median([r.cpu_s for r in self.runs], f"{self.notebook} CPU times")

    @property
    def stdout(self) -> str:
        return self.runs[0].stdout

    @property
    def lesson(self) -> bool:
        return is_lesson(self.notebook)


def stdout_text(nb) -> str:
    """Return everything the notebook's code cells printed to stdout, in order, one cell after another."""
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(
            out.get("text", "")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream" and out.get("name") == "stdout"
        )
        if text:
            chunks.append(text if text.endswith("\n") else text + "\n")
    return "".join(chunks)


def _timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def cell_times(nb) -> list[CellTime]:
    """Return how long each executed code cell took, from the timestamps nbclient records."""
    times = []
    for index, cell in enumerate(nb.cells):
        execution = cell.get("metadata", {}).get("execution", {})
        start, end = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if cell.cell_type != "code" or not start or not end:
            continue
        try:
            seconds = (_timestamp(end) - _timestamp(start)).total_seconds()
        except ValueError:
            continue
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        times.append(CellTime(index=index, seconds=max(0.0, seconds), first_line=first[:70]))
    return times


def execute_notebook(path: Path, timeout: int = 300, root: Path = ROOT) -> NotebookRun:
    """Execute an in-memory copy of ``path`` in a fresh kernel; return its time, memory and output.

    A cell that fails does not raise: the run is returned with ``error`` set.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)  # a copy in memory: never written back
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working folder
        record_timing=True,
    )
    error = None
    with _environment(STRICT_ENV), ProcessTreeSampler() as sampler:
        start = time.perf_counter()
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as err:
            lines = [line for line in str(err).strip().splitlines() if line.strip()]
            error = f"{type(err).__name__}: {lines[-1] if lines else ''}"[:300]
        wall = time.perf_counter() - start
    cells = cell_times(nb)
    try:
        name = str(path.relative_to(root))
    except ValueError:
        name = str(path)
    return NotebookRun(
        notebook=name,
        wall_s=wall,
        peak_rss_bytes=sampler.peak_rss,
        cpu_s=sampler.cpu_seconds,
        cells_s=sum(c.seconds for c in cells),
        slowest_cells=sorted(cells, key=lambda c: -c.seconds)[:3],
        error=error,
        stdout=stdout_text(nb),
    )


def time_notebooks(
    paths: Sequence[Path], runs: int = 1, timeout: int = 300, root: Path = ROOT, log=print
) -> list[NotebookResult]:
    """Execute every notebook ``runs`` times (round after round) and return one result per notebook."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    if not paths:
        raise ValueError("no notebooks to run")
    collected: dict[Path, list[NotebookRun]] = {Path(p): [] for p in paths}
    for round_ in range(1, runs + 1):
        for path in collected:
            run = execute_notebook(path, timeout=timeout, root=root)
            collected[path].append(run)
            status = "ok" if run.error is None else f"FAILED ({run.error})"
            log(f"  [{round_}/{runs}] {run.notebook}: {run.wall_s:.1f} s, "
                f"peak {run.peak_rss_bytes / 2**20:.0f} MiB, {status}")
    return [NotebookResult(notebook=runs_[0].notebook, runs=runs_) for runs_ in collected.values()]
