"""The local server's error catalogue: every ``error`` object it sends, worded as the provider does.

Each constructor returns the inner ``error`` object ``{type, code, message, param}``; wrap it with
:func:`error_event` to get the full server event. Messages marked "observed" are verbatim from
protocol.md §7.2 (field reports of the live service); the others are marked "not observed; our
choice" and follow the OpenAI house style (``Invalid value: 'x'. Supported values are: ...``).

Pure: standard library only, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

__all__ = [
    "INVALID_REQUEST",
    "SERVER_ERROR",
    "active_response",
    "beta_api_shape_disabled",
    "cancel_not_active",
    "cannot_update_voice",
    "commit_empty",
    "decimal_places_exceeded",
    "error_event",
    "integer_above_max_value",
    "integer_below_min_value",
    "invalid_event_malformed_json",
    "invalid_event_missing_type",
    "invalid_event_not_object",
    "invalid_modalities",
    "invalid_type",
    "invalid_value",
    "item_id_exists",
    "item_id_too_long",
    "item_not_found",
    "item_truncate_invalid_audio_end_ms",
    "item_truncate_invalid_content_index",
    "item_truncate_invalid_item_id",
    "make_error",
    "missing_required_parameter",
    "no_responses_in_transcription",
    "number_above_max_value",
    "number_below_min_value",
    "previous_item_not_found",
    "server_error",
    "session_expired",
    "string_above_max_length",
    "supported_values",
    "unknown_event_type",
    "unknown_parameter",
    "wrong_update_event",
]

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


def make_error(
    code: str | None,
    message: str,
    param: str | None = None,
    *,
    type_: str = INVALID_REQUEST,
) -> dict[str, Any]:
    """The inner ``error`` object, keys in the order the service sends them."""
    return {"type": type_, "code": code, "message": message, "param": param}


def error_event(
    error: dict[str, Any], event_id: str, client_event_id: str | None
) -> dict[str, Any]:
    """The full ``error`` server event; ``error.event_id`` names the client event that caused it.

    protocol.md §7.1: ``event_id`` at the top is the server's own id, the nested one is the
    client's (null when the client sent none).
    """
    inner = dict(error)
    inner["event_id"] = client_event_id
    return {"type": "error", "event_id": event_id, "error": inner}


def _quote(value: Any) -> str:
    return f"'{value}'"


def supported_values(values: Iterable[Any]) -> str:
    """OpenAI's enumeration style: ``'a'``, ``'a' and 'b'``, ``'a', 'b', and 'c'``.

    Two values are observed ("'realtime' and 'transcription'", protocol.md §2.1); the serial
    comma for three or more is our choice, following the REST API's wording.
    """
    quoted = [_quote(v) for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


# --- malformed events ------------------------------------------------------------------------


def invalid_event_missing_type() -> dict[str, Any]:
    """Observed (protocol.md §7.1 spec example)."""
    return make_error("invalid_event", "The 'type' field is missing.")


def invalid_event_malformed_json(detail: str = "") -> dict[str, Any]:
    """A frame that is not JSON. Not observed; our choice."""
    message = "Invalid JSON: the event could not be parsed."
    if detail:
        message = f"Invalid JSON: {detail}"
    return make_error("invalid_event", message)


def invalid_event_not_object() -> dict[str, Any]:
    """Valid JSON that is not an object. Not observed; our choice."""
    return make_error("invalid_event", "Expected the event to be a JSON object.")


def unknown_event_type(type_value: Any, known: Iterable[str]) -> dict[str, Any]:
    """A ``type`` the dialect does not know. Not observed; our choice (house style)."""
    return make_error(
        "invalid_value",
        f"Invalid value: {_quote(type_value)}. Supported values are: {supported_values(known)}.",
        "type",
    )


# --- parameter validation (session.update, response.create, items) --------------------------


def missing_required_parameter(param: str) -> dict[str, Any]:
    """Observed for ``session.type`` (protocol.md §2.1, with a final period)."""
    return make_error(
        "missing_required_parameter", f"Missing required parameter: '{param}'.", param
    )


def unknown_parameter(param: str) -> dict[str, Any]:
    """Observed: ``Unknown parameter: 'session.temperature'.`` (protocol.md §7.2)."""
    return make_error("unknown_parameter", f"Unknown parameter: '{param}'.", param)


def invalid_value(param: str, value: Any, allowed: Iterable[Any]) -> dict[str, Any]:
    """Observed for ``session.type`` (protocol.md §2.1): the value is printed as sent."""
    return make_error(
        "invalid_value",
        f"Invalid value: {_quote(value)}. Supported values are: {supported_values(allowed)}.",
        param,
    )


def invalid_modalities(param: str, sent: list[Any], combos: list[list[str]]) -> dict[str, Any]:
    """Observed (protocol.md §4): the sent list and the combinations in Python ``repr`` form."""
    combo_text = " and ".join(repr(c) for c in combos)
    return make_error(
        "invalid_value",
        f"Invalid modalities: {sent!r}. Supported combinations are: {combo_text}.",
        param,
    )


_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def json_type_name(value: Any) -> str:
    """The JSON type of a parsed value, as the service's type errors name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def invalid_type(param: str, expected: str, value: Any) -> dict[str, Any]:
    """A value of the wrong JSON type. Not observed; our choice (OpenAI REST wording).

    ``expected`` is free text such as ``"a string"`` or ``"one of a string or an object"``.
    """
    got = _JSON_TYPE_NAMES[json_type_name(value)]
    return make_error(
        "invalid_type",
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
    )


