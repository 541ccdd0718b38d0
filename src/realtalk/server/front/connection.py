"""One live session: a :class:`ServerSession` driven over a :class:`Channel`.

The channel is the narrow seam to the transport: a WebSocket here (:class:`WebSocketChannel`),
a WebRTC data channel elsewhere. :class:`Connection` feeds the session what the client sends and
the time, runs the engine work it asks for as supervised tasks, and sends what it produces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from aiohttp import WSMsgType, web

from realtalk.server.core.session import ServerSession, SessionType
from realtalk.server.core.settings import read_settings
from realtalk.server.core.work import (
    CancelWork,
    Close,
    Send,
    TurnTimings,
    Work,
    WorkResult,
)
from realtalk.server.front.worker import run_work

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer

__all__ = ["Channel", "ChannelClosed", "Connection", "SessionRoute", "WebSocketChannel"]

logger = logging.getLogger("realtalk.server")


class ChannelClosed(Exception):
    """The peer is gone: nothing more can be sent."""


class Channel(Protocol):
    """What a :class:`Connection` needs from a transport."""

    async def receive(self, timeout: float | None) -> str | bytes | None:
        """The next client message; None once the peer closed. Raises TimeoutError."""

    async def send(self, text: str) -> None:
        """Send one server event; raises :class:`ChannelClosed` if the peer is gone."""

    async def close(self, code: int, reason: str) -> None: ...

    @property
    def close_code(self) -> int | None: ...


class WebSocketChannel:
    """An aiohttp server WebSocket as a :class:`Channel`."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def receive(self, timeout: float | None) -> str | bytes | None:
        while True:
            message = await self.ws.receive(timeout=timeout)
            if message.type is WSMsgType.TEXT:
                text: str = message.data
                return text
            if message.type is WSMsgType.BINARY:
                data: bytes = message.data
                return data
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None
            if message.type is WSMsgType.ERROR:
                # e.g. a message over max_msg_size: aiohttp has closed with 1009 already.
                return None

    async def send(self, text: str) -> None:
        if self.ws.closed:
            raise ChannelClosed
        try:
            await self.ws.send_str(text)
        except ConnectionResetError as exc:
            raise ChannelClosed from exc

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionResetError):
            await self.ws.close(code=code, message=reason.encode())

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code


@dataclass(frozen=True, slots=True)
class SessionRoute:
    """What the route that accepted a connection decided about its session."""

    path: str
    """The route's path (for logs; never the query, which may carry a key)."""
    dialect: Literal["ga", "beta"]
    flavor: Literal["openai", "azure"]
    model: str
    session: dict[str, Any] | None = None
    """The session config of the client secret that opened it, applied before session.created."""
    session_type: SessionType | None = None
    """From ``intent``; None: the client secret's session type, else realtime."""


