"""Tunable behaviour of the local server's sessions (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_APPEND_BYTES", "ServerOptions"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""One ``input_audio_buffer.append`` may carry up to 15 MiB of decoded audio (protocol.md §1a)."""


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Per-session behaviour. The defaults mimic the hosted service."""

    realtime_pacing: bool = False
    """Release audio deltas in real time (the front sleeps); default: as fast as synthesised,
    like the service, which produces audio faster than real time (protocol.md §5)."""
    max_session_s: float = 3600.0
    """After this long the session gets ``session_expired`` and a 1001 close (protocol.md §1a)."""
    audio_chunk_ms: int = 100
    """Duration of the audio carried by one ``response.output_audio.delta``."""
    max_append_bytes: int = MAX_APPEND_BYTES
    default_instructions: str = "You are a helpful, witty, and friendly assistant."
    rate_limit_requests: int = 10_000
    rate_limit_tokens: int = 1_000_000