def string_above_max_length(param: str, maximum: int, length: int) -> dict[str, Any]:
    """Observed (protocol.md §7.2, tool description > 1024, item id > 32)."""
    return make_error(
        "string_above_max_length",
        f"Invalid '{param}': string too long. Expected a string with maximum length {maximum}, "
        f"but got a string with length {length} instead.",
        param,
    )


def item_id_too_long(param: str, length: int) -> dict[str, Any]:
    """Observed: client item ids are limited to 32 characters (protocol.md §6.6)."""
    return string_above_max_length(param, 32, length)


def _num(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _out_of_range(
    kind: Literal["decimal", "integer"], above: bool, param: str, bound: float, value: float
) -> dict[str, Any]:
    """The REST wording for a number past its bound (``decimal_above_max_value``, ...)."""
    side, compare = ("above maximum", "<=") if above else ("below minimum", ">=")
    return make_error(
        f"{kind}_{'above_max' if above else 'below_min'}_value",
        f"Invalid '{param}': {kind} {side} value. Expected a value {compare} {_num(bound)}, "
        f"but got {_num(value)} instead.",
        param,
    )


# Not observed; our choice (OpenAI REST wording for decimals and integers).


def number_above_max_value(param: str, maximum: float, value: float) -> dict[str, Any]:
    return _out_of_range("decimal", True, param, maximum, value)


def number_below_min_value(param: str, minimum: float, value: float) -> dict[str, Any]:
    return _out_of_range("decimal", False, param, minimum, value)


def integer_above_max_value(param: str, maximum: int, value: int) -> dict[str, Any]:
    return _out_of_range("integer", True, param, maximum, value)


def integer_below_min_value(param: str, minimum: int, value: int) -> dict[str, Any]:
    return _out_of_range("integer", False, param, minimum, value)


def decimal_places_exceeded(param: str) -> dict[str, Any]:
    """Observed message (protocol.md §3); the service reports no code, so ``code`` is null."""
    return make_error(None, f"Invalid '{param}': max decimal places exceeded", param)


def cannot_update_voice() -> dict[str, Any]:
    """Observed (protocol.md §2.6)."""
    return make_error(
        "cannot_update_voice",
        "Cannot update a conversation's voice if assistant audio is present.",
    )


# --- conversation and buffer state -----------------------------------------------------------


def commit_empty(buffered_ms: float) -> dict[str, Any]:
    """Observed (protocol.md §7.2); the buffered duration is printed with two decimals."""
    return make_error(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
        f"audio, but buffer only has {buffered_ms:.2f}ms of audio.",
    )


def active_response(response_id: str) -> dict[str, Any]:
    """Observed (protocol.md §7.2)."""
    return make_error(
        "conversation_already_has_active_response",
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one.",
    )


def cancel_not_active() -> dict[str, Any]:
    """Observed (protocol.md §7.2)."""
    return make_error("response_cancel_not_active", "Cancellation failed: no active response found")


def item_truncate_invalid_item_id(item_id: str) -> dict[str, Any]:
    """Observed (protocol.md §7.2). The param is our choice (the report does not show it)."""
    return make_error(
        "item_truncate_invalid_item_id", f"Item with item_id not found: {item_id}", "item_id"
    )


def item_truncate_invalid_audio_end_ms(audio_end_ms: int, duration_ms: int) -> dict[str, Any]:
    """Code observed (protocol.md §7.2); message not captured, so ours."""
    return make_error(
        "item_truncate_invalid_audio_end_ms",
        f"Audio content of {duration_ms}ms is already shorter than {audio_end_ms}ms",
        "audio_end_ms",
    )


def item_truncate_invalid_content_index(content_index: int) -> dict[str, Any]:
    """Not observed; our choice (truncation applies to content index 0 only, SDK docs)."""
    return make_error(
        "invalid_value",
        f"Invalid value: '{content_index}'. Supported values are: '0'.",
        "content_index",
    )


def item_not_found(item_id: str, param: str = "item_id") -> dict[str, Any]:
    """Code observed (protocol.md §7.2); message not captured, so ours (as the truncate one)."""
    return make_error("item_not_found", f"Item with item_id not found: {item_id}", param)


def previous_item_not_found(previous_item_id: str) -> dict[str, Any]:
    """``conversation.item.create`` with an unknown ``previous_item_id``. Not observed; ours."""
    return make_error(
        "item_not_found",
        f"Previous item with item_id not found: {previous_item_id}",
        "previous_item_id",
    )


def session_expired(minutes: int) -> dict[str, Any]:
    """Observed (protocol.md §1a): followed by close 1001."""
    return make_error(
        "session_expired", f"Your session hit the maximum duration of {minutes} minutes."
    )


def beta_api_shape_disabled() -> dict[str, Any]:
    """Observed (protocol.md §0): followed by a close (4000 reported)."""
    return make_error(
        "beta_api_shape_disabled",
        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
    )


def server_error() -> dict[str, Any]:
    """Observed transient error (protocol.md §7.2)."""
    return make_error(
        None,
        "The server had an error while processing your request. Sorry about that! You can retry "
        "your request, or contact us through our help center at help.openai.com if the error "
        "persists",
        type_=SERVER_ERROR,
    )


# The service's answers to these two are not observed: the wording is ours, in its style.


def wrong_update_event(sent: str, expected: str) -> dict[str, Any]:
    """A beta session got the other kind's update event (session vs transcription session)."""
    return make_error(
        "invalid_value",
        f"Invalid value: '{sent}'. This session expects '{expected}' "
        "(transcription sessions start with intent=transcription).",
        "type",
    )


def no_responses_in_transcription() -> dict[str, Any]:
    return make_error(
        "invalid_value",
        "Invalid value: 'response.create'. A transcription session does not create responses.",
        "type",
    )


def item_id_exists(item_id: str) -> dict[str, Any]:
    """``conversation.item.create`` with the id of an item already in the conversation."""
    return make_error(
        "invalid_value",
        f"Invalid 'item.id': an item with id '{item_id}' already exists.",
        "item.id",
    )
