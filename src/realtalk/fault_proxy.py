"""A loopback TCP proxy that injects network faults, so recovery can be tested for real.

The proxy listens on ``127.0.0.1`` and forwards every byte between a client and an upstream
server, until you tell it to misbehave::

    from realtalk import testing

    async with testing.FaultProxy() as proxy:
        runner = rt.Runner(agent, provider=testing.local(), connector=proxy.connector)
        async with runner.connect() as session:
            proxy.cut("rst")                                    # now, every live connection
            proxy.schedule("fin", on_message=lambda m: "response.created" in m)
            proxy.schedule("stall", after=2.0, duration=5.0)   # a black hole for 5 s
            proxy.delay(0.15)                                   # 150 ms more latency each way

Faults (what the peers see is what a real network does to them):

``"rst"``
    Both sockets are closed with ``SO_LINGER`` 0, so each peer gets a TCP reset
    (``ECONNRESET``); bytes still queued in the proxy are lost, and a reset may also discard
    bytes already in the peer's kernel buffers, as a real reset does.
``"fin"``
    Both sockets are shut down cleanly at the TCP level with no WebSocket close frame: the
    peers read end-of-file (a WebSocket client reports close code 1006).
``"stall"``
    Nothing more is forwarded in either direction and the sockets stay open: a black hole,
    like a dead NAT entry. It lasts until :meth:`FaultProxy.resume`, a cut, or ``duration``
    seconds; then the held bytes flow on in order. A peer that gives up on a stalled connection
    (closes its end) gets it dropped: the other peer sees a reset.

Triggers for :meth:`FaultProxy.schedule` (exactly one):

``after=seconds``
    that long after the call, on every connection live at that moment (when none is, on the
    next connection as soon as it opens: a reconnect that is cut at once);
``after_bytes=n``
    once ``n`` more bytes have passed in ``direction`` on one connection: the ``n``-th byte is
    the last one forwarded;
``on_message=predicate``
    when a complete WebSocket text message travelling in ``direction`` makes
    ``predicate(text)`` true: the fault takes effect just *before* that message is forwarded,
    so the peer never receives it (everything before it is forwarded first).

``direction`` is ``"to_client"`` (server to client, the default) or ``"to_server"``. Messages
are read with websockets' own frame parser; compressed messages (permessage-deflate, which
realtalk's client does not negotiate by default) cannot be read, so ``on_message`` never
fires on a connection that compresses. A scheduled fault fires once; ``await fault.wait()``
returns its :class:`FaultRecord`, and :attr:`FaultProxy.faults` lists every fault that fired.

The upstream is given as ``FaultProxy(upstream=(host, port))`` (then route clients with
:meth:`FaultProxy.url`), or left out and learnt from the URL the :attr:`FaultProxy.connector`
is asked to open, which is how a :class:`~realtalk.providers.Local` provider is proxied.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from realtalk.transports import Transport

__all__ = [
    "Direction",
    "FaultKind",
    "FaultProxy",
    "FaultRecord",
    "ProxiedConnection",
    "ScheduledFault",
]

FaultKind = Literal["rst", "fin", "stall"]
Direction = Literal["to_client", "to_server"]

_CHUNK = 65536
_QUEUED_CHUNKS = 64  # per direction; a full queue stops reading, so back-pressure is real
_FIN_LINGER = 5.0  # seconds a FIN-cut side may take to close its end before it is dropped
_HEAD_LIMIT = 65536


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One fault that took effect."""

    kind: FaultKind
    connection: int
    """:attr:`ProxiedConnection.id` of the connection hit."""
    at: float
    """The event loop's clock (``loop.time()``) when it took effect."""
    message: str | None = None
    """For an ``on_message`` trigger: the message the peer did not receive."""


