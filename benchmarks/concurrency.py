"""Benchmark 4: how many duplex real-time sessions one client core holds with p99 lag < 20 ms.

Each step runs in a fresh client process (one asyncio loop: one core) against the loopback
server in another process. Every session sends a 20 ms frame of 16 kHz user audio every 20 ms
(``send_audio``, resampled to 24 kHz) while the server sends 100 ms of assistant audio every
100 ms, each session at a random phase. Lag = app receives the event - server sent it. The
ladder doubles N until a step fails, then bisects twice. Memory per session is the client's RSS
growth over N (idle after connecting; while streaming). The floor, bare ``websockets``, does the
same job with the least code: per frame it resamples (send_audio's soxr recipe, a stream per
session), base64s and writes the append, and it json-decodes and base64-decodes each delta.

A second table holds the local server to the same test: ``realtalk serve --workers 1`` and
``--workers 2`` (deterministic engines), N bare sessions, lag = the round trip of a clear.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from benchmarks import _targets
from benchmarks._harness import ROOT, LoopbackServer
from benchmarks._stats import Table, median

__all__ = ["run"]

LAG_LIMIT_MS = 20.0
DELTA_MS = 100


@dataclass(frozen=True)
class Plan:
    ladder: tuple[int, ...]
    bisect: int
    seconds: float
    warmup: float
    server_ladder: tuple[int, ...]
    workers: tuple[int, ...] = (1, 2)
    cost_n: int = 100  # sessions of the naive harness (well under what either client holds)
    cost_runs: int = 3
    tries: int = 1  # runs of a failing ladder step before it counts as failed (see attempt)


FULL = Plan(
    ladder=(50, 100, 200, 400, 800, 1600),
    # Four bisections: N to within 1/32 of the doubling step (~6 sessions at 200), finer than
    # the 10 % the goal allows; two left the ratio of 150 to 175 (0.86x) a quantisation step.
    bisect=4,
    seconds=4.0,
    warmup=1.0,
    server_ladder=(25, 50, 100, 200, 400, 800),
    tries=3,
)
QUICK = Plan(
    ladder=(2, 4), bisect=0, seconds=0.5, warmup=0.3, server_ladder=(2,), cost_n=2, cost_runs=1
)


def _cores() -> tuple[int, int] | None:
    """(server core, client core): the loopback server and the client each get a core of
    their own, so neither one's load shows up as the other's lag; None on one core."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else None


CORES = _cores()


def pin_server(server: LoopbackServer) -> None:
    if CORES:
        os.sched_setaffinity(server.pid, {CORES[0]})


SERVE = [
    sys.executable,
    "-m",
    "realtalk",
    "serve",
    "--no-auth",
    "--port",
    "0",
    "--max-sessions",
    "100000",
    *("--vad", "energy", "--transcriber", "tone", "--synthesizer", "tone", "--brain", "echo"),
]


