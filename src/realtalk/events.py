"""Dialect-neutral server events: what the protocol core hands upward.

Every server message of either wire shape decodes to exactly one of these frozen dataclasses.
Names follow the meaning, not the wire: ``response.output_audio.delta`` (GA) and
``response.audio.delta`` (beta) are both :class:`AudioDelta`. Anything unknown is an
:class:`UnknownEvent`; a frame that is not a JSON object with a ``type`` is a
:class:`ProtocolViolation`. Dispatch with ``match event: case AudioDelta(audio=pcm): ...``.

Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from realtalk._namespace import public_dir
from realtalk._reprs import install as _install_short_reprs
from realtalk.config import SessionConfig
from realtalk.items import Content, ErrorInfo, Item, RateLimit, Response, Usage

__all__ = [
    "ApprovalRequired",
    "AudioDelta",
    "AudioDone",
    "AudioTranscriptDelta",
    "AudioTranscriptDone",
    "ConfigMismatch",
    "ContentPartAdded",
    "ContentPartDone",
    "ConversationCreated",
    "DtmfReceived",
    "ErrorEvent",
    "Event",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "GuardrailTripped",
    "Handoff",
    "HistoryUpdated",
    "InputAudioCleared",
    "InputAudioCommitted",
    "InputAudioTimeout",
    "InputTranscriptCompleted",
    "InputTranscriptDelta",
    "InputTranscriptFailed",
    "InputTranscriptSegment",
    "InterruptCause",
    "Interrupted",
    "ItemAdded",
    "ItemDeleted",
    "ItemDone",
    "ItemRetrieved",
    "ItemTruncated",
    "McpEvent",
    "OutputAudioBufferCleared",
    "OutputAudioBufferStarted",
    "OutputAudioBufferStopped",
    "OutputItemAdded",
    "OutputItemDone",
    "ProtocolViolation",
    "RateLimitsUpdated",
    "RawMessage",
    "Reconnected",
    "Reconnecting",
    "ResponseCreated",
    "ResponseDone",
    "RuntimeEvent",
    "ServerEvent",
    "SessionCreated",
    "SessionError",
    "SessionIdle",
    "SessionReady",
    "SessionUpdated",
    "SessionWarning",
    "SpeechStarted",
    "SpeechStopped",
    "TextDelta",
    "TextDone",
    "ToolCallFailed",
    "ToolCallFinished",
    "ToolCallStarted",
    "TranscriptionSessionUpdated",
    "TurnMetrics",
    "UnknownEvent",
]


# -- session ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionCreated:
    """The server's first event: the full default session it starts with."""

    config: SessionConfig
    session_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """The server accepted a ``session.update``; ``config`` is its full effective session."""

    config: SessionConfig
    session_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptionSessionUpdated:
    """Beta ``transcription_session.updated``."""

    config: SessionConfig
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigMismatch:
    """After a ``session.updated``, a field the server did not apply as asked."""

    field: str
    requested: Any
    applied: Any


@dataclass(frozen=True, slots=True)
class ConversationCreated:
    """The server created the conversation (sent once, right after ``session.created``)."""

    conversation_id: str | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimitsUpdated:
    """The account's current rate limits (sent after each response is created)."""

    rate_limits: tuple[RateLimit, ...]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An ``error`` event. ``error.event_id`` names the client event that caused it."""

    error: ErrorInfo
    event_id: str | None = None


# -- conversation items ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """An item entered the conversation (GA ``conversation.item.added``, beta ``.created``)."""

    item: Item
    previous_item_id: str | None = None
    event_id: str | None = None

    @property
    def phase(self) -> str | None:
        """The message's phase (``"commentary"``, ``"final_answer"``) or None."""
        return getattr(self.item, "phase", None)


@dataclass(frozen=True, slots=True)
class ItemDone:
    """An item is final (GA ``conversation.item.done``)."""

    item: Item
    previous_item_id: str | None = None
    event_id: str | None = None

    @property
    def phase(self) -> str | None:
        """The message's phase (``"commentary"``, ``"final_answer"``) or None."""
        return getattr(self.item, "phase", None)


