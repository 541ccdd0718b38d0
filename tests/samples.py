"""Protocol samples shared by the test suites (from shared/reference/protocol.md).

Dicts come from functions that return fresh deep copies, so no test can leak a mutation into
another; the neutral config is frozen and shared as is.
"""

from __future__ import annotations

import copy
from typing import Any

from realtalk.config import (
    AudioFormat,
    NoiseReduction,
    ServerVAD,
    SessionConfig,
    ToolSpec,
    Transcription,
)

# protocol.md 2.1: the spec's GA session.created example (instructions shortened).
_GA_SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9G5QPteg4UIbotdKLoYQ",
    "model": "gpt-realtime-2025-08-28",
    "output_modalities": ["audio"],
    "instructions": "Your knowledge cutoff is 2023-10.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "prompt": None,
    "expires_at": 1756324625,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1},
    },
    "include": None,
}


def ga_session(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the spec's GA session (top-level keys replaced by ``changes``)."""
    session = copy.deepcopy(_GA_SESSION)
    session.update(changes)
    return session


def ga_session_created(**changes: Any) -> dict[str, Any]:
    """The spec's GA ``session.created`` example (protocol.md 2.1), session changed as above."""
    return {
        "type": "session.created",
        "event_id": "event_C9G5RJeJ2gF77mV7f2B1j",
        "session": ga_session(**changes),
    }


# protocol.md 2.7: the one function tool of the reference configuration.
GET_TIME = ToolSpec("get_time", "Current time", {"type": "object", "properties": {}})
_GET_TIME_WIRE: dict[str, Any] = {
    "type": "function",
    "name": "get_time",
    "description": "Current time",
    "parameters": {"type": "object", "properties": {}},
}

# protocol.md 2.7: the neutral configuration behind both payloads below (the beta one adds
# temperature=0.8, which GA rejects).
REFERENCE_CONFIG = SessionConfig(
    instructions="Be brief.",
    output_modalities=("audio",),
    input_format=AudioFormat.pcm16(),
    output_format=AudioFormat.pcm16(),
    noise_reduction=NoiseReduction(type="near_field"),
    transcription=Transcription(model="gpt-4o-mini-transcribe", language="en"),
    turn_detection=ServerVAD(0.5, 300, 500, create_response=True, interrupt_response=True),
    voice="alloy",
    speed=1.0,
    tools=(GET_TIME,),
    tool_choice="auto",
    max_output_tokens="inf",
)

# protocol.md 2.7: the turn detection both reference payloads carry, key for key.
_REFERENCE_VAD: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "create_response": True,
    "interrupt_response": True,
}

# protocol.md 2.7, GA column.
_GA_REFERENCE_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "instructions": "Be brief.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
                "turn_detection": _REFERENCE_VAD,
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
        "tools": [_GET_TIME_WIRE],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
    },
}

# protocol.md 2.7, beta column.
_BETA_REFERENCE_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "instructions": "Be brief.",
        "modalities": ["audio", "text"],
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_noise_reduction": {"type": "near_field"},
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
        "turn_detection": _REFERENCE_VAD,
        "voice": "alloy",
        "speed": 1.0,
        "tools": [_GET_TIME_WIRE],
        "tool_choice": "auto",
        "temperature": 0.8,
        "max_response_output_tokens": "inf",
    },
}

# protocol.md 2.2: the OpenAI transcription guide's GA transcription-session update.
_GA_TRANSCRIPTION_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-live-transcribe"},
                "turn_detection": None,
            }
        },
    },
}

# protocol.md 2.3: the spec's beta transcription_session.update example.
_BETA_TRANSCRIPTION_UPDATE: dict[str, Any] = {
    "type": "transcription_session.update",
    "session": {
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-transcribe", "prompt": "", "language": ""},
        "turn_detection": {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "create_response": True,
        },
        "input_audio_noise_reduction": {"type": "near_field"},
        "include": ["item.input_audio_transcription.logprobs"],
    },
}


def get_time_tool() -> dict[str, Any]:
    """protocol.md 2.7's function tool as it goes on the wire."""
    return copy.deepcopy(_GET_TIME_WIRE)


def ga_reference_update() -> dict[str, Any]:
    """protocol.md 2.7's GA ``session.update`` for :data:`REFERENCE_CONFIG`."""
    return copy.deepcopy(_GA_REFERENCE_UPDATE)


def beta_reference_update() -> dict[str, Any]:
    """protocol.md 2.7's beta ``session.update`` for :data:`REFERENCE_CONFIG` plus temperature."""
    return copy.deepcopy(_BETA_REFERENCE_UPDATE)


def ga_transcription_update() -> dict[str, Any]:
    """protocol.md 2.2's GA ``session.update`` for a transcription session."""
    return copy.deepcopy(_GA_TRANSCRIPTION_UPDATE)


def beta_transcription_update() -> dict[str, Any]:
    """protocol.md 2.3's beta ``transcription_session.update`` example."""
    return copy.deepcopy(_BETA_TRANSCRIPTION_UPDATE)


# protocol.md 7.1: the error event, identical in every dialect.
_ERROR_EVENT: dict[str, Any] = {
    "type": "error",
    "event_id": "event_890",
    "error": {
        "type": "invalid_request_error",
        "code": "invalid_event",
        "message": "The 'type' field is missing.",
        "param": None,
        "event_id": "event_567",
    },
}


def error_event() -> dict[str, Any]:
    """protocol.md 7.1's ``error`` event (the same on every dialect)."""
    return copy.deepcopy(_ERROR_EVENT)
