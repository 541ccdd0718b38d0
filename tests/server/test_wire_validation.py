"""The server's wire rules accept what the providers accept, merge like them, and never raise."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.beta.realtime import SessionUpdateEvent as BetaSessionUpdate
from openai.types.realtime import (
    RealtimeResponseCreateParams,
    RealtimeSessionCreateRequest,
    RealtimeTranscriptionSessionCreateRequest,
    SessionCreatedEvent,
)
from openai.types.realtime.realtime_audio_config_input import RealtimeAudioConfigInput
from openai.types.realtime.realtime_audio_config_output import RealtimeAudioConfigOutput
from openai.types.realtime.realtime_audio_input_turn_detection import SemanticVad, ServerVad
from pydantic import BaseModel, ValidationError

from realtalk.server import wire
from realtalk.server.wire.schema import Disc, Node, Obj, decimal_places
from realtalk.server.wire.shapes import beta_session, ga_response_params
from realtalk.server.wire.shapes import ga_session as ga_session_schema
from tests.oracle import GA_RESPONSE_WITH_REFERENCES, validate_client_event, validate_server_event
from tests.samples import (
    beta_reference_update,
    beta_transcription_update,
    ga_reference_update,
    ga_session,
    ga_transcription_update,
    get_time_tool,
)

TOOL = get_time_tool()

# protocol.md §6.1, §6.3, §6.6: events the GA and the beta client-event unions both accept as
# they stand (checked below, once per dialect), so the server must accept them on either.
BOTH_ACCEPTED: list[dict[str, Any]] = [
    *(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": role,
                "content": [{"type": "input_text", "text": text}],
            },
        }
        for role, text in (("user", "hi"), ("system", "Be nice."))
    ),
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call", "name": "get_time", "arguments": "{}", "call_id": "c1"},
    },
    *(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "c1", "output": output},
        }
        for output in ("12:00", "{}")
    ),
    {"type": "conversation.item.delete", "item_id": "item_1"},
    {"type": "conversation.item.retrieve", "item_id": "item_1"},
    *(
        {
            "type": "conversation.item.truncate",
            "item_id": "item_1",
            "content_index": 0,
            "audio_end_ms": audio_end_ms,
        }
        for audio_end_ms in (1500, 0)
    ),
    *({"type": "input_audio_buffer.append", "audio": audio} for audio in ("AAAAAA==", "", "AAAA")),
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.commit", "event_id": "evt_2"},
    {"type": "input_audio_buffer.clear", "event_id": None},
    {"type": "output_audio_buffer.clear"},
    {"type": "response.cancel"},
    {"type": "response.cancel", "response_id": "resp_1"},
    {"type": "response.create"},
    {"type": "response.create", "response": None},
]

# protocol.md §2.7, §2.1 (SDK docstring), §2.2, §6.6, §6.7, §6.1: every one of these is accepted
# by the official SDK's GA client-event union (checked below), so the server must accept it.
GA_ACCEPTED: list[dict[str, Any]] = [
    ga_reference_update(),
    {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"noise_reduction": None}}},
    },
    {
        "type": "session.update",
        "event_id": "evt_1",
        "session": {"type": "realtime", "instructions": "x"},
    },
    ga_transcription_update(),
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "output_modalities": ["text"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                    "noise_reduction": {"type": "far_field", "strength": 0.7},
                },
                "output": {"format": {"type": "audio/pcma"}, "voice": {"id": "voice_1234"}},
            },
            "tool_choice": {"type": "function", "name": "get_time"},
            "tracing": "auto",
            "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
            "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_1", "variables": {"city": "Paris"}},
            "max_output_tokens": 4096,
            "tools": [
                {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp"}
            ],
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {
                "input": {
                    "turn_detection": {
                        "type": "server_vad",
                        "idle_timeout_ms": 6000,
                        "threshold": 0.123,
                    }
                }
            },
        },
    },
    {
        "type": "conversation.item.create",
        "previous_item_id": "root",
        "item": {
            "id": "item_abc",
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_audio", "audio": "AAAA", "transcript": "hello"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
            ],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello!"}],
        },
    },
    {
        "type": "response.create",
        "response": {
            "instructions": "Provide a concise answer.",
            "tools": [],
            "conversation": "none",
            "output_modalities": ["text"],
            "metadata": {"response_purpose": "summarization"},
            "input": [
                {"type": "item_reference", "id": "item_12345"},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "Summarize the above message in one sentence.",
                        }
                    ],
                },
            ],
        },
    },
    {
        "type": "response.create",
        "response": {
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
            "max_output_tokens": 200,
            "tool_choice": "required",
            "tools": [TOOL],
        },
    },
    *BOTH_ACCEPTED,
]


def _without_speed(event: dict[str, Any]) -> dict[str, Any]:
    # Azure preview does not document speed (protocol.md §2.4), and these run on both flavors.
    del event["session"]["speed"]
    return event


BETA_ACCEPTED: list[dict[str, Any]] = [
    _without_speed(beta_reference_update()),
    {"type": "session.update", "session": {"tools": [TOOL], "tool_choice": "auto"}},
    {"type": "session.update", "session": {"modalities": ["text"], "turn_detection": None}},
    {"type": "session.update", "session": {"modalities": ["text", "audio"], "voice": "verse"}},
    {
        "type": "session.update",
        "session": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}},
    },
    {
        "type": "session.update",
        "session": {"input_audio_format": "g711_ulaw", "output_audio_format": "g711_alaw"},
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello!"}],
        },
    },
    {
        "type": "response.create",
        "response": {
            "modalities": ["text"],
            "instructions": "Say hi.",
            "temperature": 0.7,
            "max_response_output_tokens": 100,
            "conversation": "none",
            "input": [{"type": "item_reference", "id": "item_1"}],
        },
    },
    *BOTH_ACCEPTED,
]

BETA_TRANSCRIPTION_UPDATE = beta_transcription_update()  # protocol.md §2.3


def ga_default() -> dict[str, Any]:
    return wire.default_session("ga", "openai", "gpt-realtime", session_id="sess_1", now_s=10)


def beta_default(flavor: wire.Flavor = "openai", session_type: str = "realtime") -> dict[str, Any]:
    return wire.default_session(
        "beta",
        flavor,
        "gpt-4o-realtime-preview",
        session_id="sess_2",
        now_s=10,
        session_type=session_type,
    )


def ga_current(event: dict[str, Any]) -> dict[str, Any]:
    """The session a GA event is sent in: a transcription session for a transcription update."""
    if event["type"] == "session.update" and event["session"]["type"] == "transcription":
        return wire.default_session(
            "ga", "openai", "", session_id="s", now_s=0, session_type="transcription"
        )
    return ga_default()


def server_error(
    dialect: wire.Dialect, flavor: wire.Flavor, event: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any] | None:
    """The server's answer to ``event``, checked on a copy so the case lists stay as written."""
    return wire.validate_client_event(dialect, flavor, copy.deepcopy(event), current=current)


