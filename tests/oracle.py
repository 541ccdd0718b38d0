"""The wire-shape oracle shared by every suite: the official ``openai`` SDK's pydantic unions.

The SDK's models allow extra keys, so "validates" alone would accept a payload full of keys the
server rejects (``type`` on beta, ``threshold`` on semantic VAD...). Every check here therefore
also walks the validated model tree (through lists, tuples and dicts) and fails on any key
outside the declared fields, and insists that the union picked the member for the event's own
``type``.

Client events (what realtalk sends) get no allowance at all. Server events (what the local
server sends) get exactly three, all explicit below:

* the read-only keys the service adds to a ``session`` object (``id``, ``object``,
  ``expires_at``...; protocol.md §2.1, §2.3 and §8 #28), because the SDK types the ``session`` of
  ``session.created``/``session.updated`` as the *request* model;
* beta transcription sessions, which the SDK cannot check as sent: ``transcription_session.created``
  is only in the spec's beta schemas (protocol.md §6.4), and the SDK's ``TranscriptionSession`` is
  the REST response, with a required ``client_secret`` and no ``input_audio_noise_reduction``,
  where the spec's WebSocket example (§2.3) has the opposite. Both events are checked as
  ``transcription_session.updated`` with those two differences allowed;
* ``phase`` on an assistant message item (``item.phase``, ``response.output[i].phase``): the
  service sends gpt-realtime-2's ``commentary`` / ``final_answer`` there, and the SDK types have
  no such field (protocol.md §11.1).
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

import openai.types.beta.realtime as beta_types
import openai.types.realtime as ga_types
from openai.types.realtime.response_create_event_with_references_param import (
    ResponseCreateEventWithReferencesParam,
)
from pydantic import BaseModel, TypeAdapter

__all__ = [
    "BETA_CLIENT",
    "BETA_SERVER",
    "GA_CLIENT",
    "GA_CLIENT_PARAM",
    "GA_RESPONSE_WITH_REFERENCES",
    "GA_SERVER",
    "assert_valid_server_event",
    "minimal",
    "server_event_classes",
    "undeclared_keys",
    "validate_client_event",
    "validate_server_event",
]

GA_CLIENT: TypeAdapter[Any] = TypeAdapter(ga_types.RealtimeClientEvent)
GA_SERVER: TypeAdapter[Any] = TypeAdapter(ga_types.RealtimeServerEvent)
BETA_CLIENT: TypeAdapter[Any] = TypeAdapter(beta_types.RealtimeClientEvent)
BETA_SERVER: TypeAdapter[Any] = TypeAdapter(beta_types.RealtimeServerEvent)
# The GA parse models have no item_reference in response.input; the request param types (what a
# client sends for out-of-band responses, protocol.md §6.7) have. TypedDicts keep no extras, so
# these two can only say "accepted", not "nothing undeclared".
GA_CLIENT_PARAM: TypeAdapter[Any] = TypeAdapter(ga_types.RealtimeClientEventParam)
GA_RESPONSE_WITH_REFERENCES: TypeAdapter[Any] = TypeAdapter(ResponseCreateEventWithReferencesParam)

_CLIENT = {"ga": GA_CLIENT, "beta": BETA_CLIENT}
_SERVER = {"ga": GA_SERVER, "beta": BETA_SERVER}

# Allowance 1: read-only keys the service adds to the session object of session events.
_SESSION_READ_ONLY = frozenset({"id", "object", "expires_at", "client_secret", "include", "model"})
# Allowance 2: beta transcription sessions, checked as transcription_session.updated (see above).
_BETA_TRANSCRIPTION_EVENTS = ("transcription_session.created", "transcription_session.updated")
_BETA_TRANSCRIPTION_EXTRA = frozenset({"input_audio_noise_reduction"})
# Allowance 3: a message item's phase (protocol.md §11.1), only where a response's items sit.
_PHASE_PATH = re.compile(r"(item|response\.output\[\d+\])\.phase")


def undeclared_keys(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every key a validated model tree kept as a pydantic extra."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}".lstrip(".") for key in (value.model_extra or {})]
        for name in type(value).model_fields:
            found += undeclared_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += undeclared_keys(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += undeclared_keys(item, f"{path}.{key}")
    return found


def _validate(
    adapter: TypeAdapter[Any],
    event: Mapping[str, Any],
    allowed: frozenset[str] = frozenset(),
    *,
    phases: bool = False,
) -> BaseModel:
    model = adapter.validate_python(event)
    assert isinstance(model, BaseModel)
    extras = [
        path
        for path in undeclared_keys(model)
        # An allowance holds only directly on the session object, nowhere else.
        if not (path.startswith("session.") and path.removeprefix("session.") in allowed)
        and not (phases and _PHASE_PATH.fullmatch(path))
    ]
    assert not extras, f"keys outside the SDK's declared fields: {extras} in {event}"
    # The chosen union member must be the one for this type.
    assert getattr(model, "type", None) == event["type"], (model, event["type"])
    return model


def validate_client_event(dialect: str, event: Mapping[str, Any]) -> BaseModel:
    """Validate one client event against the dialect's SDK union; no undeclared key anywhere."""
    return _validate(_CLIENT[dialect], event)


def validate_server_event(dialect: str, event: Mapping[str, Any]) -> BaseModel:
    """Validate one server event: a non-empty event_id, the SDK union, and only the allowances."""
    assert isinstance(event.get("event_id"), str), f"event_id must be a string: {event}"
    assert event["event_id"], f"event_id must not be empty: {event}"
    if dialect == "beta" and event.get("type") in _BETA_TRANSCRIPTION_EVENTS:
        assert "client_secret" not in event["session"], "client_secret: never over the WebSocket"
        session = {"client_secret": {"value": "", "expires_at": 0}, **event["session"]}
        checked = {**event, "type": "transcription_session.updated", "session": session}
        return _validate(BETA_SERVER, checked, _SESSION_READ_ONLY | _BETA_TRANSCRIPTION_EXTRA)
    return _validate(_SERVER[dialect], event, _SESSION_READ_ONLY, phases=dialect == "ga")


def assert_valid_server_event(dialect: str, event: str | dict[str, Any]) -> dict[str, Any]:
    """Validate one server event (text or dict) like :func:`validate_server_event`; parse it."""
    data: dict[str, Any] = json.loads(event) if isinstance(event, str) else event
    validate_server_event(dialect, data)
    return data


# -- minimal examples of SDK server events ---------------------------------------------------

_B64 = "AAAA"  # valid base64 and a fine stand-in for any required string


def minimal(annotation: Any) -> Any:
    """The smallest value that satisfies ``annotation`` (required fields only)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        return minimal(args[0])
    if origin is Literal:
        return args[0]
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return minimal(options[0])
    if origin in (list, typing.List):  # noqa: UP006
        return []
    if origin in (dict, typing.Dict):  # noqa: UP006
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            (info.alias or name): minimal(info.annotation)
            for name, info in annotation.model_fields.items()
            if info.is_required()
        }
    return {str: _B64, int: 1, float: 1.0, bool: True}.get(annotation, {})


def server_event_classes(union: Any) -> list[type[BaseModel]]:
    """The model classes of an SDK event union (``Annotated[Union[...], ...]`` or a bare one)."""
    members = (
        get_args(get_args(union)[0]) if get_origin(union) is typing.Annotated else get_args(union)
    )
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
