"""The beta wire shape (retired OpenAI beta, Azure OpenAI preview), protocol.md 2.3, 2.4, 6.3, 6.4.

Flat fields, ``modalities`` instead of ``output_modalities``, string audio formats, and no
``type``, ``output_modalities`` or ``audio`` keys ever: beta-shape servers reject them with
``unknown_parameter``. Audio-only output is written ``["audio", "text"]``, the only audio
combination beta servers accept (protocol.md 4).
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
    encode_tool_choice_beta,
    encode_tools,
    jsonable,
)
from realtalk.dialects._events import make_event_decoder
from realtalk.dialects.dialect import Dialect

__all__ = ["BETA", "SESSION_PATHS"]

SESSION_PATHS: Mapping[str, str] = {
    "model": "model",
    "instructions": "instructions",
    "output_modalities": "modalities",
    "voice": "voice",
    "speed": "speed",
    "input_format": "input_audio_format",
    "output_format": "output_audio_format",
    "turn_detection": "turn_detection",
    "noise_reduction": "input_audio_noise_reduction",
    "transcription": "input_audio_transcription",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "max_output_tokens": "max_response_output_tokens",
    "temperature": "temperature",
    # The fields below are GA-only; they keep their GA names so the rules can name them.
    "tracing": "tracing",
    "truncation": "truncation",
    "prompt": "prompt",
    "reasoning": "reasoning",
    "include": "include",
}

_FORMAT_NAMES = {"pcm16": "pcm16", "pcmu": "g711_ulaw", "pcma": "g711_alaw"}


def encode_format(value: Any) -> Any:
    """``"pcm16"`` / ``"g711_ulaw"`` / ``"g711_alaw"``; the rate is implied (protocol.md 5)."""
    if isinstance(value, AudioFormat):
        return _FORMAT_NAMES.get(value.encoding, value.encoding)
    return jsonable(value)


def encode_modalities(value: Any) -> Any:
    """The neutral intent -> beta's list: audio always travels with its text."""
    if isinstance(value, list | tuple):
        return ["audio", "text"] if "audio" in value else list(value)
    return jsonable(value)


_ENCODERS: Mapping[str, Callable[[Any], Any]] = {
    **COMMON_ENCODERS,
    "input_format": encode_format,
    "output_format": encode_format,
    "output_modalities": encode_modalities,
    "tool_choice": encode_tool_choice_beta,
}


def encode_session(config: SessionConfig) -> dict[str, Any]:
    """The beta ``session`` object: exactly the fields ``config`` sets, flat, no ``type``."""
    return encode_fields(config, SESSION_PATHS, _ENCODERS, {})


def decode_session(session: Mapping[str, Any]) -> SessionConfig:
    """A beta (or GA) ``session`` object from the server -> SessionConfig. Never raises."""
    return decode_wire_session(session)


def _encode_update(command: UpdateSession) -> tuple[str, dict[str, Any]]:
    kind = "transcription_session.update" if command.transcription_only else "session.update"
    return kind, encode_session(command.config)


RESPONSE_PATHS: Mapping[str, str] = {
    "output_modalities": "modalities",
    "output_format": "output_audio_format",
    "max_output_tokens": "max_response_output_tokens",
}
_RESPONSE_ENCODERS: Mapping[str, Callable[[Any], Any]] = {
    "output_modalities": encode_modalities,
    "output_format": encode_format,
    "tools": encode_tools,
    "tool_choice": encode_tool_choice_beta,
    "temperature": COMMON_ENCODERS["temperature"],
}

BETA = Dialect(
    name="beta",
    session_paths=SESSION_PATHS,
    encode_session=encode_session,
    decode_session=decode_session,
    encode_command=make_command_encoder(
        spelling="beta",
        encode_update=_encode_update,
        response_paths=RESPONSE_PATHS,
        response_encoders=_RESPONSE_ENCODERS,
    ),
    decode_event=make_event_decoder(decode_session),
)
