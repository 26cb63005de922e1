"""What the machine is, and how much of its CPU other programs used while we measured.

``describe_machine()`` collects the facts every section quotes (cores, CPU model, RAM,
operating system, Python and library versions, date). ``CpuMeter`` wraps a block of
work and reports how many CPU-seconds the rest of the machine used meanwhile: on a
shared CPU that is the first thing to look at when a timing looks slow.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata

import psutil

from benchmarks.stats import format_seconds

__all__ = ["MachineInfo", "describe_machine", "cpu_model", "CpuUsage", "CpuMeter"]


def cpu_model() -> str:
    """Return the CPU's marketing name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS), or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    """Return the package's ``__version__`` (which keeps local tags such as ``+cpu``), else its metadata version."""
    try:
        module = importlib.import_module(package)
        return str(module.__version__)
    except (ImportError, AttributeError):
        pass
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class MachineInfo:
    """The facts about the machine and software that every measurement depends on."""

    logical_cores: int
    physical_cores: int | None
    usable_cores: int
    cpu: str
    ram_bytes: int
    os: str
    python: str
    torch: str
    torchvision: str
    onnxruntime: str
    date_utc: str
    load_average_1min: float | None

    def line(self) -> str:
        """One line for the top of the report."""
        physical = f", {self.physical_cores} physical" if self.physical_cores else ""
        usable = "" if self.usable_cores == self.logical_cores else f", {self.usable_cores} usable by this run"
        load = (
            f"; 1-minute load average when the run started: {self.load_average_1min:.2f}"
            if self.load_average_1min is not None
            else ""
        )
        return (
            f"**Machine:** {self.logical_cores} logical cores{physical}{usable} ({self.cpu}), "
            f"{self.ram_bytes / 2**30:.1f} GiB RAM, {self.os}; Python {self.python}, torch {self.torch}, "
            f"torchvision {self.torchvision}, onnxruntime {self.onnxruntime}; measured {self.date_utc}{load}."
        )

    def short(self) -> str:
        """A short reminder for each section."""
        return (
            f"{self.logical_cores} cores ({self.cpu}), {self.ram_bytes / 2**30:.1f} GiB RAM, Python {self.python}, "
            f"torch {self.torch}, torchvision {self.torchvision}, onnxruntime {self.onnxruntime}, {self.date_utc[:10]}"
        )


def describe_machine() -> MachineInfo:
    """Return the ``MachineInfo`` of this machine, now."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # not available on Windows
        load = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        usable = os.cpu_count() or 1
    return MachineInfo(
        logical_cores=psutil.cpu_count(logical=True) or os.cpu_count() or 1,
        physical_cores=psutil.cpu_count(logical=False),
        usable_cores=usable,
        cpu=cpu_model(),
        ram_bytes=psutil.virtual_memory().total,
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        torch=_version("torch"),
        torchvision=_version("torchvision"),
        onnxruntime=_version("onnxruntime"),
        date_utc=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        load_average_1min=load,
    )


@dataclass(frozen=True)
class CpuUsage:
    """CPU time spent while one block of work ran, split between this run and everything else."""

    wall_s: float
    capacity_s: float  # wall time x the number of CPUs watched
    own_s: float  # this process and the child processes it has waited for
    machine_busy_s: float  # every program on the CPUs watched, as the operating system counts it
    steal_s: float  # time a virtual machine's CPUs wanted to run but the host ran something else

    @property
    def others_s(self) -> float:
        """CPU-seconds used by other programs (never negative)."""
        return max(0.0, self.machine_busy_s - self.own_s)

    @property
    def others_share(self) -> float:
        """The fraction of the machine's CPU capacity that other programs used."""
        return self.others_s / self.capacity_s if self.capacity_s > 0 else 0.0

    def sentence(self) -> str:
        steal = (
            f"; the virtual machine's host also withheld {self.steal_s:.1f} CPU-seconds (steal time)"
            if self.steal_s >= 0.5
            else ""
        )
        others = f"{self.others_s:.1f}" if self.others_s < 10 else f"{self.others_s:.0f}"
        return (
            f"While this section ran ({format_seconds(self.wall_s)}), other programs used {others} CPU-seconds, "
            f"{self.others_share:.0%} of the machine's capacity{steal}."
        )


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _machine_cpu_seconds(cpus: list[int] | None) -> tuple[float, float]:
    """Return (busy, steal) CPU-seconds since boot over ``cpus`` (all CPUs when None)."""
    per_cpu = psutil.cpu_times(percpu=True)
    chosen = per_cpu if cpus is None else [per_cpu[i] for i in cpus if i < len(per_cpu)]
    busy = steal = 0.0
    for t in chosen:
        busy += t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
        steal += getattr(t, "steal", 0.0)
    return busy, steal


class CpuMeter:
    """Context manager: ``with CpuMeter() as meter: ...`` then ``meter.usage`` is a ``CpuUsage``.

    Only the CPUs this process may run on are watched. Inside a container whose CPU
    limit is a quota rather than a CPU set, the operating system's counters cover the
    whole host, so the share of "other programs" is then an upper bound.
    """

    def __init__(self) -> None:
        try:
            self._cpus: list[int] | None = sorted(os.sched_getaffinity(0))
        except AttributeError:
            self._cpus = None
        self.usage: CpuUsage | None = None

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._own = _own_cpu_seconds()
        self._busy, self._steal = _machine_cpu_seconds(self._cpus)
        return self

    def __exit__(self, *exc_info) -> None:
        wall = time.perf_counter() - self._wall
        busy, steal = _machine_cpu_seconds(self._cpus)
        count = len(self._cpus) if self._cpus is not None else (psutil.cpu_count() or 1)
        self.usage = CpuUsage(
            wall_s=wall,
            capacity_s=wall * count,
            own_s=_own_cpu_seconds() - self._own,
            machine_busy_s=busy - self._busy,
            steal_s=steal - self._steal,
        )
