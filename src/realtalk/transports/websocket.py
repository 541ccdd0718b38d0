"""The real transport: a WebSocket client on ``websockets``.

permessage-deflate is off by default: audio does not compress, and on loopback deflate tripled
the client's CPU per audio event. One server message may carry a large audio delta or a full
conversation item, so the inbound size limit is generous (``max_size``, 64 MiB by default) but
never absent: websockets checks a frame's declared length before reading it, so an oversized
message costs no memory and closes the connection with 1009. The session runs its own
keepalive over :meth:`WebSocketTransport.ping` and :meth:`~WebSocketTransport.abort` (websockets'
built-in one is for direct users of :func:`connect_websocket`): a pong stuck behind a backlog
the app has not read yet must not count as a dead socket.

Every message in and out passes :meth:`WebSocketTransport.send` / :meth:`~WebSocketTransport.recv`
(the session's reader takes :meth:`~WebSocketTransport.direct_reads`: the same reads, without
``recv``'s own coroutine).
"""

from __future__ import annotations

import asyncio
import mmap
from collections.abc import Awaitable, Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WSConnectionClosed
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol
from websockets.version import version as websockets_version

from realtalk.errors import (
    LOST_CONNECTION,
    ConfigError,
    ConfigProblem,
    ConnectionClosed,
    HandshakeError,
    TransportError,
)
from realtalk.redact import install_log_redaction, redact_text, redact_url
from realtalk.transports import DirectReads

__all__ = ["WebSocketTransport", "connect_websocket"]

_READ_BYTES = 256 * 1024  # one socket read at most, as asyncio's own read path takes
_FEED_BYTES = 64 * 1024  # handed to websockets' parser at a time

_BODY_SHOWN = 200  # characters of a refusal's body in the message
_BODY_KEPT = 2000  # characters kept in HandshakeError.body


class _ReadIntoOneBuffer(ClientConnection, asyncio.BufferedProtocol):
    """websockets' client connection, reading the socket into one buffer of its own.

    asyncio's plain read path allocates a fresh 256 KiB ``bytes`` per socket read, and
    websockets appends each to its parser's buffer: both blocks sit around glibc's mmap and trim
    thresholds (128 KiB, moved at run time), so whether a read landed in reused memory or in
    fresh pages (``brk`` up and down, a page fault per 4 KiB touched) depended on the process's
    heap history. The same client on 8,000 100 ms audio deltas, in processes whose heaps differed
    by 30 KiB of earlier allocations: 57 or 650 ``brk`` calls, 0.03 or 2.4 page faults per
    event, and the CPU per event apart by about as much as realtalk and the bare loop
    (docs/performance.md). Reading into a buffer that lives as long as the connection, and
    handing the parser at most 64 KiB at a time, keeps every allocation of a read below those
    thresholds: 56-63 ``brk`` calls and at most 0.013 faults per event whatever the heap's
    history, with the same socket reads. The buffer is an anonymous mapping: a page costs memory
    only once a read has reached it, so a session that never gets a backlog holds a page or two.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._read_view = memoryview(mmap.mmap(-1, _READ_BYTES))
        super().connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        view = self._read_view
        # websockets' parser copies what it is fed (StreamReader.feed_data extends a bytearray),
        # so no view of the shared buffer outlives this call.
        for start in range(0, nbytes, _FEED_BYTES):
            self.data_received(view[start : min(nbytes, start + _FEED_BYTES)])  # type: ignore[arg-type]


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

    def direct_reads(self) -> DirectReads:
        """What :meth:`recv` does, in parts, for the session's reader: websockets' own
        ``recv``, the exception that ends it and its translation. The reader awaits the
        connection directly: :meth:`recv` is a coroutine of its own per message, about 1 % of
        a 20 ms audio delta's whole cost in the client (callgrind). A binary frame comes back as
        ``bytes``; the reader decodes it as :meth:`recv` does."""
        return self._ws.recv, WSConnectionClosed, _closed

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._ws.close(code, reason)

    async def ping(self) -> Awaitable[float]:
        """Send a ping; awaiting the result waits for the pong (and gives the latency in s)."""
        try:
            return await self._ws.ping()
        except WSConnectionClosed as exc:
            raise _closed(exc) from None

    def abort(self) -> None:
        """Drop the connection at once, without a closing handshake (a dead peer)."""
        self._ws.transport.abort()


MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Default limit of one inbound message."""


def _closed(exc: WSConnectionClosed) -> ConnectionClosed:
    sent = exc.sent
    if sent is not None and sent.code == 1009 and (exc.rcvd is None or not exc.rcvd_then_sent):
        # We refused an oversized message (the server's close, if any, only echoes ours).
        return ConnectionClosed(1009, sent.reason or "message too big", by_client=True)
    if exc.rcvd is not None:
        return ConnectionClosed(exc.rcvd.code, exc.rcvd.reason)
    # No close frame came: RST, FIN, a keepalive timeout (websockets then sends 1011 itself).
    reason = "the connection was lost"
    if sent is not None and sent.reason:
        reason += f" ({sent.reason})"
    return ConnectionClosed(LOST_CONNECTION, reason)


async def connect_websocket(
    url: str,
    headers: Mapping[str, str],
    subprotocols: Sequence[str] = (),
    *,
    open_timeout: float = 10.0,
    compression: bool = False,
    ping_interval: float | None = 10.0,
    ping_timeout: float | None = 10.0,
    max_size: int | None = MAX_MESSAGE_BYTES,
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
            max_size=max_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            user_agent_header=f"realtalk websockets/{websockets_version}",
            create_connection=_ReadIntoOneBuffer,
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
