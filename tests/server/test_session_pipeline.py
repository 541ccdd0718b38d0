"""ServerSession's speech pipeline: streamed synthesis, turn timings, what the brain hears,
and transcription sessions. Work is run by hand on the harness's own clock (no wall time).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from realtalk.server.core.codec import duration_ms
from realtalk.server.core.work import (
    BrainDone,
    BrainStep,
    SynthesisChunk,
    SynthesisResult,
    Synthesize,
    Think,
    Transcribe,
)
from realtalk.server.engines.base import Say
from realtalk.server.engines.synthesize import ToneSynthesizer
from tests.server.harness import Harness, user_text

SYNTH = ToneSynthesizer(24000)


def speech(text: str) -> bytes:
    return b"".join(SYNTH.synthesize(text))


def silence(ms: float) -> bytes:
    return bytes(int(24000 * ms / 1000) * 2)


def audio_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )


def update(h: Harness, **session: Any) -> None:
    h.send({"type": "session.update", "session": {"type": "realtime", **session}})


# --- item 1: synthesis streams chunk by chunk ---------------------------------------------------


def test_synthesis_chunks_go_out_before_the_synthesis_ends() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    think = h.pending.pop(0)
    assert isinstance(think, Think)
    h.feed(BrainStep(think.work_id, Say("Good morning. See")))
    [synth] = h.pending
    assert isinstance(synth, Synthesize)
    assert synth.text == "Good morning."  # asked as soon as the sentence is complete
    first, second = b"\x00\x01" * 4800, b"\x00\x02" * 1200  # 200 ms, 50 ms
    events = h.feed(SynthesisChunk(synth.work_id, first))
    kinds = h.types(events)
    # the transcript of the sentence leads, then the audio of the first chunk, at once
    assert kinds[-3:] == [
        "response.output_audio_transcript.delta",
        "response.output_audio.delta",
        "response.output_audio.delta",
    ]
    assert audio_of(events) == first
    events = h.feed(SynthesisChunk(synth.work_id, second))
    assert h.types(events) == ["response.output_audio.delta"]
    assert h.pending == [synth]  # the next sentence waits for this synthesis to end
    h.pending.clear()
    h.feed(SynthesisResult(synth.work_id))
    h.feed(BrainStep(think.work_id, Say(" you.")))
    h.feed(BrainDone(think.work_id))
    [synth2] = h.pending
    assert isinstance(synth2, Synthesize)
    assert synth2.text == "See you."
    h.pending.clear()
    events = h.feed(SynthesisResult(synth2.work_id, audio=b"\x01\x00" * 10))
    [done] = [e for e in events if e["type"] == "response.done"]
    assert done["response"]["status"] == "completed"
    [content] = done["response"]["output"][0]["content"]
    assert content["transcript"] == "Good morning. See you."
    item = h.session.conversation.get(done["response"]["output"][0]["id"])
    assert item is not None
    assert bytes(item.audio[0]) == first + second + b"\x01\x00" * 10


def test_streamed_durations_are_exact_with_the_tone_engines() -> None:
    h = Harness()
    h.send(user_text("One two. Three four five! Six?"))
    events = h.send({"type": "response.create"})
    expected = sum(SYNTH.duration_ms(s) for s in ("One two.", "Three four five!", "Six?"))
    assert abs(duration_ms(len(audio_of(events)), "pcm16") - expected) < 0.1


def test_synthesis_failure_after_a_chunk_fails_the_response_with_what_was_sent() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    think = h.pending.pop(0)
    h.feed(BrainStep(think.work_id, Say("Hello there. ")))
    synth = h.pending.pop(0)
    h.feed(SynthesisChunk(synth.work_id, b"\x00\x01" * 2400))
    events = h.feed(SynthesisResult(synth.work_id, error="Piper failed"))
    [done] = [e for e in events if e["type"] == "response.done"]
    assert done["response"]["status"] == "failed"
    [content] = done["response"]["output"][0]["content"]
    assert content["transcript"] == "Hello there."


# --- item 2: turn timings -----------------------------------------------------------------------


def vad_session(h: Harness) -> None:
    update(
        h,
        audio={
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "silence_duration_ms": 200,
                    "prefix_padding_ms": 100,
                }
            }
        },
    )


def stream_until_speech_stops(h: Harness, audio: bytes) -> list[tuple[float, float]]:
    """Append ``audio`` in 100 ms chunks, each when it would have been fully spoken, until
    the VAD stops the turn; return (audio position, arrival time) per chunk."""
    arrivals = []
    step = 4800
    position = 0.0
    for offset in range(0, len(audio), step):
        piece = audio[offset : offset + step]
        position += duration_ms(len(piece), "pcm16")
        h.now += duration_ms(len(piece), "pcm16")
        events = h.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
        )
        arrivals.append((position, h.now))
        if "input_audio_buffer.speech_stopped" in h.types(events):
            return arrivals
    raise AssertionError("the VAD never stopped the turn")


def test_turn_timings_break_the_latency_into_stages() -> None:
    h = Harness(auto_work=False)
    vad_session(h)
    arrivals = stream_until_speech_stops(h, silence(500) + speech("what time is it") + silence(600))
    [stopped] = h.of_type("input_audio_buffer.speech_stopped")
    stopped_at = h.now
    speech_end = stopped["audio_end_ms"] - 200
    heard_at = next(t for (end, t) in arrivals if end >= speech_end)
    assert h.timings == []  # nothing until a response ends
    # the turn's work: transcription 40 ms, brain first text 30 ms, the sentence completes
    # 50 ms later, synthesis first chunk 20 ms, then the rest.
    assert isinstance(h.pending[0], Transcribe)
    h.run_next(after_ms=40)
    think = h.pending.pop(0)
    assert isinstance(think, Think)
    h.feed(BrainStep(think.work_id, Say("It is")), after_ms=30)
    h.feed(BrainStep(think.work_id, Say(" noon. ")), after_ms=50)
    synth = h.pending.pop(0)
    assert isinstance(synth, Synthesize)
    h.feed(SynthesisChunk(synth.work_id, b"\x00\x10" * 2400), after_ms=20)
    h.feed(SynthesisResult(synth.work_id), after_ms=5)
    h.feed(BrainDone(think.work_id))
    [timings] = h.timings
    [done] = h.of_type("response.done")
    assert timings.response_id == done["response"]["id"]
    assert timings.status == "completed"
    assert timings.origin == "speech_end"
    assert timings.item_id == stopped["item_id"]
    assert timings.speech_end_audio_ms is not None
    assert abs(timings.speech_end_audio_ms - speech_end) <= 1
    assert timings.vad_ms == stopped_at - heard_at
    assert 200 <= timings.vad_ms <= 200 + 100 + 32  # the silence, one chunk, one VAD frame
    assert timings.transcription_ms == 40
    assert timings.brain_ms == 30
    assert timings.synthesis_ms == 20
    assert timings.first_audio_ms == timings.vad_ms + 40 + 30 + 50 + 20
    assert timings.other_ms == 50  # waiting for the rest of the first sentence


def test_text_response_timings_start_at_response_create() -> None:
    h = Harness()
    update(h, output_modalities=["text"])
    h.send(user_text("hello"))
    h.send({"type": "response.create"})
    [timings] = h.timings
    assert timings.origin == "response"
    assert timings.item_id is None
    assert timings.vad_ms is None
    assert timings.transcription_ms is None
    assert timings.brain_ms == 0.0
    assert timings.synthesis_ms is None
    assert timings.first_audio_ms is None
    assert timings.other_ms is None


def test_manual_commit_timings_start_at_the_commit() -> None:
    h = Harness(auto_work=False)
    update(h, audio={"input": {"turn_detection": None}})
    h.append_audio(speech("hello"))
    h.send({"type": "input_audio_buffer.commit"})
    h.send({"type": "response.create"})  # waits for the transcript
    h.run_next(after_ms=15)  # transcription
    h.run_next(after_ms=5)  # the echo brain, all at once
    h.run_next(after_ms=7)  # synthesis
    h.run_pending()
    [timings] = h.timings
    assert timings.origin == "commit"
    assert timings.vad_ms is None
    assert timings.transcription_ms == 15
    assert timings.synthesis_ms == 7
    assert timings.first_audio_ms == 15 + 5 + 7


def test_cancelled_response_still_reports_its_timings() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    h.send({"type": "response.cancel"})
    [timings] = h.timings
    assert timings.status == "cancelled"
    assert timings.brain_ms is None


# --- item 4: the brain hears audio turns without transcription events ---------------------------


def test_brain_hears_committed_audio_with_transcription_off() -> None:
    h = Harness()
    update(h, output_modalities=["text"], audio={"input": {"turn_detection": None}})
    assert h.session.session["audio"]["input"]["transcription"] is None
    h.append_audio(speech("hello robot"))
    events = h.send({"type": "input_audio_buffer.commit"})
    assert not [e for e in events if "input_audio_transcription" in e["type"]]
    item_id = h.of_type("input_audio_buffer.committed")[0]["item_id"]
    events = h.send({"type": "response.create"})
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "hello robot"  # the echo brain read the transcript
    # ...which the client does not see, as with the service when transcription is off
    [retrieved] = h.send({"type": "conversation.item.retrieve", "item_id": item_id})
    assert retrieved["item"]["content"][0]["transcript"] is None


def test_brain_hears_client_created_audio_items_too() -> None:
    h = Harness()
    update(h, output_modalities=["text"])
    audio = base64.b64encode(speech("good night")).decode()
    h.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": audio}],
            },
        }
    )
    events = h.send({"type": "response.create"})
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "good night"


# --- item 5: transcription sessions -------------------------------------------------------------


def transcribe_speech(h: Harness) -> list[dict[str, Any]]:
    return h.append_audio(silence(300) + speech("testing one two") + silence(800))


def test_ga_transcription_session_transcribes_and_never_responds() -> None:
    h = Harness(session_type="transcription")
    [created] = h.events
    assert created["type"] == "session.created"
    assert created["session"]["type"] == "transcription"
    events = h.send(
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            },
        }
    )
    assert h.types(events) == ["session.updated"]
    kinds = h.types(transcribe_speech(h))
    assert "input_audio_buffer.speech_stopped" in kinds
    assert "input_audio_buffer.committed" in kinds
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "testing one two"
    assert not [k for k in h.types() if k.startswith("response.")]
    [error] = h.send({"type": "response.create"})
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == "type"
    assert h.timings == []


def test_ga_transcription_session_emits_transcripts_even_without_a_model_set() -> None:
    h = Harness(session_type="transcription")
    transcribe_speech(h)
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "testing one two"


def test_ga_transcription_session_rejects_switching_to_realtime() -> None:
    h = Harness(session_type="transcription")
    [error] = h.send({"type": "session.update", "session": {"type": "realtime"}})
    assert error["error"]["param"] == "session.type"


def test_client_secret_of_a_transcription_session_makes_one() -> None:
    h = Harness(session={"type": "transcription"})
    assert h.session.transcription_only
    assert h.events[0]["session"]["type"] == "transcription"


def test_beta_transcription_session_flow() -> None:
    h = Harness("beta", session_type="transcription")
    [created] = h.events
    assert created["type"] == "transcription_session.created"
    assert created["session"]["object"] == "realtime.transcription_session"
    [updated] = h.send(
        {
            "type": "transcription_session.update",
            "session": {"input_audio_transcription": {"model": "gpt-4o-transcribe"}},
        }
    )
    assert updated["type"] == "transcription_session.updated"
    assert updated["session"]["input_audio_transcription"]["model"] == "gpt-4o-transcribe"
    transcribe_speech(h)
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "testing one two"
    assert not [k for k in h.types() if k.startswith("response.")]
    [error] = h.send({"type": "session.update", "session": {"instructions": "hi"}})
    assert error["type"] == "error"
    assert "transcription_session.update" in error["error"]["message"]


@pytest.mark.parametrize("flavor", ["openai", "azure"])
def test_beta_realtime_session_refuses_transcription_session_update(flavor: str) -> None:
    h = Harness("beta", flavor)
    [error] = h.send({"type": "transcription_session.update", "session": {}})
    assert error["type"] == "error"
    assert error["error"]["param"] == "type"
    assert h.session.session["object"] == "realtime.session"


def test_synthesis_results_after_a_failed_response_are_ignored() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    think = h.pending.pop(0)
    h.feed(BrainStep(think.work_id, Say("Hello there. ")))
    synth = h.pending.pop(0)
    events = h.feed(BrainDone(think.work_id, error="the chat endpoint answered 500"))
    [done] = [e for e in events if e["type"] == "response.done"]
    assert done["response"]["status"] == "failed"
    assert h.feed(SynthesisChunk(synth.work_id, b"\x00\x01" * 100)) == []
    assert h.feed(SynthesisResult(synth.work_id)) == []
    assert [t.status for t in h.timings] == ["failed"]
