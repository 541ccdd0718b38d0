"""The human-speech turn-latency targets over several runs: each figure is the median of the
runs' medians (one run's 8-group median moves by tens of ms), the cut-offs the median count;
the semantic_vad floor's judgement beside Whisper."""

from __future__ import annotations

import time
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


def test_the_judged_floor_runs_the_judgement_on_its_audio_offset_into_whisper() -> None:
    seen: dict[str, Any] = {}

    class Whisper:
        def transcribe(self, audio: bytes) -> None:
            seen["whisper"] = (audio, time.perf_counter())
            time.sleep(0.12)

    class Judge:
        def probability(self, heard: bytes) -> float:
            seen["judge"] = (heard, time.perf_counter())
            time.sleep(0.02)
            return 1.0

    whisper_ms, judged_ms = turn_latency._judged_beside(Whisper(), Judge(), b"draft", b"heard", 40)
    (audio, whisper_at), (heard, judge_at) = seen["whisper"], seen["judge"]
    assert (audio, heard) == (b"draft", b"heard")
    # the judgement starts when the session would ask it: 40 ms into Whisper's run, not before
    assert judge_at - whisper_at >= 0.04 - 0.002
    assert whisper_ms >= 120
    assert judged_ms >= 40 + 20
