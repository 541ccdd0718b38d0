"""Every catalogued error: code, param and message exactly as protocol.md §7 gives them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtalk.server import wire
from tests.oracle import validate_server_event
from tests.samples import error_event

GA_SESSION = wire.default_session("ga", "openai", "gpt-realtime", session_id="sess_1", now_s=1000)
BETA_SESSION = wire.default_session(
    "beta", "openai", "gpt-4o-realtime-preview", session_id="sess_2", now_s=1000
)
AZURE_PREVIEW_SESSION = wire.default_session(
    "beta", "azure", "my-deployment", session_id="sess_3", now_s=1000
)


def ga_update(session: Any, *, audio: bool = False, flavor: str = "openai") -> Any:
    return wire.validate_session_update(
        "ga",
        flavor,  # type: ignore[arg-type]
        session,
        GA_SESSION,
        assistant_audio_present=audio,
    )


def beta_update(session: Any, *, flavor: str = "openai", audio: bool = False) -> Any:
    current = BETA_SESSION if flavor == "openai" else AZURE_PREVIEW_SESSION
    return wire.validate_session_update(
        "beta",
        flavor,  # type: ignore[arg-type]
        session,
        current,
        assistant_audio_present=audio,
    )


def err(code: str | None, message: str, param: str | None) -> dict[str, Any]:
    return {"type": "invalid_request_error", "code": code, "message": message, "param": param}


# --- session.update: GA -----------------------------------------------------------------------


def test_ga_update_without_type_is_missing_required_parameter() -> None:
    assert ga_update({"instructions": "hi"}) == err(
        "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
    )


def test_ga_missing_type_is_found_before_beta_field_names() -> None:
    # A beta-shaped update sent to GA: the discriminator is checked first (protocol.md §2.1).
    assert ga_update({"modalities": ["text"], "temperature": 0.8})["param"] == "session.type"


def test_ga_bad_session_type_lists_the_supported_values() -> None:
    assert ga_update({"type": "session"}) == err(
        "invalid_value",
        "Invalid value: 'session'. Supported values are: 'realtime' and 'transcription'.",
        "session.type",
    )


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "realtime", "temperature": 0.8}, "session.temperature"),
        ({"type": "realtime", "modalities": ["audio", "text"]}, "session.modalities"),
        (
            {"type": "realtime", "turn_detection": {"type": "server_vad"}},
            "session.turn_detection",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}},
            },
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "semantic_vad", "prefix_padding_ms": 300}}
                },
            },
            "session.audio.input.turn_detection.prefix_padding_ms",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "eagerness": "low"}}},
            },
            "session.audio.input.turn_detection.eagerness",
        ),
        ({"type": "realtime", "input_audio_format": "pcm16"}, "session.input_audio_format"),
        (
            {"type": "realtime", "audio": {"output": {"voice": "marin", "pitch": 2}}},
            "session.audio.output.pitch",
        ),
        ({"type": "transcription", "instructions": "x"}, "session.instructions"),
        (
            {"type": "transcription", "audio": {"output": {"voice": "marin"}}},
            "session.audio.output",
        ),
    ],
)
def test_ga_unknown_parameter_names_the_full_path(session: dict[str, Any], param: str) -> None:
    assert ga_update(session) == err("unknown_parameter", f"Unknown parameter: '{param}'.", param)


def test_ga_modalities_audio_and_text_is_rejected_with_the_provider_message() -> None:
    assert ga_update({"type": "realtime", "output_modalities": ["audio", "text"]}) == err(
        "invalid_value",
        "Invalid modalities: ['audio', 'text']. Supported combinations are: ['text'] and "
        "['audio'].",
        "session.output_modalities",
    )


@pytest.mark.parametrize("side", ["input", "output"])
def test_ga_pcm_format_without_rate_is_missing_required_parameter(side: str) -> None:
    update = {"type": "realtime", "audio": {side: {"format": {"type": "audio/pcm"}}}}
    param = f"session.audio.{side}.format.rate"
    assert ga_update(update) == err(
        "missing_required_parameter", f"Missing required parameter: '{param}'.", param
    )


def test_ga_pcm_rate_other_than_24000_is_invalid_value() -> None:
    update = {
        "type": "realtime",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 16000}}},
    }
    error = ga_update(update)
    assert error["code"] == "invalid_value"
    assert error["param"] == "session.audio.output.format.rate"
    assert error["message"] == "Invalid value: '16000'. Supported values are: '24000'."


def test_tool_description_over_1024_characters_is_string_above_max_length() -> None:
    tool = {"type": "function", "name": "f", "description": "d", "parameters": {}}
    long_tool = dict(tool, description="x" * 2473)
    update = {"type": "realtime", "tools": [tool, tool, tool, long_tool]}
    assert ga_update(update) == err(
        "string_above_max_length",
        "Invalid 'session.tools[3].description': string too long. Expected a string with "
        "maximum length 1024, but got a string with length 2473 instead.",
        "session.tools[3].description",
    )


def test_seventeen_decimals_exceed_the_decimal_places_limit() -> None:
    text = (
        '{"type":"session.update","session":{"type":"realtime","audio":{"input":'
        '{"turn_detection":{"type":"server_vad","threshold":0.59999999999999998}}}}}'
    )
    event, parse_error = wire.parse_client_message(text)
    assert parse_error is None
    assert ga_update(event["session"]) == err(
        None,
        "Invalid 'session.audio.input.turn_detection.threshold': max decimal places exceeded",
        "session.audio.input.turn_detection.threshold",
    )
    # The same value written with 16 decimals or fewer is accepted.
    assert ga_update(json.loads(text.replace("0.59999999999999998", "0.6"))["session"]) is None


def test_voice_change_after_assistant_audio_is_cannot_update_voice() -> None:
    update = {"type": "realtime", "audio": {"output": {"voice": "cedar"}}}
    assert ga_update(update, audio=True) == err(
        "cannot_update_voice",
        "Cannot update a conversation's voice if assistant audio is present.",
        None,
    )
    assert ga_update(update, audio=False) is None
    # Re-sending the current voice is not a change.
    same = {"type": "realtime", "audio": {"output": {"voice": "marin"}}}
    assert ga_update(same, audio=True) is None


def test_beta_voice_change_after_assistant_audio_is_cannot_update_voice() -> None:
    assert beta_update({"voice": "verse"}, audio=True)["code"] == "cannot_update_voice"


def test_shape_errors_come_before_the_voice_lock() -> None:
    update = {"type": "realtime", "audio": {"output": {"voice": "cedar"}}, "temperature": 1}
    assert ga_update(update, audio=True)["code"] == "unknown_parameter"


# --- session.update: beta and Azure preview -------------------------------------------------


@pytest.mark.parametrize("flavor", ["openai", "azure"])
@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "realtime"}, "session.type"),
        ({"output_modalities": ["audio"]}, "session.output_modalities"),
        ({"audio": {"output": {"voice": "alloy"}}}, "session.audio"),
        (
            {"turn_detection": {"type": "semantic_vad", "threshold": 0.5}},
            "session.turn_detection.threshold",
        ),
        ({"client_secret": {"expires_after": {"anchor": "created_at"}}}, "session.client_secret"),
    ],
)
def test_ga_shape_sent_to_beta_is_unknown_parameter(
    flavor: str, session: dict[str, Any], param: str
) -> None:
    assert beta_update(session, flavor=flavor) == err(
        "unknown_parameter", f"Unknown parameter: '{param}'.", param
    )


@pytest.mark.parametrize("flavor", ["openai", "azure"])
def test_beta_audio_only_modalities_are_rejected_with_the_provider_message(flavor: str) -> None:
    assert beta_update({"modalities": ["audio"]}, flavor=flavor) == err(
        "invalid_value",
        "Invalid modalities: ['audio']. Supported combinations are: ['text'] and "
        "['audio', 'text'].",
        "session.modalities",
    )


@pytest.mark.parametrize(
    "session",
    [
        {"speed": 1.0},
        {"tracing": "auto"},
        {"include": ["item.input_audio_transcription.logprobs"]},
        {"prompt": {"id": "pmpt_1"}},
        {"truncation": "auto"},
    ],
)
def test_azure_preview_rejects_the_fields_its_reference_does_not_document(
    session: dict[str, Any],
) -> None:
    (key,) = session
    assert beta_update(session, flavor="azure")["param"] == f"session.{key}"
    assert beta_update(session, flavor="azure")["code"] == "unknown_parameter"


def test_the_beta_shape_rejects_idle_timeout() -> None:
    # The beta SDK's update type has no idle_timeout_ms (only the spec's beta schema does) and
    # Azure's reference is silent: both beta-shape routes treat it as unknown, as the client
    # does (realtalk.capabilities).
    session = {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 6000}}
    for flavor in ("azure", "openai"):
        assert beta_update(session, flavor=flavor) == err(
            "unknown_parameter",
            "Unknown parameter: 'session.turn_detection.idle_timeout_ms'.",
            "session.turn_detection.idle_timeout_ms",
        )


def test_beta_temperature_outside_its_range_is_rejected() -> None:
    error = beta_update({"temperature": 0.5})
    assert error["param"] == "session.temperature"
    assert error["code"] == "decimal_below_min_value"
    assert beta_update({"temperature": 1.3})["code"] == "decimal_above_max_value"


# --- numeric ranges and types (wording not observed; ours, but consistent) --------------------


@pytest.mark.parametrize(
    ("session", "param", "code"),
    [
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}},
            },
            "session.audio.input.turn_detection.threshold",
            "decimal_above_max_value",
        ),
        (
            {"type": "realtime", "audio": {"output": {"speed": 0.1}}},
            "session.audio.output.speed",
            "decimal_below_min_value",
        ),
        (
            {"type": "realtime", "max_output_tokens": 5000},
            "session.max_output_tokens",
            "integer_above_max_value",
        ),
        (
            {"type": "realtime", "max_output_tokens": 0},
            "session.max_output_tokens",
            "integer_below_min_value",
        ),
        (
            {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 100}}
                },
            },
            "session.audio.input.turn_detection.idle_timeout_ms",
            "integer_below_min_value",
        ),
        ({"type": "realtime", "instructions": 5}, "session.instructions", "invalid_type"),
        ({"type": "realtime", "tools": {}}, "session.tools", "invalid_type"),
        (
            {"type": "realtime", "max_output_tokens": "lots"},
            "session.max_output_tokens",
            "invalid_value",
        ),
    ],
)
def test_ranges_and_types(session: dict[str, Any], param: str, code: str) -> None:
    error = ga_update(session)
    assert (error["code"], error["param"]) == (code, param)


def test_range_and_type_messages_have_one_consistent_wording() -> None:
    above = ga_update({"type": "realtime", "audio": {"output": {"speed": 2}}})
    assert above["message"] == (
        "Invalid 'session.audio.output.speed': decimal above maximum value. "
        "Expected a value <= 1.5, but got 2 instead."
    )
    wrong_type = ga_update({"type": "realtime", "instructions": 5})
    assert wrong_type["message"] == (
        "Invalid type for 'session.instructions': expected a string, but got an integer instead."
    )


# --- other client events ----------------------------------------------------------------------


def ga_event(event: Any, flavor: str = "openai") -> Any:
    return wire.validate_client_event("ga", flavor, event)  # type: ignore[arg-type]


def test_event_without_type_is_invalid_event() -> None:
    assert ga_event({"event_id": "e1"}) == err(
        "invalid_event", "The 'type' field is missing.", None
    )


def test_malformed_json_is_invalid_event() -> None:
    value, error = wire.parse_client_message("{not json")
    assert value is None
    assert error is not None
    assert error["code"] == "invalid_event"
    assert error["param"] is None
    assert wire.parse_client_message(b"\xff\xfe")[1] is not None
    assert wire.parse_client_message('{"x": NaN}')[1] is not None


def test_non_object_event_is_invalid_event() -> None:
    assert ga_event([1, 2])["code"] == "invalid_event"


def test_unknown_event_type_lists_the_dialects_events() -> None:
    error = ga_event({"type": "transcription_session.update", "session": {}})
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert error["message"].startswith(
        "Invalid value: 'transcription_session.update'. Supported values are: 'session.update', "
    )
    assert (
        wire.validate_client_event(
            "beta", "openai", {"type": "transcription_session.update", "session": {}}
        )
        is None
    )


def test_item_id_over_32_characters_is_string_above_max_length() -> None:
    item = {"id": "x" * 39, "type": "message", "role": "user", "content": []}
    assert ga_event({"type": "conversation.item.create", "item": item}) == err(
        "string_above_max_length",
        "Invalid 'item.id': string too long. Expected a string with maximum length 32, but got "
        "a string with length 39 instead.",
        "item.id",
    )


def test_response_modalities_follow_the_session_rules() -> None:
    assert ga_event(
        {"type": "response.create", "response": {"output_modalities": ["text", "audio"]}}
    ) == err(
        "invalid_value",
        "Invalid modalities: ['text', 'audio']. "
        "Supported combinations are: ['text'] and ['audio'].",
        "response.output_modalities",
    )
    beta = wire.validate_client_event(
        "beta", "azure", {"type": "response.create", "response": {"modalities": ["audio"]}}
    )
    assert beta == err(
        "invalid_value",
        "Invalid modalities: ['audio']. "
        "Supported combinations are: ['text'] and ['audio', 'text'].",
        "response.modalities",
    )


def test_azure_ga_rejects_response_output_modalities() -> None:
    event = {"type": "response.create", "response": {"output_modalities": ["text"]}}
    assert ga_event(event, "openai") is None
    assert ga_event(event, "azure")["param"] == "response.output_modalities"


def test_append_requires_base64_audio() -> None:
    assert ga_event({"type": "input_audio_buffer.append", "audio": "AAAA"}) is None
    error = ga_event({"type": "input_audio_buffer.append", "audio": "not base64!"})
    assert (error["code"], error["param"]) == ("invalid_value", "audio")
    assert ga_event({"type": "input_audio_buffer.append"}) == err(
        "missing_required_parameter", "Missing required parameter: 'audio'.", "audio"
    )


def test_truncate_fields_are_required_and_non_negative() -> None:
    base = {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0}
    assert ga_event(base)["param"] == "audio_end_ms"
    assert ga_event(dict(base, audio_end_ms=-1))["code"] == "integer_below_min_value"
    assert ga_event(dict(base, audio_end_ms=1500)) is None


def test_unknown_top_level_event_key_is_unknown_parameter() -> None:
    assert ga_event({"type": "input_audio_buffer.commit", "force": True}) == err(
        "unknown_parameter", "Unknown parameter: 'force'.", "force"
    )


# --- state errors (constructors used by the state machine) ------------------------------------


def test_state_error_catalogue_messages() -> None:
    assert wire.commit_empty(0) == err(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
        "audio, but buffer only has 0.00ms of audio.",
        None,
    )
    assert wire.commit_empty(50)["message"].endswith("but buffer only has 50.00ms of audio.")
    assert wire.commit_empty(12.3456)["message"].endswith("only has 12.35ms of audio.")
    assert wire.active_response("resp_X") == err(
        "conversation_already_has_active_response",
        "Conversation already has an active response in progress: resp_X. Wait until the "
        "response is finished before creating a new one.",
        None,
    )
    assert wire.cancel_not_active() == err(
        "response_cancel_not_active", "Cancellation failed: no active response found", None
    )
    truncate = wire.item_truncate_invalid_item_id("x")
    assert (truncate["code"], truncate["message"]) == (
        "item_truncate_invalid_item_id",
        "Item with item_id not found: x",
    )
    assert wire.item_truncate_invalid_audio_end_ms(5000, 1200)["code"] == (
        "item_truncate_invalid_audio_end_ms"
    )
    assert wire.item_not_found("item_9")["code"] == "item_not_found"
    assert wire.session_expired(60) == err(
        "session_expired", "Your session hit the maximum duration of 60 minutes.", None
    )
    assert wire.beta_api_shape_disabled() == err(
        "beta_api_shape_disabled",
        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
        None,
    )
    assert wire.server_error()["type"] == "server_error"


def test_error_event_carries_the_client_event_id_and_parses_in_both_sdk_unions() -> None:
    event = wire.error_event(wire.invalid_event_missing_type(), "event_890", "event_567")
    assert event == error_event()  # protocol.md §7.1
    validate_server_event("ga", event)
    validate_server_event("beta", event)
    assert wire.error_event(wire.cancel_not_active(), "event_1", None)["error"]["event_id"] is None


def test_function_tool_without_name_is_missing_required_parameter() -> None:
    update = {"type": "realtime", "tools": [{"type": "function", "description": "d"}]}
    assert ga_update(update) == err(
        "missing_required_parameter",
        "Missing required parameter: 'session.tools[0].name'.",
        "session.tools[0].name",
    )


def test_unknown_voice_is_invalid_value_and_custom_voice_ids_pass() -> None:
    error = ga_update({"type": "realtime", "audio": {"output": {"voice": "robot"}}})
    assert (error["code"], error["param"]) == ("invalid_value", "session.audio.output.voice")
    assert error["message"].startswith("Invalid value: 'robot'. Supported values are: 'alloy', ")
    assert error["message"].endswith(", 'marin', and 'cedar'.")
    assert (
        ga_update({"type": "realtime", "audio": {"output": {"voice": {"id": "voice_1"}}}}) is None
    )
    # Azure preview documents 8 voices; marin is not one of them.
    assert beta_update({"voice": "marin"}, flavor="azure")["param"] == "session.voice"
    assert beta_update({"voice": "marin"}, flavor="openai") is None


def test_ga_item_reference_is_not_a_conversation_item() -> None:
    event = {"type": "conversation.item.create", "item": {"type": "item_reference", "id": "i"}}
    error = ga_event(event)
    assert (error["code"], error["param"]) == ("invalid_value", "item.type")


def test_client_cannot_create_assistant_audio() -> None:
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_audio", "audio": "AAAA", "transcript": "hi"}],
    }
    error = ga_event({"type": "conversation.item.create", "item": item})
    assert error["param"] == "item.content[0].audio"
    item["content"] = [{"type": "output_audio", "transcript": "hi"}]
    assert ga_event({"type": "conversation.item.create", "item": item}) is None
