"""Server event decoding, shared by both dialects (protocol.md 6.2, 6.4, 6.5).

Both dialects accept every name of both shapes: a GA name arriving on a beta connection (or
the reverse) means the same thing, and gateways mix them. The only dialect-specific piece is
the session decoder, passed in by ``ga.py`` / ``beta.py``.
"""

from __future__ import annotations

import binascii
import dataclasses
import json
from binascii import a2b_base64
from collections.abc import Callable, Mapping
from typing import Any

from realtalk.config import SessionConfig
from realtalk.dialects._common import b64decode
from realtalk.dialects._items import (
    Malformed,
    decode_content,
    decode_error,
    decode_item,
    decode_response,
    opt_int,
    opt_map,
    opt_str,
    req_int,
    req_list,
    req_map,
    req_num,
    req_str,
)
from realtalk.events import (
    AudioDelta,
    AudioDone,
    AudioTranscriptDelta,
    AudioTranscriptDone,
    ContentPartAdded,
    ContentPartDone,
    ConversationCreated,
    DtmfReceived,
    ErrorEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    InputAudioCleared,
    InputAudioCommitted,
    InputAudioTimeout,
    InputTranscriptCompleted,
    InputTranscriptDelta,
    InputTranscriptFailed,
    InputTranscriptSegment,
    ItemAdded,
    ItemDeleted,
    ItemDone,
    ItemRetrieved,
    ItemTruncated,
    McpEvent,
    OutputAudioBufferCleared,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    OutputItemAdded,
    OutputItemDone,
    ProtocolViolation,
    RateLimitsUpdated,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    TextDone,
    TranscriptionSessionUpdated,
    UnknownEvent,
)
from realtalk.items import Content, OutputText, RateLimit

Data = Mapping[str, Any]
SessionDecoder = Callable[[Mapping[str, Any]], SessionConfig]
EventDecoder = Callable[[Mapping[str, Any]], ServerEvent]

RAW_LIMIT = 2000


def _eid(data: Data) -> str | None:
    value = data.get("event_id")
    return value if isinstance(value, str) else None


def _where(data: Data) -> tuple[str, str, int, int]:
    """The (response_id, item_id, output_index, content_index) of a streamed part."""
    return (
        req_str(data, "response_id"),
        req_str(data, "item_id"),
        req_int(data, "output_index"),
        req_int(data, "content_index"),
    )


def _part(data: Data) -> Content:
    part = decode_content(req_map(data, "part"))
    # An unmodelled part type still has a position in the response; keep it as empty text.
    return part if part is not None else OutputText("")


def _rate_limit(data: Any) -> RateLimit:
    if not isinstance(data, Mapping):
        raise Malformed("a rate limit must be an object")
    reset = data.get("reset_seconds")
    return RateLimit(
        name=opt_str(data, "name") or "",
        limit=opt_int(data, "limit"),
        remaining=opt_int(data, "remaining"),
        reset_seconds=float(reset) if isinstance(reset, int | float) else 0.0,
    )


class _AudioDeltaShell:
    """AudioDelta's slots without its frozen ``__setattr__``: the decoder fills one and turns
    it into an AudioDelta by assigning ``__class__`` (same slots, same layout), which costs less
    than half of what the frozen dataclass's ``__init__`` (``object.__setattr__`` per field)
    or its slot descriptors' ``__set__`` cost, on the hot path of every audio delta."""

    __slots__ = ("audio", "content_index", "event_id", "item_id", "output_index", "response_id")
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    audio: bytes
    event_id: str | None


def _check_shell() -> None:
    names = [f.name for f in dataclasses.fields(AudioDelta)]
    if sorted(names) != list(_AudioDeltaShell.__slots__) or list(AudioDelta.__slots__) != names:
        # AudioDelta gained or lost a field: fail at import instead of leaving one unset.
        raise RuntimeError(f"update _AudioDeltaShell and audio_delta_event for {names}")
    shell = _AudioDeltaShell()
    shell.__class__ = AudioDelta  # type: ignore[assignment]  # raises if the layouts differ


_check_shell()
_new = object.__new__


def audio_delta_event(d: Data) -> AudioDelta | None:
    """The AudioDelta of a parsed delta whose fields are all as a well-formed one has them
    (string ids, int indexes, strict base64), else None: the checked decoder then decides."""
    try:
        rid, iid, delta = d["response_id"], d["item_id"], d["delta"]
        oi, ci = d["output_index"], d["content_index"]
    except KeyError:
        return None
    if (
        type(rid) is not str
        or type(iid) is not str
        or type(delta) is not str
        or type(oi) is not int
        or type(ci) is not int
    ):
        return None
    try:
        audio = a2b_base64(delta, strict_mode=True)  # b64decode's check, one call less
    except (binascii.Error, ValueError):
        return None
    eid = d.get("event_id")
    event = _new(_AudioDeltaShell)
    event.response_id = rid
    event.item_id = iid
    event.output_index = oi
    event.content_index = ci
    event.audio = audio
    event.event_id = eid if type(eid) is str else None
    event.__class__ = AudioDelta  # type: ignore[assignment]
    return event  # type: ignore[return-value]


