"""Conversation items, content parts and responses on the wire (protocol.md 6.6, 6.8).

Encoding takes the dialect's spelling of assistant content (GA ``output_text`` /
``output_audio``, beta ``text`` / ``audio``). Decoding accepts both spellings in both dialects.
Decoders raise :class:`Malformed` on a missing or wrong-typed required field; the event
decoder turns that into a ``ProtocolViolation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from realtalk.dialects._common import b64decode, b64encode, jsonable
from realtalk.items import (
    Content,
    ErrorInfo,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputImage,
    InputText,
    Item,
    ItemReference,
    MessageItem,
    OtherItem,
    OutputAudio,
    OutputText,
    Response,
    Usage,
)

Spelling = Literal["ga", "beta"]

_OUTPUT_NAMES: dict[Spelling, tuple[str, str]] = {
    "ga": ("output_text", "output_audio"),
    "beta": ("text", "audio"),
}


class Malformed(ValueError):
    """A known event whose required fields are missing or of the wrong type."""


# -- field access ----------------------------------------------------------------------------


def req_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise Malformed(f"'{key}' must be a string, got {_kind(value)}")
    return value


def opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"'{key}' must be a string or null, got {_kind(value)}")
    return value


def req_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise Malformed(f"'{key}' must be an integer, got {_kind(value)}")
    return value


def opt_int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    return default if data.get(key) is None else req_int(data, key)


def req_num(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"'{key}' must be a number, got {_kind(value)}")
    return float(value)


def req_map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise Malformed(f"'{key}' must be an object, got {_kind(value)}")
    return value


def opt_map(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Malformed(f"'{key}' must be an object or null, got {_kind(value)}")
    return value


def req_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise Malformed(f"'{key}' must be a list, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    return "null or nothing" if value is None else type(value).__name__


def _audio(data: Mapping[str, Any], key: str) -> bytes | None:
    text = opt_str(data, key)
    if text is None:
        return None
    try:
        return b64decode(text)
    except ValueError as exc:
        raise Malformed(f"'{key}': {exc}") from None


# -- encoding --------------------------------------------------------------------------------


def encode_content(part: object, spelling: Spelling) -> dict[str, Any]:
    text_name, audio_name = _OUTPUT_NAMES[spelling]
    out: dict[str, Any]
    if isinstance(part, InputText):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, InputAudio | OutputAudio):
        out = {"type": "input_audio" if isinstance(part, InputAudio) else audio_name}
        if part.audio is not None:
            out["audio"] = b64encode(part.audio)
        if part.transcript is not None:
            out["transcript"] = part.transcript
        return out
    if isinstance(part, InputImage):
        out = {"type": "input_image", "image_url": part.image_url}
        if part.detail is not None:
            out["detail"] = part.detail
        return out
    if isinstance(part, OutputText):
        return {"type": text_name, "text": part.text}
    encoded = jsonable(part)
    return encoded if isinstance(encoded, dict) else {"type": "unknown", "value": encoded}


def encode_item(item: object, spelling: Spelling) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(item, MessageItem):
        out = {"type": "message", "role": item.role}
        out["content"] = [encode_content(part, spelling) for part in item.content]
    elif isinstance(item, FunctionCallItem):
        out = {"type": "function_call", "name": item.name, "arguments": item.arguments}
        if item.call_id is not None:
            out["call_id"] = item.call_id
    elif isinstance(item, FunctionCallOutputItem):
        out = {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
    elif isinstance(item, ItemReference):
        return {"type": "item_reference", "id": item.id}
    elif isinstance(item, OtherItem):
        out = dict(jsonable(item.payload))
        out["type"] = item.type
        if item.id is not None:
            out["id"] = item.id
        return out
    else:
        encoded = jsonable(item)
        return encoded if isinstance(encoded, dict) else {"type": "unknown", "value": encoded}
    if item.id is not None:
        out["id"] = item.id
    if item.status is not None:
        out["status"] = item.status
    if isinstance(item, MessageItem) and item.phase is not None:
        out["phase"] = item.phase
    return out


# -- decoding --------------------------------------------------------------------------------


def decode_content(data: Any) -> Content | None:
    """One content part; ``None`` for part types realtalk does not model (e.g. item_reference)."""
    if not isinstance(data, Mapping):
        raise Malformed(f"a content part must be an object, got {_kind(data)}")
    kind = data.get("type")
    if kind == "input_text":
        return InputText(opt_str(data, "text") or "")
    if kind in ("text", "output_text"):
        return OutputText(opt_str(data, "text") or "")
    if kind == "input_audio":
        return InputAudio(_audio(data, "audio"), opt_str(data, "transcript"))
    if kind in ("audio", "output_audio"):
        return OutputAudio(_audio(data, "audio"), opt_str(data, "transcript"))
    if kind == "input_image":
        detail = opt_str(data, "detail")
        return InputImage(
            opt_str(data, "image_url") or "",
            detail if detail in ("auto", "low", "high") else None,  # type: ignore[arg-type]
        )
    return None


_STATUSES = ("completed", "incomplete", "in_progress")


def _status(data: Mapping[str, Any]) -> Any:
    status = opt_str(data, "status")
    return status if status in _STATUSES else None


def decode_item(data: Any) -> Item:
    if not isinstance(data, Mapping):
        raise Malformed(f"'item' must be an object, got {_kind(data)}")
    kind = data.get("type")
    item_id = opt_str(data, "id")
    if kind is None:
        # Beta types every item field optional; infer what the fields make evident.
        kind = "message" if "role" in data else _infer_kind(data)
    if kind == "message":
        role = data.get("role")
        if role not in ("user", "assistant", "system"):
            raise Malformed(f"message 'role' must be user, assistant or system, got {role!r}")
        raw_content = data.get("content") or []
        if not isinstance(raw_content, list):
            raise Malformed("message 'content' must be a list")
        parts = tuple(p for p in (decode_content(c) for c in raw_content) if p is not None)
        # phase: outside the SDK's types, passed through untouched (protocol.md 11.1).
        return MessageItem(role, parts, item_id, _status(data), opt_str(data, "phase"))
    if kind == "function_call":
        return FunctionCallItem(
            opt_str(data, "name") or "",
            opt_str(data, "arguments") or "",
            opt_str(data, "call_id"),
            item_id,
            _status(data),
        )
    if kind == "function_call_output":
        return FunctionCallOutputItem(
            req_str(data, "call_id"), opt_str(data, "output") or "", item_id, _status(data)
        )
    if not isinstance(kind, str):
        raise Malformed("item 'type' must be a string")
    return OtherItem(kind, dict(data), item_id)


def _infer_kind(data: Mapping[str, Any]) -> str:
    if "output" in data and "call_id" in data:
        return "function_call_output"
    if "arguments" in data or "name" in data:
        return "function_call"
    return "unknown"


def decode_error(data: Mapping[str, Any]) -> ErrorInfo:
    return ErrorInfo(
        message=opt_str(data, "message") or "",
        type=opt_str(data, "type") or "invalid_request_error",
        code=opt_str(data, "code"),
        param=opt_str(data, "param"),
        event_id=opt_str(data, "event_id"),
    )


def _int_or_zero(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def decode_usage(data: Mapping[str, Any] | None) -> Usage | None:
    if data is None:
        return None
    details = {
        k: v for k, v in data.items() if k not in ("total_tokens", "input_tokens", "output_tokens")
    }
    return Usage(
        total_tokens=_int_or_zero(data, "total_tokens"),
        input_tokens=_int_or_zero(data, "input_tokens"),
        output_tokens=_int_or_zero(data, "output_tokens"),
        details=details,
    )


def decode_response(data: Mapping[str, Any]) -> Response:
    output = data.get("output") or []
    if not isinstance(output, list):
        raise Malformed("response 'output' must be a list")
    details = opt_map(data, "status_details") or {}
    error = details.get("error")
    modalities = data.get("output_modalities", data.get("modalities"))
    metadata = data.get("metadata")
    return Response(
        # The SDK types every response field optional; an id-less response is still a response.
        id=opt_str(data, "id") or "",
        status=opt_str(data, "status") or "in_progress",
        output=tuple(decode_item(item) for item in output),
        usage=decode_usage(opt_map(data, "usage")),
        status_reason=opt_str(details, "reason"),
        error=decode_error(error) if isinstance(error, Mapping) else None,
        conversation_id=opt_str(data, "conversation_id"),
        output_modalities=(
            tuple(m for m in modalities if isinstance(m, str))
            if isinstance(modalities, list)
            else None
        ),
        metadata=dict(metadata) if isinstance(metadata, Mapping) else None,
    )
