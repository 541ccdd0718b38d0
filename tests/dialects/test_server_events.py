"""Server events in, neutral events out, on both dialects (protocol.md 6.2, 6.4)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openai.types.beta.realtime as beta_types
import openai.types.realtime as ga_types
import pytest

from realtalk import events as ev
from realtalk.config import UNSET, AudioFormat, ServerVAD, SessionConfig
from realtalk.dialects import BETA, GA, Dialect
from realtalk.dialects._events import known_event_types
from realtalk.items import (
    FunctionCallItem,
    InputAudio,
    MessageItem,
    OtherItem,
    OutputAudio,
    OutputText,
)
from tests.oracle import BETA_SERVER, GA_SERVER, minimal, server_event_classes
from tests.samples import error_event, ga_session_created

DIALECTS = pytest.mark.parametrize("dialect", [GA, BETA], ids=["ga", "beta"])
PROTOCOL_MD = Path("/work/shared/reference/protocol.md")

EXPECTED: dict[str, type] = {
    "session.created": ev.SessionCreated,
    "transcription_session.created": ev.SessionCreated,
    "session.updated": ev.SessionUpdated,
    "transcription_session.updated": ev.TranscriptionSessionUpdated,
    "conversation.created": ev.ConversationCreated,
    "conversation.item.created": ev.ItemAdded,
    "conversation.item.added": ev.ItemAdded,
    "conversation.item.done": ev.ItemDone,
    "conversation.item.deleted": ev.ItemDeleted,
    "conversation.item.retrieved": ev.ItemRetrieved,
    "conversation.item.truncated": ev.ItemTruncated,
    "conversation.item.input_audio_transcription.completed": ev.InputTranscriptCompleted,
    "conversation.item.input_audio_transcription.delta": ev.InputTranscriptDelta,
    "conversation.item.input_audio_transcription.failed": ev.InputTranscriptFailed,
    "conversation.item.input_audio_transcription.segment": ev.InputTranscriptSegment,
    "error": ev.ErrorEvent,
    "input_audio_buffer.cleared": ev.InputAudioCleared,
    "input_audio_buffer.committed": ev.InputAudioCommitted,
    "input_audio_buffer.dtmf_event_received": ev.DtmfReceived,
    "input_audio_buffer.speech_started": ev.SpeechStarted,
    "input_audio_buffer.speech_stopped": ev.SpeechStopped,
    "input_audio_buffer.timeout_triggered": ev.InputAudioTimeout,
    "rate_limits.updated": ev.RateLimitsUpdated,
    "response.output_audio.delta": ev.AudioDelta,
    "response.audio.delta": ev.AudioDelta,
    "response.output_audio.done": ev.AudioDone,
    "response.audio.done": ev.AudioDone,
    "response.output_audio_transcript.delta": ev.AudioTranscriptDelta,
    "response.audio_transcript.delta": ev.AudioTranscriptDelta,
    "response.output_audio_transcript.done": ev.AudioTranscriptDone,
    "response.audio_transcript.done": ev.AudioTranscriptDone,
    "response.output_text.delta": ev.TextDelta,
    "response.text.delta": ev.TextDelta,
    "response.output_text.done": ev.TextDone,
    "response.text.done": ev.TextDone,
    "response.content_part.added": ev.ContentPartAdded,
    "response.content_part.done": ev.ContentPartDone,
    "response.created": ev.ResponseCreated,
    "response.done": ev.ResponseDone,
    "response.function_call_arguments.delta": ev.FunctionCallArgumentsDelta,
    "response.function_call_arguments.done": ev.FunctionCallArgumentsDone,
    "response.output_item.added": ev.OutputItemAdded,
    "response.output_item.done": ev.OutputItemDone,
    "output_audio_buffer.started": ev.OutputAudioBufferStarted,
    "output_audio_buffer.stopped": ev.OutputAudioBufferStopped,
    "output_audio_buffer.cleared": ev.OutputAudioBufferCleared,
    "mcp_list_tools.in_progress": ev.McpEvent,
    "mcp_list_tools.completed": ev.McpEvent,
    "mcp_list_tools.failed": ev.McpEvent,
    "response.mcp_call_arguments.delta": ev.McpEvent,
    "response.mcp_call_arguments.done": ev.McpEvent,
    "response.mcp_call.in_progress": ev.McpEvent,
    "response.mcp_call.completed": ev.McpEvent,
    "response.mcp_call.failed": ev.McpEvent,
}


def test_the_expectation_table_covers_every_decoder() -> None:
    assert set(EXPECTED) == known_event_types()


# -- the SDK unions --------------------------------------------------------------------------


def _sdk_examples(union: Any, adapter: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for cls in server_event_classes(union):
        example = minimal(cls)
        adapter.validate_python(example)  # the example really is valid for the SDK
        out.append((example["type"], example))
    return out


GA_EXAMPLES = _sdk_examples(ga_types.RealtimeServerEvent, GA_SERVER)
BETA_EXAMPLES = _sdk_examples(beta_types.RealtimeServerEvent, BETA_SERVER)


@DIALECTS
@pytest.mark.parametrize(
    ("kind", "example"), GA_EXAMPLES + BETA_EXAMPLES, ids=lambda v: str(v)[:60]
)
def test_a_minimal_example_of_every_sdk_server_event_decodes_to_its_class(
    dialect: Dialect, kind: str, example: dict[str, Any]
) -> None:
    # Both dialects accept both vocabularies (gateways mix them).
    event = dialect.decode_event(example)
    assert isinstance(event, EXPECTED[kind]), event


def test_the_sdk_unions_were_enumerated() -> None:
    assert len(GA_EXAMPLES) >= 40
    assert len(BETA_EXAMPLES) >= 30


# -- the examples in protocol.md -------------------------------------------------------------


def _examples_in(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r'\{\s*"type"\s*:', text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue  # schema sketches with placeholders are not JSON
        if obj["type"] in EXPECTED:
            found.append(obj)
    return found


# A copy of the server examples in protocol.md, so CI checks them without the reference.
MD_EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "protocol_md_server_examples.json").read_text()
)


@pytest.mark.skipif(not PROTOCOL_MD.exists(), reason="protocol.md not available")
def test_the_copied_examples_are_all_the_server_examples_in_protocol_md() -> None:
    assert _examples_in(PROTOCOL_MD.read_text()) == MD_EXAMPLES


@DIALECTS
@pytest.mark.parametrize("example", MD_EXAMPLES, ids=lambda e: e["type"])
def test_every_server_example_in_protocol_md_decodes(
    dialect: Dialect, example: dict[str, Any]
) -> None:
    event = dialect.decode_event(example)
    assert isinstance(event, EXPECTED[example["type"]])
    if isinstance(event, ev.ErrorEvent):
        assert event.error.message
    if isinstance(event, ev.SessionCreated):
        assert event.config.model
        assert event.config.extra is UNSET  # every key of the examples is modelled


def test_the_spec_ga_session_created_example_decodes_field_by_field() -> None:
    raw = ga_session_created()
    event = GA.decode_event(raw)
    assert event == ev.SessionCreated(
        SessionConfig(
            model="gpt-realtime-2025-08-28",
            instructions="Your knowledge cutoff is 2023-10.",
            output_modalities=("audio",),
            voice="marin",
            speed=1.0,
            input_format=AudioFormat.pcm16(),
            output_format=AudioFormat.pcm16(),
            turn_detection=ServerVAD(0.5, 300, 200, None, True, True),
            noise_reduction=None,
            transcription=None,
            tools=(),
            tool_choice="auto",
            max_output_tokens="inf",
            tracing=None,
            prompt=None,
            include=None,
        ),
        session_id="sess_C9G5QPteg4UIbotdKLoYQ",
        event_id="event_C9G5RJeJ2gF77mV7f2B1j",
    )


def test_the_azure_preview_session_created_decodes_on_beta() -> None:
    raw = {
        "type": "session.created",
        "event_id": "event_1",
        "session": {
            "id": "s",
            "object": "realtime.session",
            "expires_at": 1745702930,
            "input_audio_noise_reduction": None,
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "create_response": True},
            "input_audio_format": "pcm16",
            "input_audio_transcription": None,
            "client_secret": None,
            "include": None,
            "model": "gpt-4o-mini-realtime-preview-2024-12-17",
            "modalities": ["audio", "text"],
            "voice": "verse",
            "output_audio_format": "g711_ulaw",
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "tools": [],
        },
    }
    event = BETA.decode_event(raw)
    assert isinstance(event, ev.SessionCreated)
    config = event.config
    assert config.output_modalities == ("audio",)
    assert config.noise_reduction is None
    assert config.transcription is None
    assert config.output_format == AudioFormat.pcmu()
    assert config.temperature == 0.8
    assert config.max_output_tokens == "inf"
    assert config.turn_detection == ServerVAD(threshold=0.5, create_response=True)
    assert config.extra is not None
    assert not config.extra


# -- details ---------------------------------------------------------------------------------


@DIALECTS
def test_audio_deltas_arrive_as_bytes_under_both_names(dialect: Dialect) -> None:
    for name in ("response.output_audio.delta", "response.audio.delta"):
        event = dialect.decode(
            json.dumps(
                {
                    "type": name,
                    "event_id": "e",
                    "response_id": "r",
                    "item_id": "i",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": "AAEC",
                }
            )
        )
        assert event == ev.AudioDelta("r", "i", 0, 0, b"\x00\x01\x02", "e")


@DIALECTS
def test_content_parts_accept_both_spellings(dialect: Dialect) -> None:
    base = {"response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0}
    parts = {
        "text": OutputText("hi"),
        "output_text": OutputText("hi"),
        "audio": OutputAudio(None, "hi"),
        "output_audio": OutputAudio(None, "hi"),
    }
    for kind, expected in parts.items():
        body = (
            {"type": kind, "text": "hi"} if "text" in kind else {"type": kind, "transcript": "hi"}
        )
        event = dialect.decode_event({"type": "response.content_part.added", **base, "part": body})
        assert isinstance(event, ev.ContentPartAdded)
        assert event.part == expected


@DIALECTS
def test_item_lifecycle_events_created_added_done(dialect: Dialect) -> None:
    item = {
        "id": "item_1",
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    expected = MessageItem("user", (InputAudio(None, None),), "item_1", "completed")
    for name, cls in (
        ("conversation.item.created", ev.ItemAdded),
        ("conversation.item.added", ev.ItemAdded),
        ("conversation.item.done", ev.ItemDone),
    ):
        event = dialect.decode_event({"type": name, "previous_item_id": "p", "item": item})
        assert event == cls(expected, "p")


@DIALECTS
def test_response_done_with_usage_and_status_details(dialect: Dialect) -> None:
    raw = {
        "type": "response.done",
        "event_id": "e",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "cancelled",
            "status_details": {"type": "cancelled", "reason": "turn_detected"},
            "output": [
                {
                    "type": "function_call",
                    "id": "item_f",
                    "name": "f",
                    "call_id": "c",
                    "arguments": "{}",
                },
                {"type": "mcp_call", "id": "item_m", "server_label": "s"},
            ],
            "conversation_id": "conv_1",
            "output_modalities": ["audio"],
            "usage": {
                "total_tokens": 30,
                "input_tokens": 10,
                "output_tokens": 20,
                "input_token_details": {"text_tokens": 10},
            },
        },
    }
    event = dialect.decode_event(raw)
    assert isinstance(event, ev.ResponseDone)
    response = event.response
    assert (response.id, response.status, response.status_reason) == (
        "resp_1",
        "cancelled",
        "turn_detected",
    )
    assert response.output[0] == FunctionCallItem("f", "{}", "c", "item_f")
    assert isinstance(response.output[1], OtherItem)
    assert response.output[1].type == "mcp_call"
    assert event.usage is not None
    assert event.usage.total_tokens == 30
    assert event.usage.details == {"input_token_details": {"text_tokens": 10}}
    assert response.conversation_id == "conv_1"
    assert response.output_modalities == ("audio",)


def test_failed_response_carries_its_error() -> None:
    raw = {
        "type": "response.done",
        "response": {
            "id": "r",
            "status": "failed",
            "status_details": {
                "type": "failed",
                "error": {"type": "server_error", "code": "x", "message": "m"},
            },
        },
    }
    event = GA.decode_event(raw)
    assert isinstance(event, ev.ResponseDone)
    assert event.response.error is not None
    assert event.response.error.code == "x"


@DIALECTS
def test_error_event(dialect: Dialect) -> None:
    event = dialect.decode_event(error_event())
    assert isinstance(event, ev.ErrorEvent)
    assert event.error.event_id == "event_567"
    assert event.error.code == "invalid_event"
    assert event.event_id == "event_890"


@DIALECTS
def test_function_call_arguments_done_with_and_without_name(dialect: Dialect) -> None:
    base = {
        "type": "response.function_call_arguments.done",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "call_id": "c",
        "arguments": "{}",
    }
    assert dialect.decode_event(base) == ev.FunctionCallArgumentsDone("r", "i", 0, "c", "{}")
    named = dialect.decode_event({**base, "name": "f"})
    assert isinstance(named, ev.FunctionCallArgumentsDone)
    assert named.name == "f"


@DIALECTS
def test_unknown_types_become_unknown_events(dialect: Dialect) -> None:
    raw = {"type": "response.cancelled", "event_id": "e"}
    assert dialect.decode_event(raw) == ev.UnknownEvent("response.cancelled", raw)


@DIALECTS
@pytest.mark.parametrize(
    "raw",
    [
        {
            "type": "response.output_audio.delta",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "not base64!",
        },
        {
            "type": "response.output_text.delta",
            "response_id": "r",
            "item_id": "i",
            "output_index": "0",
            "content_index": 0,
            "delta": "x",
        },
        {"type": "input_audio_buffer.speech_started", "item_id": "i"},
        {"type": "conversation.item.added", "item": "nope"},
        {"type": "conversation.item.added", "item": {"type": "message", "role": "robot"}},
        {"type": "response.created", "response": []},
        {"type": "session.updated", "session": None},
        {"type": "error"},
        {"type": "rate_limits.updated", "rate_limits": {}},
    ],
    ids=lambda raw: raw["type"],
)
def test_malformed_known_events_are_violations_never_exceptions(
    dialect: Dialect, raw: dict[str, Any]
) -> None:
    event = dialect.decode_event(raw)
    assert isinstance(event, ev.ProtocolViolation)
    assert raw["type"] in event.reason
    assert json.loads(event.raw) == raw


@DIALECTS
def test_frames_that_are_not_events(dialect: Dialect) -> None:
    assert isinstance(dialect.decode("{nope"), ev.ProtocolViolation)
    assert isinstance(dialect.decode("[1,2]"), ev.ProtocolViolation)
    assert isinstance(dialect.decode(b'{"type": 3}'), ev.ProtocolViolation)
    assert isinstance(dialect.decode_event({"no": "type"}), ev.ProtocolViolation)


@DIALECTS
def test_odd_session_values_are_kept_in_extra_not_lost(dialect: Dialect) -> None:
    raw = {
        "type": "session.updated",
        "session": {
            "type": "realtime",
            "parallel_tool_calls": True,
            "audio": {
                "input": {
                    "turn_detection": {
                        "type": "semantic_vad",
                        "eagerness": "auto",
                        "threshold": None,
                        "future_knob": 1,
                    }
                },
                "output": {"voice": {"id": "voice_1234"}},
            },
        },
    }
    event = dialect.decode_event(raw)
    assert isinstance(event, ev.SessionUpdated)
    assert event.config.extra == {
        "audio.output.voice": {"id": "voice_1234"},
        "parallel_tool_calls": True,
        "audio.input.turn_detection.future_knob": 1,
    }
    assert event.config.voice is UNSET


@DIALECTS
def test_dtmf_has_no_event_id(dialect: Dialect) -> None:
    raw = {
        "type": "input_audio_buffer.dtmf_event_received",
        "event": "5",
        "received_at": 1700000000,
    }
    assert dialect.decode_event(raw) == ev.DtmfReceived("5", 1700000000)
