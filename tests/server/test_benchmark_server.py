"""benchmarks/server.py measures what it says: both servers do the same work per event.

Timings are never asserted; these check the workload (the realtalk server and the floor send
the same number of deltas per response, answer every clear, and report their own CPU).
"""

from __future__ import annotations

import asyncio

from benchmarks import server as bench
from benchmarks._server_proc import FLOOR_DELTAS


def test_both_servers_do_the_same_work_and_report_cpu() -> None:
    servers = {kind: bench.ServerProcess(kind) for kind in ("realtalk", "floor")}
    try:

        async def measure() -> dict[str, tuple[float, float, int]]:
            out = {}
            for kind, server in servers.items():
                per_append = await bench._appends(server, 20)
                per_delta, deltas = await bench._deltas(server, 1)
                out[kind] = (per_append, per_delta, deltas)
            return out

        results = asyncio.run(measure())
        duplex = asyncio.run(bench._duplex(servers["realtalk"], 2, 0.6))
    finally:
        for server in servers.values():
            server.close()
    # The floor sends as many deltas as the realtalk server does for the benchmark text.
    assert results["realtalk"][2] == results["floor"][2] == FLOOR_DELTAS
    for per_append, per_delta, _ in results.values():
        assert per_append > 0
        assert per_delta > 0
    # Two sessions, 0.6 s at 50 frames/s, a clear every 25th frame: round trips were measured.
    assert duplex["rtt_p50"] > 0
    assert duplex["cpu_share"] > 0
