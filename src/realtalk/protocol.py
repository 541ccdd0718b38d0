"""The sans-I/O client protocol: commands in, wire text out; wire text in, neutral events out.

::

    proto = ClientProtocol(GA)
    proto.receive_message(text)            # one complete server message
    for event in proto.events_received():  # neutral events, in order
        ...
    proto.send(CreateResponse())           # may raise InvalidState or ConfigError
    for text in proto.messages_to_send():  # JSON strings for the transport, in order
        ...

It owns: encoding and decoding through the dialect, the last server-confirmed session, the
pending ``session.update``s matched to their ``session.updated`` or ``error`` (by client
``event_id``; an update dropped by ``on_send`` is not pending) with a neutral
:class:`UpdateOutcome` for each, the response state (at most one active response in the default
conversation; a second ``CreateResponse`` is queued, not sent), one
:class:`~realtalk.responses.ResponseRecord` per response until it is over, the conversation order
and the truncation arithmetic.

Everything that affects the state machine lives in the transition tables below. No I/O, no
clock: callers pass times in. After calling :meth:`ClientProtocol.send`, you must call
:meth:`~ClientProtocol.messages_to_send` and write the texts; after
:meth:`~ClientProtocol.receive_message`, call :meth:`~ClientProtocol.events_received`.
"""

from __future__ import annotations

import enum
import json
import re
from binascii import b2a_base64
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    ClientCommand,
    CreateItem,
    CreateResponse,
    TruncateItem,
    UpdateSession,
)
from realtalk.config import UNSET, AudioFormat, SessionConfig, is_set
from realtalk.conversation import Conversation
from realtalk.dialects import Dialect
from realtalk.errors import InvalidState
from realtalk.events import (
    AudioDelta,
    ConfigMismatch,
    ErrorEvent,
    FunctionCallArgumentsDone,
    ProtocolViolation,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    SessionCreated,
    SessionUpdated,
)
from realtalk.items import ErrorInfo, FunctionCallOutputItem
from realtalk.responses import ResponseBook, ResponsePhase, ResponseRecord

__all__ = [
    "ClientProtocol",
    "ConnectionLoss",
    "PendingUpdate",
    "ResponseState",
    "State",
    "UpdateOutcome",
]

