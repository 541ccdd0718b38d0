"""The session's reader: every incoming wire message, and the dispatch of its events.

The reader task runs :func:`read_loop` (transport -> protocol -> :func:`dispatch` -> the app's
queue); on a transport with an inbox, an audio delta takes the synchronous part of that path in
the socket's callback while the task waits (:func:`_taker`). It never awaits the server:
handling an event only sends, never waits for a reply that only the reader could read. These
functions are :class:`~realtalk.session.Session` methods, defined here and bound in the class
body (``Session._read_loop`` is :func:`read_loop`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from realtalk import events as ev
from realtalk.config import AudioFormat, SessionConfig
from realtalk.errors import ConnectionClosed
from realtalk.recording import RECORDED_EVENTS

if TYPE_CHECKING:
    from realtalk.session import Session
    from realtalk.transports import Transport
    from realtalk.transports.inbox import Inbox

if ev.AudioDelta in RECORDED_EVENTS:  # the reader's hot path skips _emit's recorder check
    raise RuntimeError("read_loop's audio path must record AudioDelta as _emit does")

# Events of a response that realtalk stops delivering once that response is interrupted.
_RESPONSE_STREAM = (
    ev.AudioDelta,
    ev.AudioDone,
    ev.AudioTranscriptDelta,
    ev.AudioTranscriptDone,
    ev.TextDelta,
    ev.TextDone,
    ev.ContentPartAdded,
    ev.ContentPartDone,
    ev.FunctionCallArgumentsDelta,
    ev.OutputItemAdded,
    ev.OutputItemDone,
)

# Events after which the history (items, transcripts) has changed in a way the app may show.
_HISTORY_EVENTS = (
    ev.ItemAdded,
    ev.ItemDone,
    ev.ItemDeleted,
    ev.ItemTruncated,
    ev.InputTranscriptCompleted,
    ev.AudioTranscriptDone,
    ev.TextDone,
    ev.FunctionCallArgumentsDone,
)


async def read_loop(self: Session, transport: Transport) -> None:
    """Every incoming wire message passes here. Handling never awaits the server.

    A transport with an :class:`~realtalk.transports.inbox.Inbox` (the WebSocket one) gets the
    synchronous part of the handling as its ``fast`` handler: an audio delta is then decoded,
    counted and queued for the app in the socket's own callback, while this task waits; what
    needs awaiting (dispatching any other event, a full queue under "block") comes back to this
    task, in order."""
    take = _taker(self)
    opened = getattr(transport, "inbox", None)
    inbox: Inbox | None = opened() if opened is not None else None
    get: Callable[[], Awaitable[object]] = inbox.get if inbox is not None else transport.recv
    tap = self.options.raw_tap  # the tap is awaited: every message then comes to this task
    if inbox is not None and not tap:
        inbox.fast = take
    try:
        while True:
            item = await get()
            if type(item) is tuple:  # what the fast handler left to this task
                pending = cast(Pending, item)
            else:
                message = cast("str | bytes | ev.AudioDelta", item)
                if tap and isinstance(message, str | bytes):
                    if isinstance(message, bytes):
                        message = message.decode("utf-8", "replace")
                    await self._emit(ev.RawMessage("in", message))
                left = take(message)
                if left is None:
                    continue
                pending = left
            kind, value = pending
            if kind is _PUT:
                await self._events.put(value)
                continue
            self._config.settle()
            for event in value:
                if self._recovery is not None and self._recovery.observe(event):
                    continue  # the server showing back a replayed item
                await self._dispatch(event)
            if self._proto.has_messages_to_send:
                await self._flush()
    except ConnectionClosed as exc:
        if not self._link.ending:
            await self._on_connection_lost(exc)
    finally:
        if inbox is not None:
            inbox.fast = None


_PUT = "put"  # an audio delta for a full queue: the reader awaits its put
_DISPATCH = "dispatch"  # the events of a message, for the reader to dispatch


def _taker(self: Session) -> Callable[[str | bytes | ev.AudioDelta], Pending | None]:
    """The handling of one message that needs no awaiting, as one function: None when it is
    done (an audio delta queued for the app), else the part left for the reader."""
    proto = self._proto
    receive, received, receive_event = proto.receive, proto.events_received, proto.receive_event
    # Set before a transport is attached (Session._connect_transport), never changed after.
    recorder = self._recorder
    put_nowait = self._events.put_nowait
    clock = self._loop.time
    if type(self._loop).time is asyncio.BaseEventLoop.time:
        clock = time.monotonic  # what asyncio's own loops return, one Python call less

    def take(message: str | bytes | ev.AudioDelta) -> Pending | None:
        self._last_inbound = clock()
        if isinstance(message, bytes):  # a binary frame: read as text, as recv() does
            message = message.decode("utf-8", "replace")
        if isinstance(message, str):
            audio = receive(message)  # an audio delta comes back, decoded and counted
            if audio is None:
                events = received()
            if recorder is not None:
                # With what it decoded to: the recorder writes a delta's audio from the
                # event instead of parsing and decoding the message again.
                recorder.wire("server", message, events if audio is None else (audio,))
        else:  # a media transport's AudioDelta (WebRTC)
            receive_event(message)
            events = received()
            audio = events[0] if len(events) == 1 and type(events[0]) is ev.AudioDelta else None
        if audio is None:
            return (_DISPATCH, events)
        # The hot path: the audio delta alone. It answers no session.update (nothing to
        # settle), is no item the recovery could be shown back (it observes no audio) and
        # makes the protocol write nothing (every sender flushes its own messages; the
        # reader's flush is for what handling an event queues). What dispatch does for it,
        # without its coroutine and _emit's: AudioDelta is no recorded runtime event (the wire
        # record has it), and a queue with room takes it at once (only a full one under
        # "block" is left to the reader to await).
        if not keep_audio(self, audio) or put_nowait(audio):
            return None
        return (_PUT, audio)

    return take


Pending = tuple[str, Any]
"""What :func:`_taker`'s function leaves to the reader: ``(_PUT, delta)`` or
``(_DISPATCH, events)``."""


def keep_audio(self: Session, event: ev.AudioDelta) -> bool:
    """An audio delta's bookkeeping before it goes to the app; False when it is dropped."""
    record = self._proto.responses.get(event.response_id)
    if record is None:
        # Audio of a response retired a moment ago (a media track's frames in flight after an
        # interrupt's response.done): a stopped one stays dropped.
        record = self._proto.responses.lookup(event.response_id)
    if record is not None:
        if record.stopped:
            return False
        if record.first_audio_at is None:
            record.first_audio_at = self._loop.time()
    self.playback.on_audio(event.item_id, len(event.audio))
    return True


