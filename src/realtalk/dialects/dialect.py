"""The :class:`Dialect` record: one wire shape as data plus pure functions.

Its own module so that ``ga`` and ``beta`` can build their records without importing the
package that collects them (``realtalk.dialects``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from realtalk.commands import ClientCommand
from realtalk.config import SessionConfig
from realtalk.events import ProtocolViolation, ServerEvent

__all__ = ["Dialect", "DialectName"]

DialectName = Literal["ga", "beta"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One wire shape. All members are pure functions of their arguments."""

    name: DialectName
    session_paths: Mapping[str, str]
    """realtalk field name -> dotted wire path in ``session`` (``audio.input.turn_detection``)."""
    encode_session: Callable[[SessionConfig], dict[str, Any]]
    """The wire ``session`` object with exactly the fields the config sets (``None`` -> null)."""
    decode_session: Callable[[Mapping[str, Any]], SessionConfig]
    """A wire ``session`` object (from ``session.created``/``updated``) -> SessionConfig."""
    encode_command: Callable[[ClientCommand, str | None], dict[str, Any]]
    """A command plus an optional client ``event_id`` -> the wire event dict."""
    decode_event: Callable[[Mapping[str, Any]], ServerEvent]
    """A parsed server event -> a neutral event (UnknownEvent / ProtocolViolation, never raises)."""

    def session_path(self, field: str) -> str:
        """The full wire path of a realtalk field, as the server names it in errors."""
        return "session." + self.session_paths.get(field, field)

    def encode(self, command: ClientCommand, event_id: str | None = None) -> str:
        """The command as the JSON text to send."""
        return json.dumps(self.encode_command(command, event_id), separators=(",", ":"))

    def decode(self, text: str | bytes) -> ServerEvent:
        """One complete server message -> one neutral event. Never raises."""
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return ProtocolViolation(f"not JSON: {exc}", raw[:2000])
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return ProtocolViolation("not a JSON object with a string 'type'", raw[:2000])
        return self.decode_event(data)
