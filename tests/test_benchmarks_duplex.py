"""The concurrency benchmark's steps measure what they claim: every session streams, the
answers are counted, and ``realtalk serve --workers N`` is the server of the server ladder.
Timings are never asserted."""

from __future__ import annotations

import dataclasses
import os

import pytest
from benchmarks import concurrency
from benchmarks._harness import LoopbackServer

# Long enough windows that a loaded machine still delivers something inside them.
PLAN = dataclasses.replace(concurrency.QUICK, seconds=2.0, warmup=1.0)


def test_the_client_steps_count_deltas_from_every_session() -> None:
    with LoopbackServer() as server:
        for kind in ("realtalk", "floor"):
            result = concurrency.step(server, kind, 2, PLAN)
            assert "failed" not in result, result
            assert result["errors"] == 0
            assert result["received"] > 0
            assert result["lag_p99_ms"] is not None


@pytest.mark.skipif(concurrency.CORES is None, reason="needs two cores")
def test_client_and_loopback_server_each_run_on_a_core_of_their_own() -> None:
    assert concurrency.CORES is not None
    server_core, client_core = concurrency.CORES
    with LoopbackServer() as server:
        concurrency.pin_server(server)
        assert os.sched_getaffinity(server.pid) == {server_core}
        result = concurrency.step(server, "floor", 2, PLAN)
    assert result["cpus"] == [client_core]


def test_the_naive_harness_gives_both_clients_cpu_per_session_second() -> None:
    plan = dataclasses.replace(PLAN, cost_n=2, cost_runs=1)
    with LoopbackServer() as server:
        table, ratio = concurrency.cost_table(server, plan)
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {
        "realtalk Session",
        "realtalk Session, reconnect=None",
        "floor: websockets",
    }
    assert all(row[1] > 0 for row in rows.values())  # CPU ms per session-second
    assert ratio == pytest.approx(rows["floor: websockets"][1] / rows["realtalk Session"][1])
    assert [t.what for t in table.targets] == [
        "sessions per client core from CPU cost: floor / realtalk"
    ]


def test_the_server_step_runs_against_realtalk_serve_with_two_workers() -> None:
    with concurrency.Served(2) as served:
        assert len(served.pids) == 2  # the workers, whose CPU the step reads
        before = served.cpu_seconds()
        result = concurrency.step(served, "server", 2, PLAN)
    assert "failed" not in result, result
    assert result["errors"] == 0
    assert result["received"] > 0  # clears answered with cleared, timed
    assert result["server"]["cpu_share"] > 0
    assert before > 0
    assert served.proc.returncode == 0  # SIGTERM with no session left: a clean exit
