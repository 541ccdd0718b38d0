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
    # What the machine took from the pinned client in the window: read, never negative.
    assert result["queued_ms"] >= 0
    assert result["stolen_ms"] >= 0


def _scripted_steps(monkeypatch: pytest.MonkeyPatch, runs: list[dict[str, object]]) -> list[int]:
    """concurrency.step replaced by a script of run results; returns the Ns it was asked."""
    asked: list[int] = []
    script = iter(runs)

    def step(server: object, kind: str, n: int, plan: object) -> dict[str, object]:
        asked.append(n)
        return {"n": n, **next(script)}

    monkeypatch.setattr(concurrency, "step", step)
    return asked


def _run(p99: float | None, cpu: float = 0.5) -> dict[str, object]:
    return {
        "lag_p99_ms": p99,
        "cpu_share": cpu,
        "received": 100,
        "expected": 100,
        "errors": 0,
    }


PLAN3 = dataclasses.replace(concurrency.QUICK, tries=3)


def test_a_step_failed_by_a_stall_is_run_again_and_its_passing_run_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _scripted_steps(monkeypatch, [_run(84.0), _run(3.1), _run(1.0)])
    result = concurrency.attempt(None, "floor", 75, PLAN3)  # type: ignore[arg-type]
    assert asked == [75, 75]  # stops at the first pass
    assert result["lag_p99_ms"] == 3.1
    assert result["tries"] == 2
    assert concurrency.passed(result)


def test_a_step_that_fails_every_try_keeps_its_best_run(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _scripted_steps(monkeypatch, [_run(90.0), _run(None), _run(40.0)])
    result = concurrency.attempt(None, "floor", 75, PLAN3)  # type: ignore[arg-type]
    assert asked == [75, 75, 75]
    assert (result["lag_p99_ms"], result["tries"]) == (40.0, 3)
    assert not concurrency.passed(result)


def test_a_step_whose_client_saturated_its_core_is_not_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _scripted_steps(monkeypatch, [_run(60.0, cpu=0.97), _run(1.0)])
    result = concurrency.attempt(None, "floor", 400, PLAN3)  # type: ignore[arg-type]
    assert asked == [400]
    assert result["tries"] == 1
    assert not concurrency.passed(result)


@pytest.mark.parametrize(
    ("workers", "server_cpu", "client_cpu", "tries"),
    [(1, 0.97, 0.3, 1), (1, 0.6, 0.3, 3), (2, 1.2, 0.3, 3), (2, 1.95, 0.1, 1), (2, 1.5, 0.4, 1)],
    ids=["one-worker-full", "one-worker-room", "two-workers-room", "two-full", "machine-full"],
)
def test_a_server_step_is_not_run_again_when_the_server_or_the_machine_saturated(
    monkeypatch: pytest.MonkeyPatch, workers: int, server_cpu: float, client_cpu: float, tries: int
) -> None:
    monkeypatch.setattr(concurrency.os, "cpu_count", lambda: 2)
    server = {"server": {"cpu_share": server_cpu, "workers": workers}}
    asked = _scripted_steps(monkeypatch, [{**_run(45.0, cpu=client_cpu), **server}] * 3)
    result = concurrency.attempt(None, "server", 400, PLAN3)  # type: ignore[arg-type]
    assert asked == [400] * tries
    assert result["tries"] == tries


def test_the_ladder_bisects_with_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = dataclasses.replace(PLAN3, ladder=(50, 100, 200), bisect=3)
    # 50 and 100 hold; 200 saturates; 150 fails once (a stall) then holds; 175 saturates;
    # 162 holds; so the ladder settles on 162 from 7 runs.
    asked = _scripted_steps(
        monkeypatch,
        [_run(1.0), _run(2.0), _run(80.0, 0.99), _run(70.0), _run(4.0), _run(50, 0.96), _run(9.0)],
    )
    results, best = concurrency.ladder(None, "floor", plan)  # type: ignore[arg-type]
    assert asked == [50, 100, 200, 150, 150, 175, 162]
    assert best == 162
    assert [(r["n"], r["tries"]) for r in results] == [
        (50, 1),
        (100, 1),
        (150, 2),
        (162, 1),
        (175, 1),
        (200, 1),
    ]


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
