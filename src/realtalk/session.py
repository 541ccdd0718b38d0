"""Session: one live conversation, driving the sans-I/O protocol over a transport.

Everything about the wire is in :class:`~realtalk.protocol.ClientProtocol` (per-update and
per-response bookkeeping included); the session adds the asyncio pieces: the reader task
(transport -> protocol -> app queue), tool calls, guardrail checks and watchdogs, every one of
them under one :class:`~realtalk.supervisor.Supervisor`, and one connection state
(:class:`~realtalk.supervisor.Link`) that drives the teardown.

Two rules hold it together:

* **The reader never awaits the server.** Handling a received event never waits for a reply
  only the reader could read (a handoff's ``session.updated``, a follow-up response): such work
  runs as a supervised task.
* **Nothing ends silently.** A task that fails makes a fatal ``SessionError`` carrying the
  exception; it is delivered after the events queued before it, and then ``next_event()`` and
  ``async for`` raise (:class:`~realtalk.errors.SessionFailed`, or
  :class:`~realtalk.errors.ConnectionClosed` for a lost or closed connection).

Configuration (the layers and the ``session.update`` round trips) is in
:mod:`realtalk.config_sync`; the watchdogs are in :mod:`realtalk.watchdogs`. Three parts of the
class are defined in their own modules and bound in the class body: the reader and the event
dispatch (:mod:`realtalk.session_reader`), a turn's end and the one stop-response path
(:mod:`realtalk.session_turns`), the teardown, failures and a lost connection
(:mod:`realtalk.session_teardown`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from realtalk import events as ev
from realtalk import session_reader as reader
from realtalk import session_teardown as teardown
from realtalk import session_turns as turns
from realtalk.agent import Agent
from realtalk.arguments import check_text, check_update
from realtalk.commands import (
    AppendAudio,
    ClearAudio,
    ClearOutputAudio,
    ClientCommand,
    CommitAudio,
    CreateItem,
    CreateResponse,
    ResponseOptions,
)
from realtalk.config import AudioFormat, Effective, SessionConfig
from realtalk.config_sync import ConfigSync, merge_layers
from realtalk.errors import (
    ConnectionClosed,
    InvalidState,
    RealtalkError,
    TransportError,
)
from realtalk.event_queue import EventQueue, Overflow, QueueClosed
from realtalk.events import Event
from realtalk.guardrails import OutputGuardrail
from realtalk.input_audio import MAX_APPEND_BYTES, InputAudio, split_appends
from realtalk.items import ErrorInfo, InputImage, InputText, Item, MessageItem
from realtalk.options import SessionOptions
from realtalk.playback import PlaybackTracker
from realtalk.protocol import ClientProtocol, ResponseState
from realtalk.recording import RECORDED_EVENTS, Recorder
from realtalk.recovery import recovery_for
from realtalk.session_reader import audio_format
from realtalk.supervisor import Lifecycle, Link, Supervisor
from realtalk.tool_calls import ToolCalls
from realtalk.transports import Transport
from realtalk.watchdogs import keepalive, watch_stalls

if TYPE_CHECKING:
    from realtalk.conversation import Conversation
    from realtalk.providers import Provider

__all__ = ["Overflow", "Session", "SessionOptions", "merge_layers"]


class Session:
    """A live Realtime conversation. Open it with ``Runner.connect()``; iterate it for events."""

    def __init__(
        self,
        *,
        provider: Provider,
        agent: Agent,
        runner_config: SessionConfig | None = None,
        guardrails: Sequence[OutputGuardrail] = (),
        options: SessionOptions | None = None,
        connector: Callable[[str, Mapping[str, str], Sequence[str]], Awaitable[Transport]]
        | None = None,
        call_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.call_id = call_id
        """The SIP call this session is attached to (``Runner.attach``), else None."""
        self.options = options or SessionOptions()
        self._guardrail_list = tuple(guardrails)
        self._connector = connector
        self._proto = ClientProtocol(
            provider.dialect,
            validate=provider.validate,
            # Read once, at the session's start: without a hook the protocol takes its fast
            # paths (an append is written around its base64, never built as a dict first).
            on_send=provider.apply_on_send if provider.on_send is not None else None,
            retain_audio=self.options.retain_audio,
        )
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._link = Lifecycle()
        self._tasks = Supervisor(self._on_task_failure)
        self._failure: RealtalkError | None = None
        """What ``next_event()`` raises once the events before it are delivered."""
        self._teardown: asyncio.Task[None] | None = None
        self._transport: Transport | None = None
        self._media: Callable[[bytes, AudioFormat], Awaitable[None]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events: EventQueue[Event] = EventQueue(
            self.options.queue_size, self.options.overflow, on_overflow=self._on_overflow
        )
        self._created: asyncio.Future[ev.SessionCreated] = loop.create_future()
        # The send lock, written out (see _flush): a flush is writing / flushes waiting their turn.
        self._sending = False
        self._send_waiters: deque[asyncio.Future[None]] = deque()
        self._last_error: ErrorInfo | None = None
        self._last_response_id: str | None = None
        self._idle_reported = True
        self._stopping = 0
        self._last_inbound = loop.time()
        self._last_request = loop.time()
        self._lost_reason: str | None = None
        self._config = ConfigSync(
            provider,
            agent,
            runner_config or SessionConfig(),
            proto=self._proto,
            flush=self._flush,
            emit=self._emit,
            timeout=lambda: self.options.update_timeout,
            closed=lambda: self._link.ending,
        )
        self._tools = ToolCalls(self)
        self._recovery = recovery_for(self)
        self._turn_started_at: float | None = None
        self._input_audio = InputAudio()
        # The input format of the confirmed config send_audio last read (a frozen config is
        # replaced, never changed: by identity, one lookup per config, not per chunk).
        self._input_target: tuple[SessionConfig | None, AudioFormat] | None = None
        self._recorder: Recorder | None = None
        self._guards = self._make_guardrail_runner()
        self.playback = PlaybackTracker(loop.time)

    # -- public state -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"Session(provider={type(self.provider).__name__}, agent={self.agent.name!r}, "
            f"state={self._link.state.value})"
        )

    @property
    def state(self) -> Link:
        """The connection state (new, connecting, connected, ..., closed)."""
        return self._link.state

    @property
    def agent(self) -> Agent:
        """The active agent (a handoff changes it)."""
        return self._config.agent

    @property
    def effective_config(self) -> Effective:
        """The merged configuration and, per field, which layer set it."""
        return self._config.effective

    @property
    def confirmed_config(self) -> SessionConfig | None:
        """The session as the server last confirmed it."""
        return self._proto.confirmed

    @property
    def session_id(self) -> str | None:
        return self._proto.session_id

    @property
    def history(self) -> list[Item]:
        """Conversation items in server order, transcripts filled in."""
        return [e.item for e in self._proto.conversation.entries() if e.item is not None]

    def _history_tuple(self) -> tuple[Item, ...]:
        return tuple(self.history)

    @property
    def conversation(self) -> Conversation:
        """The :class:`~realtalk.conversation.Conversation`: entries with transcripts."""
        return self._proto.conversation

    @property
    def recording_path(self) -> Any:
        """The folder this session records into (``SessionOptions(record=...)``), or None."""
        return self._recorder.path if self._recorder is not None else None

    @property
    def closed(self) -> bool:
        return self._link.ending

    @property
    def idle(self) -> bool:
        """True when nothing of a turn is under way: no response requested, active or queued,
        no tool call running or being cancelled, no follow-up or handoff pending, no final
        guardrail verdict outstanding. :class:`~realtalk.events.SessionIdle` marks the moment
        it becomes true."""
        return not self._proto.busy and not self._tools.busy and self._stopping == 0

    def dropped(self, response_id: str) -> bool:
        """True when the events of ``response_id`` are no longer delivered (interrupted)."""
        record = self._proto.responses.lookup(response_id)
        return record is not None and record.stopped

    # -- what ToolCalls may use (realtalk.tool_calls.ToolHost) ---------------------------------

    @property
    def protocol(self) -> ClientProtocol:
        return self._proto

    @property
    def auto_respond_after_tools(self) -> bool:
        return self.options.auto_respond_after_tools

    async def emit(self, event: Event) -> None:
        await self._emit(event)

    async def send(self, command: ClientCommand) -> str:
        return await self._send(command)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self._tasks.spawn(coro, name)

    def tool_context(self) -> dict[str, Any]:
        return {"session": self}

    async def emit_if_idle(self) -> None:
        # Decided when the state changes, not when the app reads: by the time the app sees a
        # ResponseDone, later events may already be queued behind it.
        if self._idle_reported or not self.idle or self._link.ending:
            return
        self._idle_reported = True
        await self._emit(ev.SessionIdle(self._last_response_id))
        if self._recovery is not None:
            self._recovery.maybe_recycle()  # a turn boundary: the moment to recycle

    # -- lifecycle ----------------------------------------------------------------------------

    async def _connect_transport(self) -> Transport:
        handshake = self.provider.handshake()
        url, headers = await handshake if inspect.isawaitable(handshake) else handshake
        if self.call_id is not None:
            url = self.provider.call_url(self.call_id)  # attach: ?call_id= instead of the model
        if self.options.record is not None and self._recorder is None:
            self._start_recording(url, headers)
        if self._connector is not None:
            return await self._connector(url, headers, ())
        if self.provider.transport == "webrtc":
            from realtalk.transports.webrtc import open_call

            # The initial config travels with the SDP offer: right from the first moment.
            config = self._config.effective.config
            return await open_call(self.provider, config, timeout=self.options.connect_timeout)
        from realtalk.transports.websocket import connect_websocket

        opts = self.options
        return await connect_websocket(
            url,
            headers,
            (),
            open_timeout=opts.connect_timeout,
            ping_interval=None,  # the session's own keepalive (see _keepalive)
            max_size=opts.max_message_bytes,
        )

    def _attach(self, transport: Transport) -> None:
        """Make ``transport`` the session's connection: start reading it, keep it alive."""
        self._transport = transport
        # WebRTC's transport takes the audio on its media track: read once per transport.
        self._media = getattr(transport, "send_audio", None)
        self._lost_reason = None
        self._reader = self._tasks.spawn(self._read_loop(transport), "realtalk-session-reader")
        interval, timeout = self.options.keepalive_interval, self.options.keepalive_timeout
        if interval is not None and timeout is not None and hasattr(transport, "ping"):
            watch = keepalive(
                transport,
                interval,
                timeout,
                clock=self._loop.time,
                last_inbound=lambda: self._last_inbound,
                app_blocked=lambda: self._events.blocked,
                on_dead=self._set_lost_reason,
            )
            self._tasks.spawn(watch, "realtalk-keepalive")

    def _set_lost_reason(self, reason: str) -> None:
        self._lost_reason = reason

    async def _open(self) -> None:
        # Validate before anything touches the network: bad config loses nothing.
        self.provider.validate(self._config.effective.config)
        # The app reads only once the open returns: until then the queue takes every event,
        # or a queue_size below the opening events would leave the reader and the open each
        # waiting for the other ("block"), or drop or fail them on the way in.
        self._events.lift_bound()
        try:
            await self._open_connection()
        finally:
            self._events.restore_bound()

    async def _open_connection(self) -> None:
        self._link.move(Link.CONNECTING)
        try:
            self._attach(await self._connect_transport())
            created = await asyncio.wait_for(
                asyncio.shield(self._created), self.options.connect_timeout
            )
        except TimeoutError:
            await self.close()
            raise TransportError(
                f"no session.created within {self.options.connect_timeout:g}s"
            ) from None
        except BaseException:
            await self.close()
            raise
        self._link.move(Link.CONNECTED)
        self.playback.output_format = audio_format(self._proto.confirmed, "output_format")
        if self._recovery is not None:
            self._recovery.started()
        if self.options.response_stall_timeout is not None:
            stalls = watch_stalls(
                self.options.response_stall_timeout,
                clock=self._loop.time,
                last_progress=lambda: max(self._last_inbound, self._last_request),
                under_way=self._under_way,
                report=lambda message: self._emit(ev.SessionError(message, "response_stalled")),
            )
            self._tasks.spawn(stalls, "realtalk-stall-watch")
        try:
            await self._configure_on_open()
        except TimeoutError:
            await self._emit(
                ev.SessionWarning("the server did not confirm the session configuration")
            )
        await self._emit(ev.SessionReady(self._proto.confirmed or created.config, self.session_id))

    async def _configure_on_open(self) -> None:
        # The opening configuration step; realtalk.transcription's session replaces it.
        await self._config.sync(raise_errors=False)

    async def close(self) -> None:
        """Close the connection and stop every task (the whole teardown, always). Idempotent;
        a second caller waits for the first teardown to finish."""
        await asyncio.shield(self._start_teardown())

    def _under_way(self) -> str | None:
        if self._proto.response_state is ResponseState.IDLE:
            return None
        return self._proto.active_response_id or "(requested)"

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- events to the app --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        """Every event in order. Ends when the app closed the session; raises the failure
        (after delivering the fatal ``SessionError``) when it ended any other way."""
        return self._events.drain(self._raise_failure)

    def _raise_failure(self) -> None:
        failure = self._failure
        if failure is not None:
            raise failure from failure.__cause__

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event. Once the session has ended raises its failure
        (:class:`SessionFailed`, :class:`ConnectionClosed` with the close code), or
        ``ConnectionClosed(1000)`` after the app's own ``close()``."""
        try:
            return await self._events.get(timeout)
        except QueueClosed:
            if self._failure is not None:
                raise self._failure from self._failure.__cause__
            raise ConnectionClosed(1000, "the session was closed") from None

    async def _emit(self, event: Event) -> None:
        if self._recorder is not None and type(event) in RECORDED_EVENTS:
            self._recorder.event(event)
        await self._events.put(event)

    def _start_recording(self, url: str, headers: Mapping[str, str]) -> None:
        from realtalk.recording import client_recorder

        def warn(message: str) -> None:
            if not self._link.ending:
                self._tasks.spawn(
                    self._emit(ev.SessionWarning(message)), "realtalk-recording-warning"
                )

        def on_error(message: str) -> None:  # on the writer thread: not silent, not fatal
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                self._loop.call_soon_threadsafe(warn, message)

        self._recorder = client_recorder(self, url, headers, on_error)
        self._recorder.note("connecting")

    def _on_overflow(self) -> None:
        message = f"the app fell {self.options.queue_size} events behind (overflow='error')"
        self._fail(ev.SessionError(message, "queue_overflow", True), InvalidState(message))

    # -- sending ------------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Every outgoing wire message passes here, in order."""
        while self._link.state is Link.RECONNECTING and self._recovery is not None:
            await self._recovery.wait_connected()  # no connection to write to yet
        messages = self._proto.messages_to_send()
        if not messages or self._transport is None:
            return
        # One flush writes at a time, so each flush's messages go out together and in order.
        # An asyncio.Lock, written out: its acquire/release are three Python calls per append.
        if self._sending or self._send_waiters:
            await self._wait_send_turn()
        self._sending = True
        try:
            for text in messages:
                if self._recorder is not None:
                    self._recorder.wire("client", text)
                if self.options.raw_tap:
                    await self._emit(ev.RawMessage("out", text))
                await self._transport.send(text)
        finally:
            self._sending = False
            if self._send_waiters:
                self._wake_next_sender()

    async def _wait_send_turn(self) -> None:
        """Queue behind the flush writing now (first come, first served, as asyncio.Lock)."""
        turn = self._loop.create_future()
        waiters = self._send_waiters
        waiters.append(turn)
        try:
            try:
                await turn
            finally:
                waiters.remove(turn)
        except asyncio.CancelledError:
            if not self._sending:
                self._wake_next_sender()  # woken, then cancelled: the turn passes on
            raise

    def _wake_next_sender(self) -> None:
        # The head only, as asyncio.Lock does: a head already done was woken and has not run
        # yet, or was cancelled and passes the turn on when it runs; waking the one behind it
        # as well would let two flushes write at once.
        waiters = self._send_waiters
        if waiters and not waiters[0].done():
            waiters[0].set_result(None)

    async def _send(self, command: Any) -> str:
        recovery = self._recovery
        if recovery is not None:
            if recovery.connecting():
                await recovery.wait_connected()  # sent after the restore, in order
            command = recovery.sent(command)
        if self._link.ending:
            raise InvalidState("the session is closed")
        if isinstance(command, CreateResponse):
            self._idle_reported = False
            self._last_request = self._loop.time()
        event_id = self._proto.send(command)
        try:
            await self._flush()
        except ConnectionClosed:
            if recovery is None:
                raise
            # The reader sees the loss too; the restore re-sends what this asked for.
        return event_id

    async def _append(self, chunk: bytes) -> None:
        """``_send(AppendAudio(chunk))`` for send_audio's chunks (50 a second for a live
        microphone): the same steps without the ones only other commands take."""
        recovery = self._recovery
        if recovery is not None:
            if not recovery.usable:
                await recovery.wait_connected()
            recovery.audio.appended(chunk)  # what recovery.sent(AppendAudio(chunk)) does
        if self._link.ending:
            raise InvalidState("the session is closed")
        self._proto.append_audio(chunk)
        try:
            await self._flush()
        except ConnectionClosed:
            if recovery is None:
                raise

    async def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send a wire event as is (it still passes the provider's ``on_send`` hook)."""
        self._proto.send_raw(event)
        await self._flush()

    async def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a user text message and (by default) ask for a response."""
        check_text(text, "send_text(text)")
        self._turn_started_at = self._loop.time()
        await self._send(CreateItem(MessageItem("user", (InputText(text),))))
        if respond:
            await self._send(CreateResponse())

    async def send_image(
        self,
        image: bytes | str | os.PathLike[str],
        *,
        mime_type: str | None = None,
        detail: Literal["auto", "low", "high"] | None = None,
        text: str | None = None,
        respond: bool = False,
    ) -> None:
        """Add a user message with an image (``input_image``): PNG/JPEG bytes (sent as a data
        URL), a file path, or a ``data:``/``https:`` URL, checked here (see
        :func:`realtalk.images.image_part`). ``text`` goes in the same message; ``respond=True``
        asks for a response."""
        from realtalk.images import image_part

        part = image_part(image, mime_type=mime_type, detail=detail)
        content: tuple[InputText | InputImage, ...] = (part,)
        if text is not None:
            check_text(text, "send_image(text=)")
            content = (InputText(text), part)
        self._turn_started_at = self._loop.time()
        await self._send(CreateItem(MessageItem("user", content)))
        if respond:
            await self._send(CreateResponse())

    async def send_audio(
        self, audio: bytes, *, rate: int | None = None, format: AudioFormat | None = None
    ) -> None:
        """Append user audio. PCM16 at any ``rate`` or G.711 (``format``) is converted to the
        session's input format; chunks over 15 MiB are split. Also takes the bytes of a WAV file
        (its own rate is used) and numpy int16 or float ([-1, 1]) arrays: see
        :func:`realtalk.audio.user_audio`. Without ``rate=``, PCM16 is taken as 24 kHz."""
        inp = self._input_audio
        stream = inp.stream
        if (
            stream is not None
            and rate is stream[0]
            and format is None
            and type(audio) is bytes
            and not len(audio) % 2
            and audio[:4] != b"RIFF"
        ):
            # The stream's next chunk: what accept would return unchanged (see stream).
            source = stream[1]
        else:
            stream = None
            given = audio
            audio, source = inp.accept(audio, rate=rate, format=format)
        recovery = self._recovery
        if recovery is not None and not recovery.usable:
            await recovery.wait_connected()  # WebRTC: onto the new call's track
        media = self._media
        if media is not None:  # WebRTC: the audio goes on the outgoing Opus track
            if self._link.ending:
                raise InvalidState("the session is closed")
            await media(bytes(audio), source)
            return
        confirmed, cached = self._proto.confirmed, self._input_target
        if cached is not None and cached[0] is confirmed:
            target = cached[1]
        else:
            target = audio_format(confirmed, "input_format")
            self._input_target = (confirmed, target)
        if stream is not None and stream[2] is target and inp.stream is stream:
            process = stream[3]
            out = audio if process is None else process(audio)
            if len(out) <= MAX_APPEND_BYTES:
                if out:  # (a resampler gives nothing for about one chunk in three)
                    await self._append(out)
                return
            chunks = split_appends(out)
        else:
            chunks = inp.convert(audio, source, target)
            if stream is None and format is None and type(given) is bytes and audio is given:
                inp.keep_stream(rate, source, target)  # plain PCM16 bytes: the next takes it
            else:
                inp.stream = None
        for chunk in chunks:
            await self._append(chunk)

    async def commit_audio(self, *, respond: bool = False) -> None:
        """Commit the input buffer (manual turns); optionally ask for a response. What the
        resamplers still hold is sent first, so the turn ends with its last sample."""
        self._turn_started_at = self._loop.time()
        for chunk in self._input_audio.flush():
            await self._send(AppendAudio(chunk))
        await self._send(CommitAudio())
        if respond:
            await self._send(CreateResponse())

    async def clear_audio(self) -> None:
        await self._send(ClearAudio())

    async def create_response(self, options: ResponseOptions | None = None) -> None:
        """Ask for a response; queued (not refused) while another is active."""
        if self._turn_started_at is None:
            self._turn_started_at = self._loop.time()
        await self._send(CreateResponse(options))

    async def create_item(self, item: Item, previous_item_id: str | None = None) -> None:
        await self._send(CreateItem(item, previous_item_id))

    # -- configuration ------------------------------------------------------------------------

    async def update(self, config: SessionConfig | None = None, /, **fields: Any) -> Effective:
        """Change the session at run time; returns once the server confirmed it.

        ``await session.update(turn_detection=None)`` switches VAD off (explicit ``None`` is
        sent as ``null``). Run-time updates are the highest layer and survive handoffs. Raises
        :class:`ConfigError` before sending when invalid, and :class:`ServerError` when the
        server rejects the update (the previous configuration then stays in force).
        """
        if self.closed:
            raise InvalidState("the session is closed")
        check_update(config, fields)
        layer = (config or SessionConfig()).replace(**fields) if fields else config
        if layer is None:
            return self._config.effective
        return await self._config.update(layer)

    async def switch_agent(self, agent: Agent) -> SessionConfig:
        """Make ``agent`` the active agent, sending only what changes. Returns that update.

        Waits for the server's ``session.updated``: never call it from the reader."""
        previous = self.agent
        update = await self._config.switch_agent(agent)
        if tuple(agent.output_guardrails) != tuple(previous.output_guardrails):
            old, self._guards = self._guards, self._make_guardrail_runner()
            self._tasks.spawn(old.aclose(), "realtalk-guardrail-close")
        await self._emit(ev.Handoff(previous.name, agent.name, update))
        return update

    # -- stopping a response: interrupt, barge-in, guardrail trip ------------------------------

    async def interrupt(self, *, reason: str = "client") -> ev.Interrupted:
        """Stop the assistant now.

        Cancels the active response (only if one is active), truncates the assistant's audio
        item at the played position, drops every later event of that response, and cancels
        the turn's running tool calls (no follow-up comes). The turn still ends in
        ``SessionIdle``.
        """
        self._proto.cancel_queued_responses()
        if self._media is not None:
            await self._send(ClearOutputAudio())  # WebRTC: stop what the server still plays
        return await self._stop(self._proto.active_response_id, reason, cancel=True, turn=True)

    # -- tools --------------------------------------------------------------------------------

    def approve(self, call_id: str) -> None:
        """Let a tool call that needs approval run (a plain method: nothing to await)."""
        self._tools.resolve_approval(call_id, True, None)

    def reject(self, call_id: str, reason: str | None = None) -> None:
        """Refuse a tool call; the model is told it was rejected (and why). A plain method."""
        self._tools.resolve_approval(call_id, False, reason)

    # -- the parts that live in their own modules -----------------------------------------------
    # Methods defined beside the class (pure moves, no wrapper on the hot path): the reader
    # (every incoming message, the event dispatch), a turn's end and the one stop-response path
    # (interrupt, barge-in, guardrail trip), and the end of the session (teardown, failure,
    # lost connection).

    _read_loop = reader.read_loop
    _dispatch = reader.dispatch
    _history_event = reader.history_event

    _on_response_done = turns.on_response_done
    _stop = turns.stop
    _truncate_playing = turns.truncate_playing
    _on_barge_in = turns.on_barge_in
    _make_guardrail_runner = turns.make_guardrail_runner
    _final_verdict = turns.final_verdict
    _on_guardrail_outcome = turns.on_guardrail_outcome

    _start_teardown = teardown.start_teardown
    _close = teardown.run_teardown
    _fail = teardown.fail
    _on_task_failure = teardown.on_task_failure
    _on_connection_lost = teardown.on_connection_lost