# --- no false rejections ----------------------------------------------------------------------


@pytest.mark.parametrize("event", GA_ACCEPTED, ids=lambda e: str(e["type"]))
@pytest.mark.parametrize("flavor", ["openai", "azure"])
def test_ga_payloads_the_sdk_accepts_are_accepted(
    event: dict[str, Any], flavor: wire.Flavor
) -> None:
    try:
        validate_client_event("ga", event)  # the oracle: the official SDK accepts it
    except ValidationError:
        GA_RESPONSE_WITH_REFERENCES.validate_python(event, strict=True)
    if flavor == "azure" and "output_modalities" in (event.get("response") or {}):
        pytest.skip("Azure GA is reported to reject response.output_modalities")
    assert server_error("ga", flavor, event, ga_current(event)) is None


@pytest.mark.parametrize("event", BETA_ACCEPTED, ids=lambda e: str(e["type"]))
@pytest.mark.parametrize("flavor", ["openai", "azure"])
def test_beta_payloads_the_sdk_accepts_are_accepted(
    event: dict[str, Any], flavor: wire.Flavor
) -> None:
    validate_client_event("beta", event)
    assert server_error("beta", flavor, event, beta_default(flavor)) is None


def test_beta_transcription_session_update_example_is_accepted() -> None:
    validate_client_event("beta", BETA_TRANSCRIPTION_UPDATE)
    current = beta_default(session_type="transcription")
    assert (
        wire.validate_client_event("beta", "openai", BETA_TRANSCRIPTION_UPDATE, current=current)
        is None
    )
    # ... while realtime-only fields are unknown there.
    bad = {"type": "transcription_session.update", "session": {"voice": "alloy"}}
    assert wire.validate_client_event("beta", "openai", bad, current=current) == {
        "type": "invalid_request_error",
        "code": "unknown_parameter",
        "message": "Unknown parameter: 'session.voice'.",
        "param": "session.voice",
    }


