"""Benchmark 3: import cost in fresh interpreters: wall time of the import statement and the
process's peak RSS afterwards, for realtalk and the peer (and the WebSocket clients, for context).

Each statement runs in a new ``python -c`` process, several times; the first run of each is a
warm-up (it may write ``.pyc`` files) and is not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from benchmarks._machine import has_module
from benchmarks._stats import Table, fmt_ratio, median, spread

__all__ = ["run"]

PROBE = """
import resource, time
t0 = time.perf_counter()
{statement}
elapsed = time.perf_counter() - t0
import json
# VmHWM is this process's own peak: ru_maxrss would keep the parent's peak across fork + exec.
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/status") as f:
        rss = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({{"ms": elapsed * 1000, "rss": rss}}))
"""

BASE = "python, nothing imported"
# (label, statement, module that must be importable)
CASES: list[tuple[str, str, str | None]] = [
    (BASE, "pass", None),
    ("import realtalk", "import realtalk", None),
    ("import realtalk; realtalk.Runner", "import realtalk\nrealtalk.Runner", None),
    ("import realtalk.server", "import realtalk.server", None),
    ("import agents.realtime (openai-agents)", "import agents.realtime", "agents"),
    ("import websockets.asyncio.client", "import websockets.asyncio.client", None),
    ("import aiohttp", "import aiohttp", "aiohttp"),
]


class ProbeFailed(Exception):
    pass


def probe(statement: str, cwd: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ProbeFailed((proc.stderr.strip().splitlines() or ["?"])[-1])
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> list[Table]:
    runs = 2 if quick else 7
    cases = [c for c in CASES if c[2] is None or has_module(c[2])]
    missing = [c[0] for c in CASES if c not in cases]
    ms: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    rss: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as cwd:  # nothing in the cwd shadows a package
        for label, statement, _ in cases:
            try:
                probe(statement, cwd)  # warm-up
            except ProbeFailed as exc:
                failed[label] = str(exc)
        cases = [c for c in cases if c[0] not in failed]
        for _ in range(runs):
            for label, statement, _ in cases:
                result = probe(statement, cwd)
                ms[label].append(result["ms"])
                rss[label].append(result["rss"] / 2**20)
    base_rss = median(rss[BASE])
    ours = "import realtalk"
    table = Table(
        "Import cost in a fresh interpreter",
        ["statement", "ms median", "ms p10", "ms p90", "vs realtalk", "max RSS MB", "RSS +MB"],
    )
    for label, _, _ in cases:
        p10, p90 = spread(ms[label])
        mid = median(ms[label])
        mem = median(rss[label])
        ratio = fmt_ratio(mid, median(ms[ours])) if label != BASE else "-"
        table.add(label, mid, p10, p90, ratio, mem, mem - base_rss)
    for label in missing:
        table.note(f"{label}: skipped, the package is not installed")
    for label, error in failed.items():
        table.note(f"{label}: the import failed: {error}")
    table.note(
        f"{runs} runs each after one warm-up; ms = the import statement alone; max RSS = "
        "peak RSS of the whole process (VmHWM) (RSS +MB: over a bare interpreter)"
    )
    return [table]
