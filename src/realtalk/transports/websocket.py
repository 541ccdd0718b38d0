"""The real transport: a WebSocket client on ``websockets``.

permessage-deflate is off by default: audio does not compress, and on loopback deflate tripled
the client's CPU per audio event. The frame size limit is lifted because one server message may
carry a large audio delta or a full conversation item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WSConnectionClosed
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol
from websockets.version import version as websockets_version

from realtalk.errors import (
    ConfigError,
    ConfigProblem,
    ConnectionClosed,
    HandshakeError,
    TransportError,
)
from realtalk.redact import install_log_redaction, redact_text, redact_url

__all__ = ["WebSocketTransport", "connect_websocket"]

_BODY_SHOWN = 200  # characters of a refusal's body in the message
_BODY_KEPT = 2000  # characters kept in HandshakeError.body


class WebSocketTransport:
    """A :class:`~realtalk.transports.Transport` over one ``websockets`` client connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self._ws = connection

    def __repr__(self) -> str:
        # Never show the URL's query or headers: they may hold keys.
        return f"WebSocketTransport(state={self._ws.state.name})"

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self._ws.close_reason

    async def send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except WSConnectionClosed as exc:
            raise _closed(exc) from None

    async def recv(self) -> str:
        try:
            message = await self._ws.recv()
        except WSConnectionClosed as exc:
            raise _closed(exc) from None
        if isinstance(message, bytes):
            return message.decode("utf-8", "replace")
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._ws.close(code, reason)


def _closed(exc: WSConnectionClosed) -> ConnectionClosed:
    frame = exc.rcvd or exc.sent
    return ConnectionClosed(frame.code if frame else None, frame.reason if frame else "")


async def connect_websocket(
    url: str,
    headers: Mapping[str, str],
    subprotocols: Sequence[str] = (),
    *,
    open_timeout: float = 10.0,
    compression: bool = False,
    ping_interval: float | None = 20.0,
) -> WebSocketTransport:
    """Open a WebSocket; websockets' exceptions are translated to realtalk's tree.

    websockets logs every handshake header at DEBUG: its loggers get realtalk's redacting filter
    first. A refusal's body is capped and redacted (a gateway may echo the request's headers).
    """
    install_log_redaction()
    try:
        connection = await connect(
            url,
            additional_headers=dict(headers),
            subprotocols=[Subprotocol(p) for p in subprotocols] or None,
            open_timeout=open_timeout,
            compression="deflate" if compression else None,
            max_size=None,
            ping_interval=ping_interval,
            user_agent_header=f"realtalk websockets/{websockets_version}",
        )
    except InvalidStatus as exc:
        raw = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        body = redact_text(raw[:_BODY_KEPT])
        shown = body[:_BODY_SHOWN] + ("..." if len(body) > _BODY_SHOWN else "")
        raise HandshakeError(
            f"the server refused the WebSocket handshake with HTTP {exc.response.status_code}"
            + (f": {shown}" if body else ""),
            status=exc.response.status_code,
            body=body,
        ) from None
    except InvalidURI as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    "url",
                    redact_url(exc.uri),
                    "is not a valid WebSocket URL",
                    "write it as wss://<host>[:<port>]/<path>",
                )
            ]
        ) from None
    except ValueError as exc:  # urllib's "Port out of range", "Invalid IPv6 URL"
        raise ConfigError(
            [ConfigProblem("url", redact_url(url), f"is not a valid URL ({exc})", "fix the URL")]
        ) from None
    except InvalidHandshake as exc:
        raise HandshakeError(f"invalid WebSocket handshake: {redact_text(str(exc))}") from None
    except TimeoutError:
        raise TransportError(f"connecting timed out after {open_timeout:g}s") from None
    except OSError as exc:
        raise TransportError(f"could not connect: {exc.strerror or exc}") from None
    return WebSocketTransport(connection)