@pytest.mark.parametrize("event", GA_ACCEPTED, ids=lambda e: str(e["type"]))
def test_a_json_round_trip_with_wire_floats_is_accepted(event: dict[str, Any]) -> None:
    parsed, error = wire.parse_client_message(json.dumps(event))
    assert error is None
    assert wire.validate_client_event("ga", "openai", parsed, current=ga_current(event)) is None


# --- the tables know every field the SDK types know -------------------------------------------


def _fields(node: Node) -> set[str]:
    assert isinstance(node, Obj)
    return set(node.fields)


def _model_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _variant(node: Node, tag: str) -> Obj:
    assert isinstance(node, Disc)
    found = node.variants[tag]
    assert isinstance(found, Obj)
    return found


def test_schema_fields_match_the_sdk_types() -> None:
    ga = ga_session_schema("openai")
    realtime = _variant(ga, "realtime")
    assert _fields(realtime) == _model_fields(RealtimeSessionCreateRequest)
    transcription = _variant(ga, "transcription")
    assert _fields(transcription) == _model_fields(RealtimeTranscriptionSessionCreateRequest)
    audio = realtime.fields["audio"]
    assert isinstance(audio, Obj)
    audio_in, audio_out = audio.fields["input"], audio.fields["output"]
    assert _fields(audio_in) == _model_fields(RealtimeAudioConfigInput)
    assert _fields(audio_out) == _model_fields(RealtimeAudioConfigOutput)
    assert isinstance(audio_in, Obj)
    turn_detection = audio_in.fields["turn_detection"]
    assert _fields(_variant(turn_detection, "server_vad")) == _model_fields(ServerVad)
    assert _fields(_variant(turn_detection, "semantic_vad")) == _model_fields(SemanticVad)
    assert _fields(ga_response_params()) == _model_fields(RealtimeResponseCreateParams)
    beta_sdk = BetaSessionUpdate.model_fields["session"].annotation
    assert isinstance(beta_sdk, type)
    assert issubclass(beta_sdk, BaseModel)
    # client_secret is REST-only (rejected over the WebSocket, protocol.md §2.3); include is
    # only in the beta read shape, not in the update type.
    assert _fields(beta_session("openai")) == _model_fields(beta_sdk) - {"client_secret"}


# --- default sessions -------------------------------------------------------------------------


def test_ga_default_session_is_the_spec_example() -> None:
    session = ga_default()
    # protocol.md §2.1's session.created example, but for what this server was asked for and
    # its own default instructions.
    assert session == ga_session(
        id="sess_1",
        model="gpt-realtime",
        expires_at=10 + 3600,
        instructions=session["instructions"],
    )
    validate_server_event(
        "ga", {"type": "session.created", "event_id": "event_1", "session": session}
    )
    transcription = wire.default_session(
        "ga", "azure", "", session_id="sess_t", now_s=0, session_type="transcription"
    )
    parsed = validate_server_event(
        "ga", {"type": "session.created", "event_id": "event_1", "session": transcription}
    )
    assert isinstance(parsed, SessionCreatedEvent)
    assert parsed.session.type == "transcription"


@pytest.mark.parametrize("flavor", ["openai", "azure"])
def test_beta_default_session_is_the_azure_preview_example(flavor: wire.Flavor) -> None:
    session = beta_default(flavor)
    assert session["modalities"] == ["audio", "text"]
    assert session["voice"] == "alloy"
    assert session["temperature"] == 0.8
    assert session["max_response_output_tokens"] == "inf"
    assert session["input_audio_format"] == session["output_audio_format"] == "pcm16"
    assert session["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "create_response": True,
        "interrupt_response": True,
    }
    assert ("speed" in session) is (flavor == "openai")
    validate_server_event(
        "beta", {"type": "session.created", "event_id": "event_1", "session": session}
    )


