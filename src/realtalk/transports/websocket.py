"""The real transport: a WebSocket client on ``websockets``.

permessage-deflate is off by default: audio does not compress, and on loopback deflate tripled
the client's CPU per audio event. The frame size limit is lifted because one server message may
carry a large audio delta or a full conversation item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WSConnectionClosed
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol
from websockets.version import version as websockets_version

from realtalk.errors import ConnectionClosed, HandshakeError, TransportError

__all__ = ["WebSocketTransport", "connect_websocket"]


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
    """Open a WebSocket; websockets' exceptions are translated to realtalk's tree."""
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
        body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        raise HandshakeError(
            f"the server refused the WebSocket handshake with HTTP {exc.response.status_code}"
            + (f": {body[:500]}" if body else ""),
            status=exc.response.status_code,
            body=body,
        ) from None
    except InvalidHandshake as exc:
        raise HandshakeError(f"invalid WebSocket handshake: {exc}") from None
    except TimeoutError:
        raise TransportError(f"connecting timed out after {open_timeout:g}s") from None
    except OSError as exc:
        raise TransportError(f"could not connect: {exc.strerror or exc}") from None
    return WebSocketTransport(connection)