OnSend = Callable[[dict[str, Any]], "dict[str, Any] | None"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""One ``input_audio_buffer.append`` may carry at most 15 MiB (protocol.md 1a)."""


class State(enum.Enum):
    """Connection state of the protocol."""

    CONNECTING = "connecting"
    """Waiting for ``session.created``."""
    OPEN = "open"
    CLOSED = "closed"


class ResponseState(enum.Enum):
    """Whether a response is writing to the default conversation."""

    IDLE = "idle"
    REQUESTED = "requested"
    """We sent ``response.create`` and wait for ``response.created``."""
    ACTIVE = "active"


# Events that move the connection state: (state, event type) -> new state.
_STATE_TRANSITIONS: dict[tuple[State, type], State] = {
    (State.CONNECTING, SessionCreated): State.OPEN,
    (State.OPEN, SessionCreated): State.OPEN,
}

# Response state transitions on server events. response.done always returns to IDLE.
_RESPONSE_TRANSITIONS: dict[tuple[ResponseState, type], ResponseState] = {
    (ResponseState.IDLE, ResponseCreated): ResponseState.ACTIVE,
    (ResponseState.REQUESTED, ResponseCreated): ResponseState.ACTIVE,
    (ResponseState.ACTIVE, ResponseCreated): ResponseState.ACTIVE,
    (ResponseState.IDLE, ResponseDone): ResponseState.IDLE,
    (ResponseState.REQUESTED, ResponseDone): ResponseState.REQUESTED,
    (ResponseState.ACTIVE, ResponseDone): ResponseState.IDLE,
}

_ACTIVE_RESPONSE_CODE = "conversation_already_has_active_response"

# One encoder for every message: json.dumps with options builds a new encoder per call.
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# A lone surrogate (valid in JSON as an escape, e.g. a server id "call_\\ud800") cannot be
# written as UTF-8; such a message is escaped instead, so whatever the server sent can be echoed.
_to_ascii_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
_SURROGATE = re.compile("[\ud800-\udfff]")


def encode_json(event: dict[str, Any]) -> str:
    """One wire message as JSON text that always encodes to UTF-8."""
    text = _to_json(event)
    if not text.isascii() and _SURROGATE.search(text):
        return _to_ascii_json(event)
    return text


@dataclass(frozen=True, slots=True)
class ConnectionLoss:
    """What a lost connection left unfinished (from :meth:`ClientProtocol.new_connection`)."""

    requested: CreateResponse | None
    """A ``response.create`` the server never answered with ``response.created``."""
    cut: tuple[tuple[str, CreateResponse | None], ...]
    """Responses cut while being produced: (response id, the request that asked for it, None
    when the server started it)."""
    dropped_calls: tuple[str, ...]
    """Tool calls of the cut responses, dropped with them."""
    pending_updates: tuple[str, ...]
    """Event ids of ``session.update``s the server never answered."""


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    """A ``session.update`` sent and not yet answered."""

    event_id: str
    requested: SessionConfig


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """How the server answered one ``session.update``: ``config`` when it confirmed it,
    ``error`` when it rejected it (the previous configuration then stays in force)."""

    event_id: str
    config: SessionConfig | None = None
    error: ErrorInfo | None = None

    @property
    def confirmed(self) -> bool:
        return self.error is None


class ClientProtocol:
    """Sans-I/O state machine of one Realtime client connection."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        validate: Callable[[SessionConfig], None] | None = None,
        on_send: OnSend | None = None,
        event_id_prefix: str = "rt",
        retain_audio: bool = False,
    ) -> None:
        self.dialect = dialect
        self._validate = validate
        self._on_send = on_send
        self._prefix = event_id_prefix
        self._counter = 0
        # An append's text up to its event id's number (digits never need escaping), as
        # encode_json writes it: '{"type":"input_audio_buffer.append","event_id":"rt_'.
        self._append_head = encode_json(
            {"type": "input_audio_buffer.append", "event_id": f"{event_id_prefix}_"}
        )[:-2]
        self.state = State.CONNECTING
        self.response_state = ResponseState.IDLE
        self.active_response_id: str | None = None
        self._requested: tuple[str, CreateResponse] | None = None
        """The ``response.create`` sent and not yet created or refused (kept until done: a
        racing server-VAD response may be the one created, and ours may still fail)."""
        self._queued: deque[tuple[str | None, CreateResponse]] = deque()
        self.confirmed: SessionConfig | None = None
        self.session_id: str | None = None
        self._pending: dict[str, PendingUpdate] = {}
        self._outcomes: list[UpdateOutcome] = []
        self._outgoing: list[str] = []
        self._events: list[ServerEvent] = []
        self.conversation = Conversation(retain_audio=retain_audio)
        self.responses = ResponseBook()
        """One record per response not yet over (see :mod:`realtalk.responses`)."""

    # -- sending ------------------------------------------------------------------------------

    def next_event_id(self) -> str:
        self._counter += 1
        return f"{self._prefix}_{self._counter}"

    @property
    def pending_updates(self) -> tuple[PendingUpdate, ...]:
        return tuple(self._pending.values())

    def is_pending(self, event_id: str) -> bool:
        """True while the update sent as ``event_id`` waits for its answer (False if dropped)."""
        return event_id in self._pending

    def update_outcomes(self) -> list[UpdateOutcome]:
        """Answers to pending updates since the last call, in order. Empties the list."""
        out, self._outcomes = self._outcomes, []
        return out

    @property
    def requested(self) -> tuple[str, CreateResponse] | None:
        """The ``(event_id, CreateResponse)`` sent and not yet answered by a response."""
        return self._requested

    @property
    def queued_responses(self) -> int:
        return len(self._queued)

    def send(self, command: ClientCommand) -> str:
        """Queue ``command`` for sending and return its client ``event_id``.

        Raises :class:`InvalidState` after close or for an append over 15 MiB, and
        :class:`~realtalk.errors.ConfigError` when a ``session.update`` fails validation (nothing
        is sent then). A ``CreateResponse`` while a response is active is queued and sent after
        the active one's ``response.done``.
        """
        if type(command) is AppendAudio and self._on_send is None:
            return self.append_audio(command.audio)
        return self._send(command)

    def _send(self, command: ClientCommand) -> str:
        if self.state is State.CLOSED:
            raise InvalidState("the connection is closed; nothing can be sent")
        event_id = self.next_event_id()
        match command:
            case UpdateSession(config=config):
                if self._validate is not None:
                    self._validate(config)
                if self._emit(command, event_id):
                    self._pending[event_id] = PendingUpdate(event_id, config)
                return event_id
            case CreateItem(item=FunctionCallOutputItem(call_id=call_id)):
                if self._emit(command, event_id):
                    self.responses.output_sent(call_id)
                return event_id
            case AppendAudio(audio=audio) if len(audio) > MAX_APPEND_BYTES:
                raise InvalidState(
                    f"one append carries at most 15 MiB; got {len(audio)} bytes: "
                    "send smaller chunks"
                )
            case CreateResponse() if not self._out_of_band(command):
                if self.response_state is not ResponseState.IDLE or self._queued:
                    self._queued.append((event_id, command))
                    return event_id
                self._request(event_id, command)
                return event_id
            case CancelResponse(response_id=rid):
                record = self.responses.get(rid or self.active_response_id)
                if record is not None:
                    record.cancel_sent = True
            case _:
                pass
        self._emit(command, event_id)
        return event_id

    def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send a wire event as is (still passes through ``on_send``). For escape hatches only."""
        if self.state is State.CLOSED:
            raise InvalidState("the connection is closed; nothing can be sent")
        self._write(dict(event))

    def cancel_queued_responses(self) -> int:
        """Drop queued ``CreateResponse`` commands; returns how many were dropped."""
        count = len(self._queued)
        self._queued.clear()
        return count

    @staticmethod
    def _out_of_band(command: CreateResponse) -> bool:
        # Out-of-band responses (conversation "none") may run in parallel (protocol.md 6.7).
        return command.options is not None and command.options.conversation == "none"

    def append_audio(self, audio: bytes) -> str:
        """``send(AppendAudio(audio))`` in fewer steps (most of what a session sends): the same
        checks, errors, event id and text."""
        if self._on_send is not None or self.state is State.CLOSED or len(audio) > MAX_APPEND_BYTES:
            return self._send(AppendAudio(audio))  # the hook sees it; or the general error
        self._counter = n = self._counter + 1
        number = str(n)
        # The text encode_json gives for the dialect's append (every dialect spells it alike;
        # tests compare the two), without json scanning every base64 character for escapes,
        # which it never has.
        self._outgoing.append(
            self._append_head
            + number
            + '","audio":"'
            + b2a_base64(audio, newline=False).decode("ascii")
            + '"}'
        )
        return f"{self._prefix}_{number}"  # what next_event_id gives

    def _emit(self, command: ClientCommand, event_id: str) -> bool:
        return self._write(self.dialect.encode_command(command, event_id))

    def _write(self, event: dict[str, Any]) -> bool:
        """Every outgoing message passes here. False when ``on_send`` dropped it."""
        if self._on_send is not None:
            rewritten = self._on_send(event)
            if rewritten is None:
                return False
            event = rewritten
        self._outgoing.append(encode_json(event))
        return True

    @property
    def has_messages_to_send(self) -> bool:
        return bool(self._outgoing)

    def messages_to_send(self) -> list[str]:
        """The JSON texts to write to the transport, in order. Empties the outbox."""
        out, self._outgoing = self._outgoing, []
        return out

    def truncate(self, item_id: str, played_ms: float, content_index: int = 0) -> str:
        """Truncate an assistant item at the played position, clamped to the audio received."""
        end_ms = self.conversation.clamp_played_ms(item_id, played_ms)
        return self.send(TruncateItem(item_id, end_ms, content_index))

    def stop_response(self, response_id: str | None, *, cancel: bool) -> list[str]:
        """Stop a response (interrupt, barge-in or guardrail trip): its later events are not
        delivered, its open tool calls are dropped (their ids returned) and no follow-up comes.
        With ``cancel``, a ``response.cancel`` is sent if it is still being produced."""
        record = self.responses.get(response_id)
        if record is None or response_id is None:
            return []
        dropped = self.responses.stop(record)
        if (
            cancel
            and not record.cancel_sent
            and self.response_state is ResponseState.ACTIVE
            and self.active_response_id == response_id
        ):
            self.send(CancelResponse(response_id))
        self.responses.retire_if_over(record)
        return dropped

    def follow_up_sent(self, record: ResponseRecord) -> None:
        """The follow-up of ``record``'s tool outputs was asked for (or given up)."""
        record.follow_up = False
        self.responses.retire_if_over(record)

    def verdict_in(self, record: ResponseRecord) -> None:
        """The final guardrail verdict of ``record`` is known."""
        record.verdict_pending = False
        self.responses.retire_if_over(record)

    @property
    def busy(self) -> bool:
        """A response requested, active or queued, or one not yet over (tools, verdicts)."""
        return (
            self.response_state is not ResponseState.IDLE
            or bool(self._queued)
            or len(self.responses) > 0
        )

    def new_connection(self) -> ConnectionLoss:
        """The connection was lost and a new one (a new server session) will follow.

        Keeps the conversation, the queued responses and the records of responses that are
        done but still wait on tools, a follow-up or a verdict. Forgets what belonged to the
        lost server session: its confirmed config, its id, the pending updates, the active
        response (its record is stopped and retired, its open tool calls dropped) and the
        messages not yet written. Returns what the caller may re-send (see
        :class:`ConnectionLoss`).
        """
        requested = self._requested[1] if self._requested is not None else None
        cut: list[tuple[str, CreateResponse | None]] = []
        dropped: list[str] = []
        for record in self.responses:
            if record.phase is not ResponsePhase.ACTIVE:
                continue
            if not record.stopped:
                cut.append((record.response_id, record.request))
            dropped += self.responses.stop(record)
            record.verdict_pending = False
            record.move(ResponsePhase.DONE)
            self.responses.retire_if_over(record)
        if cut and requested is not None and cut[0][1] is requested:
            requested = None  # created already: it is re-sent as the cut response
        loss = ConnectionLoss(requested, tuple(cut), tuple(dropped), tuple(self._pending))
        self.state = State.CONNECTING
        self.confirmed = None
        self.session_id = None
        self._pending.clear()
        self._requested = None
        self.response_state = ResponseState.IDLE
        self.active_response_id = None
        self._outgoing.clear()
        return loss

    def close(self) -> None:
        """Mark the connection closed; later sends raise :class:`InvalidState`."""
        self.state = State.CLOSED
        self._queued.clear()

    # -- receiving ----------------------------------------------------------------------------

    def receive_message(self, text: str | bytes) -> None:
        """Process one complete server message. Never raises on bad input: a malformed frame
        becomes a :class:`ProtocolViolation` event."""
        event = self.receive(text)
        if event is not None:
            self._events.append(event)

    def receive(self, text: str | bytes) -> AudioDelta | None:
        """:meth:`receive_message` for a reader's hot path: an audio delta is processed and
        returned instead of queued for :meth:`events_received` (one list less per delta);
        every other message is processed exactly as ``receive_message`` does, and None
        returned."""
        try:
            event = self.dialect.decode(text)
        except Exception as exc:  # a decoder bug must not end the session
            raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
            event = ProtocolViolation(f"decoder failed: {type(exc).__name__}: {exc}", raw[:2000])
        if type(event) is AudioDelta:
            # The hot path, inlined (_apply's first case): only the byte count matters.
            self.conversation.add_audio(event.item_id, event.audio)
            return event
        self._handle(event)
        return None

    def receive_event(self, event: ServerEvent) -> None:
        """Process an already decoded event (for transports that decode themselves)."""
        self._handle(event)

    def events_received(self) -> list[ServerEvent]:
        """Neutral events produced since the last call, in order."""
        out, self._events = self._events, []
        return out

    def _handle(self, event: ServerEvent) -> None:
        try:
            self._apply(event)
        except InvalidState as exc:
            # The server moved a state the tables do not allow (e.g. a response created twice):
            # reported and skipped, like a malformed frame.
            if self._events and self._events[-1] is event:
                self._events.pop()
            self._events.append(ProtocolViolation(str(exc), ""))

    def _apply(self, event: ServerEvent) -> None:
        self._events.append(event)
        if type(event) is AudioDelta:
            # The hot path (tens of events a second per session): only the byte count matters.
            self.conversation.add_audio(event.item_id, event.audio)
            return
        self.state = _STATE_TRANSITIONS.get((self.state, type(event)), self.state)
        match event:
            case SessionCreated(config=config, session_id=sid):
                self.confirmed = config
                self.session_id = sid
                self._sync_output_format()
            case SessionUpdated(config=config):
                self._on_session_updated(config)
            case ErrorEvent(error=error):
                self._on_error(error)
            case ResponseCreated(response=response):
                requested = self._requested or (None, None)
                self.responses.created(response.id, requested[1], requested[0])
                self.response_state = _RESPONSE_TRANSITIONS[(self.response_state, ResponseCreated)]
                self.active_response_id = response.id
            case ResponseDone(response=response):
                self.responses.done(response.id)
                self._on_response_done(response.id)
            case FunctionCallArgumentsDone(response_id=rid, call_id=call_id):
                self.responses.call_started(rid, call_id)
            case _:
                pass
        self.conversation.apply(event)

    def _sync_output_format(self) -> None:
        fmt = self.confirmed.output_format if self.confirmed is not None else UNSET
        if isinstance(fmt, AudioFormat):
            self.conversation.output_format = fmt

    def _on_session_updated(self, config: SessionConfig) -> None:
        self.confirmed = config
        self._sync_output_format()
        if not self._pending:
            return
        # session.updated does not echo the client event_id: the pending updates (only those
        # actually sent; errors remove theirs by event_id) are answered in order.
        event_id = next(iter(self._pending))
        pending = self._pending.pop(event_id)
        self._outcomes.append(UpdateOutcome(event_id, config=config))
        for name, requested in pending.requested.set_fields().items():
            if name == "extra":
                continue
            applied = getattr(config, name)
            if not is_set(applied):
                # The server does not report this field at all; nothing to compare against.
                continue
            if not _matches(requested, applied):
                self._events.append(ConfigMismatch(name, requested, applied))

    def _on_error(self, error: ErrorInfo) -> None:
        client_event_id = error.event_id
        if client_event_id is None:
            return
        if self._pending.pop(client_event_id, None) is not None:
            # session.update is atomic: the old config stays in force (protocol.md 10.6).
            self._outcomes.append(UpdateOutcome(client_event_id, error=error))
            return
        requested = self._requested
        if requested is None or requested[0] != client_event_id:
            return
        self._requested = None
        for record in self.responses:
            if record.event_id == client_event_id:
                record.request, record.event_id = None, None  # it was not ours after all
        if error.code == _ACTIVE_RESPONSE_CODE:
            # Another response (e.g. server VAD's) got there first: ours waits for its end,
            # options kept; it gets a fresh event_id when it is sent again.
            self.response_state = ResponseState.ACTIVE
            self._queued.appendleft((None, requested[1]))
        else:
            self.response_state = ResponseState.IDLE
            self._flush_queue()

    def _on_response_done(self, response_id: str) -> None:
        if response_id == self.active_response_id or self.active_response_id is None:
            self.response_state = _RESPONSE_TRANSITIONS[(self.response_state, ResponseDone)]
            self.active_response_id = None
            self._requested = None
            self._flush_queue()

    def _flush_queue(self) -> None:
        if self.response_state is not ResponseState.IDLE or not self._queued:
            return
        event_id, command = self._queued.popleft()
        self._request(event_id or self.next_event_id(), command)

    def _request(self, event_id: str, command: CreateResponse) -> None:
        if self._emit(command, event_id):
            self.response_state = ResponseState.REQUESTED
            self._requested = (event_id, command)
        else:
            self._flush_queue()  # dropped by on_send: nothing was asked, the next one may go

    def is_cancelled(self, response_id: str) -> bool:
        """True when this client asked to cancel ``response_id`` and it is not done yet."""
        record = self.responses.get(response_id)
        return record is not None and record.cancel_sent and record.phase.value == "active"


def _matches(requested: Any, applied: Any) -> bool:
    """Did the server apply ``requested``? Parts compare only the sub-fields that were asked."""
    if requested is None or applied is None:
        return requested is applied
    if type(requested) is not type(applied):
        return False
    if hasattr(requested, "set_fields") and hasattr(requested, "__dataclass_fields__"):
        for f in fields(requested):
            want = getattr(requested, f.name)
            if is_set(want) and not _same(want, getattr(applied, f.name)):
                return False
        return True
    return _same(requested, applied)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-6
        except (TypeError, ValueError):
            return False
    return bool(a == b)
