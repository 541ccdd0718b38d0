"""ServerSession without sockets: event flows, state errors, turn detection, timers.

Every event is validated against the official openai union by the harness.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from realtalk.server.core.codec import duration_ms
from realtalk.server.core.config import ServerConfig
from realtalk.server.engines import EngineSpec, ScriptBrain, load_engines
from realtalk.server.engines.synthesize import ToneSynthesizer
from realtalk.server.engines.tone import GAP_MS
from tests.server.harness import Harness, tone_engines, user_text

SYNTH = ToneSynthesizer(24000)


def speech(text: str) -> bytes:
    return b"".join(SYNTH.synthesize(text))


def silence(ms: float, rate: int = 24000) -> bytes:
    return bytes(int(rate * ms / 1000) * 2)


# --- connection start and session.update ----------------------------------------------------


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_start_sends_session_created_then_conversation_created(dialect: str) -> None:
    h = Harness(dialect)
    assert h.types() == ["session.created", "conversation.created"]
    session = h.events[0]["session"]
    assert session["id"].startswith("sess_")
    if dialect == "ga":
        assert session["type"] == "realtime"
        assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200
    else:
        assert session["modalities"] == ["audio", "text"]
        assert "type" not in session


def test_partial_update_merges_and_echoes_full_session() -> None:
    h = Harness()
    events = h.send(
        {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}}
    )
    assert h.types(events) == ["session.updated"]
    session = events[0]["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["output"]["voice"] == "marin"  # untouched fields stay


def test_rejected_update_is_atomic_with_catalogued_error() -> None:
    h = Harness()
    events = h.send(
        {
            "type": "session.update",
            "event_id": "evt_1",
            "session": {"type": "realtime", "instructions": "changed", "temperature": 0.7},
        }
    )
    assert h.types(events) == ["error"]
    error = events[0]["error"]
    assert error["code"] == "unknown_parameter"
    assert error["param"] == "session.temperature"
    assert error["message"] == "Unknown parameter: 'session.temperature'."
    assert error["event_id"] == "evt_1"
    assert h.session.session["instructions"] != "changed"


def test_ga_update_without_type_is_missing_required_parameter() -> None:
    h = Harness()
    [event] = h.send({"type": "session.update", "session": {"instructions": "x"}})
    assert event["error"]["code"] == "missing_required_parameter"
    assert event["error"]["param"] == "session.type"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid_event"),
        ("[1, 2]", "invalid_event"),
        ('{"event_id": "x"}', "invalid_event"),
    ],
)
def test_malformed_client_messages_get_invalid_event(text: str, code: str) -> None:
    h = Harness()
    [event] = h.send(text)
    assert event["type"] == "error"
    assert event["error"]["code"] == code


def test_missing_type_message_is_the_spec_one() -> None:
    [event] = Harness().send({"event_id": "e1"})
    assert event["error"]["message"] == "The 'type' field is missing."
    assert event["error"]["event_id"] == "e1"


# --- conversation items ---------------------------------------------------------------------


def test_item_create_with_previous_item_id_root_and_unknown() -> None:
    h = Harness()
    [added, done] = h.send(user_text("first"))
    assert added["type"] == "conversation.item.added"
    assert done["type"] == "conversation.item.done"
    first_id = added["item"]["id"]
    [added2, _] = h.send(user_text("zeroth", previous_item_id="root"))
    assert added2["previous_item_id"] is None
    [added3, _] = h.send(user_text("after first", previous_item_id=first_id))
    assert added3["previous_item_id"] == first_id
    order = [item.data["content"][0]["text"] for item in h.session.conversation.items()]
    assert order == ["zeroth", "first", "after first"]
    [error] = h.send(user_text("x", previous_item_id="item_nope"))
    assert error["error"]["code"] == "item_not_found"
    assert error["error"]["param"] == "previous_item_id"


def test_beta_item_create_uses_item_created() -> None:
    h = Harness("beta")
    events = h.send(user_text("hi"))
    assert h.types(events) == ["conversation.item.created"]


def test_item_delete_and_retrieve_and_unknown_ids() -> None:
    h = Harness()
    item_id = h.send(user_text("hi"))[0]["item"]["id"]
    [retrieved] = h.send({"type": "conversation.item.retrieve", "item_id": item_id})
    assert retrieved["type"] == "conversation.item.retrieved"
    assert retrieved["item"]["content"][0]["text"] == "hi"
    [deleted] = h.send({"type": "conversation.item.delete", "item_id": item_id})
    assert deleted == {**deleted, "type": "conversation.item.deleted", "item_id": item_id}
    for kind in ("conversation.item.delete", "conversation.item.retrieve"):
        [error] = h.send({"type": kind, "item_id": item_id})
        assert error["error"]["code"] == "item_not_found"
        assert error["error"]["param"] == "item_id"


def test_item_id_longer_than_32_is_rejected() -> None:
    event = user_text("hi")
    event["item"]["id"] = "x" * 33
    [error] = Harness().send(event)
    assert error["error"]["code"] == "string_above_max_length"
    assert error["error"]["param"] == "item.id"


# --- responses ------------------------------------------------------------------------------


def test_text_response_flow_and_usage() -> None:
    h = Harness()
    h.send(
        {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
    )
    h.send(user_text("Hello there."))
    events = h.send({"type": "response.create"})
    assert h.types(events) == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Hello there."
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "output_text", "text": "Hello there."}]
    assert (
        done["usage"]["total_tokens"]
        == done["usage"]["input_tokens"] + done["usage"]["output_tokens"]
    )


def test_audio_response_durations_match_synthesis() -> None:
    h = Harness()
    h.send(user_text("Good morning. See you."))
    events = h.send({"type": "response.create"})
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    expected_ms = SYNTH.duration_ms("Good morning.") + SYNTH.duration_ms("See you.")
    assert abs(duration_ms(len(audio), "pcm16") - expected_ms) < 1.0
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "Good morning. See you."
    [tdone] = [e for e in events if e["type"] == "response.output_audio_transcript.done"]
    assert tdone["transcript"] == transcript


@pytest.mark.parametrize(
    ("fmt", "beta_fmt", "rate"),
    [({"type": "audio/pcmu"}, "g711_ulaw", 8000), ({"type": "audio/pcma"}, "g711_alaw", 8000)],
)
def test_g711_output_is_8khz_one_byte_per_sample(
    fmt: dict[str, str], beta_fmt: str, rate: int
) -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"format": fmt}}},
        }
    )
    h.send(user_text("One two three."))
    events = h.send({"type": "response.create"})
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"].endswith("audio.delta")
    )
    expected_ms = SYNTH.duration_ms("One two three.")
    assert abs(len(audio) / rate * 1000 - expected_ms) < 1.0
    assert events[-1]["response"]["audio"]["output"]["format"] == fmt


def test_response_create_while_active_and_cancel() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("Hello."))
    created = h.send({"type": "response.create"})[0]["response"]
    [error] = h.send({"type": "response.create", "event_id": "again"})
    assert error["error"]["code"] == "conversation_already_has_active_response"
    assert error["error"]["message"] == (
        f"Conversation already has an active response in progress: {created['id']}. "
        "Wait until the response is finished before creating a new one."
    )
    assert error["error"]["event_id"] == "again"
    events = h.send({"type": "response.cancel"})
    assert h.types(events) == ["response.done"]
    assert events[0]["response"]["status"] == "cancelled"
    assert events[0]["response"]["status_details"]["reason"] == "client_cancelled"
    assert h.cancelled  # the brain work was withdrawn
    [error] = h.send({"type": "response.cancel"})
    assert error["error"]["code"] == "response_cancel_not_active"
    assert error["error"]["message"] == "Cancellation failed: no active response found"


def test_cancel_mid_audio_closes_parts_and_counts_sent_audio_only() -> None:
    h = Harness(config=ServerConfig(realtime_pacing=True))
    h.send(user_text("One two three four five six."))
    h.send({"type": "response.create"})
    sent = h.advance(300)
    assert any(e["type"] == "response.output_audio.delta" for e in sent)
    events = h.send({"type": "response.cancel"})
    assert "response.output_audio.delta" not in h.types(events)
    assert h.types(events)[-1] == "response.done"
    done = events[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["output"][0]["status"] == "incomplete"
    item = h.session.conversation.get(done["output"][0]["id"])
    assert item is not None
    assert 290 <= item.audio_ms(0) <= 420  # what was released by t=300 ms, in 100 ms chunks


def test_realtime_pacing_releases_audio_in_real_time() -> None:
    h = Harness(config=ServerConfig(realtime_pacing=True))
    h.send(user_text("One two three four."))
    first = h.send({"type": "response.create"})
    deltas_now = [e for e in first if e["type"] == "response.output_audio.delta"]
    assert len(deltas_now) == 1  # only the chunk due now
    total_ms = SYNTH.duration_ms("One two three four.")
    rest = h.advance(total_ms + 10)
    assert h.types(rest)[-1] == "response.done"


def test_truncate_checks_and_trims() -> None:
    h = Harness()
    h.send(user_text("Hello world."))
    events = h.send({"type": "response.create"})
    item_id = events[-1]["response"]["output"][0]["id"]
    total = SYNTH.duration_ms("Hello world.")
    [error] = h.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": int(total) + 50,
        }
    )
    assert error["error"]["code"] == "item_truncate_invalid_audio_end_ms"
    [error] = h.send(
        {
            "type": "conversation.item.truncate",
            "item_id": "item_x",
            "content_index": 0,
            "audio_end_ms": 10,
        }
    )
    assert error["error"]["code"] == "item_truncate_invalid_item_id"
    assert error["error"]["message"] == "Item with item_id not found: item_x"
    [ok] = h.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 150,
        }
    )
    assert ok["type"] == "conversation.item.truncated"
    assert ok["audio_end_ms"] == 150
    item = h.session.conversation.get(item_id)
    assert item is not None
    assert item.audio_ms(0) == 150
    assert item.data["content"][0]["transcript"] == ""


def test_voice_locked_after_assistant_audio() -> None:
    h = Harness()
    update = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
    }
    assert h.types(h.send(update)) == ["session.updated"]
    h.send(user_text("Hi."))
    h.send({"type": "response.create"})
    update["session"]["audio"]["output"]["voice"] = "alloy"  # type: ignore[index]
    [error] = h.send(update)
    assert error["error"]["code"] == "cannot_update_voice"
    assert (
        error["error"]["message"]
        == "Cannot update a conversation's voice if assistant audio is present."
    )


def test_function_call_flow_ga_and_beta() -> None:
    scenario = {
        "rules": [{"when": "weather", "call": "get_weather", "arguments": {"city": "Paris"}}]
    }
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    for dialect in ("ga", "beta"):
        engines = load_engines(
            EngineSpec(
                vad="energy",
                transcriber="tone",
                synthesizer="tone",
                brain="script",
                scenario=scenario,
            )
        )
        h = Harness(dialect, engines=engines)
        update = {"type": "realtime", "tools": [tool]} if dialect == "ga" else {"tools": [tool]}
        assert h.types(h.send({"type": "session.update", "session": update})) == ["session.updated"]
        h.send(user_text("what is the weather"))
        events = h.send({"type": "response.create"})
        kinds = h.types(events)
        assert "response.function_call_arguments.delta" in kinds
        [done] = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        assert json.loads(done["arguments"]) == {"city": "Paris"}
        assert ("name" in done) == (dialect == "ga")
        output = events[-1]["response"]["output"]
        assert output[-1]["type"] == "function_call"
        assert output[-1]["name"] == "get_weather"
        assert isinstance(engines.brain, ScriptBrain)


def test_out_of_band_response_does_not_touch_conversation() -> None:
    h = Harness()
    h.send(user_text("Hi."))
    events = h.send(
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "output_modalities": ["text"],
                "metadata": {"purpose": "summary"},
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Sum up."}],
                    }
                ],
            },
        }
    )
    assert "conversation.item.added" not in h.types(events)
    done = events[-1]["response"]
    assert done["conversation_id"] is None
    assert done["metadata"] == {"purpose": "summary"}
    assert len(h.session.conversation) == 1


# --- input audio buffer and turn detection --------------------------------------------------


def test_commit_under_100ms_is_commit_empty() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    h.append_audio(silence(50))
    [error] = h.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["message"] == (
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
        "but buffer only has 50.00ms of audio."
    )
    assert error["error"]["event_id"] == "c1"
    assert h.types(h.send({"type": "input_audio_buffer.clear"})) == ["input_audio_buffer.cleared"]


def test_manual_commit_transcribes_and_response_hears_it() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}
                },
            },
        }
    )
    h.append_audio(speech("hello robot"))
    events = h.send({"type": "input_audio_buffer.commit"})
    kinds = h.types(events)
    assert kinds[:3] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert "conversation.item.input_audio_transcription.delta" in kinds
    [completed] = [e for e in events if e["type"].endswith("transcription.completed")]
    assert completed["transcript"] == "hello robot"
    events = h.send({"type": "response.create"})
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "hello robot"  # the echo brain heard the transcript


def test_server_vad_timing_follows_padding_and_silence() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 400,
                        }
                    }
                },
            },
        }
    )
    utterance = speech("good evening friend")
    # The tone "speech" ends with one word gap of silence (GAP_MS): not speech to the VAD.
    speech_ms = duration_ms(len(utterance), "pcm16") - GAP_MS
    events = h.append_audio(silence(1000) + utterance + silence(1000))
    [started] = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    [stopped] = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    frame = 32 + 5  # one VAD frame plus resampler delay
    assert abs(started["audio_start_ms"] - (1000 - 300)) <= frame
    assert abs(stopped["audio_end_ms"] - (1000 + speech_ms + 400)) <= frame
    assert started["item_id"] == stopped["item_id"]
    kinds = h.types(events)
    assert kinds.index("input_audio_buffer.committed") > kinds.index(
        "input_audio_buffer.speech_stopped"
    )
    assert "response.created" in kinds  # create_response defaults to true
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "good evening friend"
    item = h.session.conversation.get(stopped["item_id"])
    assert item is not None
    assert abs(item.audio_ms(0) - (stopped["audio_end_ms"] - started["audio_start_ms"])) <= 2


def test_vad_without_create_response_and_noise_below_threshold() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "create_response": False}}
                },
            },
        }
    )
    quiet = (np.random.default_rng(1).normal(0, 30, 24000)).astype("<i2").tobytes()  # ~ -60 dBFS
    assert h.append_audio(quiet) == []
    events = h.append_audio(speech("hi there") + silence(600))
    kinds = h.types(events)
    assert "input_audio_buffer.committed" in kinds
    assert "response.created" not in kinds


def test_barge_in_cancels_active_response() -> None:
    h = Harness(config=ServerConfig(realtime_pacing=True))
    h.send(user_text("One two three four five six seven."))
    h.send({"type": "response.create"})
    events = h.append_audio(speech("stop"))
    kinds = h.types(events)
    assert "input_audio_buffer.speech_started" in kinds
    [done] = [e for e in events if e["type"] == "response.done"]
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "turn_detected"


def test_semantic_vad_ends_turn_within_eagerness_cap() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}
                },
            },
        }
    )
    utterance = speech("all done")
    events = h.append_audio(silence(200) + utterance + silence(2100))
    [stopped] = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    end_of_speech = 200 + duration_ms(len(utterance), "pcm16")
    assert 0 < stopped["audio_end_ms"] - end_of_speech <= 2000  # the "high" cap


def test_idle_timeout_triggers_commit_and_response() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}
                },
            },
        }
    )
    h.send(user_text("Hi."))
    h.send({"type": "response.create"})
    h.append_audio(silence(200))
    assert "input_audio_buffer.timeout_triggered" not in h.types(h.advance(4900))
    events = h.advance(200)
    kinds = h.types(events)
    assert kinds[0] == "input_audio_buffer.timeout_triggered"
    assert events[0]["audio_end_ms"] == 200
    assert "input_audio_buffer.committed" in kinds
    assert "response.created" in kinds


def test_append_over_limit_is_an_error_event() -> None:
    h = Harness(config=ServerConfig(max_append_bytes=1000))
    [error] = h.append_audio(silence(100), chunk=4800)
    assert error["type"] == "error"
    assert error["error"]["param"] == "audio"


def test_session_expires_with_error_then_close_1001() -> None:
    h = Harness(config=ServerConfig(max_session_s=120))
    events = h.advance(120_000)
    assert h.types(events) == ["error"]
    assert events[0]["error"]["code"] == "session_expired"
    assert events[0]["error"]["message"] == "Your session hit the maximum duration of 2 minutes."
    assert [(c.code, c.reason) for c in h.closes] == [(1001, "session expired")]
    assert h.send(user_text("late")) == []


def test_unknown_event_type_is_an_error() -> None:
    [error] = Harness().send({"type": "response.explode"})
    assert error["type"] == "error"
    assert error["error"]["param"] == "type"


def test_engines_are_shared_not_mutated() -> None:
    assert tone_engines() is tone_engines()
