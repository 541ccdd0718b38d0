"""Test helper: every server event must validate against the official openai unions.

``assert_valid_server_event(dialect, event)`` validates with
``pydantic.TypeAdapter(openai.types.realtime.RealtimeServerEvent)`` (GA) or the beta union, then
walks the validated model: every pydantic model's ``model_extra`` must be empty, i.e. we sent no
key the SDK does not declare. The only exceptions are the read-only keys the service adds to a
session object (``id``, ``object``, ``expires_at``, ...; protocol.md §2.1, §2.3 and §8 #28),
which the SDK types as the *request* model.

Beta transcription sessions are the exception the SDK cannot check as sent:
``transcription_session.created`` is only in the spec's beta schemas (protocol.md §6.4), and the
SDK's ``TranscriptionSession`` is the REST response, with a required ``client_secret`` and no
``input_audio_noise_reduction``, where the spec's WebSocket example (§2.3) has the opposite. Both
events are checked as ``transcription_session.updated`` with those two differences allowed.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pydantic
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent

__all__ = ["assert_valid_server_event", "undeclared_keys"]

_SESSION_READ_ONLY = {"id", "object", "expires_at", "client_secret", "include", "model"}
_BETA_TRANSCRIPTION_EVENTS = ("transcription_session.created", "transcription_session.updated")
_BETA_TRANSCRIPTION_EXTRA = {"input_audio_noise_reduction"}


@cache
def _adapter(dialect: str) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(GAServerEvent if dialect == "ga" else BetaServerEvent)


def undeclared_keys(model: Any, path: str = "") -> list[str]:
    """Dotted paths of every key a validated model kept as an extra."""
    found: list[str] = []
    if isinstance(model, pydantic.BaseModel):
        extra = model.model_extra or {}
        allowed = set()
        if path.endswith("session"):
            allowed = _SESSION_READ_ONLY
            if path.startswith(_BETA_TRANSCRIPTION_EVENTS):
                allowed = allowed | _BETA_TRANSCRIPTION_EXTRA
        found.extend(f"{path}.{key}" for key in extra if key not in allowed)
        for name in type(model).model_fields:
            found.extend(undeclared_keys(getattr(model, name), f"{path}.{name}"))
    elif isinstance(model, list | tuple):
        for index, value in enumerate(model):
            found.extend(undeclared_keys(value, f"{path}[{index}]"))
    elif isinstance(model, dict):
        for key, value in model.items():
            found.extend(undeclared_keys(value, f"{path}.{key}"))
    return found


def assert_valid_server_event(dialect: str, event: str | dict[str, Any]) -> dict[str, Any]:
    """Validate one server event (text or dict); return it parsed."""
    data = json.loads(event) if isinstance(event, str) else event
    assert isinstance(data.get("event_id"), str), data
    assert data["event_id"], data
    checked = data
    if dialect == "beta" and data.get("type") in _BETA_TRANSCRIPTION_EVENTS:
        session = {"client_secret": {"value": "", "expires_at": 0}, **data["session"]}
        checked = {**data, "type": "transcription_session.updated", "session": session}
        assert "client_secret" not in data["session"], "no client secret over the WebSocket"
    model = _adapter(dialect).validate_python(checked)
    assert getattr(model, "type", None) == checked["type"], (model, checked["type"])
    extra = undeclared_keys(model, data["type"])
    assert not extra, f"undeclared keys in {data['type']}: {extra}"
    return data
