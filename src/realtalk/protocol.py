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
pending ``session.update``s matched to their ``session.updated`` or ``error``, the response
state (at most one active response in the default conversation; a second ``CreateResponse`` is
queued, not sent), the conversation order and the truncation arithmetic.

Everything that affects the state machine lives in the transition tables below. No I/O, no
clock: callers pass times in. After calling :meth:`ClientProtocol.send`, you must call
:meth:`~ClientProtocol.messages_to_send` and write the texts; after
:meth:`~ClientProtocol.receive_message`, call :meth:`~ClientProtocol.events_received`.
"""

from __future__ import annotations

import enum
import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    ClientCommand,
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
    ProtocolViolation,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    SessionCreated,
    SessionUpdated,
)

__all__ = ["ClientProtocol", "PendingUpdate", "ResponseState", "State"]

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


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    """A ``session.update`` sent and not yet answered."""

    event_id: str
    requested: SessionConfig


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
        self.state = State.CONNECTING
        self.response_state = ResponseState.IDLE
        self.active_response_id: str | None = None
        self._requested_event_id: str | None = None
        self._queued: deque[tuple[str, CreateResponse]] = deque()
        self.confirmed: SessionConfig | None = None
        self.session_id: str | None = None
        self._pending: deque[PendingUpdate] = deque()
        self._outgoing: list[str] = []
        self._events: list[ServerEvent] = []
        self.conversation = Conversation(retain_audio=retain_audio)
        self._cancelled: set[str] = set()

    # -- sending ------------------------------------------------------------------------------

    def next_event_id(self) -> str:
        self._counter += 1
        return f"{self._prefix}_{self._counter}"

    @property
    def pending_updates(self) -> tuple[PendingUpdate, ...]:
        return tuple(self._pending)

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
        if self.state is State.CLOSED:
            raise InvalidState("the connection is closed; nothing can be sent")
        event_id = self.next_event_id()
        match command:
            case UpdateSession(config=config):
                if self._validate is not None:
                    self._validate(config)
                self._pending.append(PendingUpdate(event_id, config))
            case AppendAudio(audio=audio) if len(audio) > MAX_APPEND_BYTES:
                raise InvalidState(
                    f"one append carries at most 15 MiB; got {len(audio)} bytes: "
                    "send smaller chunks"
                )
            case CreateResponse() if not self._out_of_band(command):
                if self.response_state is not ResponseState.IDLE or self._queued:
                    self._queued.append((event_id, command))
                    return event_id
                self.response_state = ResponseState.REQUESTED
                self._requested_event_id = event_id
            case CancelResponse(response_id=rid):
                target = rid or self.active_response_id
                if target is not None:
                    self._cancelled.add(target)
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

    def _emit(self, command: ClientCommand, event_id: str) -> None:
        self._write(self.dialect.encode_command(command, event_id))

    def _write(self, event: dict[str, Any]) -> None:
        if self._on_send is not None:
            rewritten = self._on_send(event)
            if rewritten is None:
                return
            event = rewritten
        self._outgoing.append(_to_json(event))

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

    def close(self) -> None:
        """Mark the connection closed; later sends raise :class:`InvalidState`."""
        self.state = State.CLOSED
        self._queued.clear()

    # -- receiving ----------------------------------------------------------------------------

    def receive_message(self, text: str | bytes) -> None:
        """Process one complete server message. Never raises on bad input: a malformed frame
        becomes a :class:`ProtocolViolation` event."""
        try:
            event = self.dialect.decode(text)
        except Exception as exc:  # a decoder bug must not end the session
            raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
            event = ProtocolViolation(f"decoder failed: {type(exc).__name__}: {exc}", raw[:2000])
        self._handle(event)

    def receive_event(self, event: ServerEvent) -> None:
        """Process an already decoded event (for transports that decode themselves)."""
        self._handle(event)

    def events_received(self) -> list[ServerEvent]:
        """Neutral events produced since the last call, in order."""
        out, self._events = self._events, []
        return out

    def _handle(self, event: ServerEvent) -> None:
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
                self._on_error(error.event_id, error.code)
            case ResponseCreated(response=response):
                self.response_state = _RESPONSE_TRANSITIONS[(self.response_state, ResponseCreated)]
                self.active_response_id = response.id
                # _requested_event_id stays until response.done: a racing server-VAD response
                # may be the one created, and our request may still fail with an error.
            case ResponseDone(response=response):
                self._on_response_done(response.id)
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
        # session.updated does not echo the client event_id: updates are answered in order.
        pending = self._pending.popleft()
        for name, requested in pending.requested.set_fields().items():
            if name == "extra":
                continue
            applied = getattr(config, name)
            if not is_set(applied):
                # The server does not report this field at all; nothing to compare against.
                continue
            if not _matches(requested, applied):
                self._events.append(ConfigMismatch(name, requested, applied))

    def _on_error(self, client_event_id: str | None, code: str | None) -> None:
        if client_event_id is None:
            return
        for pending in self._pending:
            if pending.event_id == client_event_id:
                # session.update is atomic: the old config stays in force (protocol.md 10.6).
                self._pending.remove(pending)
                return
        if client_event_id == self._requested_event_id and code == _ACTIVE_RESPONSE_CODE:
            # Another response (e.g. server VAD's) got there first: ours waits for its end.
            self.response_state = ResponseState.ACTIVE
            self._queued.appendleft((client_event_id, CreateResponse()))
            self._requested_event_id = None
        elif client_event_id == self._requested_event_id:
            self.response_state = ResponseState.IDLE
            self._requested_event_id = None
            self._flush_queue()

    def _on_response_done(self, response_id: str) -> None:
        if response_id == self.active_response_id or self.active_response_id is None:
            self.response_state = _RESPONSE_TRANSITIONS[(self.response_state, ResponseDone)]
            self.active_response_id = None
            self._requested_event_id = None
            self._cancelled.discard(response_id)
            self._flush_queue()

    def _flush_queue(self) -> None:
        if self.response_state is not ResponseState.IDLE or not self._queued:
            return
        event_id, command = self._queued.popleft()
        self.response_state = ResponseState.REQUESTED
        self._requested_event_id = event_id
        self._emit(command, event_id)

    def is_cancelled(self, response_id: str) -> bool:
        """True when this client asked to cancel ``response_id`` and it is not done yet."""
        return response_id in self._cancelled


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