class Connection:
    """Drives one ServerSession over one channel; :meth:`run` returns when it is over."""

    def __init__(self, server: RealtimeServer, channel: Channel, route: SessionRoute) -> None:
        self.server = server
        self.channel = channel
        self.route = route
        self.loop = asyncio.get_running_loop()
        self.session = ServerSession(
            dialect=route.dialect,
            flavor=route.flavor,
            model=route.model,
            vad=server.engines.new_vad(),
            config=server.config,
            session=route.session,
            session_type=route.session_type,
            early_transcription=server.engines.transcriber.early_transcription,
            end_of_turn=server.engines.end_of_turn is not None,
        )
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self._pending_pumps: set[asyncio.Task[None]] = set()
        self.recorder: Any = None
        self._turn_seen: dict[str, Any] | None = None
        """The session object whose turn detection was last looked at (semantic_vad_asked)."""

    def now(self) -> float:
        return self.loop.time() * 1000.0

    async def run(self) -> None:
        started = time.monotonic()
        self.server.connections.add(self)
        self.server.sessions_started += 1
        if self.server.config.record is not None:
            from realtalk.recording import server_recorder

            self.recorder = server_recorder(self.server.config, self.route)
        try:
            self.session.start(self.now())
            if self.server.engines.end_of_turn_missing is not None:
                self._note_semantic_vad()
            await self._pump()
            timer = asyncio.create_task(self._timer())
            try:
                await self._read()
            finally:
                timer.cancel()
                for task in [*self._tasks.values(), *self._pending_pumps]:
                    task.cancel()
                await asyncio.gather(
                    timer, *self._tasks.values(), *self._pending_pumps, return_exceptions=True
                )
        finally:
            self.server.connections.discard(self)
            self._log_end(time.monotonic() - started)
            if self.recorder is not None:
                self.recorder.update_header(session_id=self._session_id())
                self.recorder.note("closed", code=self.channel.close_code)
                await asyncio.to_thread(self.recorder.close)

    async def shutdown(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Close from the server's side (the server is stopping)."""
        self._closing = True
        await self.channel.close(code, reason)

    def _log_end(self, seconds: float) -> None:
        # One structured line per connection (``realtalk serve -v``); never a key or a query.
        session_id = self._session_id()
        logger.info(
            "connection path=%s dialect=%s flavor=%s type=%s session=%s close=%s seconds=%.1f",
            self.route.path,
            self.route.dialect,
            self.route.flavor,
            self.session.session_type,
            session_id,
            self.channel.close_code,
            seconds,
        )

    def _session_id(self) -> str | None:
        return self.session.session.get("id") if self.session.session else None

    def _log_turn(self, timings: TurnTimings) -> None:
        # One structured line per turn (``realtalk serve -v``): where the time went.
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}"

        logger.info(
            "turn session=%s response=%s status=%s origin=%s first_audio_ms=%s vad_ms=%s "
            "transcription_ms=%s brain_ms=%s synthesis_ms=%s",
            self._session_id(),
            timings.response_id,
            timings.status,
            timings.origin,
            ms(timings.first_audio_ms),
            ms(timings.vad_ms),
            ms(timings.transcription_ms),
            ms(timings.brain_ms),
            ms(timings.synthesis_ms),
        )

    async def _read(self) -> None:
        idle = self.server.config.idle_timeout_s
        while not self._closing:
            try:
                message = await self.channel.receive(idle)
            except TimeoutError:
                self._closing = True
                await self.channel.close(1000, "idle timeout")
                return
            if message is None:
                return
            if self.recorder is not None:
                self.recorder.wire("client", message)
            self.session.receive(message, self.now())
            if self.server.engines.end_of_turn_missing is not None:
                self._note_semantic_vad()
            self._wake.set()
            await self._pump()

    def _note_semantic_vad(self) -> None:
        # The end-of-turn model is missing: it matters (and is logged, once per server) only
        # when a session asks for semantic_vad, not at start-up. A session update makes a new
        # session object, so an append costs an identity check here.
        session = self.session.session
        if session is self._turn_seen or not session:
            return
        self._turn_seen = session
        turn = read_settings(self.session.dialect, session).turn
        if turn is not None and turn.kind == "semantic_vad":
            self.server.engines.semantic_vad_asked()

    async def _timer(self) -> None:
        while True:
            self._wake.clear()
            deadline = self.session.next_deadline()
            timeout = None if deadline is None else max(0.0, (deadline - self.now()) / 1000.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self.session.tick(self.now())
            await self._pump()

    def _feed(self, result: WorkResult) -> None:
        self.session.feed(result, self.now())
        self._wake.set()
        task = asyncio.create_task(self._pump())
        self._pending_pumps.add(task)
        task.add_done_callback(self._pending_pumps.discard)

    async def _run_work(self, work: Work) -> None:
        try:
            await run_work(work, self.server.engines, self._feed)
        finally:
            self._tasks.pop(work.work_id, None)

    async def _pump(self) -> None:
        async with self._lock:
            for out in self.session.outgoing():
                if isinstance(out, Send):
                    if self._closing:
                        continue
                    if self.recorder is not None:
                        self.recorder.wire("server", out.text)
                    try:
                        await self.channel.send(out.text)
                    except ChannelClosed:
                        self._closing = True
                elif isinstance(out, Close):
                    self._closing = True
                    await self.channel.close(out.code, out.reason)
                elif isinstance(out, TurnTimings):
                    self.server.record_timings(out)
                    self._log_turn(out)
                    if self.recorder is not None:
                        self.recorder.event(out)
                elif isinstance(out, CancelWork):
                    task = self._tasks.pop(out.work_id, None)
                    if task is not None:
                        task.cancel()
                else:
                    self._tasks[out.work_id] = asyncio.create_task(self._run_work(out))
