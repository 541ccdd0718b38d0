"""The local server's one configuration type (pure data: no I/O, no clock).

:class:`ServerConfig` holds how the server listens, whom it lets in, its limits, and how its
sessions behave. The front reads the listening and limit fields, each
:class:`~realtalk.server.core.session.ServerSession` the session fields; ``serve(**fields)`` and
``realtalk serve`` build one with :meth:`ServerConfig.with_fields`, which names a misspelt field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from realtalk.errors import NO_VALUE, ConfigError, ConfigProblem

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_APPEND_BYTES",
    "MIN_SECRET_KEY_CHARS",
    "ServerConfig",
    "is_loopback",
]

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""One ``input_audio_buffer.append`` may carry up to 15 MiB of decoded audio (protocol.md §1a)."""
DEFAULT_MAX_MESSAGE_BYTES = MAX_APPEND_BYTES * 4 // 3 + 64 * 1024
"""15 MiB of audio as base64 plus its envelope: ~20 MiB of text in one WebSocket message."""
MIN_SECRET_KEY_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the local server is told. The session defaults mimic the hosted service."""

    # --- listening and access --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 0
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    """Accepted API keys (compared in constant time). Empty and not ``no_auth``: ``serve()``
    generates one (``handle.api_key``)."""
    no_auth: bool = False
    """Accept any client; refused on a non-loopback ``host``."""
    secret_key: str | None = field(default=None, repr=False)
    """Signs the ``ek_`` client secrets (``--secret-key``, ``$REALTALK_SERVER_SECRET_KEY``), so
    every replica given the same one accepts the secrets any of them minted. None: the signing
    key is derived from ``api_keys`` (replicas with the same first key agree)."""
    reuse_port: bool = False
    """Listen with ``SO_REUSEPORT``, so several processes share the port and the kernel spreads
    new connections over them (``realtalk serve --workers N`` sets it in every worker)."""
    retire_beta: bool = False
    """Answer ``OpenAI-Beta: realtime=v1`` with ``beta_api_shape_disabled`` + close 4000, as
    OpenAI does now; by default the beta shape is served."""
    # --- limits ----------------------------------------------------------------------------
    max_sessions: int = 64
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    drain_timeout_s: float = 30.0
    """On SIGTERM (``realtalk serve``) or :meth:`RealtimeServer.drain`: how long live sessions
    may go on after the server stops accepting, before they are closed with 1001."""
    idle_timeout_s: float = 600.0
    """Close a connection that sends nothing for this long (1000, "idle timeout")."""
    # --- each session ----------------------------------------------------------------------
    realtime_pacing: bool = False
    """Release audio deltas in real time (the front sleeps); default: as fast as synthesised,
    like the service, which produces audio faster than real time (protocol.md §5)."""
    max_session_s: float = 3600.0
    """After this long the session gets ``session_expired`` and a 1001 close (protocol.md §1a)."""
    audio_chunk_ms: int = 100
    """Duration of the audio carried by one ``response.output_audio.delta``."""
    speculative_responses: bool = True
    """With early transcription (a Whisper transcriber): at a transcribed pause the brain and
    the first clause's synthesis start before the turn is decided; their results are held until
    it is, and dropped if speech resumes (:mod:`realtalk.server.core.speculation`)."""
    max_append_bytes: int = MAX_APPEND_BYTES
    default_instructions: str = "You are a helpful, witty, and friendly assistant."
    rate_limit_requests: int = 10_000
    rate_limit_tokens: int = 1_000_000
    # --- observing -------------------------------------------------------------------------
    record: str | None = None
    """Record every session into a new folder under this directory (``serve --record DIR``;
    the format is :mod:`realtalk.recording`'s, read by ``realtalk report`` and ``replay``)."""
    record_limit_bytes: int | None = None
    """A recording's size cap; None: the recorder's default (512 MiB)."""
    # --- phone calls (server/front/sip.py) ----------------------------------------------------
    sip_webhook: str | None = None
    """Where a simulated call's signed ``realtime.call.incoming`` is posted (``--sip-webhook``);
    None: the phone line is closed."""
    webhook_secret: str | None = field(default=None, repr=False)
    """The ``whsec_...`` secret that signs those webhooks (``--webhook-secret``)."""

    def __post_init__(self) -> None:
        if self.secret_key is not None and len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            raise ConfigError(
                [
                    ConfigProblem(
                        "secret_key",
                        NO_VALUE,  # a credential: never echoed
                        f"is shorter than {MIN_SECRET_KEY_CHARS} characters, too easy to guess",
                        "use a random one, e.g. python -c "
                        "'import secrets; print(secrets.token_urlsafe(32))'",
                    )
                ],
                target="realtalk serve",
            )
        if self.no_auth and not is_loopback(self.host):
            raise ConfigError(
                [
                    ConfigProblem(
                        "no_auth",
                        True,
                        f"authentication can only be turned off on a loopback address, "
                        f"not {self.host!r}",
                        "listen on 127.0.0.1, or drop --no-auth and give an API key",
                    )
                ],
                target="realtalk serve",
            )

    def with_fields(self, **fields: Any) -> ServerConfig:
        """A copy with ``fields`` replaced; an unknown name is a :class:`ConfigError` that lists
        the known ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ConfigError(
                [
                    ConfigProblem(
                        name,
                        NO_VALUE,  # the value may be a key: never echoed
                        "is not a server setting",
                        "use one of: " + ", ".join(sorted(known)),
                    )
                    for name in unknown
                ],
                target="realtalk.server.serve",
            )
        return dataclasses.replace(self, **fields)
