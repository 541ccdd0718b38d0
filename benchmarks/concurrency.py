"""Benchmark 4: how many duplex real-time sessions one client core holds with p99 lag < 20 ms.

Each step runs in a fresh client process (one asyncio loop: one core) against the loopback
server in another process. Every session sends a 20 ms frame of 16 kHz user audio every 20 ms
(``send_audio``, resampled to 24 kHz) while the server sends 100 ms of assistant audio every
100 ms, each session at a random phase. Lag = app receives the event - server sent it. The
ladder doubles N until a step fails, then bisects twice. Memory per session is the client's RSS
growth over N (idle after connecting; while streaming).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from benchmarks._harness import ROOT, LoopbackServer
from benchmarks._stats import Table

__all__ = ["run"]

LAG_LIMIT_MS = 20.0
DELTA_MS = 100


@dataclass(frozen=True)
class Plan:
    ladder: tuple[int, ...]
    bisect: int
    seconds: float
    warmup: float


FULL = Plan(ladder=(50, 100, 200, 400, 800, 1600), bisect=2, seconds=4.0, warmup=1.0)
QUICK = Plan(ladder=(2, 4), bisect=0, seconds=0.5, warmup=0.3)


def step(server: LoopbackServer, kind: str, n: int, plan: Plan) -> dict[str, Any]:
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
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        return {"n": n, "failed": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
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


def ladder(server: LoopbackServer, kind: str, plan: Plan) -> tuple[list[dict[str, Any]], int]:
    """All steps run, and the largest N that passed (0 if none)."""
    results: list[dict[str, Any]] = []
    best, worst = 0, 0
    for n in plan.ladder:
        result = step(server, kind, n, plan)
        results.append(result)
        if not passed(result):
            worst = n
            break
        best = n
    for _ in range(plan.bisect if worst else 0):
        n = (best + worst) // 2
        if n in (best, worst):
            break
        result = step(server, kind, n, plan)
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
            "ok",
        ],
    )
    summary: dict[str, tuple[int, dict[str, Any] | None]] = {}
    with LoopbackServer() as server:
        for kind, label in (("realtalk", "realtalk Session"), ("floor", "floor: websockets")):
            results, best = ladder(server, kind, plan)
            at_best = next((r for r in results if r["n"] == best), None)
            summary[label] = (best, at_best)
            for r in results:
                if "failed" in r:
                    table.add(f"{label} / {r['n']}", *(["-"] * 9), f"crashed: {r['failed'][0]}")
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
        table.note(f"realtalk holds {ours / floor:.2f}x the sessions of the floor")
    table.note(
        f"per step: {plan.warmup:g} s warm-up, then {plan.seconds:g} s measured; each session "
        f"sends 50 frames/s of 20 ms and receives 10 deltas/s of {DELTA_MS} ms; the ladder "
        f"doubles until a step fails, then bisects {plan.bisect} times"
    )
    table.note(
        "send late = how late the app's 20 ms send timer fired (event-loop saturation); "
        "server CPU near 100% would mean the server, not the client, was the limit; "
        "lag is wall-clock: other load on the machine (see the load average) inflates it"
    )
    return [table]