def history_event(self: Session, item_id: str | None) -> ev.HistoryUpdated:
    return ev.HistoryUpdated(item_id, self._history_tuple)


async def dispatch(self: Session, event: Any) -> None:
    if type(event) is ev.AudioDelta:
        # Audio deltas are most of the traffic: checked first (the reader's hot path does
        # this for a message that is an audio delta alone).
        if keep_audio(self, event):
            await self._emit(event)
        return
    match event:
        case ev.SessionCreated():
            if not self._created.done():
                self._created.set_result(event)
        case ev.SessionUpdated(config=config):
            self.playback.output_format = audio_format(config, "output_format")
        case ev.ErrorEvent(error=error):
            # Not fatal by itself (the session goes on); kept for the close that may follow.
            self._last_error = error
        case ev.ProtocolViolation(reason=reason):
            await self._emit(event)
            await self._emit(
                ev.SessionError(f"malformed server message skipped: {reason}", "malformed_message")
            )
            return
        case ev.SpeechStarted():
            await self._emit(event)
            await self._on_barge_in()
            return
        case ev.SpeechStopped() | ev.InputAudioCommitted():
            self._turn_started_at = self._loop.time()
        case ev.ResponseCreated(response=response):
            self._idle_reported = False
            record = self._proto.responses.get(response.id)
            if record is not None and self._guards:
                record.verdict_pending = True  # judged once more when done
        case (
            ev.AudioTranscriptDelta(response_id=rid, delta=delta)
            | ev.TextDelta(response_id=rid, delta=delta)
        ):
            record = self._proto.responses.get(rid)
            if record is not None:
                if record.stopped:
                    return
                if record.first_text_at is None:
                    record.first_text_at = self._loop.time()
                record.text_parts.append(delta)
            await self._emit(event)
            if self._guards:
                self._guards.feed(rid, delta)
            return
        case ev.FunctionCallArgumentsDone(response_id=rid, call_id=call_id, arguments=args):
            if self.dropped(rid):
                return
            name = event.name or self._proto.conversation.function_name(event.item_id)
            await self._emit(event)
            self._idle_reported = False
            self._tools.start(rid, call_id, name, args)
            await self._emit(self._history_event(event.item_id))
            return
        case ev.ResponseDone():
            await self._on_response_done(event)
            return
    if isinstance(event, _RESPONSE_STREAM) and self.dropped(event.response_id):
        return
    await self._emit(event)
    if isinstance(event, _HISTORY_EVENTS):
        item = getattr(event, "item", None)
        item_id = getattr(event, "item_id", None) or getattr(item, "id", None)
        await self._emit(self._history_event(item_id))


def audio_format(config: SessionConfig | None, name: str) -> AudioFormat:
    """The session's ``input_format``/``output_format`` as confirmed, else PCM16."""
    value = getattr(config, name, None) if config is not None else None
    return value if isinstance(value, AudioFormat) else AudioFormat.pcm16()
