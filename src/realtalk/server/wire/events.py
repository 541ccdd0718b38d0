"""Client events: parsing a frame and checking each event's payload shape per dialect.

:func:`parse_client_message` turns a text frame into a JSON value (keeping the original text of
every float, for the 16-decimal rule) or an ``invalid_event`` error. :func:`validate_client_event`
returns the first error the service would report for an event's shape, or ``None``. State rules
(unknown item ids, active responses, buffer length) belong to the session state machine; it uses
the constructors in :mod:`realtalk.server.wire.errors` for those.

Pure: standard library only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from realtalk.server.wire import errors as E
from realtalk.server.wire.schema import Int, Node, Obj, Str, WireFloat
from realtalk.server.wire.session import validate_session_update
from realtalk.server.wire.shapes import (
    Dialect,
    Flavor,
    beta_item,
    beta_response_params,
    ga_item,
    ga_response_params,
)

__all__ = [
    "AZURE_GA_REJECTS_RESPONSE_OUTPUT_MODALITIES",
    "BETA_CLIENT_EVENTS",
    "GA_CLIENT_EVENTS",
    "MAX_APPEND_BYTES",
    "client_event_id",
    "parse_client_message",
    "validate_client_event",
]

GA_CLIENT_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
)
"""protocol.md §6.1, in the order the API reference lists them."""

BETA_CLIENT_EVENTS = (*GA_CLIENT_EVENTS, "transcription_session.update")
"""protocol.md §6.3."""

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""protocol.md §1a: one ``input_audio_buffer.append`` may carry up to 15 MiB."""

AZURE_GA_REJECTS_RESPONSE_OUTPUT_MODALITIES = True
"""protocol.md §2.5/§9.16: third parties (pipecat #4106) report Azure GA rejecting
``response.output_modalities``; Microsoft's docs are silent. A stand-in errs on the side of
rejecting, so code that passes locally passes on Azure. The code and wording are our choice."""

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def parse_client_message(text: str | bytes) -> tuple[Any, dict[str, Any] | None]:
    """One WebSocket text frame -> ``(value, None)`` or ``(None, invalid_event error)``.

    Floats are parsed as :class:`~realtalk.server.wire.schema.WireFloat` so the 16-decimal rule
    sees the digits as sent. Non-finite literals (``NaN``, ``Infinity``) are not JSON: rejected.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None, E.invalid_event_malformed_json("the frame is not valid UTF-8.")

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        value = json.loads(text, parse_float=WireFloat, parse_constant=reject_constant)
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return None, E.invalid_event_malformed_json(f"{detail}.")
    return value, None


def _event(fields: dict[str, Node], *required: str) -> Obj:
    return Obj({"type": Str(), "event_id": Str(), **fields}, required=frozenset(required))


def _shapes(dialect: Dialect, flavor: Flavor) -> dict[str, Obj]:
    item = ga_item() if dialect == "ga" else beta_item()
    response = ga_response_params(flavor) if dialect == "ga" else beta_response_params(flavor)
    if dialect == "ga" and flavor == "azure" and AZURE_GA_REJECTS_RESPONSE_OUTPUT_MODALITIES:
        response = response.without("output_modalities")
    shapes = {
        "session.update": _event({"session": _ANY_OBJECT}, "session"),
        "input_audio_buffer.append": _event({"audio": Str()}, "audio"),
        "input_audio_buffer.commit": _event({}),
        "input_audio_buffer.clear": _event({}),
        "output_audio_buffer.clear": _event({}),
        "conversation.item.create": _event({"item": item, "previous_item_id": Str()}, "item"),
        "conversation.item.retrieve": _event({"item_id": Str()}, "item_id"),
        "conversation.item.delete": _event({"item_id": Str()}, "item_id"),
        "conversation.item.truncate": _event(
            {"item_id": Str(), "content_index": Int(0), "audio_end_ms": Int(0)},
            "item_id",
            "content_index",
            "audio_end_ms",
        ),
        "response.create": _event({"response": response}),
        "response.cancel": _event({"response_id": Str()}),
    }
    if dialect == "beta":
        shapes["transcription_session.update"] = _event({"session": _ANY_OBJECT}, "session")
    return shapes


class _AnyObject(Node):
    expected = "an object"

    def check(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return E.invalid_type(path, self.expected, value)
        return None


_ANY_OBJECT = _AnyObject()
_CACHE: dict[tuple[str, str], dict[str, Obj]] = {}


def _shapes_for(dialect: Dialect, flavor: Flavor) -> dict[str, Obj]:
    key = (dialect, flavor)
    if key not in _CACHE:
        _CACHE[key] = _shapes(dialect, flavor)
    return _CACHE[key]


def _check_audio(audio: str) -> dict[str, Any] | None:
    # Wording not observed; our choice. Length first: a regex over 15 MiB is wasted work.
    if len(audio) // 4 * 3 > MAX_APPEND_BYTES + 2:
        return E.make_error(
            "invalid_value",
            f"Invalid 'audio': audio chunk too large. Expected at most {MAX_APPEND_BYTES} bytes "
            "of audio per event.",
            "audio",
        )
    if len(audio) % 4 != 0 or _BASE64.fullmatch(audio) is None:
        return E.make_error(
            "invalid_value", "Invalid 'audio': expected base64-encoded audio bytes.", "audio"
        )
    return None


def validate_client_event(
    dialect: Dialect,
    flavor: Flavor,
    event: Any,
    *,
    current: dict[str, Any] | None = None,
    assistant_audio_present: bool = False,
) -> dict[str, Any] | None:
    """The first error the service would report for this event's shape, or ``None``.

    ``event`` is a parsed JSON value (from :func:`parse_client_message`). For
    ``session.update`` / ``transcription_session.update`` the ``session`` member is checked too
    when ``current`` (the effective session) is given; otherwise only the envelope is checked
    and the caller runs :func:`~realtalk.server.wire.session.validate_session_update`.
    """
    if not isinstance(event, dict):
        return E.invalid_event_not_object()
    if "type" not in event or event["type"] is None:
        return E.invalid_event_missing_type()
    kind = event["type"]
    if not isinstance(kind, str):
        return E.invalid_type("type", "a string", kind)
    shapes = _shapes_for(dialect, flavor)
    shape = shapes.get(kind)
    if shape is None:
        return E.unknown_event_type(kind, shapes)
    error = shape.check(event, "")
    if error is not None:
        return error
    if kind == "input_audio_buffer.append":
        return _check_audio(event["audio"])
    if kind in ("session.update", "transcription_session.update") and current is not None:
        return validate_session_update(
            dialect,
            flavor,
            event["session"],
            current,
            assistant_audio_present=assistant_audio_present,
            event_type=kind,
        )
    return None


def client_event_id(event: Any) -> str | None:
    """The client's ``event_id`` of a parsed event, if it sent one (errors echo it)."""
    if isinstance(event, dict) and isinstance(event.get("event_id"), str):
        return str(event["event_id"])
    return None