@dataclass(frozen=True, slots=True)
class ItemDeleted:
    """A conversation item was deleted."""

    item_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ItemRetrieved:
    """The answer to a request for one conversation item."""

    item: Item
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    """An assistant audio item was cut at ``audio_end_ms`` (after an interruption); its transcript
    is cut too."""

    item_id: str
    content_index: int
    audio_end_ms: int
    event_id: str | None = None


# -- input audio and user transcripts --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Server VAD heard the user start speaking, ``audio_start_ms`` into the input audio."""

    item_id: str
    audio_start_ms: int
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Server VAD heard the user stop speaking; the turn ends here."""

    item_id: str
    audio_end_ms: int
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputAudioCommitted:
    """The input audio buffer became user item ``item_id`` (by VAD or ``commit_audio()``)."""

    item_id: str
    previous_item_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputAudioCleared:
    """The input audio buffer was emptied (``clear_audio()``)."""

    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputAudioTimeout:
    """Server VAD's idle timeout fired (GA ``input_audio_buffer.timeout_triggered``)."""

    item_id: str
    audio_start_ms: int
    audio_end_ms: int
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A telephone key press (SIP calls); the server gives it no ``event_id``."""

    digit: str
    received_at: int


@dataclass(frozen=True, slots=True)
class InputTranscriptDelta:
    """A piece of the transcript of the user's audio (needs ``transcription`` on)."""

    item_id: str
    delta: str
    content_index: int = 0
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputTranscriptCompleted:
    """The whole transcript of one user audio item (needs ``transcription`` on)."""

    item_id: str
    transcript: str
    content_index: int = 0
    usage: Mapping[str, Any] | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputTranscriptFailed:
    """Transcribing the user's audio failed; ``error`` says why."""

    item_id: str
    error: ErrorInfo
    content_index: int = 0
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputTranscriptSegment:
    """A diarized segment of the user's audio."""

    item_id: str
    segment_id: str
    speaker: str
    text: str
    start: float
    end: float
    content_index: int = 0
    event_id: str | None = None


# -- responses -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    """The model started a response."""

    response: Response
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response is over (completed, cancelled, incomplete or failed: see ``response.status``)."""

    response: Response
    event_id: str | None = None

    @property
    def usage(self) -> Usage | None:
        return self.response.usage


@dataclass(frozen=True, slots=True)
class OutputItemAdded:
    """A response started an output item (a message or a function call)."""

    response_id: str
    output_index: int
    item: Item
    event_id: str | None = None

    @property
    def phase(self) -> str | None:
        """The message's phase (``"commentary"``, ``"final_answer"``) or None."""
        return getattr(self.item, "phase", None)


@dataclass(frozen=True, slots=True)
class OutputItemDone:
    """An output item of a response is complete."""

    response_id: str
    output_index: int
    item: Item
    event_id: str | None = None

    @property
    def phase(self) -> str | None:
        """The message's phase (``"commentary"``, ``"final_answer"``) or None."""
        return getattr(self.item, "phase", None)


@dataclass(frozen=True, slots=True)
class ContentPartAdded:
    """An output message started a content part (audio or text)."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: Content
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ContentPartDone:
    """A content part of an output message is complete."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: Content
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """A chunk of assistant audio, raw bytes in the session's output format."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    audio: bytes
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudioDone:
    """The assistant audio of one content part is complete."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudioTranscriptDelta:
    """A piece of the transcript of the assistant's audio (what it is saying)."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudioTranscriptDone:
    """The whole transcript of one assistant audio part."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    transcript: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of a text-only reply (``output_modalities=["text"]``)."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDone:
    """The whole text of a text-only reply."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int
    text: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionCallArgumentsDelta:
    """A piece of the arguments of a function call the model is making."""

    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionCallArgumentsDone:
    """All arguments of a call. ``name`` is ``None`` on the beta shape, which does not send it."""

    response_id: str
    item_id: str
    output_index: int
    call_id: str
    arguments: str
    name: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutputAudioBufferStarted:
    """WebRTC/SIP only: the server started playing a response's audio."""

    response_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutputAudioBufferStopped:
    """WebRTC: the server finished playing a response's audio."""

    response_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutputAudioBufferCleared:
    """WebRTC: the server dropped the audio it had not played yet."""

    response_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class McpEvent:
    """An MCP tool-listing or MCP call event (GA), kept with its wire type and payload."""

    kind: str
    item_id: str | None
    payload: Mapping[str, Any]
    event_id: str | None = None