class ScheduledFault:
    """A fault waiting for its trigger (from :meth:`FaultProxy.schedule`)."""

    def __init__(
        self,
        kind: FaultKind,
        *,
        after: float | None,
        after_bytes: int | None,
        on_message: Callable[[str], bool] | None,
        direction: Direction,
        duration: float | None,
    ) -> None:
        self.kind: FaultKind = kind
        self.after = after
        self.after_bytes = after_bytes
        self.on_message = on_message
        self.direction: Direction = direction
        self.duration = duration
        self.record: FaultRecord | None = None
        self._fired = asyncio.get_running_loop().create_future()
        self._counted: dict[int, int] = {}  # connection id -> bytes seen since scheduling
        self._cancelled = False

    def __repr__(self) -> str:
        trigger = (
            f"after={self.after!r}"
            if self.after is not None
            else f"after_bytes={self.after_bytes!r}"
            if self.after_bytes is not None
            else "on_message=..."
        )
        state = "fired" if self.fired else "cancelled" if self._cancelled else "pending"
        return f"ScheduledFault({self.kind!r}, {trigger}, {self.direction}, {state})"

    @property
    def fired(self) -> bool:
        return self.record is not None

    @property
    def pending(self) -> bool:
        return not self.fired and not self._cancelled

    def cancel(self) -> None:
        """Forget the fault if it has not fired yet."""
        if self.pending:
            self._cancelled = True
            self._fired.cancel()

    async def wait(self, timeout: float | None = None) -> FaultRecord:
        """Wait until the fault fires; raises :class:`TimeoutError` after ``timeout`` s."""
        return await asyncio.wait_for(asyncio.shield(self._fired), timeout)

    def _fire(self, record: FaultRecord) -> None:
        self.record = record
        if not self._fired.done():
            self._fired.set_result(record)


@dataclass(slots=True)
class _Message:
    text: str
    start: int  # stream offsets of the message's first and one-past-last byte
    end: int


class _MessageTap:
    """Finds complete WebSocket text messages in one direction of a proxied byte stream.

    Feed it the bytes as they pass; it reports each message with its stream offsets. It gives
    up (``broken``) on anything it cannot read: a handshake that is not a 101, compressed
    frames, or garbage.
    """

    def __init__(self, *, masked: bool) -> None:
        self._masked = masked
        self._reader = StreamReader()
        self._fed = 0
        self._found: list[_Message] = []
        self.broken: str | None = None
        self._parser = self._parse()
        next(self._parser)

    def feed(self, data: bytes) -> list[_Message]:
        if self.broken is not None:
            return []
        self._reader.feed_data(data)
        self._fed += len(data)
        try:
            next(self._parser)
        except StopIteration:
            self.broken = "the stream ended"
        except (ProtocolError, EOFError, RuntimeError) as exc:
            self.broken = f"unreadable WebSocket stream ({exc})"
        found, self._found = self._found, []
        return found

    def _offset(self) -> int:
        return self._fed - len(self._reader.buffer)

    def _parse(self) -> Generator[None, None, None]:
        first = yield from self._reader.read_line(_HEAD_LIMIT)
        if not self._masked and bytes(first).split()[1:2] != [b"101"]:
            self.broken = "the handshake was not answered with 101"
            return
        while bytes((yield from self._reader.read_line(_HEAD_LIMIT))) not in (b"\r\n", b"\n"):
            pass
        parts: list[bytes] = []
        opcode: Opcode | None = None
        start = 0
        while True:
            frame_start = self._offset()
            frame = yield from Frame.parse(
                self._reader.read_exact, mask=self._masked, max_size=None, extensions=[]
            )
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                opcode, parts, start = frame.opcode, [bytes(frame.data)], frame_start
            elif frame.opcode is Opcode.CONT and opcode is not None:
                parts.append(bytes(frame.data))
            else:
                continue  # ping, pong, close
            if frame.fin:
                if opcode is Opcode.TEXT:
                    text = b"".join(parts).decode("utf-8", "replace")
                    self._found.append(_Message(text, start, self._offset()))
                opcode, parts = None, []


@dataclass(slots=True)
class _Chunk:
    """Bytes read from one side, with the messages that end in them."""

    data: bytes
    start: int  # stream offset of data[0]
    messages: list[_Message]


_EOF = object()


