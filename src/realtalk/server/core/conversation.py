"""The server's conversation: ordered items, their audio, and how each dialect writes them.

Items are stored in one canonical form (the GA item shape, assistant content typed
``output_text`` / ``output_audio``) plus their raw audio bytes; :func:`render_item` writes an
item for the client's dialect (beta names assistant content ``text`` / ``audio``, protocol.md
§6.5). Client-created items are checked by :func:`parse_client_item`, which returns the
catalogued error instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from realtalk import items as neutral
from realtalk.server.core.codec import WireFormat, bytes_for_ms, duration_ms
from realtalk.server.wire import errors

__all__ = [
    "Conversation",
    "StoredItem",
    "parse_client_item",
    "render_item",
    "text_of",
    "to_neutral",
    "truncate_audio",
]

Dialect = Literal["ga", "beta"]
ErrorBody = dict[str, Any]

_ITEM_TYPES = ("message", "function_call", "function_call_output")
_ROLES = ("user", "assistant", "system")
# Content types a client may create, per dialect and role (protocol.md §6.6). Clients cannot
# create assistant audio (SDK: conversation_item_create_event.py).
_CONTENT_TYPES: dict[Dialect, dict[str, tuple[str, ...]]] = {
    "ga": {
        "user": ("input_text", "input_audio", "input_image"),
        "system": ("input_text",),
        "assistant": ("output_text",),
    },
    "beta": {
        "user": ("input_text", "input_audio"),
        "system": ("input_text",),
        "assistant": ("text",),
    },
}
_TO_CANONICAL = {"text": "output_text", "audio": "output_audio"}
_TO_BETA = {"output_text": "text", "output_audio": "audio"}


@dataclass(slots=True)
class StoredItem:
    """One conversation item: its canonical wire dict and the raw audio of its content parts."""

    data: dict[str, Any]
    audio: dict[int, bytearray] = field(default_factory=dict)
    audio_format: WireFormat = "pcm16"
    heard: dict[int, str] = field(default_factory=dict)
    """Transcripts of input audio parts for the brain only: with input transcription off the
    client sees ``transcript: null`` (as from the service), yet the model hears the audio."""

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def audio_ms(self, content_index: int) -> float:
        return duration_ms(len(self.audio.get(content_index, b"")), self.audio_format)


class Conversation:
    """Items in order; insertion after ``previous_item_id`` ("root" = at the start)."""

    def __init__(self) -> None:
        self._items: list[StoredItem] = []

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return any(item.id == item_id for item in self._items)

    def get(self, item_id: str) -> StoredItem | None:
        for item in self._items:
            if item.id == item_id:
                return item
        return None

    def items(self) -> tuple[StoredItem, ...]:
        return tuple(self._items)

    def last_id(self) -> str | None:
        return self._items[-1].id if self._items else None

    def insert(self, item: StoredItem, previous_item_id: str | None = None) -> str | None:
        """Insert and return the id of the item now before it (None at the start)."""
        if previous_item_id is None:
            before = self.last_id()
            self._items.append(item)
            return before
        if previous_item_id == "root":
            self._items.insert(0, item)
            return None
        for index, existing in enumerate(self._items):
            if existing.id == previous_item_id:
                self._items.insert(index + 1, item)
                return previous_item_id
        raise KeyError(previous_item_id)

    def delete(self, item_id: str) -> bool:
        for index, existing in enumerate(self._items):
            if existing.id == item_id:
                del self._items[index]
                return True
        return False


def _b64(text: Any, param: str) -> bytes | ErrorBody:
    if not isinstance(text, str):
        return errors.invalid_type(param, "a string", text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return errors.make_error("invalid_value", f"Invalid '{param}': not valid base64.", param)


def _strings_error(raw: Mapping[str, Any], keys: tuple[str, ...]) -> ErrorBody | None:
    """The error for the first of ``keys`` that is missing or not a string, if any."""
    for key in keys:
        value = raw.get(key)
        if value is None:
            return errors.missing_required_parameter(f"item.{key}")
        if not isinstance(value, str):
            return errors.invalid_type(f"item.{key}", "a string", value)
    return None


def parse_client_item(
    dialect: Dialect, raw: Any, new_id: str, audio_format: WireFormat
) -> StoredItem | ErrorBody:
    """A client's ``conversation.item.create`` item -> a stored item, or the error body."""
    if not isinstance(raw, Mapping):
        if raw is None:
            return errors.missing_required_parameter("item")
        return errors.invalid_type("item", "an object", raw)
    kind = raw.get("type")
    if kind is None:
        # The beta item type is optional; a message is what clients mean (role present).
        if dialect == "beta" and "role" in raw:
            kind = "message"
        else:
            return errors.missing_required_parameter("item.type")
    if kind not in _ITEM_TYPES:
        return errors.invalid_value("item.type", kind, _ITEM_TYPES)
    item_id = raw.get("id")
    if item_id is not None:
        if not isinstance(item_id, str):
            return errors.invalid_type("item.id", "a string", item_id)
        if len(item_id) > 32:
            return errors.item_id_too_long("item.id", len(item_id))
    status = raw.get("status", "completed")
    if status not in ("completed", "incomplete", "in_progress"):
        return errors.invalid_value(
            "item.status", status, ("completed", "incomplete", "in_progress")
        )
    data: dict[str, Any] = {"id": item_id or new_id, "type": kind, "status": "completed"}
    audio: dict[int, bytearray] = {}
    if kind == "message":
        role = raw.get("role")
        if role is None:
            return errors.missing_required_parameter("item.role")
        if role not in _ROLES:
            return errors.invalid_value("item.role", role, _ROLES)
        content = raw.get("content")
        if content is None:
            return errors.missing_required_parameter("item.content")
        if not isinstance(content, list):
            return errors.invalid_type("item.content", "an array", content)
        allowed = _CONTENT_TYPES[dialect][role]
        parts: list[dict[str, Any]] = []
        for index, part in enumerate(content):
            param = f"item.content[{index}]"
            if not isinstance(part, Mapping):
                return errors.invalid_type(param, "an object", part)
            ptype = part.get("type")
            if ptype not in allowed:
                return errors.invalid_value(f"{param}.type", ptype, allowed)
            ptype = _TO_CANONICAL.get(ptype, ptype)
            if ptype in ("input_text", "output_text"):
                text = part.get("text")
                if not isinstance(text, str):
                    return errors.invalid_type(f"{param}.text", "a string", text)
                parts.append({"type": ptype, "text": text})
            elif ptype == "input_audio":
                decoded = _b64(part.get("audio"), f"{param}.audio")
                if isinstance(decoded, dict):
                    return decoded
                audio[index] = bytearray(decoded)
                transcript = part.get("transcript")
                parts.append(
                    {
                        "type": "input_audio",
                        "transcript": transcript if isinstance(transcript, str) else None,
                    }
                )
            else:  # input_image (GA)
                url = part.get("image_url")
                if not isinstance(url, str):
                    return errors.missing_required_parameter(f"{param}.image_url")
                image: dict[str, Any] = {"type": "input_image", "image_url": url}
                if part.get("detail") in ("auto", "low", "high"):
                    image["detail"] = part["detail"]
                parts.append(image)
        data["role"] = role
        data["content"] = parts
    elif kind == "function_call":
        if (error := _strings_error(raw, ("name", "arguments"))) is not None:
            return error
        data["name"] = raw["name"]
        data["arguments"] = raw["arguments"]
        data["call_id"] = (
            raw.get("call_id") if isinstance(raw.get("call_id"), str) else "call_" + new_id[5:21]
        )
    else:
        if (error := _strings_error(raw, ("call_id", "output"))) is not None:
            return error
        data["call_id"] = raw["call_id"]
        data["output"] = raw["output"]
    return StoredItem(data=data, audio=audio, audio_format=audio_format)


