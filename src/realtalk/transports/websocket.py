"""The real transport: a WebSocket client on ``websockets``.

permessage-deflate is off by default: audio does not compress, and on loopback deflate tripled
the client's CPU per audio event. One server message may carry a large audio delta or a full
conversation item, so the inbound size limit is generous (``max_size``, 64 MiB by default) but
never absent: websockets checks a frame's declared length before reading it, so an oversized
message costs no memory and closes the connection with 1009. The session runs its own
keepalive over :meth:`WebSocketTransport.ping` and :meth:`~WebSocketTransport.abort` (websockets'
built-in one is for direct users of :func:`connect_websocket`): a pong stuck behind a backlog
the app has not read yet must not count as a dead socket.

Every message out passes :meth:`WebSocketTransport.send`. Every message in goes from the
connection's protocol callback into an :class:`~realtalk.transports.inbox.Inbox` instead of
websockets' own queue: :meth:`~WebSocketTransport.recv` takes from it, and the session's reader
takes :meth:`~WebSocketTransport.inbox` to handle an audio delta during that callback (one hop
through the event loop less per message; see the inbox's module).
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
from collections.abc import Awaitable, Mapping, Sequence
from typing import cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WSConnectionClosed
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode, Frame, Opcode
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
from realtalk.transports.inbox import Inbox

__all__ = ["WebSocketTransport", "connect_websocket"]

_READ_BYTES = 256 * 1024  # one socket read at most, as asyncio's own read path takes
_FEED_BYTES = 64 * 1024  # handed to websockets' parser at a time

_BODY_SHOWN = 200  # characters of a refusal's body in the message
_BODY_KEPT = 2000  # characters kept in HandshakeError.body


class _Connection(ClientConnection, asyncio.BufferedProtocol):
    """websockets' client connection, reading the socket into one buffer of its own and
    putting each complete message into an :class:`Inbox`.

    The inbox takes the place of websockets' own message queue (its ``Assembler``): a data
    frame is joined to its fragments here, in the protocol callback that parsed it, and put in
    the inbox, so that a reader can handle it in that same callback (:attr:`Inbox.fast`); every
    other frame (ping, pong, close) is websockets' as ever. The inbox pauses and resumes the
    socket's reading at websockets' ``max_queue`` marks, as its queue does.

    The buffer:

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
        reads = cast(asyncio.Transport, transport)
        # websockets 15 keeps the max_queue marks as two attributes, 14 as one (high, low).
        high, low = getattr(self, "max_queue_high", None), getattr(self, "max_queue_low", None)
        if not hasattr(self, "max_queue_high"):
            high, low = getattr(self, "max_queue", (16, None))
        self.inbox = Inbox(high, low, pause=reads.pause_reading, resume=reads.resume_reading)
        self._fragments: list[bytes] = []
        self._fragmented: Opcode | None = None
        self._failed = False  # a text message was not UTF-8: nothing after it is delivered

    def process_event(self, event: object) -> None:
        if type(event) is not Frame or self.response is None:
            super().process_event(event)  # type: ignore[arg-type]  # the handshake's response
            return
        opcode = event.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if event.fin:
                self._put(opcode, event.data)
            else:
                self._fragmented, self._fragments = opcode, [bytes(event.data)]
        elif opcode is Opcode.CONT:
            # websockets' parser lets a continuation through only after a fragmented start.
            self._fragments.append(bytes(event.data))
            if event.fin and self._fragmented is not None:
                data, self._fragments = b"".join(self._fragments), []
                self._put(self._fragmented, data)
                self._fragmented = None
        else:
            super().process_event(event)

    def _put(self, opcode: Opcode, data: bytes | bytearray | memoryview) -> None:
        if self._failed:
            return
        if opcode is not Opcode.TEXT:
            self.inbox.put(bytes(data))
            return
        try:
            text = bytes(data).decode()
        except UnicodeDecodeError as exc:
            # A text message that is not UTF-8 fails the connection with 1007 (RFC 6455,
            # 8.1), as websockets' own recv() does; the inbox then ends with that close.
            self._failed = True
            self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            # A failed write of the close ends the connection: connection_lost reports it.
            with contextlib.suppress(Exception):
                self.send_data()
            return
        self.inbox.put(text)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.inbox.close(_closed(self.protocol.close_exc))

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

    def __init__(self, connection: _Connection) -> None:
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
        message = await self._ws.inbox.get()
        if isinstance(message, bytes):
            return message.decode("utf-8", "replace")
        return message  # type: ignore[return-value]  # nothing installed inbox.fast

    def inbox(self) -> Inbox:
        """The connection's inbound messages, for the session's reader (instead of
        :meth:`recv`): it awaits :meth:`Inbox.get` and handles an audio delta in the protocol
        callback through :attr:`Inbox.fast`. Items are ``str`` (text frames) and ``bytes``
        (binary ones); the end raises :class:`~realtalk.errors.ConnectionClosed`."""
        return self._ws.inbox

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


_REFUSALS = {1007: "a text message was not UTF-8", 1009: "message too big"}


def _closed(exc: WSConnectionClosed) -> ConnectionClosed:
    sent = exc.sent
    if sent is not None and sent.code in _REFUSALS and (exc.rcvd is None or not exc.rcvd_then_sent):
        # We refused a message: oversized, or text that is not UTF-8 (the server's close, if
        # any, only echoes ours).
        return ConnectionClosed(sent.code, sent.reason or _REFUSALS[sent.code], by_client=True)
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
            create_connection=_Connection,
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
    return WebSocketTransport(cast(_Connection, connection))