class _Pipe:
    """One direction of a proxied connection: a reader task and a writer task with a queue
    between them (the queue carries the delay and the stall)."""

    def __init__(
        self,
        link: ProxiedConnection,
        direction: Direction,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.link = link
        self.direction: Direction = direction
        self.reader = reader
        self.writer = writer
        self.queue: asyncio.Queue[tuple[float, object]] = asyncio.Queue(_QUEUED_CHUNKS)
        self.tap = _MessageTap(masked=direction == "to_server")
        self.offset = 0
        self.messages = 0
        self._last_due = 0.0

    async def read_loop(self) -> None:
        proxy = self.link.proxy
        loop = asyncio.get_running_loop()
        while True:
            data = await self.reader.read(_CHUNK)
            if not data:
                if self.link.stalled:
                    # A peer gave up on a black hole: nothing can reach it any more, so the
                    # connection is dropped.
                    self.link._close("rst")
                    return
                await self.queue.put((0.0, _EOF))
                return
            chunk = _Chunk(data, self.offset, self.tap.feed(data))
            self.offset += len(data)
            self.messages += len(chunk.messages)
            due = loop.time() + proxy._delays[self.direction]
            self._last_due = max(due, self._last_due)
            await self.queue.put((self._last_due, chunk))

    def _next_hit(
        self, chunk: _Chunk, pos: int, first: int
    ) -> tuple[int, ScheduledFault, str | None, int] | None:
        """The first trigger in ``chunk`` at or after byte ``pos`` (messages from index
        ``first`` on not yet judged): (where, fault, message, next message index). Triggers
        are judged when the bytes are about to reach the peer, never earlier."""
        faults = self.link.proxy._pending(self.direction)
        best: tuple[int, ScheduledFault, str | None] | None = None
        for fault in faults:
            if fault.after_bytes is not None:
                left = fault.after_bytes - fault._counted.get(self.link.id, 0)
                at = pos + max(left, 0)
                if at <= len(chunk.data) and (best is None or at < best[0]):
                    best = (at, fault, None)
        watchers = [f for f in faults if f.on_message is not None]
        index = first
        while watchers and index < len(chunk.messages):
            message = chunk.messages[index]
            at = max(message.start - chunk.start, pos)
            if best is not None and at >= best[0]:
                break
            index += 1
            for fault in watchers:
                assert fault.on_message is not None
                if fault.on_message(message.text):
                    return at, fault, message.text, index
        if best is None:
            return None
        return best[0], best[1], best[2], index

    async def write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, piece = await self.queue.get()
            await self.link._flowing.wait()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                await self.link._flowing.wait()
            if piece is _EOF:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                return
            assert isinstance(piece, _Chunk)
            pos, first = 0, 0
            while True:
                hit = self._next_hit(piece, pos, first)
                end = len(piece.data) if hit is None else hit[0]
                if end > pos:
                    await self._forward(piece.data[pos:end])
                pos = end
                if hit is None:
                    break
                _, fault, message, first = hit
                self.link._apply(fault.kind, fault, message)
                if self.link.closed.is_set():
                    return  # cut: nothing after the trigger is forwarded
                await self.link._flowing.wait()  # a stall holds the rest

    async def _forward(self, data: bytes) -> None:
        for fault in self.link.proxy._pending(self.direction):
            if fault.after_bytes is not None:
                fault._counted[self.link.id] = fault._counted.get(self.link.id, 0) + len(data)
        self.writer.write(data)
        await self.writer.drain()


class ProxiedConnection:
    """One client connection through the proxy and its upstream connection."""

    def __init__(self, proxy: FaultProxy, link_id: int) -> None:
        self.proxy = proxy
        self.id = link_id
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pipes: list[_Pipe] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._resume_timer: asyncio.TimerHandle | None = None
        self.closed = asyncio.Event()

    def __repr__(self) -> str:
        state = "closed" if self.closed.is_set() else "stalled" if self.stalled else "open"
        return f"ProxiedConnection(id={self.id}, {state})"

    @property
    def stalled(self) -> bool:
        return not self._flowing.is_set()

    @property
    def bytes_to_client(self) -> int:
        return self._pipe("to_client").offset if self._pipes else 0

    @property
    def bytes_to_server(self) -> int:
        return self._pipe("to_server").offset if self._pipes else 0

    @property
    def messages_to_client(self) -> int:
        """Complete text messages the server sent through this connection."""
        return self._pipe("to_client").messages if self._pipes else 0

    def _pipe(self, direction: Direction) -> _Pipe:
        return next(p for p in self._pipes if p.direction == direction)

    def cut(self, how: Literal["rst", "fin"] = "rst") -> None:
        """Cut this connection now (see the module docstring for ``"rst"`` and ``"fin"``)."""
        self._apply(how, None, None)

    def stall(self, duration: float | None = None) -> None:
        """Stop forwarding (both ways) until :meth:`resume`, or for ``duration`` seconds."""
        self._apply("stall", None, None, duration)

    def resume(self) -> None:
        """Forward again what a stall held back, in order."""
        if self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_timer = None
        self._flowing.set()

    def _apply(
        self,
        kind: FaultKind,
        fault: ScheduledFault | None,
        message: str | None,
        duration: float | None = None,
    ) -> None:
        if self.closed.is_set() or (fault is not None and not fault.pending):
            return  # gone, or the fault fired on another connection a moment ago
        loop = asyncio.get_running_loop()
        record = FaultRecord(kind, self.id, loop.time(), message)
        self.proxy.faults.append(record)
        if fault is not None:
            fault._fire(record)
            duration = fault.duration
        if kind == "stall":
            self._flowing.clear()
            if duration is not None:
                if self._resume_timer is not None:
                    self._resume_timer.cancel()
                self._resume_timer = loop.call_later(duration, self.resume)
            return
        self._close(kind)

    def _close(self, how: Literal["rst", "fin"]) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self._flowing.set()
        if self._resume_timer is not None:
            self._resume_timer.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for writer in self._writers:
            if how == "rst":
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                writer.transport.abort()
            else:
                self.proxy._spawn(
                    _finish(writer, self._reader_of(writer)), f"realtalk-fault-proxy-fin-{self.id}"
                )

    async def _run(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self._streams = [client, upstream]
        self._writers = [client[1], upstream[1]]
        self._pipes = [
            _Pipe(self, "to_server", client[0], upstream[1]),
            _Pipe(self, "to_client", upstream[0], client[1]),
        ]
        for pipe in self._pipes:
            self._tasks.append(asyncio.create_task(pipe.read_loop()))
            self._tasks.append(asyncio.create_task(pipe.write_loop()))
        pending: set[asyncio.Task[None]] = set(self._tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.cancelled() or task.exception() is None:
                    continue
                exc = task.exception()
                if exc is not None and not isinstance(exc, (ConnectionError, OSError)):
                    self.proxy.errors.append(exc)  # a bug in the proxy, raised by aclose()
                # A peer that reset or vanished: the other peer sees a reset too.
                self._close("rst")
        # Both directions ended with a FIN forwarded each way: close our ends.
        self._close("fin")

    def _abort(self) -> None:
        """Stop everything of this link at once (the proxy is closing)."""
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.transport.abort()

    def _reader_of(self, writer: asyncio.StreamWriter) -> asyncio.StreamReader | None:
        for reader, candidate in self._streams:
            if candidate is writer:
                return reader
        return None


async def _finish(writer: asyncio.StreamWriter, reader: asyncio.StreamReader | None) -> None:
    """Send a FIN, let the peer close its end (so our close is not a reset), then close."""
    await asyncio.sleep(0)  # let the cancelled pipe tasks leave the reader first
    transport = writer.transport
    if transport.is_closing():
        return
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
    if reader is not None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            async with asyncio.timeout(_FIN_LINGER):
                while await reader.read(_CHUNK):
                    pass
    transport.close()


class FaultProxy:
    """A loopback TCP proxy that cuts, stalls and delays connections on demand.

    Use it as ``async with FaultProxy(...) as proxy:`` (or :meth:`start` / :meth:`aclose`).
    See the module docstring for the faults and triggers.
    """

    def __init__(self, upstream: tuple[str, int] | None = None, *, port: int = 0) -> None:
        self.upstream = upstream
        self._port = port
        self._server: asyncio.Server | None = None
        self._links: list[ProxiedConnection] = []
        self._scheduled: list[ScheduledFault] = []
        self._timers: list[asyncio.TimerHandle] = []
        self._next_connection: list[ScheduledFault] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._delays: dict[Direction, float] = {"to_client": 0.0, "to_server": 0.0}
        self.faults: list[FaultRecord] = []
        """Every fault that took effect, oldest first."""
        self.errors: list[BaseException] = []
        """Unexpected exceptions inside the proxy; :meth:`aclose` raises the first."""
        self.accepted = 0
        """Connections accepted so far."""

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self.port}" if self._server is not None else "not started"
        return f"FaultProxy({where}, live={len(self.connections)}, faults={len(self.faults)})"

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FaultProxy:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        return self

    async def aclose(self) -> None:
        """Stop listening, cut every connection, wait for the proxy's tasks; raises the first
        unexpected exception the proxy met, if any."""
        for timer in self._timers:
            timer.cancel()
        for fault in self._scheduled:
            fault.cancel()
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link._close("rst")
            link._abort()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self.errors:
            raise self.errors[0]

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fault proxy is not started: use `async with FaultProxy()`")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def connections(self) -> list[ProxiedConnection]:
        """Connections open now, oldest first."""
        return [link for link in self._links if not link.closed.is_set()]

    # -- routing ----------------------------------------------------------------------------

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's; the first call also sets
        the upstream when none was given."""
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"the URL needs an explicit host and port to be proxied: {url!r}")
        if self.upstream is None:
            self.upstream = (parts.hostname, parts.port)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))

    async def connector(
        self, url: str, headers: Mapping[str, str], subprotocols: Sequence[str] = ()
    ) -> Transport:
        """A :data:`~realtalk.transports.Connector` that opens realtalk's WebSocket transport
        through this proxy (pass it as ``Runner(..., connector=proxy.connector)``)."""
        from realtalk.transports.websocket import connect_websocket

        return await connect_websocket(self.url(url), headers, subprotocols)

    # -- faults -----------------------------------------------------------------------------

    def cut(self, how: Literal["rst", "fin"] = "rst") -> int:
        """Cut every live connection now; returns how many were cut."""
        live = self.connections
        for link in live:
            link.cut(how)
        return len(live)

    def stall(self, duration: float | None = None) -> int:
        """Stall every live connection (until :meth:`resume`, or ``duration`` s)."""
        live = self.connections
        for link in live:
            link.stall(duration)
        return len(live)

    def resume(self) -> None:
        """End every stall."""
        for link in self.connections:
            link.resume()

    def delay(self, seconds: float, direction: Direction | Literal["both"] = "both") -> None:
        """Add ``seconds`` of latency to every byte read from now on (order is kept)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        for side in ("to_client", "to_server") if direction == "both" else (direction,):
            self._delays[side] = seconds

    def schedule(
        self,
        kind: FaultKind,
        *,
        after: float | None = None,
        after_bytes: int | None = None,
        on_message: Callable[[str], bool] | None = None,
        direction: Direction = "to_client",
        duration: float | None = None,
    ) -> ScheduledFault:
        """Arm one fault with one trigger (see the module docstring); it fires once.

        ``duration`` applies to ``"stall"`` only: seconds until forwarding resumes.
        """
        if kind not in ("rst", "fin", "stall"):
            raise ValueError(f"unknown fault {kind!r}: use 'rst', 'fin' or 'stall'")
        triggers = [t for t in (after, after_bytes, on_message) if t is not None]
        if len(triggers) != 1:
            raise ValueError("give exactly one trigger: after=, after_bytes= or on_message=")
        if after_bytes is not None and after_bytes < 1:
            raise ValueError("after_bytes must be at least 1")
        if after is not None and after < 0:
            raise ValueError("after cannot be negative")
        if duration is not None and kind != "stall":
            raise ValueError("duration applies to a 'stall' only")
        fault = ScheduledFault(
            kind,
            after=after,
            after_bytes=after_bytes,
            on_message=on_message,
            direction=direction,
            duration=duration,
        )
        if after is not None:
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(after, self._fire_timed, fault))
        else:
            self._scheduled.append(fault)
        return fault

    def _fire_timed(self, fault: ScheduledFault) -> None:
        if not fault.pending:
            return
        live = self.connections
        if not live:
            self._next_connection.append(fault)  # nobody to hit now: the next one, at once
            return
        for link in live:
            link._apply(fault.kind, fault, None)

    @staticmethod
    def _loop_call(link: ProxiedConnection, fault: ScheduledFault) -> None:
        # After _run has set the link up, so a cut closes both of its sockets.
        asyncio.get_running_loop().call_soon(link._apply, fault.kind, fault, None)

    def _pending(self, direction: Direction) -> list[ScheduledFault]:
        self._scheduled = [f for f in self._scheduled if f.pending]
        return [f for f in self._scheduled if f.direction == direction]

    # -- plumbing ---------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, (ConnectionError, OSError)):
                assert exc is not None
                self.errors.append(exc)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = ProxiedConnection(self, self.accepted)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        if self.upstream is None:
            writer.transport.abort()
            self.errors.append(
                RuntimeError("a client connected before the fault proxy knew its upstream")
            )
            return
        try:
            upstream = await asyncio.open_connection(*self.upstream)
        except OSError:
            # The server is down: the client sees its connection reset, as it would directly.
            link._writers = [writer]
            link._close("rst")
            return
        self._links.append(link)
        for fault in self._next_connection:
            if fault.pending:
                self._loop_call(link, fault)
        self._next_connection.clear()
        try:
            await link._run((reader, writer), upstream)
        finally:
            self._links.remove(link)