def _audio_delta(d: Data) -> ServerEvent:
    # Most of the traffic: a fast path for well-formed deltas, the checked path for the rest.
    event = audio_delta_event(d)
    if event is not None:
        return event
    try:
        audio = b64decode(req_str(d, "delta"))
    except ValueError as exc:
        raise Malformed(f"'delta': {exc}") from None
    return AudioDelta(*_where(d), audio, _eid(d))


def _mcp(d: Data) -> ServerEvent:
    return McpEvent(req_str(d, "type"), opt_str(d, "item_id"), dict(d), _eid(d))


def _simple_table() -> dict[str, EventDecoder]:
    """Decoders that do not involve the session shape."""

    def item_added(d: Data) -> ServerEvent:
        return ItemAdded(decode_item(d.get("item")), opt_str(d, "previous_item_id"), _eid(d))

    def item_done(d: Data) -> ServerEvent:
        return ItemDone(decode_item(d.get("item")), opt_str(d, "previous_item_id"), _eid(d))

    def transcript_delta(d: Data) -> ServerEvent:
        return InputTranscriptDelta(
            req_str(d, "item_id"), opt_str(d, "delta") or "", opt_int(d, "content_index"), _eid(d)
        )

    def transcript_completed(d: Data) -> ServerEvent:
        usage = opt_map(d, "usage")
        return InputTranscriptCompleted(
            req_str(d, "item_id"),
            req_str(d, "transcript"),
            opt_int(d, "content_index"),
            dict(usage) if usage is not None else None,
            _eid(d),
        )

    def transcript_failed(d: Data) -> ServerEvent:
        error = opt_map(d, "error") or {}
        return InputTranscriptFailed(
            req_str(d, "item_id"), decode_error(error), opt_int(d, "content_index"), _eid(d)
        )

    def segment(d: Data) -> ServerEvent:
        return InputTranscriptSegment(
            item_id=req_str(d, "item_id"),
            segment_id=req_str(d, "id"),
            speaker=req_str(d, "speaker"),
            text=req_str(d, "text"),
            start=req_num(d, "start"),
            end=req_num(d, "end"),
            content_index=opt_int(d, "content_index"),
            event_id=_eid(d),
        )

    def function_args_done(d: Data) -> ServerEvent:
        return FunctionCallArgumentsDone(
            req_str(d, "response_id"),
            req_str(d, "item_id"),
            req_int(d, "output_index"),
            req_str(d, "call_id"),
            req_str(d, "arguments"),
            opt_str(d, "name"),
            _eid(d),
        )

    audio_done: EventDecoder = lambda d: AudioDone(*_where(d), _eid(d))  # noqa: E731
    transcript_out_delta: EventDecoder = lambda d: AudioTranscriptDelta(  # noqa: E731
        *_where(d), req_str(d, "delta"), _eid(d)
    )
    transcript_out_done: EventDecoder = lambda d: AudioTranscriptDone(  # noqa: E731
        *_where(d), req_str(d, "transcript"), _eid(d)
    )
    text_delta: EventDecoder = lambda d: TextDelta(  # noqa: E731
        *_where(d), req_str(d, "delta"), _eid(d)
    )
    text_done: EventDecoder = lambda d: TextDone(*_where(d), req_str(d, "text"), _eid(d))  # noqa: E731

    table: dict[str, EventDecoder] = {
        "conversation.created": lambda d: ConversationCreated(
            opt_str(opt_map(d, "conversation") or {}, "id"), _eid(d)
        ),
        "conversation.item.created": item_added,
        "conversation.item.added": item_added,
        "conversation.item.done": item_done,
        "conversation.item.deleted": lambda d: ItemDeleted(req_str(d, "item_id"), _eid(d)),
        "conversation.item.retrieved": lambda d: ItemRetrieved(decode_item(d.get("item")), _eid(d)),
        "conversation.item.truncated": lambda d: ItemTruncated(
            req_str(d, "item_id"), opt_int(d, "content_index"), req_int(d, "audio_end_ms"), _eid(d)
        ),
        "conversation.item.input_audio_transcription.delta": transcript_delta,
        "conversation.item.input_audio_transcription.completed": transcript_completed,
        "conversation.item.input_audio_transcription.failed": transcript_failed,
        "conversation.item.input_audio_transcription.segment": segment,
        "error": lambda d: ErrorEvent(decode_error(req_map(d, "error")), _eid(d)),
        "input_audio_buffer.cleared": lambda d: InputAudioCleared(_eid(d)),
        "input_audio_buffer.committed": lambda d: InputAudioCommitted(
            req_str(d, "item_id"), opt_str(d, "previous_item_id"), _eid(d)
        ),
        "input_audio_buffer.speech_started": lambda d: SpeechStarted(
            req_str(d, "item_id"), req_int(d, "audio_start_ms"), _eid(d)
        ),
        "input_audio_buffer.speech_stopped": lambda d: SpeechStopped(
            req_str(d, "item_id"), req_int(d, "audio_end_ms"), _eid(d)
        ),
        "input_audio_buffer.timeout_triggered": lambda d: InputAudioTimeout(
            req_str(d, "item_id"), req_int(d, "audio_start_ms"), req_int(d, "audio_end_ms"), _eid(d)
        ),
        "input_audio_buffer.dtmf_event_received": lambda d: DtmfReceived(
            req_str(d, "event"), req_int(d, "received_at")
        ),
        "rate_limits.updated": lambda d: RateLimitsUpdated(
            tuple(_rate_limit(r) for r in req_list(d, "rate_limits")), _eid(d)
        ),
        "response.created": lambda d: ResponseCreated(
            decode_response(req_map(d, "response")), _eid(d)
        ),
        "response.done": lambda d: ResponseDone(decode_response(req_map(d, "response")), _eid(d)),
        "response.output_item.added": lambda d: OutputItemAdded(
            req_str(d, "response_id"),
            req_int(d, "output_index"),
            decode_item(d.get("item")),
            _eid(d),
        ),
        "response.output_item.done": lambda d: OutputItemDone(
            req_str(d, "response_id"),
            req_int(d, "output_index"),
            decode_item(d.get("item")),
            _eid(d),
        ),
        "response.content_part.added": lambda d: ContentPartAdded(*_where(d), _part(d), _eid(d)),
        "response.content_part.done": lambda d: ContentPartDone(*_where(d), _part(d), _eid(d)),
        "response.output_audio.delta": _audio_delta,
        "response.audio.delta": _audio_delta,
        "response.output_audio.done": audio_done,
        "response.audio.done": audio_done,
        "response.output_audio_transcript.delta": transcript_out_delta,
        "response.audio_transcript.delta": transcript_out_delta,
        "response.output_audio_transcript.done": transcript_out_done,
        "response.audio_transcript.done": transcript_out_done,
        "response.output_text.delta": text_delta,
        "response.text.delta": text_delta,
        "response.output_text.done": text_done,
        "response.text.done": text_done,
        "response.function_call_arguments.delta": lambda d: FunctionCallArgumentsDelta(
            req_str(d, "response_id"),
            req_str(d, "item_id"),
            req_int(d, "output_index"),
            req_str(d, "call_id"),
            req_str(d, "delta"),
            _eid(d),
        ),
        "response.function_call_arguments.done": function_args_done,
        "output_audio_buffer.started": lambda d: OutputAudioBufferStarted(
            req_str(d, "response_id"), _eid(d)
        ),
        "output_audio_buffer.stopped": lambda d: OutputAudioBufferStopped(
            req_str(d, "response_id"), _eid(d)
        ),
        "output_audio_buffer.cleared": lambda d: OutputAudioBufferCleared(
            req_str(d, "response_id"), _eid(d)
        ),
    }
    for name in (
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    ):
        table[name] = _mcp
    return table


