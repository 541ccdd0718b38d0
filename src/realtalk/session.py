"""Session: one live conversation, driving the sans-I/O protocol over a transport.

The session owns three asyncio pieces and nothing else: the reader task (transport ->
protocol -> app queue), the tool tasks, and the futures that let ``update()`` wait for the
server's answer. Everything about the wire is in :class:`~realtalk.protocol.ClientProtocol`.

Configuration layers, lowest first, the same on connect and on handoff::

    provider defaults < Runner(config=...) < current Agent < session.update(...) at run time

Only the difference from what the server confirmed is ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from realtalk.agent import Agent
from realtalk.arguments import check_text, check_update
from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    CommitAudio,
    CreateItem,
    CreateResponse,
    ResponseOptions,
    UpdateSession,
)
from realtalk.config import (
    UNSET,
    AudioFormat,
    Effective,
    Layer,
    SessionConfig,
    diff,
    is_set,
    merge,
)
from realtalk.errors import (
    ConnectionClosed,
    InvalidState,
    RealtalkError,
    ServerError,
    TransportError,
)
from realtalk.event_queue import EventQueue, Overflow, QueueClosed
from realtalk.events import (
    AudioDelta,
    AudioDone,
    AudioTranscriptDelta,
    AudioTranscriptDone,
    ContentPartAdded,
    ContentPartDone,
    ErrorEvent,
    Event,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    GuardrailTripped,
    Handoff,
    HistoryUpdated,
    InputAudioCommitted,
    InputTranscriptCompleted,
    Interrupted,
    ItemAdded,
    ItemDeleted,
    ItemDone,
    ItemTruncated,
    OutputItemAdded,
    OutputItemDone,
    ProtocolViolation,
    RawMessage,
    ResponseCreated,
    ResponseDone,
    SessionCreated,
    SessionError,
    SessionIdle,
    SessionReady,
    SessionUpdated,
    SessionWarning,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    TextDone,
    TurnMetrics,
)
from realtalk.guardrails import GuardrailFailed, GuardrailOutcome, GuardrailRunner, OutputGuardrail
from realtalk.items import ErrorInfo, FunctionCallItem, InputText, Item, MessageItem
from realtalk.options import SessionOptions
from realtalk.playback import PlaybackTracker
from realtalk.protocol import ClientProtocol, ResponseState
from realtalk.recording import RECORDED_EVENTS, Recorder
from realtalk.tool_calls import ToolCalls
from realtalk.transports import Transport

if TYPE_CHECKING:
    from realtalk.conversation import Conversation
    from realtalk.providers import Provider

__all__ = ["Overflow", "Session", "SessionOptions", "merge_layers"]


# Codes after which the session cannot go on (protocol.md 7.2 / 10.5).
FATAL_CODES = frozenset(
    {
        "session_expired",
        "beta_api_shape_disabled",
        "invalid_api_key",
        "insufficient_quota",
    }
)

# Events of a response that realtalk stops delivering once that response is interrupted.
_RESPONSE_STREAM = (
    AudioDelta,
    AudioDone,
    AudioTranscriptDelta,
    AudioTranscriptDone,
    TextDelta,
    TextDone,
    ContentPartAdded,
    ContentPartDone,
    FunctionCallArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
)

# Events after which the history (items, transcripts) has changed in a way the app may show.
_HISTORY_EVENTS = (
    ItemAdded,
    ItemDone,
    ItemDeleted,
    ItemTruncated,
    InputTranscriptCompleted,
    AudioTranscriptDone,
    TextDone,
    FunctionCallArgumentsDone,
)


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
        self.agent = agent
        self.call_id = call_id
        """The SIP call this session is attached to (``Runner.attach``), else None."""
        self.options = options or SessionOptions()
        self._runner_config = runner_config or SessionConfig()
        self._runtime = SessionConfig()
        self._guardrail_list = tuple(guardrails)
        self._connector = connector
        self._proto = ClientProtocol(
            provider.dialect,
            validate=provider.validate,
            on_send=provider.apply_on_send,
            retain_audio=self.options.retain_audio,
        )
        self._transport: Transport | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events: EventQueue[Event] = EventQueue(
            self.options.queue_size, self.options.overflow, on_overflow=self._on_overflow
        )
        self._created: asyncio.Future[SessionCreated] | None = None
        self._update_waiters: deque[tuple[str, asyncio.Future[SessionConfig]]] = deque()
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._close_error: RealtalkError | None = None
        self._dropped_responses: set[str] = set()
        self._tools = ToolCalls(self)
        self._turn_started_at: float | None = None
        self._first_audio: dict[str, float] = {}
        self._first_text: dict[str, float] = {}
        self._response_text: dict[str, str] = {}
        self._converters: dict[AudioFormat, Any] = {}
        self._tripped: set[str] = set()
        self._judging: set[str] = set()  # responses whose final guardrail check still runs
        self._background: set[asyncio.Task[Any]] = set()
        self._closer: asyncio.Task[None] | None = None
        self._recorder: Recorder | None = None
        self._guards = self._make_guardrail_runner()
        self._effective = self._compute_effective()
        loop = asyncio.get_running_loop()
        self.playback = PlaybackTracker(loop.time)
        self._loop = loop

    # -- public state -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"Session(provider={type(self.provider).__name__}, agent={self.agent.name!r}, "
            f"state={self._proto.state.value})"
        )

    @property
    def effective_config(self) -> Effective:
        """The merged configuration and, per field, which layer set it."""
        return self._effective

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
        items: list[Item] = []
        for entry in self._proto.conversation.entries():
            if entry.item is not None:
                items.append(entry.item)
        return items

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
        return self._closed

    @property
    def idle(self) -> bool:
        """True when nothing is under way: no response active or queued, no tool call running,
        no tool output waiting for its follow-up response, no guardrail still judging a reply.
        The :class:`~realtalk.events.SessionIdle` event marks the moment it becomes true."""
        return (
            self._proto.response_state is ResponseState.IDLE
            and self._proto.queued_responses == 0
            and not self._tools.busy
            and not self._judging
        )

    def dropped(self, response_id: str) -> bool:
        """True when the events of ``response_id`` are no longer delivered (interrupted)."""
        return response_id in self._dropped_responses

    # -- lifecycle ----------------------------------------------------------------------------

    def _compute_effective(self) -> Effective:
        return merge_layers(self.provider, self._runner_config, self.agent, self._runtime)

    async def _open(self) -> None:
        # Validate before anything touches the network: bad config loses nothing.
        self.provider.validate(self._effective.config)
        handshake = self.provider.handshake()
        url, headers = await handshake if inspect.isawaitable(handshake) else handshake
        if self.call_id is not None:
            url = self.provider.call_url(self.call_id)  # attach: ?call_id= instead of the model
        if self.options.record is not None:
            self._start_recording(url, headers)
        connector = self._connector
        if connector is None and self.provider.transport == "webrtc":
            from realtalk.transports.webrtc import open_call

            # The initial config travels with the SDP offer: right from the first moment.
            async def connector_fn(u: str, h: Mapping[str, str], s: Sequence[str]) -> Transport:
                timeout = self.options.connect_timeout
                return await open_call(self.provider, self._effective.config, timeout=timeout)

            connector = connector_fn
        elif connector is None:
            from realtalk.transports.websocket import connect_websocket

            async def connector_fn(u: str, h: Mapping[str, str], s: Sequence[str]) -> Transport:
                return await connect_websocket(u, h, s, open_timeout=self.options.connect_timeout)

            connector = connector_fn
        self._transport = await connector(url, headers, ())
        self._created = self._loop.create_future()
        self._reader = asyncio.create_task(self._read_loop(), name="realtalk-session-reader")
        try:
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
        self.playback.output_format = _fmt(self._proto.confirmed, "output_format")
        try:
            await self._sync_config(raise_errors=False)
        except TimeoutError:
            await self._emit(SessionWarning("the server did not confirm the session configuration"))
        await self._emit(SessionReady(self._proto.confirmed or created.config, self.session_id))

    async def close(self) -> None:
        """Close the connection and stop every task. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._proto.close()
        self._tools.cancel()
        if self._transport is not None:
            with contextlib.suppress(RealtalkError, OSError):
                await self._transport.close()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._guards.aclose()
        for background in list(self._background):
            background.cancel()
        tasks = self._tools.tasks() + list(self._background)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for _, update_waiter in self._update_waiters:
            if not update_waiter.done():
                update_waiter.set_exception(
                    InvalidState("the session closed before the server answered")
                )
        self._events.close()
        if self._recorder is not None:
            self._recorder.note("closed")
            await asyncio.to_thread(self._recorder.close)

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- events to the app --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events.__aiter__()

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event; raises :class:`ConnectionClosed` once the session has ended."""
        try:
            return await self._events.get(timeout)
        except QueueClosed:
            raise self._close_error or ConnectionClosed(None, "session closed") from None

    async def _emit(self, event: Event) -> None:
        if self._recorder is not None and type(event) in RECORDED_EVENTS:
            self._recorder.event(event)
        await self._events.put(event)

    def _start_recording(self, url: str, headers: Mapping[str, str]) -> None:
        from realtalk.recording import client_recorder

        def warn(message: str) -> None:
            if not self._closed:
                self._spawn(self._emit(SessionWarning(message)), "realtalk-recording-warning")

        def on_error(message: str) -> None:  # on the writer thread: not silent, not fatal
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                self._loop.call_soon_threadsafe(warn, message)

        self._recorder = client_recorder(self, url, headers, on_error)
        self._recorder.note("connecting")

    def _on_overflow(self) -> None:
        self._close_error = InvalidState(
            f"the app fell {self.options.queue_size} events behind (overflow='error')"
        )
        # Held, not fire-and-forget; not in _background, which close() itself cancels.
        self._closer = asyncio.create_task(self.close(), name="realtalk-overflow-close")

    # -- sending ------------------------------------------------------------------------------

    async def _flush(self) -> None:
        messages = self._proto.messages_to_send()
        if not messages or self._transport is None:
            return
        async with self._send_lock:
            for text in messages:
                if self._recorder is not None:
                    self._recorder.wire("client", text)
                if self.options.raw_tap:
                    await self._emit(RawMessage("out", text))
                await self._transport.send(text)

    async def _send(self, command: Any) -> str:
        if self._closed:
            raise InvalidState("the session is closed")
        event_id = self._proto.send(command)
        await self._flush()
        return event_id

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

    async def send_audio(
        self, audio: bytes, *, rate: int | None = None, format: AudioFormat | None = None
    ) -> None:
        """Append user audio. PCM16 at any ``rate`` or G.711 (``format``) is converted to the
        session's input format; chunks over 15 MiB are split. Also takes the bytes of a WAV file
        (its own rate is used) and numpy int16 or float ([-1, 1]) arrays: see
        :func:`realtalk.audio.user_audio`. Without ``rate=``, PCM16 is taken as 24 kHz."""
        from realtalk.audio import user_audio

        audio, source = user_audio(audio, rate=rate, format=format)
        media = getattr(self._transport, "send_audio", None)
        if media is not None:  # WebRTC: the audio goes on the outgoing Opus track
            if self._closed:
                raise InvalidState("the session is closed")
            await media(bytes(audio), source)
            return
        target = _fmt(self._proto.confirmed, "input_format")
        # One streaming converter per source format, so chunk boundaries do not click.
        from realtalk.audio import Converter  # numpy and soxr load on first audio, not import

        converter = self._converters.get(source)
        if converter is None or converter.to_format != target:
            converter = self._converters[source] = Converter(source, target)
        data = converter.process(audio) if source != target else audio
        limit = 15 * 1024 * 1024
        for start in range(0, len(data), limit):
            await self._send(AppendAudio(bytes(data[start : start + limit])))

    async def commit_audio(self, *, respond: bool = False) -> None:
        """Commit the input buffer (manual turns); optionally ask for a response."""
        self._turn_started_at = self._loop.time()
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
            return self._effective
        from realtalk.config import overlay

        previous = self._runtime
        self._runtime = overlay(self._runtime, layer)
        try:
            self._effective = self._compute_effective()
            await self._sync_config(raise_errors=True, hold_back_voice=False)
        except BaseException:
            self._runtime = previous
            self._effective = self._compute_effective()
            raise
        return self._effective

    async def _sync_config(
        self, *, raise_errors: bool, hold_back_voice: bool = True
    ) -> SessionConfig | None:
        """Send the diff between the confirmed session and the effective config; wait for it.

        On connect and handoff a voice the server can no longer take is kept back with a
        warning; an explicit run-time ``update(voice=...)`` goes to the server, whose error is
        raised to the caller.
        """
        update = await self._next_update(hold_back_voice=hold_back_voice)
        return await self._send_update(update, raise_errors=raise_errors)

    async def _next_update(self, *, hold_back_voice: bool) -> SessionConfig:
        """The diff from the confirmed session to the effective config, voice held back if asked."""
        update = diff(self._proto.confirmed or SessionConfig(), self._effective.config)
        if hold_back_voice:
            update = await self._hold_back_voice(update)
        return update

    async def _send_update(
        self, update: SessionConfig, *, raise_errors: bool
    ) -> SessionConfig | None:
        """Send ``update`` (if it says anything) and wait for the server's answer."""
        if not update.set_fields():
            return None
        waiter: asyncio.Future[SessionConfig] = self._loop.create_future()
        event_id = self._proto.send(UpdateSession(update))
        self._update_waiters.append((event_id, waiter))
        await self._flush()
        try:
            return await asyncio.wait_for(waiter, self.options.update_timeout)
        except ServerError as exc:
            if raise_errors:
                raise
            # Not silent: the session goes on, but on the server's previous configuration.
            await self._emit(
                SessionError(
                    f"the server rejected the session configuration, so the previous one stays "
                    f"in force: {exc}",
                    exc.code,
                    error=ErrorInfo(exc.message, exc.type, exc.code, exc.param, exc.event_id),
                )
            )
            return None

    async def _hold_back_voice(self, update: SessionConfig) -> SessionConfig:
        if not is_set(update.voice):
            return update
        has_audio = any(e.audio_bytes for e in self._proto.conversation.entries())
        if not has_audio:
            return update
        await self._emit(
            SessionWarning(
                f"voice {update.voice!r} kept back: the server cannot change the voice once the "
                "assistant has spoken in this conversation",
                field="voice",
            )
        )
        return update.replace(voice=UNSET)

    async def switch_agent(self, agent: Agent) -> SessionConfig:
        """Make ``agent`` the active agent, sending only what changes. Returns that update."""
        previous = self.agent
        self.agent = agent
        self._effective = self._compute_effective()
        if tuple(agent.output_guardrails) != tuple(previous.output_guardrails):
            old, self._guards = self._guards, self._make_guardrail_runner()
            self._spawn(old.aclose(), "realtalk-guardrail-close")
        try:
            update = await self._next_update(hold_back_voice=True)
            await self._send_update(update, raise_errors=True)
        except BaseException:
            self.agent = previous
            self._effective = self._compute_effective()
            raise
        await self._emit(Handoff(previous.name, agent.name, update))
        return update

    # -- interruption -------------------------------------------------------------------------

    async def interrupt(self, *, reason: str = "client") -> Interrupted:
        """Stop the assistant now.

        Cancels the active response (only if one is active), truncates the assistant's audio
        item at the played position, drops every later event of that response, and cancels
        its running tool calls.
        """
        response_id = self._proto.active_response_id
        if self._proto.response_state is ResponseState.ACTIVE and response_id is not None:
            await self._send(CancelResponse(response_id))
        if getattr(self._transport, "send_audio", None) is not None:
            await self._send(ClearOutputAudio())  # WebRTC: stop what the server still plays
        if response_id is not None:
            self._dropped_responses.add(response_id)
            self._cancel_tools(response_id)
        self._proto.cancel_queued_responses()
        item_id, end_ms = await self._truncate_playing()
        event = Interrupted(response_id, item_id, end_ms, reason)
        await self._emit(event)
        return event

    async def _truncate_playing(self) -> tuple[str | None, int | None]:
        item_id = self.playback.current_item_id
        if item_id is None:
            return None, None
        entry = self._proto.conversation.get(item_id)
        if entry is None or entry.truncated_at_ms is not None:
            return item_id, None
        played = self.playback.position_ms(item_id)
        end_ms = self._proto.conversation.clamp_played_ms(item_id, played)
        if end_ms >= int(
            self._proto.conversation.audio_ms(item_id)
        ) and not self.playback.is_playing(item_id):
            return item_id, None  # everything was heard: nothing to cut
        await self._send_truncate(item_id, end_ms)
        return item_id, end_ms

    async def _send_truncate(self, item_id: str, end_ms: int) -> None:
        entry = self._proto.conversation.get(item_id)
        if entry is not None:
            entry.truncated_at_ms = end_ms
        self._proto.truncate(item_id, end_ms)
        await self._flush()
        self.playback.forget(item_id)

    def _cancel_tools(self, response_id: str) -> None:
        self._tools.cancel(response_id)

    # -- tools --------------------------------------------------------------------------------

    def approve(self, call_id: str) -> None:
        """Let a tool call that needs approval run (a plain method: nothing to await)."""
        self._tools.resolve_approval(call_id, True, None)

    def reject(self, call_id: str, reason: str | None = None) -> None:
        """Refuse a tool call; the model is told it was rejected (and why). A plain method."""
        self._tools.resolve_approval(call_id, False, reason)

    # -- the reader ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self._transport is not None
        recorder = self._recorder
        try:
            while True:
                text = await self._transport.recv()
                if not isinstance(text, str):  # a media transport's AudioDelta (WebRTC)
                    self._proto.receive_event(text)
                else:
                    if recorder is not None:
                        recorder.wire("server", text)
                    if self.options.raw_tap:
                        await self._emit(RawMessage("in", text))
                    self._proto.receive_message(text)
                for event in self._proto.events_received():
                    await self._dispatch(event)
                if self._proto.has_messages_to_send:
                    await self._flush()
        except ConnectionClosed as exc:
            if not self._closed:
                self._close_error = exc
                code = exc.code
                fatal = code not in (1000, None)
                await self._emit(SessionError(f"connection closed: {exc}", None, fatal=fatal))
        except asyncio.CancelledError:
            raise
        except RealtalkError as exc:
            self._close_error = exc
            await self._emit(SessionError(str(exc), None, fatal=True))
        finally:
            if self._created is not None and not self._created.done():
                self._created.set_exception(
                    self._close_error or ConnectionClosed(None, "closed before session.created")
                )
            if not self._closed:
                self._closed = True
                self._proto.close()
                for _, waiter in self._update_waiters:
                    if not waiter.done():
                        waiter.set_exception(InvalidState("the connection closed"))
                self._tools.cancel()
                self._events.close()

    async def _dispatch(self, event: Any) -> None:
        if type(event) is AudioDelta:
            # The hot path, checked first: audio deltas are most of the traffic.
            rid = event.response_id
            if rid in self._dropped_responses:
                return
            self.playback.on_audio(event.item_id, len(event.audio))
            if rid not in self._first_audio:
                self._first_audio[rid] = self._loop.time()
            await self._emit(event)
            return
        match event:
            case SessionCreated():
                if self._created is not None and not self._created.done():
                    self._created.set_result(event)
            case SessionUpdated(config=config):
                if self._update_waiters:
                    _, waiter = self._update_waiters.popleft()
                    if not waiter.done():
                        waiter.set_result(config)
                self.playback.output_format = _fmt(config, "output_format")
            case ErrorEvent(error=error):
                for pair in list(self._update_waiters):
                    if pair[0] == error.event_id:
                        self._update_waiters.remove(pair)
                        if not pair[1].done():
                            pair[1].set_exception(
                                ServerError(
                                    error.message,
                                    code=error.code,
                                    type=error.type,
                                    param=error.param,
                                    event_id=error.event_id,
                                )
                            )
                if error.code in FATAL_CODES:
                    await self._emit(event)
                    await self._emit(SessionError(error.message, error.code, True, error))
                    return
            case ProtocolViolation(reason=reason):
                await self._emit(event)
                await self._emit(SessionError(f"malformed server message skipped: {reason}"))
                return
            case SpeechStarted():
                await self._emit(event)
                await self._on_barge_in()
                return
            case SpeechStopped() | InputAudioCommitted():
                self._turn_started_at = self._loop.time()
            case ResponseCreated(response=response):
                self._response_text[response.id] = ""
            case (
                AudioTranscriptDelta(response_id=rid, delta=delta)
                | TextDelta(response_id=rid, delta=delta)
            ):
                if rid in self._dropped_responses:
                    return
                self._first_text.setdefault(rid, self._loop.time())
                self._response_text[rid] = self._response_text.get(rid, "") + delta
                await self._emit(event)
                if self._guards:
                    self._guards.feed(rid, delta)
                return
            case FunctionCallArgumentsDone(response_id=rid, call_id=call_id, arguments=args):
                if rid in self._dropped_responses:
                    return
                name = event.name or self._call_name(event.item_id)
                await self._emit(event)
                self._tools.start(rid, call_id, name, args)
                await self._emit(HistoryUpdated(tuple(self.history)))
                return
            case ResponseDone(response=response):
                await self._on_response_done(event)
                return
        if isinstance(event, _RESPONSE_STREAM) and event.response_id in self._dropped_responses:
            return
        await self._emit(event)
        if isinstance(event, _HISTORY_EVENTS):
            await self._emit(HistoryUpdated(tuple(self.history)))

    def _call_name(self, item_id: str) -> str:
        entry = self._proto.conversation.get(item_id)
        if entry is not None and isinstance(entry.item, FunctionCallItem):
            return entry.item.name
        return ""

    async def _on_barge_in(self) -> None:
        """Server VAD heard the user: stop what the assistant is saying, like interrupt()."""
        response_id = self._proto.active_response_id
        playing = self.playback.current_item_id is not None and self.playback.is_playing()
        if response_id is None and not playing:
            return
        vad = self._proto.confirmed.turn_detection if self._proto.confirmed else None
        server_cancels = bool(vad) and getattr(vad, "interrupt_response", True) is not False
        if response_id is not None:
            self._dropped_responses.add(response_id)
            self._cancel_tools(response_id)
            if not server_cancels and self._proto.response_state is ResponseState.ACTIVE:
                await self._send(CancelResponse(response_id))
        item_id, end_ms = await self._truncate_playing()
        await self._emit(Interrupted(response_id, item_id, end_ms, "barge-in"))

    async def _on_response_done(self, event: ResponseDone) -> None:
        response = event.response
        rid = response.id
        self._tools.done_responses.add(rid)
        if self._guards:
            if rid in self._dropped_responses:
                self._spawn(self._guards.discard(rid), "realtalk-guardrail-discard")
            else:
                # The complete reply is checked too, however short; the result arrives through
                # _on_guardrail_outcome without holding up the event stream, and the turn is
                # not idle until the verdict is in (a trip belongs to this turn, not the next).
                text = self._response_text.get(rid, "")
                self._judging.add(rid)
                self._spawn(self._judge(rid, text), "realtalk-guardrail-final")
        # Metrics first: an app that stops reading at ResponseDone still gets them.
        started = self._turn_started_at
        if started is not None:
            now = self._loop.time()
            first_audio = self._first_audio.pop(rid, None)
            first_text = self._first_text.pop(rid, None)
            await self._emit(
                TurnMetrics(
                    rid,
                    (first_audio - started) * 1000.0 if first_audio else None,
                    (first_text - started) * 1000.0 if first_text else None,
                    (now - started) * 1000.0,
                    response.usage,
                )
            )
        await self._emit(event)
        self._response_text.pop(rid, None)
        await self._emit(HistoryUpdated(tuple(self.history)))
        await self._tools.maybe_continue(rid)
        await self._emit_if_idle(rid)

    async def _judge(self, rid: str, text: str) -> None:
        try:
            await self._guards.finish(rid, text)
        finally:
            self._judging.discard(rid)
        await self._emit_if_idle(rid)

    async def _emit_if_idle(self, rid: str | None) -> None:
        # Decided here, when the state changes, not when the app reads: by the time the app
        # sees a ResponseDone, later events may already be queued behind it.
        if self.idle and not self._closed:
            await self._emit(SessionIdle(rid))

    # -- guardrails ---------------------------------------------------------------------------

    def _make_guardrail_runner(self) -> GuardrailRunner:
        guards = tuple(self._guardrail_list) + tuple(self.agent.output_guardrails)
        return GuardrailRunner(guards, on_outcome=self._on_guardrail_outcome)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _on_guardrail_outcome(self, outcome: GuardrailOutcome) -> None:
        if isinstance(outcome, GuardrailFailed):
            await self._emit(
                SessionError(f"guardrail {outcome.name} failed: {outcome.message}", None)
            )
            return
        rid = outcome.response_id
        if rid in self._tripped or self._closed:
            return
        self._tripped.add(rid)
        if rid not in self._tools.done_responses and rid == self._proto.active_response_id:
            await self._send(CancelResponse(rid))
        self._dropped_responses.add(rid)
        self._cancel_tools(rid)
        item_id, end_ms = await self._truncate_playing()
        await self._emit(GuardrailTripped(outcome.name, rid, outcome.text, outcome.info))
        await self._emit(Interrupted(rid, item_id, end_ms, f"guardrail:{outcome.name}"))


def merge_layers(
    provider: Provider, runner_config: SessionConfig, agent: Agent, runtime: SessionConfig
) -> Effective:
    """The one precedence rule, for connect, handoff and ``Runner.explain`` alike: provider
    defaults < Runner < current Agent < run-time ``session.update``."""
    return merge(
        Layer("provider", provider.defaults()),
        Layer("runner", runner_config),
        Layer(f"agent:{agent.name}", agent.session_layer()),
        Layer("session.update", runtime),
    )


def _fmt(config: SessionConfig | None, name: str) -> AudioFormat:
    value = getattr(config, name, None) if config is not None else None
    return value if isinstance(value, AudioFormat) else AudioFormat.pcm16()
