"""Protocol samples shared by the test suites (from shared/reference/protocol.md)."""

from __future__ import annotations

import copy
from typing import Any

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
