"""semantic_vad with an end-of-turn model: each short pause is judged, a complete-sounding one
ends the turn at once, an incomplete one waits (judged again) up to the eagerness' maximum wait,
and speech resuming makes a judgement in flight worthless."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from realtalk.audio import convert, read_wav
from realtalk.server import serve
from realtalk.server.core.codec import duration_ms
from realtalk.server.core.session import ServerSession
from realtalk.server.core.settings import END_OF_TURN_THRESHOLD, read_settings
from realtalk.server.core.turns import DRAFT_PAUSE_MS, JUDGE_PAUSE_MS, REJUDGE_MS
from realtalk.server.core.work import JudgeTurn, TurnJudgement
from realtalk.server.engines import registry
from realtalk.server.engines.registry import EngineSpec, load_engines, speech_extra_installed
from realtalk.server.engines.synthesize import ToneSynthesizer
from realtalk.server.engines.turn import SmartTurn, smart_turn_model_path
from realtalk.server.engines.vad import SileroVAD
from tests.server.harness import Harness, tone_engines
from tests.server.test_app_pipeline import URL, until

SYNTH = ToneSynthesizer()
FIXTURES = Path(__file__).parents[1] / "fixtures"


def speech(text: str) -> bytes:
    return b"".join(SYNTH.synthesize(text))


def silence(ms: float) -> bytes:
    return bytes(int(24000 * ms / 1000) * 2)


def semantic(eagerness: str = "high") -> dict[str, Any]:
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {
                "input": {"turn_detection": {"type": "semantic_vad", "eagerness": eagerness}}
            },
        },
    }


def judged_harness(eagerness: str = "high") -> Harness:
    h = Harness(auto_work=False)
    h.session = ServerSession(vad=h.engines.new_vad(), end_of_turn=True)
    h.events.clear()
    h.session.start(h.now)
    h.pump()
    h.send(semantic(eagerness))
    return h


def stream(h: Harness, audio: bytes) -> list[dict[str, Any]]:
    """Append ``audio`` in 20 ms pieces, the clock moving with it."""
    mark = len(h.events)
    for offset in range(0, len(audio), 960):
        piece = audio[offset : offset + 960]
        h.now += duration_ms(len(piece), "pcm16")
        h.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()})
    return h.events[mark:]


def judges(h: Harness) -> list[JudgeTurn]:
    return [w for w in h.pending if isinstance(w, JudgeTurn)]


def test_eagerness_maps_to_thresholds_and_the_documented_maximum_waits() -> None:
    for eagerness, cap in (("low", 8000), ("medium", 4000), ("high", 2000), ("auto", 4000)):
        settings = read_settings("ga", semantic(eagerness)["session"])
        assert settings.turn is not None
        assert settings.turn.max_wait_ms == cap
        expected = END_OF_TURN_THRESHOLD.get(eagerness, END_OF_TURN_THRESHOLD["medium"])
        assert settings.turn.end_of_turn_threshold == expected
    assert END_OF_TURN_THRESHOLD["low"] > END_OF_TURN_THRESHOLD["medium"]
    assert END_OF_TURN_THRESHOLD["medium"] > END_OF_TURN_THRESHOLD["high"]


def test_a_pause_judged_complete_ends_the_turn_when_the_answer_comes() -> None:
    h = judged_harness()
    events = stream(h, silence(200) + speech("is it raining") + silence(JUDGE_PAUSE_MS + 40))
    assert h.types(events).count("input_audio_buffer.speech_started") == 1
    assert "input_audio_buffer.speech_stopped" not in h.types(events)
    [judge] = judges(h)
    assert judge.audio_format == "pcm16"
    assert len(judge.audio) > 0
    h.pending.remove(judge)
    events = h.feed(TurnJudgement(judge.work_id, probability=0.9), after_ms=60)
    [stopped] = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    # The turn ends where the server had heard up to, far inside the 2 s maximum wait.
    assert stopped["audio_end_ms"] < 200 + duration_ms(len(speech("is it raining")), "pcm16") + 400
    assert "input_audio_buffer.committed" in h.types(events)
    assert "response.created" in h.types(h.events)


def test_the_model_is_first_asked_at_the_judge_pause_after_the_drafts() -> None:
    h = judged_harness()
    # past the draft's pause but short of the judge's: the model is not asked yet (it was made
    # for trailing silence; asked sooner it would cut more people off)
    stream(h, silence(200) + speech("is it raining") + silence(DRAFT_PAUSE_MS + 40))
    assert judges(h) == []
    stream(h, silence(JUDGE_PAUSE_MS - DRAFT_PAUSE_MS))
    [judge] = judges(h)
    # the judged audio (from the buffer's start: the onset minus its 300 ms padding is before
    # it) ends JUDGE_PAUSE_MS after the voice, to the VAD's frame and the tones' quiet tail
    spoken = 200 + duration_ms(len(speech("is it raining")), "pcm16")
    heard = duration_ms(len(judge.audio), "pcm16")
    assert JUDGE_PAUSE_MS - 64 <= heard - spoken < JUDGE_PAUSE_MS


def test_a_pause_judged_incomplete_is_judged_again_and_ends_at_the_maximum_wait() -> None:
    h = judged_harness("high")
    stream(h, silence(200) + speech("i would like") + silence(JUDGE_PAUSE_MS + 40))
    [judge] = judges(h)
    h.pending.remove(judge)
    events = h.feed(TurnJudgement(judge.work_id, probability=0.1))
    assert "input_audio_buffer.speech_stopped" not in h.types(events)
    # More silence: judged again every REJUDGE_MS, each answer "incomplete".
    asked = 1
    for _ in range(3):
        stream(h, silence(REJUDGE_MS))
        for again in judges(h):
            h.pending.remove(again)
            asked += 1
            h.feed(TurnJudgement(again.work_id, probability=0.1))
    assert asked >= 3
    assert not h.of_type("input_audio_buffer.speech_stopped")
    stream(h, silence(2000))
    [stopped] = h.of_type("input_audio_buffer.speech_stopped")
    onset = h.of_type("input_audio_buffer.speech_started")[0]["audio_start_ms"]
    assert stopped["audio_end_ms"] > onset + 2000  # the high eagerness' 2 s cap, not sooner


def test_speech_resuming_makes_the_judgement_in_flight_worthless() -> None:
    h = judged_harness()
    stream(h, silence(200) + speech("the weather in") + silence(JUDGE_PAUSE_MS + 40))
    [judge] = judges(h)
    h.pending.remove(judge)
    stream(h, speech("paris"))  # the speaker goes on before the answer
    events = h.feed(TurnJudgement(judge.work_id, probability=1.0))
    assert "input_audio_buffer.speech_stopped" not in h.types(events)
    assert not [e for e in h.events if e["type"].startswith("response.")]
    stream(h, silence(JUDGE_PAUSE_MS + 40))
    [second] = judges(h)
    h.pending.remove(second)
    events = h.feed(TurnJudgement(second.work_id, probability=1.0))
    assert "input_audio_buffer.speech_stopped" in h.types(events)
    assert len(second.audio) > len(judge.audio)  # it heard the whole turn


def test_a_failed_judgement_leaves_the_turn_to_its_maximum_wait() -> None:
    h = judged_harness()
    stream(h, silence(200) + speech("hello") + silence(JUDGE_PAUSE_MS + 40))
    [judge] = judges(h)
    h.pending.remove(judge)
    events = h.feed(TurnJudgement(judge.work_id, error="model crashed"))
    assert "input_audio_buffer.speech_stopped" not in h.types(events)
    h.pending.clear()
    stream(h, silence(2100))
    assert len(h.of_type("input_audio_buffer.speech_stopped")) == 1


def test_without_a_model_semantic_vad_keeps_its_silence_rule_and_server_vad_is_never_judged() -> (
    None
):
    h = Harness(auto_work=False)  # a session whose front has no end-of-turn model
    h.send(semantic("high"))
    stream(h, silence(200) + speech("hello") + silence(300))
    assert not judges(h)
    assert len(h.of_type("input_audio_buffer.speech_stopped")) == 1  # 250 ms: 1/8 of 2 s
    h2 = judged_harness()
    h2.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad"}}},
            },
        }
    )
    stream(h2, silence(200) + speech("hello") + silence(400))
    assert not judges(h2)
    assert len(h2.of_type("input_audio_buffer.speech_stopped")) == 1


async def test_a_missing_model_package_is_logged_once_when_a_session_asks_for_semantic_vad(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        registry, "speech_extra_installed", lambda *modules: "pipecat" not in modules
    )

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if "end-of-turn" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="realtalk.server"):
        engines = load_engines(
            EngineSpec(vad="silero", transcriber="tone", synthesizer="tone", brain="echo")
        )
        assert engines.end_of_turn is None
        assert "end_of_turn" not in engines.names
        assert not warnings()  # start-up says nothing: `realtalk demo` never asks for it
        async with serve(engines=engines, no_auth=True) as h:
            url = f"ws://127.0.0.1:{h.port}{URL}"
            async with connect(url, max_size=None) as ws:  # server_vad, the default
                await until(ws, "conversation.created")
                piece = base64.b64encode(speech("hello")).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
                await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
                await until(ws, "input_audio_buffer.cleared")
            assert not warnings()
            for _ in range(2):  # a second session asking again is not told again
                async with connect(url, max_size=None) as ws:
                    await until(ws, "conversation.created")
                    await ws.send(json.dumps(semantic("high")))
                    await until(ws, "session.updated")
                    [message] = warnings()
    assert "realtalk[speech,turn]" in message


def test_the_deterministic_engines_never_judge_and_say_nothing_about_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="realtalk.server"):
        engines = load_engines(EngineSpec(vad="energy", transcriber="tone", synthesizer="tone"))
    assert engines.end_of_turn is None
    assert not [r for r in caplog.records if "end-of-turn" in r.getMessage()]


def test_an_unknown_end_of_turn_engine_is_refused_with_the_choices() -> None:
    with pytest.raises(Exception, match="smart-turn"):
        load_engines(EngineSpec(end_of_turn="magic"))


# --- the real model, over loopback ----------------------------------------------------------------

needs_model = pytest.mark.skipif(
    not speech_extra_installed("pipecat", "onnxruntime", "faster_whisper"),
    reason="the turn extra (pipecat-ai's smart-turn model) is not installed",
)


def fixture_24k() -> tuple[bytes, dict[str, Any]]:
    pcm, rate = read_wav(FIXTURES / "speech_16k.wav")
    meta = json.loads((FIXTURES / "speech_16k.json").read_text())
    return convert(pcm, rate, 24000), meta


@needs_model
def test_the_packaged_smart_turn_model_tells_a_finished_question_from_a_mid_thought_pause() -> None:
    assert smart_turn_model_path().stat().st_size > 1_000_000
    model = SmartTurn()
    pcm, rate = read_wav(FIXTURES / "speech_16k.wav")
    meta = json.loads((FIXTURES / "speech_16k.json").read_text())
    bps = rate * 2 // 1000
    whole = pcm[: int(meta["speech_end_ms"] + 200) * bps]
    # "Hello, what is the weather ..." cut in its 390 ms mid-sentence pause.
    mid = pcm[: 1600 * bps]
    assert model.probability(whole) > END_OF_TURN_THRESHOLD["medium"]
    assert model.probability(mid) < END_OF_TURN_THRESHOLD["high"]


@needs_model
async def test_a_finished_question_ends_the_turn_by_judgement_before_any_silence_rule() -> None:
    engines = replace(tone_engines(), end_of_turn=SmartTurn(), vad_factory=SileroVAD.shared)
    async with (
        serve(engines=engines, no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws,
    ):
        await until(ws, "conversation.created")
        await ws.send(json.dumps(semantic("high")))
        await until(ws, "session.updated")
        audio, meta = fixture_24k()
        end = int(meta["speech_end_ms"] * 48)
        # The question and 400 ms of silence, then nothing: 2 s of silence (the high
        # eagerness' maximum wait) never arrive, so only a judgement can end this turn.
        audio = audio[:end] + silence(400)
        for offset in range(0, len(audio), 4800):
            piece = base64.b64encode(audio[offset : offset + 4800]).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
        events = await asyncio.wait_for(until(ws, "input_audio_buffer.speech_stopped"), 20)
    started = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    assert len(started) == 1
    stopped = events[-1]
    assert meta["speech_end_ms"] < stopped["audio_end_ms"] <= meta["speech_end_ms"] + 400