_SIMPLE = _simple_table()


def _session(d: Data) -> Mapping[str, Any]:
    return req_map(d, "session")


def _session_id(d: Data) -> str | None:
    session = d.get("session")
    return opt_str(session, "id") if isinstance(session, Mapping) else None


def make_event_decoder(decode_session: SessionDecoder) -> EventDecoder:
    """The ``decode_event`` of a dialect whose session objects ``decode_session`` reads."""
    table = dict(_SIMPLE)
    table["session.created"] = lambda d: SessionCreated(
        decode_session(_session(d)), _session_id(d), _eid(d)
    )
    # A transcription session's first event; the neutral model has one "created" event.
    table["transcription_session.created"] = table["session.created"]
    table["session.updated"] = lambda d: SessionUpdated(
        decode_session(_session(d)), _session_id(d), _eid(d)
    )
    table["transcription_session.updated"] = lambda d: TranscriptionSessionUpdated(
        decode_session(_session(d)), _eid(d)
    )

    def decode_event(data: Mapping[str, Any]) -> ServerEvent:
        # type() first: the ABC check costs three calls, and json gives plain dicts.
        kind = data.get("type") if type(data) is dict or isinstance(data, Mapping) else None
        if not isinstance(kind, str):
            return ProtocolViolation("not a JSON object with a string 'type'", _raw(data))
        decoder = table.get(kind)
        if decoder is None:
            return UnknownEvent(kind, data)
        try:
            return decoder(data)
        except Malformed as exc:
            return ProtocolViolation(f"{kind}: {exc}", _raw(data))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # Defensive: a shape no rule above anticipated is still a violation, not a crash.
            return ProtocolViolation(f"{kind}: {type(exc).__name__}: {exc}", _raw(data))

    return decode_event


def known_event_types() -> frozenset[str]:
    """Every server event type the decoders understand (both dialects)."""
    return frozenset(_SIMPLE) | {
        "session.created",
        "session.updated",
        "transcription_session.created",
        "transcription_session.updated",
    }


def _raw(data: Any) -> str:
    try:
        text = json.dumps(data, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        text = repr(data)
    return text[:RAW_LIMIT]