# --- merge semantics (protocol.md §2.6, §3) ---------------------------------------------------


def merge(
    current: dict[str, Any],
    update: dict[str, Any],
    dialect: wire.Dialect = "ga",
    flavor: wire.Flavor = "openai",
) -> dict[str, Any]:
    """``update`` applied to ``current``, after checking the server accepts it."""
    error = wire.validate_session_update(
        dialect, flavor, update, current, assistant_audio_present=False
    )
    assert error is None
    return wire.apply_session_update(dialect, current, update)


def rejected_param(current: dict[str, Any], update: dict[str, Any]) -> str:
    """The param the GA server names in rejecting ``update`` (it must reject it)."""
    error = wire.validate_session_update(
        "ga", "openai", update, current, assistant_audio_present=False
    )
    assert error is not None
    return str(error["param"])


def test_only_fields_present_change() -> None:
    before = ga_default()
    after = merge(before, {"type": "realtime", "instructions": "Be brief."})
    assert after["instructions"] == "Be brief."
    assert {k: v for k, v in after.items() if k != "instructions"} == {
        k: v for k, v in before.items() if k != "instructions"
    }
    assert before["instructions"] != "Be brief."  # the input is not mutated


def test_clearing_rules() -> None:
    session = merge(ga_default(), {"type": "realtime", "tools": [TOOL], "instructions": "x"})
    session = merge(session, {"type": "realtime", "tools": [], "instructions": ""})
    assert session["tools"] == []
    assert session["instructions"] == ""
    off = merge(
        session,
        {
            "type": "realtime",
            "audio": {"input": {"turn_detection": None, "transcription": None}},
            "tracing": None,
        },
    )
    assert off["audio"]["input"]["turn_detection"] is None
    assert off["audio"]["input"]["transcription"] is None
    assert off["tracing"] is None
    assert off["audio"]["output"] == session["audio"]["output"]  # siblings untouched


def test_nested_objects_merge_key_wise() -> None:
    session = merge(
        ga_default(),
        {
            "type": "realtime",
            "audio": {"input": {"noise_reduction": {"type": "near_field", "strength": 0.4}}},
        },
    )
    session = merge(
        session,
        {"type": "realtime", "audio": {"input": {"noise_reduction": {"type": "far_field"}}}},
    )
    assert session["audio"]["input"]["noise_reduction"] == {"type": "far_field", "strength": 0.4}
    session = merge(session, {"type": "realtime", "audio": {"output": {"speed": 1.2}}})
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["output"]["speed"] == 1.2
    assert session["audio"]["input"]["noise_reduction"]["type"] == "far_field"
    session = merge(session, {"type": "realtime", "audio": {"input": {"noise_reduction": None}}})
    assert session["audio"]["input"]["noise_reduction"] is None


