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
from realtalk.dialects._events import audio_delta_event
from realtalk.events import ProtocolViolation, ServerEvent

__all__ = ["Dialect", "DialectName"]

DialectName = Literal["ga", "beta"]

# The C scanner json.loads itself runs (set in JSONDecoder.__init__, not in the stubs).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(text: str) -> Any:
    """``json.loads(text)``, with its exact results and errors, in one C call for the usual
    message (an object from its first to its last character): json.loads adds three Python
    calls and two regex matches per message, on the audio hot path a tenth of realtalk's own
    cost per event."""
    try:
        data, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        data, end = None, -1
    if end != len(text):  # whitespace around it, extra data, not JSON: json.loads decides
        return json.loads(text)
    return data


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
        raw = (
            text.decode("utf-8", "replace")
            if type(text) is not str and isinstance(text, bytes)
            else text
        )
        data = _audio_delta_data(raw)
        if data is not None:  # a dict with an audio delta's type: nothing left to check here
            # Both dialects decode the two audio delta types with _audio_delta, whose fast
            # path this is (tests/dialects/test_fast_paths.py holds them equal).
            event = audio_delta_event(data)
            return event if event is not None else self.decode_event(data)
        try:
            data = _loads(raw)
        except ValueError as exc:
            return ProtocolViolation(f"not JSON: {exc}", raw[:2000])
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return ProtocolViolation("not a JSON object with a string 'type'", raw[:2000])
        return self.decode_event(data)


_DELTA_KEY = '"delta":"'
_EMPTY_DELTA = '"delta":""'
_GA_DELTA, _BETA_DELTA = "response.output_audio.delta", "response.audio.delta"


def _audio_delta_data(raw: str) -> dict[str, Any] | None:
    r"""An audio delta's fields with its base64 cut out before parsing, or None (parse it all).

    Audio deltas are most of the traffic and their base64 is most of each one: json.loads would
    scan every character of it for escapes and copy it. Base64 never needs escaping, so the
    payload is located, the short rest parsed, and the payload put back as the text it is. Taken
    only when that is exactly what json.loads would give: one ``"delta":"`` in the message and
    ``""`` at the top-level ``delta`` of the parsed rest (so that one was it), no backslash in
    the value (an escaped ``\/`` needs the real parser), and an audio-delta type; anything else
    returns None and the message is parsed whole. A control character in the value (which
    json.loads refuses) fails the strict base64 decode instead, so it is still refused.
    (``partition`` and ``in``, not ``find`` with bounds: str.find parses its arguments as a
    tuple, several times the cost of the search on these short strings.)
    """
    head, key, tail = raw.partition(_DELTA_KEY)
    if not key:
        return None
    payload, quote, rest = tail.partition('"')
    if not quote or "\\" in payload or _DELTA_KEY in rest:
        return None
    short = head + _EMPTY_DELTA + rest
    try:
        data, end = _scan_json(short, 0)  # _loads, inlined: json.loads decides the odd cases
    except (StopIteration, ValueError):
        return None  # the whole message gets parsed, and reported with its own error
    if end != len(short) or type(data) is not dict:
        return None
    try:
        kind, empty = data["type"], data["delta"]
    except KeyError:
        return None
    if (kind != _GA_DELTA and kind != _BETA_DELTA) or empty != "":
        return None
    data["delta"] = payload
    return data