# -- the unknown and the broken --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A well-formed event of a type realtalk does not know. Kept whole for the app."""

    type: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """A frame that could not be decoded (not JSON, no ``type``, wrong field types).

    Reported and skipped: a malformed frame never ends the session.
    """

    reason: str
    raw: str


ServerEvent: TypeAlias = (
    SessionCreated
    | SessionUpdated
    | TranscriptionSessionUpdated
    | ConfigMismatch
    | ConversationCreated
    | RateLimitsUpdated
    | ErrorEvent
    | ItemAdded
    | ItemDone
    | ItemDeleted
    | ItemRetrieved
    | ItemTruncated
    | SpeechStarted
    | SpeechStopped
    | InputAudioCommitted
    | InputAudioCleared
    | InputAudioTimeout
    | DtmfReceived
    | InputTranscriptDelta
    | InputTranscriptCompleted
    | InputTranscriptFailed
    | InputTranscriptSegment
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | ContentPartAdded
    | ContentPartDone
    | AudioDelta
    | AudioDone
    | AudioTranscriptDelta
    | AudioTranscriptDone
    | TextDelta
    | TextDone
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | OutputAudioBufferStarted
    | OutputAudioBufferStopped
    | OutputAudioBufferCleared
    | McpEvent
    | UnknownEvent
    | ProtocolViolation
)


# -- runtime events: what the agent runtime adds on top of the wire ------------------------------


@dataclass(frozen=True, slots=True)
class SessionReady:
    """The session is connected and the server confirmed the effective configuration."""

    config: SessionConfig
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionIdle:
    """Nothing is under way any more: the last response is done and no tool call, tool
    follow-up or handoff is pending. The natural end of a turn (``case SessionIdle(): ...``)."""

    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """The session started running a tool the model called (``agent`` is the active agent)."""

    call_id: str
    name: str
    arguments: str
    agent: str


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool returned; ``output`` went back to the model."""

    call_id: str
    name: str
    output: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class ToolCallFailed:
    """A tool failed (bad arguments, exception, timeout, unknown tool). The model was told."""

    call_id: str
    name: str
    error: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class ApprovalRequired:
    """A tool with ``needs_approval`` waits for ``session.approve(call_id)`` / ``reject``."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """The session switched from one agent to another."""

    from_agent: str
    to_agent: str
    update: SessionConfig
    """Exactly what was sent in the ``session.update`` for the switch (the diff)."""


@dataclass(frozen=True, slots=True)
class GuardrailTripped:
    """An output guardrail tripped: the response was cancelled and its audio truncated."""

    guardrail: str
    response_id: str
    text: str
    info: Any = None


InterruptCause: TypeAlias = Literal["client", "barge-in", "guardrail"]
"""Who interrupted: the app (``session.interrupt()``), the user speaking (server-VAD barge-in),
or an output guardrail."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The assistant was interrupted (by ``session.interrupt()``, barge-in or a guardrail).

    ``reason`` is ``"client"`` (or the label given to ``session.interrupt(reason=...)``),
    ``"barge-in"``, or ``"guardrail:<name>"``; :attr:`cause` is the same as a closed set.
    """

    response_id: str | None
    item_id: str | None
    audio_end_ms: int | None
    reason: str

    @property
    def cause(self) -> InterruptCause:
        """``"client"``, ``"barge-in"`` or ``"guardrail"``."""
        if self.reason == "barge-in":
            return "barge-in"
        if self.reason.startswith("guardrail:"):
            return "guardrail"
        return "client"

    @property
    def guardrail(self) -> str | None:
        """The name of the guardrail that tripped, when :attr:`cause` is ``"guardrail"``."""
        return self.reason.partition(":")[2] if self.cause == "guardrail" else None


@dataclass(frozen=True, slots=True)
class SessionError:
    """An error the app should know of. ``fatal`` is True exactly when the session cannot go
    on: the connection is closed (or about to be) and the next ``next_event()`` raises.

    ``error`` is the server's error when there is one (for a close, the last one it sent);
    ``exception`` is the exception behind an unexpected failure (not compared, not in repr).
    Codes realtalk sets itself: ``connection_closed``, ``internal_error``, ``response_stalled``,
    ``message_too_big``, ``invalid_message`` (a text message that is not UTF-8),
    ``malformed_message``, ``handoff_failed``, ``guardrail_failed``.
    """

    message: str
    code: str | None = None
    fatal: bool = False
    error: ErrorInfo | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The connection was lost (or is being recycled before the provider's cap) and a new one
    is being opened. ``attempt`` counts from 1; ``delay`` is the wait before this attempt."""

    attempt: int
    reason: str
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A new connection carries the conversation on. ``replayed``: history items rebuilt on the
    new server session; ``lost``: what could not be (each "what: why"); ``resent``: commands
    the old connection never confirmed, sent again; ``recycled``: a planned move before the
    provider's session cap rather than a failure."""

    replayed: int
    lost: tuple[str, ...] = ()
    session_id: str | None = None
    resent: int = 0
    recycled: bool = False


