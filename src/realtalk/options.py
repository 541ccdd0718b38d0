"""Run options: how a session behaves, as opposed to what the model does (SessionConfig) or
where it connects (the provider)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.event_queue import Overflow
from realtalk.reconnect import Reconnect

RECORD_LIMIT_BYTES = 512 * 1024 * 1024

__all__ = ["SessionOptions"]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Run options: how the session behaves, as opposed to what the model does."""

    queue_size: int = 1024
    """Events buffered for the app. See ``overflow`` for what happens when it is full. The
    events of the opening (``SessionCreated`` to ``SessionReady``) are always kept, whatever
    the size: the app cannot read before ``connect()`` returns."""
    overflow: Overflow = "block"
    """``block``: the reader waits for the app (back-pressure reaches the socket, nothing is lost).
    ``drop_oldest``: the oldest buffered event is dropped (for apps that only want the latest).
    ``error``: the session ends with a SessionError."""
    connect_timeout: float = 10.0
    update_timeout: float = 10.0
    keepalive_interval: float | None = 10.0
    """Seconds between keepalive pings (None: no pings). With ``keepalive_timeout`` this bounds
    how long a dead socket (no FIN, no RST) goes unnoticed: at most their sum, 20 s by default."""
    keepalive_timeout: float | None = 10.0
    """Seconds a pong may take before the connection counts as lost (close code 1006)."""
    response_stall_timeout: float | None = 30.0
    """Seconds without any server message while a response is requested or under way before a
    ``SessionError(code="response_stalled")`` is reported (None: never). Reported once per stall;
    the session goes on."""
    max_message_bytes: int | None = 64 * 1024 * 1024
    """The largest server message accepted (None: no limit). A larger one is refused before it is
    read (a ``ProtocolViolation``, then the connection closes with 1009)."""
    raw_tap: bool = False
    """Also deliver every wire message as a :class:`~realtalk.events.RawMessage`."""
    retain_audio: bool = False
    """Keep assistant audio bytes on history entries."""
    auto_respond_after_tools: bool = True
    record: str | os.PathLike[str] | None = None
    """Record the session into a new folder under this directory (see
    :mod:`realtalk.recording`; ``session.recording_path`` names it)."""
    record_limit_bytes: int = RECORD_LIMIT_BYTES
    """The recording's size cap (512 MiB); past it the recording stops, the session goes on."""
    reconnect: Reconnect | Literal["auto"] | None = "auto"
    """Reconnect after a lost connection and recycle before the provider's session cap (see
    :class:`~realtalk.reconnect.Reconnect`). ``"auto"``: on with the defaults for remote
    providers, off for the in-process local server; ``None``: off (a lost connection is a fatal
    ``SessionError``)."""

    def __post_init__(self) -> None:
        if not (
            self.reconnect is None
            or self.reconnect == "auto"
            or isinstance(self.reconnect, Reconnect)
        ):
            raise ConfigError(
                [
                    ConfigProblem(
                        "reconnect",
                        self.reconnect,
                        "must be rt.Reconnect(...), 'auto' or None",
                        "e.g. SessionOptions(reconnect=rt.Reconnect(max_attempts=3)); None turns "
                        "reconnecting off",
                    )
                ],
                target="SessionOptions",
            )
