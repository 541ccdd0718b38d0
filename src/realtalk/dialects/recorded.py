"""Wire facts a recording needs: where audio sits in a message, and what a client message is.

A recording (:mod:`realtalk.recording`) keeps every wire message but moves base64 audio out to
audio files; the report and replay read client messages back. Both shapes' names are listed:
gateways mix them (see ``_events.py``). Pure data and functions, standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

__all__ = [
    "AUDIO_FIELDS",
    "ClientKind",
    "audio_parts",
    "client_kind",
    "is_audio_append",
    "is_audio_delta",
    "text_of_item",
]

Speaker = Literal["user", "assistant"]

AUDIO_FIELDS: Mapping[str, tuple[str, Speaker]] = {
    "input_audio_buffer.append": ("audio", "user"),
    "response.output_audio.delta": ("delta", "assistant"),  # GA
    "response.audio.delta": ("delta", "assistant"),  # beta
}
"""Wire type -> (the field holding base64 audio, whose voice it is)."""

_CONTENT_AUDIO: Mapping[str, Speaker] = {
    "input_audio": "user",
    "output_audio": "assistant",
    "audio": "assistant",
}

ClientKind = Literal[
    "audio",
    "commit",
    "clear",
    "text",
    "tool_output",
    "item",
    "response",
    "cancel",
    "truncate",
    "update",
    "delete",
    "other",
]

_CLIENT_KINDS: Mapping[str, ClientKind] = {
    "input_audio_buffer.append": "audio",
    "input_audio_buffer.commit": "commit",
    "input_audio_buffer.clear": "clear",
    "response.create": "response",
    "response.cancel": "cancel",
    "conversation.item.truncate": "truncate",
    "conversation.item.delete": "delete",
    "session.update": "update",
    "transcription_session.update": "update",
}


def is_audio_append(wire_type: str) -> bool:
    return wire_type == "input_audio_buffer.append"


def is_audio_delta(wire_type: str) -> bool:
    return wire_type in ("response.output_audio.delta", "response.audio.delta")


def client_kind(message: Mapping[str, Any]) -> ClientKind:
    """What a client wire message does, in one word (``conversation.item.create`` split by its
    item: a user ``text`` message, a ``tool_output``, or another ``item``)."""
    wire_type = message.get("type")
    if wire_type == "conversation.item.create":
        item = message.get("item")
        if isinstance(item, Mapping):
            if item.get("type") == "function_call_output":
                return "tool_output"
            if item.get("role") == "user" and text_of_item(item):
                return "text"
        return "item"
    return _CLIENT_KINDS.get(wire_type, "other") if isinstance(wire_type, str) else "other"


def text_of_item(item: Mapping[str, Any]) -> str:
    """The text of a user message item (its ``input_text`` parts, joined)."""
    content = item.get("content")
    if not isinstance(content, list):
        return ""
    return "".join(
        str(p.get("text", ""))
        for p in content
        if isinstance(p, Mapping) and p.get("type") == "input_text"
    )


def audio_parts(message: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, Speaker]]:
    """Every ``(container, field, speaker)`` in ``message`` holding base64 audio as a string:
    the top-level audio field of appends and deltas, and audio content parts of items."""
    wire_type = message.get("type")
    spec = AUDIO_FIELDS.get(wire_type) if isinstance(wire_type, str) else None
    if spec is not None and isinstance(message.get(spec[0]), str):
        yield message, spec[0], spec[1]
    response: Any = message.get("response")
    items: list[Any] = [message.get("item")]
    if isinstance(response, dict) and isinstance(response.get("output"), list):
        items += response["output"]
    for item in items:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and isinstance(part.get("audio"), str):
                speaker: Speaker = _CONTENT_AUDIO.get(str(part.get("type")), "assistant")
                yield part, "audio", speaker