def test_turn_detection_is_replaced_and_filled_with_its_types_defaults() -> None:
    custom = {"type": "server_vad", "threshold": 0.7, "silence_duration_ms": 800}
    session = merge(
        ga_default(), {"type": "realtime", "audio": {"input": {"turn_detection": custom}}}
    )
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.7,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 800,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
    semantic = merge(
        session,
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}},
    )
    assert semantic["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }
    # A bare server_vad after a custom one comes back with defaults, not the old values.
    bare = merge(
        session,
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
    )
    assert bare["audio"]["input"]["turn_detection"]["threshold"] == 0.5


def test_beta_merge_is_field_wise_and_fills_turn_detection() -> None:
    current = beta_default()
    update = {
        "turn_detection": {"threshold": 0.6},
        "voice": "verse",
        "input_audio_transcription": None,
    }
    after = merge(current, update, "beta")
    assert after["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.6,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "create_response": True,
        "interrupt_response": True,
    }
    assert after["voice"] == "verse"
    assert after["modalities"] == ["audio", "text"]
    validate_server_event("beta", {"type": "session.created", "event_id": "e", "session": after})


def test_model_is_not_updatable_but_may_be_resent() -> None:
    current = wire.default_session(
        "ga", "openai", "gpt-realtime-2025-08-28", session_id="s", now_s=0
    )
    for same in ("gpt-realtime-2025-08-28", "gpt-realtime"):
        update = {"type": "realtime", "model": same}
        assert merge(current, update)["model"] == "gpt-realtime-2025-08-28"
    other = {"type": "realtime", "model": "gpt-realtime-mini"}
    assert rejected_param(current, other) == "session.model"


def test_session_type_cannot_switch() -> None:
    assert rejected_param(ga_default(), {"type": "transcription"}) == "session.type"


def test_tracing_is_immutable_once_enabled() -> None:
    session = merge(ga_default(), {"type": "realtime", "tracing": "auto"})
    update = {"type": "realtime", "tracing": {"workflow_name": "w"}}
    assert rejected_param(session, update) == "session.tracing"
    assert merge(session, {"type": "realtime", "tracing": "auto"}) == session


def test_merged_sessions_still_parse_in_the_sdk() -> None:
    session = ga_default()
    for event in GA_ACCEPTED:
        if event["type"] == "session.update" and event["session"]["type"] == "realtime":
            session = merge(session, event["session"])
            validate_server_event(
                "ga", {"type": "session.created", "event_id": "e", "session": session}
            )


# --- never raises ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "type", "session", "audio", "input", "output", "format", "rate", "turn_detection",
        "threshold", "voice", "modalities", "output_modalities", "tools", "item", "content",
        "role", "response", "id", "item_id", "audio_end_ms", "content_index", "noise_reduction",
        "tool_choice", "max_output_tokens", "tracing", "truncation", "input_audio_format",
        "realtime", "server_vad", "semantic_vad", "message", "user", "function",
    ]
)  # fmt: skip
SHAPED = st.recursive(
    JSON,
    lambda children: st.dictionaries(
        KEYS | st.sampled_from(wire.BETA_CLIENT_EVENTS), children, max_size=5
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    value=SHAPED,
    dialect=st.sampled_from(["ga", "beta"]),
    flavor=st.sampled_from(["openai", "azure"]),
    audio=st.booleans(),
    kind=st.sampled_from(wire.BETA_CLIENT_EVENTS),
)
def test_random_json_never_raises(
    value: Any, dialect: wire.Dialect, flavor: wire.Flavor, audio: bool, kind: str
) -> None:
    current = wire.default_session(dialect, flavor, "m", session_id="s", now_s=0)
    result = wire.validate_session_update(
        dialect, flavor, value, current, assistant_audio_present=audio
    )
    assert result is None or set(result) == {"type", "code", "message", "param"}
    if result is None:
        wire.apply_session_update(dialect, current, value)
    for event in (value, {"type": kind, "session": value, "item": value, "response": value}):
        result = wire.validate_client_event(
            dialect, flavor, event, current=current, assistant_audio_present=audio
        )
        assert result is None or isinstance(result["message"], str)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | st.binary(max_size=40))
def test_parse_client_message_never_raises(text: str | bytes) -> None:
    value, error = wire.parse_client_message(text)
    assert (error is None) or (value is None and error["code"] == "invalid_event")


def test_wire_floats_keep_their_text_through_copies_and_merges() -> None:
    event, _ = wire.parse_client_message('{"threshold": 0.59999999999999998}')
    value = event["threshold"]
    assert isinstance(value, wire.WireFloat)
    assert copy.deepcopy(value).text == "0.59999999999999998"
    assert decimal_places(copy.deepcopy(value)) == 17
    assert decimal_places(0.25) == 2
    assert decimal_places(1e-20) == 20
    # Merged sessions hold plain floats only.
    parsed, _ = wire.parse_client_message('{"type":"realtime","audio":{"output":{"speed":1.25}}}')
    merged = wire.apply_session_update("ga", ga_default(), parsed)
    assert type(merged["audio"]["output"]["speed"]) is float


# --- valid updates: accepted, merged into sessions the SDK parses, and echo-stable -----------