@dataclass(frozen=True, slots=True)
class SessionWarning:
    """Something was kept back or adjusted instead of failing (e.g. a voice change after audio).

    Called ``Warning`` before (the name shadowed Python's builtin): ``realtalk.events.Warning``
    still works as an alias, outside ``__all__``.
    """

    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryUpdated:
    """The history changed at ``item_id``; ``.items`` is the whole history, built when read.

    ``item_id`` was added, finished, deleted, truncated or transcribed (None after a response).
    ``items`` is the history as it stands when you read it: the event itself costs the same
    however long the conversation is."""

    item_id: str | None = None
    history: Callable[[], tuple[Item, ...]] | None = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> tuple[Item, ...]:
        return self.history() if self.history is not None else ()


@dataclass(frozen=True, slots=True)
class TurnMetrics:
    """Timings of one turn, in milliseconds from the end of the user's speech (or the request)."""

    response_id: str
    first_audio_ms: float | None
    first_text_ms: float | None
    done_ms: float
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class RawMessage:
    """The raw tap: one wire message, for debugging. ``direction`` is "in" or "out"."""

    direction: Literal["in", "out"]
    text: str


RuntimeEvent: TypeAlias = (
    SessionReady
    | SessionIdle
    | ToolCallStarted
    | ToolCallFinished
    | ToolCallFailed
    | ApprovalRequired
    | Handoff
    | GuardrailTripped
    | Interrupted
    | SessionError
    | Reconnecting
    | Reconnected
    | SessionWarning
    | HistoryUpdated
    | TurnMetrics
    | RawMessage
)

Event: TypeAlias = ServerEvent | RuntimeEvent
"""Everything a :class:`~realtalk.session.Session` yields to the app."""

# Short reprs: audio as its duration, long text cut (a finished turn printed ~500 kB before).
_install_short_reprs(globals()[_name] for _name in __all__)


def __getattr__(name: str) -> Any:
    if name == "Warning":  # the old name of SessionWarning, kept for existing code
        return SessionWarning
    raise AttributeError(f"module 'realtalk.events' has no attribute {name!r}")


__dir__ = public_dir(__all__)