class Served:
    """``realtalk serve --workers N`` (the real CLI, deterministic engines) in a subprocess."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.proc = subprocess.Popen(
            [*SERVE, "--workers", str(workers)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        port, self.pids = 0, [self.proc.pid]
        while line := self.proc.stdout.readline():
            if match := re.search(r"listening on ws://127\.0\.0\.1:(\d+)/", line):
                port = int(match.group(1))
            if line.startswith("playground:") and workers == 1:
                break  # one worker serves in the process itself
            if line.startswith("workers: "):
                self.pids = [int(pid) for pid in line.split()[1:]]
                break
        if not port:
            self.close()
            raise RuntimeError("realtalk serve did not start")
        self.url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers so far (Linux /proc; 0 elsewhere)."""
        total = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, ValueError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # no session is left: it exits at once
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def step(server: LoopbackServer | Served, kind: str, n: int, plan: Plan) -> dict[str, Any]:
    if isinstance(server, Served):
        url, cpu0, wall0 = server.url, server.cpu_seconds(), time.monotonic()
    else:
        url = server.url(mode="duplex", ms=DELTA_MS, seconds=plan.warmup + plan.seconds + 30)
        server.stats()  # reset the server's counters
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks._duplex_client",
            f"--kind={kind}",
            f"--url={url}",
            f"--n={n}",
            f"--ms={DELTA_MS}",
            f"--seconds={plan.seconds}",
            f"--warmup={plan.warmup}",
            *([f"--cpu={CORES[1]}"] if CORES and not isinstance(server, Served) else []),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        return {"n": n, "failed": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if isinstance(server, Served):
        # All workers' CPU over the whole step (connecting included), per core it had.
        share = (server.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
        result["server"] = {"cpu_share": share, "workers": server.workers}
    else:
        result["server"] = server.stats()
    return result


def passed(result: dict[str, Any]) -> bool:
    p99 = result.get("lag_p99_ms")
    return (
        "failed" not in result
        and p99 is not None
        and p99 < LAG_LIMIT_MS
        and result["received"] >= 0.98 * result["expected"]
        and result["errors"] == 0
    )


SATURATED = 0.95  # client CPU share at which the core itself is the limit


def attempt(server: LoopbackServer | Served, kind: str, n: int, plan: Plan) -> dict[str, Any]:
    """One ladder step: up to ``plan.tries`` runs at N, stopping at the first that passes.

    The machine's own noise (another process on the core, the hypervisor's steal) only ever
    adds lag: a run that passed held N, but one stall of a few hundred ms fails a run whose
    client had the CPU to spare (seen: p99 lags of 70-240 ms at 40-60 % client CPU, for
    either client). So a failing run is repeated and the best run is kept: both clients are
    measured on the machine at its quietest. A run that saturated a core failed on capacity
    and is not repeated (see :func:`saturated`); nor is a crash. The kept run records
    ``tries``."""
    runs: list[dict[str, Any]] = []
    while len(runs) < max(1, plan.tries):
        result = step(server, kind, n, plan)
        runs.append(result)
        if passed(result) or "failed" in result or saturated(result):
            break
    kept = next((r for r in runs if passed(r)), None) or min(runs, key=_p99_or_inf)
    return {**kept, "tries": len(runs)}


def saturated(result: dict[str, Any]) -> bool:
    """The run used all the CPU it had: the client its core, or ``realtalk serve``'s workers
    theirs (one core each) or, with the client, every core of the machine. A run of the server
    ladder fails on the server's capacity, and a try more only costs its ~20 s again."""
    if result["cpu_share"] >= SATURATED:
        return True
    server = result.get("server") or {}
    if "workers" not in server:
        return False  # the loopback server of the client ladder: never the limit (own core)
    share = float(server["cpu_share"])
    cores = os.cpu_count() or 1
    return share >= SATURATED * min(server["workers"], cores) or (
        share + result["cpu_share"] >= SATURATED * cores
    )


def _p99_or_inf(result: dict[str, Any]) -> float:
    p99 = result.get("lag_p99_ms")
    return math.inf if "failed" in result or p99 is None else float(p99)


def ladder(
    server: LoopbackServer | Served, kind: str, plan: Plan
) -> tuple[list[dict[str, Any]], int]:
    """All steps run (each an :func:`attempt`), and the largest N that passed (0 if none)."""
    results: list[dict[str, Any]] = []
    best, worst = 0, 0
    for n in plan.server_ladder if kind == "server" else plan.ladder:
        result = attempt(server, kind, n, plan)
        results.append(result)
        if not passed(result):
            worst = n
            break
        best = n
    for _ in range(plan.bisect if worst else 0):
        n = (best + worst) // 2
        if n in (best, worst):
            break
        result = attempt(server, kind, n, plan)
        results.append(result)
        if passed(result):
            best = n
        else:
            worst = n
    return sorted(results, key=lambda r: int(r["n"])), best


def _ms(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def run(quick: bool = False) -> list[Table]:
    plan = QUICK if quick else FULL
    table = Table(
        "Concurrent duplex sessions on one client core (lag = server send -> app has the event)",
        [
            "client / N",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "send late p99",
            "client CPU",
            "CPU ms/session-s",
            "server CPU",
            "KB/session idle",
            "KB/session busy",
            "tries",
            "queued ms",
            "stolen ms",
            "ok",
        ],
    )
    summary: dict[str, tuple[int, dict[str, Any] | None]] = {}
    with LoopbackServer() as server:
        pin_server(server)
        costs, cost_ratio = cost_table(server, plan)
        for kind, label in (("realtalk", "realtalk Session"), ("floor", "floor: websockets")):
            results, best = ladder(server, kind, plan)
            at_best = next((r for r in results if r["n"] == best), None)
            summary[label] = (best, at_best)
            for r in results:
                if "failed" in r:
                    table.add(f"{label} / {r['n']}", *(["-"] * 12), f"crashed: {r['failed'][0]}")
                    continue
                table.add(
                    f"{label} / {r['n']}",
                    _ms(r["lag_p50_ms"]),
                    _ms(r["lag_p99_ms"]),
                    _ms(r["lag_max_ms"]),
                    _ms(r["send_late_p99_ms"]),
                    f"{r['cpu_share']:.0%}",
                    r["cpu_share"] * 1000 / r["n"],
                    f"{r['server']['cpu_share']:.0%}",
                    float(r["idle_kb_per_session"]),
                    float(r["busy_kb_per_session"]),
                    r["tries"],
                    _ms(r.get("queued_ms")),
                    _ms(r.get("stolen_ms")),
                    "yes" if passed(r) else "no",
                )
    ours = summary["realtalk Session"][0]
    floor = summary["floor: websockets"][0]
    for label, (best, at_best) in summary.items():
        if at_best is None:
            table.note(f"{label}: no step passed")
            continue
        cost = at_best["cpu_share"] * 1000 / at_best["n"]
        table.note(
            f"{label}: largest N with p99 lag < {LAG_LIMIT_MS:g} ms: {best} "
            f"(memory {at_best['busy_kb_per_session']:.0f} KB/session while streaming; "
            f"{cost:.2f} CPU ms per session-second, so a CPU-bound ceiling of "
            f"~{1000 / cost:.0f} sessions per core)"
        )
    if ours and floor:
        table.note(
            f"realtalk holds {ours / floor:.2f}x the sessions of the floor; the naive harness's "
            f"CPU per session-second says {cost_ratio:.2f}x (next table)"
        )
    table.note(_pinning())
    table.target(
        _targets.at_least(
            "sessions per client core: realtalk / floor", ours / floor if floor else math.nan, 0.9
        )
    )
    table.note(
        f"per step: {plan.warmup:g} s warm-up, then {plan.seconds:g} s measured; each session "
        f"sends 50 frames/s of 20 ms and receives 10 deltas/s of {DELTA_MS} ms; the ladder "
        f"doubles until a step fails, then bisects {plan.bisect} times; a failing step is run "
        f"up to {plan.tries} times and its best run kept (the machine's noise only adds lag), "
        f"unless the client saturated its core (CPU >= {SATURATED:.0%})"
    )
    table.note(
        "queued / stolen = the time in the measured window the client, ready to run, waited "
        "behind another process on its core / the hypervisor ran something else there (steal): "
        "lag the machine added, not the client"
    )
    table.note(
        "send late = how late the app's 20 ms send timer fired (event-loop saturation); "
        "server CPU near 100% would mean the server, not the client, was the limit; "
        "lag is wall-clock: other load on the machine (see the load average) inflates it"
    )
    return [table, costs, server_table(plan)]


def _pinning() -> str:
    if CORES is None:
        return "client and server share this machine's only core"
    return (
        f"the client process runs on core {CORES[1]} only and the loopback server on core "
        f"{CORES[0]} (sched_setaffinity); other load on the machine still shares them"
    )


HELD = (
    "reconnect=None: the same realtalk session without reconnects, so without the audio of "
    "the turn under way kept (a reference to each append's bytes) for a reconnect to replay "
    "(these sessions are one manual turn, never committed: 48 KB of 24 kHz PCM16 held per "
    "second of streaming, up to 15 MiB); realtalk's KB/session busy includes it"
)


def cost_table(server: LoopbackServer, plan: Plan) -> tuple[Table, float]:
    """The naive harness beside the ladder: both clients at one fixed N, far below what either
    holds, and only their CPU per session-second (no lag limit, no search). On a core of its
    own a CPU-bound client holds about 1000 / cost sessions, so floor cost / realtalk cost
    should agree with the ladder's sessions ratio."""
    table = Table(
        f"Client CPU per session-second at a fixed N = {plan.cost_n} (the naive harness)",
        [
            "client",
            "CPU ms/session-s",
            "runs",
            "spread",
            "lag p99 ms",
            "queued ms",
            "stolen ms",
            "ok",
        ],
    )
    kinds = (
        ("realtalk", "realtalk Session"),
        ("realtalk-noreconnect", "realtalk Session, reconnect=None"),
        ("floor", "floor: websockets"),
    )
    costs: dict[str, list[float]] = {kind: [] for kind, _ in kinds}
    lags: dict[str, list[float]] = {kind: [] for kind, _ in kinds}
    off: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind, _ in kinds}
    ok: dict[str, bool] = {kind: True for kind, _ in kinds}
    for _ in range(plan.cost_runs):
        for kind in costs:  # interleaved: a burst of other load hits both
            r = step(server, kind, plan.cost_n, plan)
            if "failed" in r:
                ok[kind] = False
                continue
            costs[kind].append(r["cpu_share"] * 1000 / r["n"])
            lags[kind].append(_ms(r["lag_p99_ms"]))
            off[kind][0].append(_ms(r.get("queued_ms")))
            off[kind][1].append(_ms(r.get("stolen_ms")))
            ok[kind] = ok[kind] and passed(r)
    for kind, label in kinds:
        values = costs[kind]
        if not values:
            table.add(label, "-", 0, "-", "-", "-", "-", "crashed")
            continue
        table.add(
            label,
            median(values),
            len(values),
            f"{min(values):.2f}-{max(values):.2f}",
            median(lags[kind]),
            median(off[kind][0]),
            median(off[kind][1]),
            "yes" if ok[kind] else "no",
        )
    ours, floor = median(costs["realtalk"]), median(costs["floor"])
    table.note(
        f"{plan.cost_runs} runs per client, interleaved; {plan.warmup:g} s warm-up then "
        f"{plan.seconds:g} s measured; the same job as the ladder; {_pinning()}; lag p99, "
        "queued and stolen are medians over the runs (queued / stolen as in the ladder)"
    )
    table.note(HELD)
    ratio = floor / ours if ours else math.nan
    table.target(
        _targets.at_least("sessions per client core from CPU cost: floor / realtalk", ratio, 0.9)
    )
    return table, ratio


def server_table(plan: Plan) -> Table:
    """Sessions ``realtalk serve`` holds with 1 and 2 worker processes."""
    table = Table(
        "Sessions the local server holds: realtalk serve --workers W (clear round trip < 20 ms)",
        [
            "workers / N",
            "rtt p50 ms",
            "rtt p99 ms",
            "rtt max ms",
            "send late p99",
            "client CPU",
            "server CPU",
            "CPU ms/session-s",
            "tries",
            "ok",
        ],
    )
    best: dict[int, int] = {}
    for workers in plan.workers:
        with Served(workers) as served:
            results, best[workers] = ladder(served, "server", plan)
        for r in results:
            if "failed" in r:
                table.add(f"{workers} / {r['n']}", *(["-"] * 8), f"crashed: {r['failed'][0]}")
                continue
            share = r["server"]["cpu_share"]
            table.add(
                f"{workers} / {r['n']}",
                _ms(r["lag_p50_ms"]),
                _ms(r["lag_p99_ms"]),
                _ms(r["lag_max_ms"]),
                _ms(r["send_late_p99_ms"]),
                f"{r['cpu_share']:.0%}",
                f"{share:.0%}",
                share * 1000 / r["n"],
                r["tries"],
                "yes" if passed(r) else "no",
            )
        table.note(f"--workers {workers}: largest N that passed: {best[workers]}")
    one, two = best.get(1, 0), best.get(2, 0)
    if one and two:
        table.note(f"2 workers hold {two / one:.2f}x the sessions of 1")
    table.note(
        "each session (bare websockets, one client process) streams 20 ms appends of silence "
        "in real time (server VAD runs on every one) and an input_audio_buffer.clear every "
        "500 ms; rtt = clear -> cleared; engines: energy VAD, tone, echo brain; server CPU = "
        f"all workers over the step, 100% = one core; this machine has {os.cpu_count()} cores "
        "shared with the client process, so 2 workers cannot double what 1 holds here; "
        f"bisected {plan.bisect} times, a failing step run up to {plan.tries} times (as above)"
    )
    return table