_FLOAT_01 = st.floats(0, 1).map(lambda x: round(x, 3))
_SERVER_VAD = st.fixed_dictionaries(
    {"type": st.just("server_vad")},
    optional={
        "threshold": _FLOAT_01,
        "prefix_padding_ms": st.integers(0, 2000),
        "silence_duration_ms": st.integers(0, 2000),
        "idle_timeout_ms": st.none() | st.integers(5000, 30000),
        "create_response": st.booleans(),
        "interrupt_response": st.booleans(),
    },
)
_SEMANTIC_VAD = st.fixed_dictionaries(
    {"type": st.just("semantic_vad")},
    optional={
        "eagerness": st.sampled_from(["low", "medium", "high", "auto"]),
        "create_response": st.booleans(),
    },
)
_GA_FORMAT = st.sampled_from(
    [{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}, {"type": "audio/pcma"}]
)
GA_UPDATES = st.fixed_dictionaries(
    {"type": st.just("realtime")},
    optional={
        "instructions": st.text(max_size=20),
        "output_modalities": st.sampled_from([["audio"], ["text"]]),
        "max_output_tokens": st.just("inf") | st.integers(1, 4096),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "tools": st.lists(st.just(TOOL), max_size=1),  # names are unique
        "tracing": st.none(),
        "audio": st.fixed_dictionaries(
            {},
            optional={
                "input": st.fixed_dictionaries(
                    {},
                    optional={
                        "format": _GA_FORMAT,
                        "turn_detection": st.none() | _SERVER_VAD | _SEMANTIC_VAD,
                        "noise_reduction": st.none()
                        | st.fixed_dictionaries(
                            {}, optional={"type": st.sampled_from(["near_field", "far_field"])}
                        ),
                        "transcription": st.none() | st.just({"model": "whisper-1"}),
                    },
                ),
                "output": st.fixed_dictionaries(
                    {},
                    optional={
                        "format": _GA_FORMAT,
                        "voice": st.sampled_from(["marin", "cedar", "alloy"]),
                        "speed": st.floats(0.25, 1.5).map(lambda x: round(x, 2)),
                    },
                ),
            },
        ),
    },
)
BETA_UPDATES = st.fixed_dictionaries(
    {},
    optional={
        "instructions": st.text(max_size=20),
        "modalities": st.sampled_from([["text"], ["audio", "text"], ["text", "audio"]]),
        "voice": st.sampled_from(["alloy", "verse", "shimmer"]),
        "temperature": st.floats(0.6, 1.2).map(lambda x: round(x, 2)),
        "max_response_output_tokens": st.just("inf") | st.integers(1, 4096),
        "turn_detection": st.none()
        | _SERVER_VAD.map(lambda td: {k: v for k, v in td.items() if k != "idle_timeout_ms"})
        | _SEMANTIC_VAD,
        "input_audio_format": st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"]),
        "input_audio_noise_reduction": st.none() | st.just({"type": "near_field"}),
        "tools": st.lists(st.just(TOOL), max_size=1),  # names are unique
    },
)


def assert_merge_chain(
    dialect: wire.Dialect,
    flavor: wire.Flavor,
    session: dict[str, Any],
    updates: list[dict[str, Any]],
    read_only: set[str],
) -> None:
    """Each update is SDK-valid and accepted, each merge a session the SDK parses, and the last
    session sent back without its read-only keys changes nothing."""
    for update in updates:
        validate_client_event(dialect, {"type": "session.update", "session": update})
        session = merge(session, update, dialect, flavor)
        validate_server_event(
            dialect, {"type": "session.created", "event_id": "e", "session": session}
        )
    echo = {k: v for k, v in session.items() if k not in read_only}
    assert merge(session, echo, dialect, flavor) == session


@settings(max_examples=150, deadline=None)
@given(updates=st.lists(GA_UPDATES, min_size=1, max_size=3))
def test_valid_ga_updates_merge_into_sdk_valid_echo_stable_sessions(
    updates: list[dict[str, Any]],
) -> None:
    assert_merge_chain("ga", "openai", ga_default(), updates, {"id", "object", "expires_at"})


@settings(max_examples=150, deadline=None)
@given(
    updates=st.lists(BETA_UPDATES, min_size=1, max_size=3),
    flavor=st.sampled_from(["openai", "azure"]),
)
def test_valid_beta_updates_merge_into_sdk_valid_echo_stable_sessions(
    updates: list[dict[str, Any]], flavor: wire.Flavor
) -> None:
    read_only = {"id", "object", "expires_at", "client_secret", "include"}
    assert_merge_chain("beta", flavor, beta_default(flavor), updates, read_only)
