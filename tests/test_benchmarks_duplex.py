"""The concurrency benchmark's steps measure what they claim: every session streams, the
answers are counted, and ``realtalk serve --workers N`` is the server of the server ladder.
Timings are never asserted."""

from __future__ import annotations

import dataclasses

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
