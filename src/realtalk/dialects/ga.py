"""The OpenAI GA wire shape (OpenAI GA and Azure GA), protocol.md 2.1, 5, 6.1, 6.2.

``session.type`` is always sent (GA rejects an update without it); audio settings nest under
``audio.input`` / ``audio.output``; formats are objects with an explicit ``rate``; output
modalities are ``["audio"]`` (audio plus transcript) or ``["text"]``, never both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from realtalk.commands import UpdateSession
from realtalk.config import AudioFormat, SessionConfig
from realtalk.dialects._commands import make_command_encoder
from realtalk.dialects._common import (
    COMMON_ENCODERS,
    decode_wire_session,
    encode_fields,
    encode_tool_choice_ga,
    encode_tools,
    jsonable,
)
from realtalk.dialects._events import make_event_decoder
from realtalk.dialects.dialect import Dialect

__all__ = ["GA", "SESSION_PATHS"]

SESSION_PATHS: Mapping[str, str] = {
    "model": "model",
    "instructions": "instructions",
    "output_modalities": "output_modalities",
    "voice": "audio.output.voice",
    "speed": "audio.output.speed",
    "input_format": "audio.input.format",
    "output_format": "audio.output.format",
    "turn_detection": "audio.input.turn_detection",
    "noise_reduction": "audio.input.noise_reduction",
    "transcription": "audio.input.transcription",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "max_output_tokens": "max_output_tokens",
    # GA has no temperature; it is written under its beta name so that the rules can name it and
    # a provider that does take it (a gateway) still can.
    "temperature": "temperature",
    "tracing": "tracing",
    "truncation": "truncation",
    "prompt": "prompt",
    "reasoning": "reasoning",
    "include": "include",
}

_FORMAT_TYPES = {"pcm16": "audio/pcm", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}


def encode_format(value: Any) -> Any:
    """``{"type": "audio/pcm", "rate": 24000}``: GA servers require ``rate`` (protocol.md 5)."""
    if isinstance(value, AudioFormat):
        kind = _FORMAT_TYPES.get(value.encoding, value.encoding)
        return {"type": kind, "rate": value.rate} if value.encoding == "pcm16" else {"type": kind}
    return jsonable(value)


def encode_modalities(value: Any) -> Any:
    """The neutral intent ("audio" means audio with its transcript) -> GA's exclusive list."""
    if isinstance(value, list | tuple):
        return ["audio"] if "audio" in value else list(value)
    return jsonable(value)


_ENCODERS: Mapping[str, Callable[[Any], Any]] = {
    **COMMON_ENCODERS,
    "input_format": encode_format,
    "output_format": encode_format,
    "output_modalities": encode_modalities,
    "tool_choice": encode_tool_choice_ga,
}


def encode_session(config: SessionConfig) -> dict[str, Any]:
    """The GA ``session`` object: ``type`` plus exactly the fields ``config`` sets."""
    return encode_fields(config, SESSION_PATHS, _ENCODERS, {"type": "realtime"})


def decode_session(session: Mapping[str, Any]) -> SessionConfig:
    """A GA (or beta) ``session`` object from the server -> SessionConfig. Never raises."""
    return decode_wire_session(session)


def _encode_update(command: UpdateSession) -> tuple[str, dict[str, Any]]:
    session = encode_session(command.config)
    if command.transcription_only:
        # GA merged transcription_session.update into session.update (protocol.md 2.2).
        session["type"] = "transcription"
    return "session.update", session


RESPONSE_PATHS: Mapping[str, str] = {
    "voice": "audio.output.voice",
    "output_format": "audio.output.format",
}
_RESPONSE_ENCODERS: Mapping[str, Callable[[Any], Any]] = {
    "output_modalities": encode_modalities,
    "output_format": encode_format,
    "tools": encode_tools,
    "tool_choice": encode_tool_choice_ga,
    "temperature": COMMON_ENCODERS["temperature"],
}

GA = Dialect(
    name="ga",
    session_paths=SESSION_PATHS,
    encode_session=encode_session,
    decode_session=decode_session,
    encode_command=make_command_encoder(
        spelling="ga",
        encode_update=_encode_update,
        response_paths=RESPONSE_PATHS,
        response_encoders=_RESPONSE_ENCODERS,
    ),
    decode_event=make_event_decoder(decode_session),
)
