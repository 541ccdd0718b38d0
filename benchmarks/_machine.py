"""What the figures were measured on, and helpers every benchmark shares."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys

__all__ = [
    "describe_machine",
    "has_module",
    "load_average",
    "off_core_ns",
    "rss_bytes",
    "version_of",
]

PACKAGES = (
    "realtalk",
    "websockets",
    "numpy",
    "soxr",
    "pydantic",
    "openai-agents",
    "openai",
    "aiohttp",
    "faster-whisper",
    "onnxruntime",
    "piper-tts",
)


def version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def rss_bytes() -> int:
    """Current resident set size (not the peak), from /proc; 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def off_core_ns(cpu: int | None) -> tuple[int, int] | None:
    """(queued, stolen) so far, in ns: how long this process waited, ready to run, for a core
    (its run-queue delay, /proc/self/schedstat), and how long the hypervisor ran something
    else on ``cpu`` (that core's steal, /proc/stat). The difference of two readings over a
    window is time the machine, not the process's own work, kept it from running. None where
    /proc does not tell (not Linux, or no ``cpu`` to read the steal of)."""
    if cpu is None:
        return None
    try:
        with open("/proc/self/schedstat") as f:
            queued = int(f.read().split()[1])
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith(f"cpu{cpu} "):
                    steal_ticks = int(line.split()[8])
                    break
            else:
                return None
    except (OSError, ValueError, IndexError):
        return None
    return queued, steal_ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "?"


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews wall-clock figures (lag,
    latency) but hardly the CPU-time ones."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def describe_machine() -> list[str]:
    versions = ", ".join(f"{p} {version_of(p) or 'absent'}" for p in PACKAGES)
    return [
        f"CPU: {_cpu_model()} x {os.cpu_count()} (nproc {len(os.sched_getaffinity(0))})",
        f"memory: {_memory()}",
        f"OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"packages: {versions}",
    ]