def render_item(dialect: Dialect, item: StoredItem, *, with_audio: bool = False) -> dict[str, Any]:
    """The item as the client's dialect writes it; audio bytes only when asked (retrieve)."""
    data = copy.deepcopy(item.data)
    out: dict[str, Any] = {"id": data.pop("id"), "object": "realtime.item"}
    out.update(data)
    content = out.get("content")
    if isinstance(content, list):
        for index, part in enumerate(content):
            if (
                with_audio
                and index in item.audio
                and part.get("type") in ("input_audio", "output_audio")
            ):
                part["audio"] = base64.b64encode(bytes(item.audio[index])).decode("ascii")
            if dialect == "beta" and part.get("type") in _TO_BETA:
                part["type"] = _TO_BETA[part["type"]]
    return out


def to_neutral(item: StoredItem) -> neutral.Item:
    """The item as the brain sees it (realtalk's neutral items; audio bytes left out)."""
    data = item.data
    kind = data.get("type")
    if kind == "function_call":
        return neutral.FunctionCallItem(
            name=data["name"], arguments=data["arguments"], call_id=data.get("call_id"), id=item.id
        )
    if kind == "function_call_output":
        return neutral.FunctionCallOutputItem(
            call_id=data["call_id"], output=data["output"], id=item.id
        )
    parts: list[neutral.Content] = []
    for index, part in enumerate(data.get("content", [])):
        ptype = part.get("type")
        if ptype == "input_text":
            parts.append(neutral.InputText(part.get("text", "")))
        elif ptype == "output_text":
            parts.append(neutral.OutputText(part.get("text", "")))
        elif ptype == "input_audio":
            transcript = part.get("transcript")
            parts.append(neutral.InputAudio(transcript=item.heard.get(index, transcript)))
        elif ptype == "output_audio":
            parts.append(neutral.OutputAudio(transcript=part.get("transcript")))
        elif ptype == "input_image":
            parts.append(neutral.InputImage(image_url=part.get("image_url", "")))
    return neutral.MessageItem(role=data["role"], content=tuple(parts), id=item.id)


def text_of(item: StoredItem) -> str:
    """The text an item carries (message text or transcript, call arguments, tool output)."""
    data = item.data
    if data.get("type") == "function_call":
        return str(data.get("arguments", ""))
    if data.get("type") == "function_call_output":
        return str(data.get("output", ""))
    parts = []
    for part in data.get("content", []):
        parts.append(str(part.get("text") or part.get("transcript") or ""))
    return "".join(parts)


def truncate_audio(
    item: StoredItem | None, item_id: str, index: int, end_ms: int
) -> dict[str, Any] | None:
    """``conversation.item.truncate``: cut the item's audio at ``end_ms`` and drop its
    transcript; the error to report instead, if the request cannot be done."""
    if item is None or item.data.get("role") != "assistant":
        # Only assistant messages can be truncated (SDK); anything else is "not found".
        return errors.item_truncate_invalid_item_id(item_id)
    content = item.data.get("content", [])
    if index != 0 or index >= len(content) or content[index].get("type") != "output_audio":
        return errors.item_truncate_invalid_content_index(index)
    duration = item.audio_ms(index)
    if end_ms > math.ceil(duration):
        return errors.item_truncate_invalid_audio_end_ms(end_ms, int(duration))
    audio = item.audio.setdefault(index, bytearray())
    del audio[bytes_for_ms(end_ms, item.audio_format) :]
    # "Truncating audio will delete the server-side text transcript" (SDK).
    content[index]["transcript"] = ""
    return None
