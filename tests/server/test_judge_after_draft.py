"""On shared CPU cores (a Whisper transcriber on the CPU) a ``semantic_vad`` pause is judged
after its draft transcription: the end-of-turn model would slow the draft down, and the turn's
response waits for that transcript whatever the model says. The judgement hears the same audio
(the pause's, not the later silence), speech resuming drops it unsent, and with no draft in
flight it goes at once. Driven in audio time (core) and over a real socket (the front's wiring).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import replace

import pytest
from websockets.asyncio.client import connect

from realtalk.server import serve
from realtalk.server.core.turns import DRAFT_PAUSE_MS, JUDGE_PAUSE_MS, REJUDGE_MS
from realtalk.server.core.work import JudgeTurn, Think, Transcribe, TurnJudgement
from realtalk.server.engines.base import Transcript
from realtalk.server.engines.transcribe import ToneTranscriber
from realtalk.server.engines.turn import ScriptedEndOfTurn
from tests.server.harness import tone_engines
from tests.server.test_app_pipeline import URL, until
from tests.server.test_early_transcription import silence, speech
from tests.server.test_end_of_turn import semantic
from tests.server.test_speculative import SpecHarness, harness, pending, run_all, stream

SEMANTIC = {"type": "semantic_vad", "eagerness": "high"}


def judged(judge_after_draft: bool) -> SpecHarness:
    return harness(turn=SEMANTIC, judged=True, judge_after_draft=judge_after_draft)


def run_draft(h: SpecHarness) -> None:
    [draft] = pending(h, Transcribe)
    h.pending.remove(draft)
    h.run_work(draft)
    h.pump()


def test_a_pause_is_judged_after_its_draft_on_the_audio_it_would_have_had() -> None:
    heard = {}
    for after in (False, True):
        h = judged(after)
        stream(h, silence(300) + speech("is it raining") + silence(JUDGE_PAUSE_MS + 60))
        assert len(pending(h, Transcribe)) == 1
        if after:
            assert pending(h, JudgeTurn) == []  # held while the draft runs
            stream(h, silence(100))  # more silence meanwhile changes nothing
            assert pending(h, JudgeTurn) == []
            run_draft(h)
        [judge] = pending(h, JudgeTurn)
        heard[after] = judge.audio
    # the same audio either way: the pause's, not the silence heard while the draft ran
    assert heard[True] == heard[False]


def test_a_held_judgement_that_says_complete_ends_the_turn_from_the_speculation() -> None:
    h = judged(True)
    stream(h, silence(300) + speech("what is new") + silence(JUDGE_PAUSE_MS + 60))
    run_draft(h)  # the transcript: the judgement goes, and the speculative response starts
    [judge] = pending(h, JudgeTurn)
    assert len(pending(h, Think)) == 1
    h.pending.remove(judge)
    run_all(h)
    assert "input_audio_buffer.speech_stopped" not in h.types()
    events = h.feed(TurnJudgement(judge.work_id, probability=0.9), after_ms=40)
    types = h.types(events)
    assert types[0] == "input_audio_buffer.speech_stopped"
    assert "response.output_audio.delta" in types
    run_all(h)
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Hello there. You said what is new."
    assert h.timings[0].speculative


def test_speech_resuming_drops_a_held_judgement_unsent() -> None:
    h = judged(True)
    stream(h, silence(300) + speech("well") + silence(JUDGE_PAUSE_MS + 60))
    assert pending(h, JudgeTurn) == []
    stream(h, speech("then"))  # the speaker goes on: the held judgement fits nothing now
    run_draft(h)
    assert pending(h, JudgeTurn) == []
    # the next pause is judged as usual, after its own draft
    stream(h, silence(JUDGE_PAUSE_MS + 60))
    assert pending(h, JudgeTurn) == []
    run_draft(h)
    [judge] = pending(h, JudgeTurn)
    h.pending.remove(judge)
    events = h.feed(TurnJudgement(judge.work_id, probability=0.9), after_ms=40)
    assert "input_audio_buffer.speech_stopped" in h.types(events)


def test_with_no_draft_in_flight_the_judgement_goes_at_once() -> None:
    h = judged(True)
    stream(h, silence(300) + speech("is it raining") + silence(DRAFT_PAUSE_MS + 40))
    run_draft(h)  # done before the judge's pause
    assert pending(h, JudgeTurn) == []
    stream(h, silence(JUDGE_PAUSE_MS - DRAFT_PAUSE_MS))
    [judge] = pending(h, JudgeTurn)
    # judged incomplete: the next check, REJUDGE_MS later, goes at once too (no draft runs)
    h.pending.remove(judge)
    h.feed(TurnJudgement(judge.work_id, probability=0.0))
    stream(h, silence(REJUDGE_MS + 20))
    [again] = pending(h, JudgeTurn)
    assert again.work_id != judge.work_id
    assert len(again.audio) > len(judge.audio)


def test_the_default_session_judges_beside_the_draft() -> None:
    h = judged(False)
    stream(h, silence(300) + speech("is it raining") + silence(JUDGE_PAUSE_MS + 60))
    assert len(pending(h, Transcribe)) == 1
    assert len(pending(h, JudgeTurn)) == 1


class SlowCpuTranscriber(ToneTranscriber):
    """A CPU transcriber worth drafting with, slow enough to see what runs beside it."""

    early_transcription = True

    def __init__(self, on_cpu: bool) -> None:
        super().__init__(24000)
        self.on_cpu = on_cpu
        self.runs: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def transcribe(self, pcm16: bytes, **kw: object) -> Transcript:
        with self._lock:
            start = time.monotonic()
            time.sleep(0.3)
            result = super().transcribe(pcm16)
            self.runs.append((start, time.monotonic()))
            return result


class TimedJudge(ScriptedEndOfTurn):
    def __init__(self) -> None:
        super().__init__((0.9,))
        self.asked: list[float] = []

    def probability(self, pcm16: bytes) -> float:
        self.asked.append(time.monotonic())
        return super().probability(pcm16)


@pytest.mark.parametrize("on_cpu", [True, False])
async def test_the_server_judges_after_the_draft_when_its_transcriber_is_on_the_cpu(
    on_cpu: bool,
) -> None:
    transcriber, judge = SlowCpuTranscriber(on_cpu), TimedJudge()
    engines = replace(tone_engines(), transcriber=transcriber, end_of_turn=judge)
    async with (
        serve(engines=engines, no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws,
    ):
        await until(ws, "conversation.created")
        update = semantic("high")
        update["session"]["audio"]["input"]["transcription"] = {"model": "whisper-1"}
        await ws.send(json.dumps(update))
        await until(ws, "session.updated")
        audio = silence(300) + speech("is it raining") + silence(JUDGE_PAUSE_MS + 100)
        for offset in range(0, len(audio), 960):  # 20 ms pieces, in real time
            piece = base64.b64encode(audio[offset : offset + 960]).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
            await asyncio.sleep(0.02)
        await asyncio.wait_for(until(ws, "input_audio_buffer.speech_stopped"), 10)
        await asyncio.wait_for(
            until(ws, "conversation.item.input_audio_transcription.completed"), 10
        )
    draft_start, draft_end = transcriber.runs[0]
    [asked] = judge.asked
    if on_cpu:
        assert asked >= draft_end
    else:
        assert draft_start < asked < draft_end
