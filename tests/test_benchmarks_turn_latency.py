"""The human-speech turn-latency targets over several runs: each figure is the median of the
runs' medians (one run's 8-group median moves by tens of ms), the cut-offs the median count."""

from __future__ import annotations

from typing import Any

from benchmarks import turn_latency
from benchmarks._stats import Table

SERVER, LOW = turn_latency.HUMAN_MODES[0][0], turn_latency.HUMAN_MODES[1][0]
nan = float("nan")


def rows(totals: list[float], cut: int = 0) -> list[tuple[Any, dict[str, float]]]:
    return [(None, {"total": t, "cutoffs": float(i < cut)}) for i, t in enumerate(totals)]


def test_each_target_is_the_median_of_the_runs_medians() -> None:
    runs = [
        {SERVER: rows([500, 580, 700], cut=2), LOW: rows([400, 410, 420], cut=1)},
        {SERVER: rows([610, 620, 630], cut=3), LOW: rows([300, 340, nan], cut=2)},  # one no-reply
        {SERVER: rows([560, 590, 900], cut=2), LOW: rows([330, 345, 800], cut=0)},
    ]
    table = Table("t", ["mode"])
    turn_latency._targets(table, runs)
    got = {t.what: t.figure for t in table.targets}
    # server_vad run medians 580, 620, 590 -> 590; low: 410, 320, 345 -> 345
    assert got[f"turn latency, {SERVER}: median"] == 590
    assert got[f"turn latency, {LOW}: median"] == 345
    assert got[f"{LOW}: cut-offs (server_vad's)"] == 1  # counts 1, 2, 0
    (cuts,) = [t for t in table.targets if t.what.startswith(LOW) and "cut-offs" in t.what]
    assert cuts.limit == 2  # server_vad's counts 2, 3, 2
    assert [t.met for t in table.targets] == [True, True, True]


def test_one_run_gives_that_runs_figures() -> None:
    table = Table("t", ["mode"])
    turn_latency._targets(table, [{SERVER: rows([700, 640, 650], cut=1)}])
    (target,) = table.targets
    assert (target.figure, target.met) == (650, False)
