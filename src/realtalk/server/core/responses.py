"""One model response, from ``response.created`` to ``response.done`` (protocol.md §6.8, §6.9).

A :class:`ResponseRun` turns the brain's actions (text pieces, tool calls) into the event
stream of a response: output items, content parts, text or audio + transcript deltas,
function-call argument deltas, and ``response.done`` with usage. In audio mode the brain's text
is cut into sentences as it streams in (the engines' :class:`SentenceBuffer`); each sentence is
synthesised by a :class:`~realtalk.server.core.work.Synthesize` work as soon as it is complete, and
its audio goes out as deltas chunk by chunk while the synthesizer is still working, after the
sentence's transcript delta.

Every event of a response goes through the run's own queue with a release time, so the front
can pace audio in real time; the bookkeeping (item audio, transcript, the voice lock) follows
what was actually *released*, so a cancel or a truncate counts exactly the audio the client got.
"""

from __future__ import annotations

import base64
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from realtalk.server.core.codec import WireFormat, bytes_for_ms, duration_ms
from realtalk.server.core.conversation import (
    Conversation,
    StoredItem,
    parse_client_item,
    render_item,
)
from realtalk.server.core.phases import Phase, advance
from realtalk.server.core.settings import Settings
from realtalk.server.core.work import Synthesize, Work
from realtalk.server.engines.base import CallTool, Say
from realtalk.server.engines.synthesize import SentenceBuffer
from realtalk.server.wire import errors

__all__ = ["ResponseHost", "ResponseParams", "ResponseRun", "response_context"]

Dialect = Literal["ga", "beta"]
Outcome = Literal["completed", "cancelled", "failed", "incomplete"]
_NO_DELAY = -math.inf


class ResponseHost(Protocol):
    """What a response needs from its session."""

    dialect: Dialect
    conversation: Conversation

    def new_id(self, prefix: str) -> str: ...

    def request(self, work: Work) -> None: ...

    def on_assistant_audio(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ResponseParams:
    """A response's effective parameters (session settings overridden by ``response.create``)."""

    audio_out: bool
    voice: str
    speed: float
    output_format: WireFormat
    conversation: Literal["auto", "none"] = "auto"
    metadata: Mapping[str, Any] | None = None
    max_output_tokens: int | Literal["inf"] = "inf"
    temperature: float | None = None
    input_tokens: int = 0
    pacing: bool = False
    chunk_ms: int = 100

    @classmethod
    def of(
        cls,
        settings: Settings,
        params: Mapping[str, Any],
        *,
        input_tokens: int,
        pacing: bool,
        chunk_ms: int,
    ) -> ResponseParams:
        """The parameters of a response to ``response.create`` ``params`` under ``settings``
        (the session's, with those overrides already applied)."""
        metadata = params.get("metadata")
        return cls(
            audio_out=settings.audio_out,
            voice=settings.voice,
            speed=settings.speed,
            output_format=settings.output_format,
            conversation="none" if params.get("conversation") == "none" else "auto",
            metadata=metadata if isinstance(metadata, Mapping) else None,
            max_output_tokens=settings.max_output_tokens,
            temperature=settings.temperature,
            input_tokens=input_tokens,
            pacing=pacing,
            chunk_ms=chunk_ms,
        )


@dataclass(slots=True)
class _Entry:
    release_at: float
    event: dict[str, Any]
    audio: bytes = b""
    transcript: str = ""
    item: StoredItem | None = None
    details: dict[str, Any] | None = None
    """``response.done`` only: its ``status_details``, rendered at release time."""


@dataclass(slots=True)
class _Message:
    item: StoredItem
    output_index: int
    text: str = ""
    released_transcript: str = ""
    phase: str | None = None


@dataclass(slots=True)
class _Step:
    kind: Literal["speak", "tool", "end"]
    text: str = ""
    call: CallTool | None = None
    phase: str | None = None


@dataclass(slots=True)
class ResponseRun:
    """The state of one response. Drive it with the ``on_*`` methods, then :meth:`release`.

    Where it is lives in :attr:`phase` alone (:mod:`realtalk.server.core.phases`); the other
    fields are the data of a phase (the work ids to cancel, the sentence at the synthesizer).
    """

    host: ResponseHost
    id: str
    params: ResponseParams
    phase: Phase = Phase.WAITING
    outputs: list[StoredItem] = field(default_factory=list)
    _outcome: Outcome = "completed"
    _waiting: set[str] = field(default_factory=set)
    """WAITING: transcription work ids that must finish before the brain is asked."""
    _brain_work: str = ""
    """From GENERATING on: the brain's work id (cancelled with the response)."""
    _sentence: tuple[str, str] | None = None
    """SYNTHESISING / SPEAKING: (work id, sentence) at the synthesizer."""
    _message: _Message | None = None
    _say_phase: str | None = None
    """The phase of the brain's last Say: a change flushes and starts a new message."""
    # The first clause is spoken on its own: the first audio comes sooner (see SentenceBuffer).
    _sentences: SentenceBuffer = field(default_factory=lambda: SentenceBuffer(first_clause=True))
    _steps: deque[_Step] = field(default_factory=deque)
    _queue: deque[_Entry] = field(default_factory=deque)
    _cursor_ms: float = _NO_DELAY
    first_audio_at_ms: float | None = None
    audio_ms_total: float = 0.0
    output_text_chars: int = 0
    context: list[StoredItem] | None = None
    """The items the brain sees (``response.input``); None = the whole conversation."""
    settings: Settings | None = None

    # --- phase ------------------------------------------------------------------------------

    def _move(self, to: Phase) -> None:
        self.phase = advance(self.phase, to)

    @property
    def finished(self) -> bool:
        """``response.done`` is queued: nothing more is generated."""
        return self.phase in (Phase.RELEASING, Phase.DONE)

    @property
    def drained(self) -> bool:
        """Everything, ``response.done`` included, has been released."""
        return self.phase is Phase.DONE

    @property
    def status(self) -> Literal["in_progress", "completed", "cancelled", "failed", "incomplete"]:
        """The wire ``status`` of the response object."""
        return self._outcome if self.finished else "in_progress"

    def wait_for(self, transcriptions: set[str]) -> bool:
        """Hold the brain until these transcription works end; True: nothing to wait for."""
        self._waiting = set(transcriptions)
        return not self._waiting

    def transcription_done(self, work_id: str) -> bool:
        """A transcription ended; True when it was the last one this run waited for."""
        if self.phase is not Phase.WAITING or work_id not in self._waiting:
            return False
        self._waiting.discard(work_id)
        return not self._waiting

    def thinking(self, work_id: str) -> None:
        """The brain has been asked (``work_id``)."""
        self._brain_work = work_id
        self._move(Phase.GENERATING)

    # --- events -----------------------------------------------------------------------------

    def created_event(self) -> dict[str, Any]:
        return {"type": "response.created", "response": self._response_object()}

    def _emit(self, event: dict[str, Any], *, at: float | None = None, **extra: Any) -> None:
        release = self._queue[-1].release_at if self._queue else _NO_DELAY
        if at is not None:
            release = max(release, at)
        self._queue.append(_Entry(release, event, **extra))

    def _names(self) -> dict[str, str]:
        if self.host.dialect == "ga":
            return {
                "audio_delta": "response.output_audio.delta",
                "audio_done": "response.output_audio.done",
                "tr_delta": "response.output_audio_transcript.delta",
                "tr_done": "response.output_audio_transcript.done",
                "text_delta": "response.output_text.delta",
                "text_done": "response.output_text.done",
            }
        return {
            "audio_delta": "response.audio.delta",
            "audio_done": "response.audio.done",
            "tr_delta": "response.audio_transcript.delta",
            "tr_done": "response.audio_transcript.done",
            "text_delta": "response.text.delta",
            "text_done": "response.text.done",
        }

    def _in_conversation(self) -> bool:
        return self.params.conversation == "auto"

    def _add_output_item(self, item: StoredItem) -> int:
        output_index = len(self.outputs)
        self.outputs.append(item)
        self._emit(
            {
                "type": "response.output_item.added",
                "response_id": self.id,
                "output_index": output_index,
                "item": render_item(self.host.dialect, item),
            }
        )
        if self._in_conversation():
            previous = self.host.conversation.insert(item)
            kind = (
                "conversation.item.added"
                if self.host.dialect == "ga"
                else "conversation.item.created"
            )
            self._emit(
                {
                    "type": kind,
                    "previous_item_id": previous,
                    "item": render_item(self.host.dialect, item),
                }
            )
        return output_index

    def _finish_output_item(self, item: StoredItem, output_index: int) -> None:
        self._emit(
            {
                "type": "response.output_item.done",
                "response_id": self.id,
                "output_index": output_index,
                "item": render_item(self.host.dialect, item),
            },
            item=item,
        )
        if self._in_conversation() and self.host.dialect == "ga":
            self._emit(
                {"type": "conversation.item.done", "item": render_item(self.host.dialect, item)},
                item=item,
            )

    def _message_for(self, phase: str | None) -> _Message:
        """The open message if it has this phase; else the open one ends and a new one opens:
        gpt-realtime-2's preamble and answer are separate messages (protocol.md 11.1)."""
        if self._message is not None and self._message.phase != phase:
            self._close_message("completed")
        return self._open_message(phase)

    def _open_message(self, phase: str | None = None) -> _Message:
        if self._message is not None:
            return self._message
        content_type = "output_audio" if self.params.audio_out else "output_text"
        part: dict[str, Any] = (
            {"type": content_type, "transcript": ""}
            if self.params.audio_out
            else {"type": content_type, "text": ""}
        )
        item = StoredItem(
            data={
                "id": self.host.new_id("item"),
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            },
            audio_format=self.params.output_format,
        )
        if phase is not None and self.host.dialect == "ga":
            # The GA service's extra field, outside the SDK's types (protocol.md 11.1); the beta
            # shape predates phases.
            item.data["phase"] = phase
        output_index = self._add_output_item(item)
        item.data["content"].append(part)
        if self.params.audio_out:
            item.audio[0] = bytearray()
        self._message = _Message(item=item, output_index=output_index, phase=phase)
        self._emit(self._part_event("response.content_part.added", ""))
        return self._message

    def _part_event(self, kind: str, text: str) -> dict[str, Any]:
        assert self._message is not None
        # The SDK types the part as {"type": "text"|"audio"} in both dialects (protocol.md §6.2,
        # §9.2); we follow the SDK so every event validates against its union.
        part = (
            {"type": "audio", "transcript": text}
            if self.params.audio_out
            else {"type": "text", "text": text}
        )
        return {
            "type": kind,
            "response_id": self.id,
            "item_id": self._message.item.id,
            "output_index": self._message.output_index,
            "content_index": 0,
            "part": part,
        }

    def _ids(self) -> dict[str, Any]:
        assert self._message is not None
        return {
            "response_id": self.id,
            "item_id": self._message.item.id,
            "output_index": self._message.output_index,
            "content_index": 0,
        }

    def _close_message(self, status: str) -> None:
        message = self._message
        if message is None:
            return
        self._message = None
        names = self._names()
        ids = {
            "response_id": self.id,
            "item_id": message.item.id,
            "output_index": message.output_index,
            "content_index": 0,
        }
        # The closing events carry what was released by then: filled in at release time.
        if self.params.audio_out:
            self._emit({"type": names["audio_done"], **ids})
            self._emit({"type": names["tr_done"], **ids, "transcript": None}, item=message.item)
        else:
            self._emit({"type": names["text_done"], **ids, "text": message.text})
        self._emit({"type": "response.content_part.done", **ids, "part": None}, item=message.item)
        message.item.data["status"] = status
        self._finish_output_item(message.item, message.output_index)

    # --- inputs -----------------------------------------------------------------------------

    def on_brain_action(self, action: Say | CallTool) -> None:
        if self.finished:
            return
        if isinstance(action, Say):
            if not action.text:
                return
            if action.phase != self._say_phase:
                self._flush_pending()  # the last sentence of the previous phase is its own
                self._say_phase = action.phase
            if self.params.audio_out:
                for sentence in self._sentences.push(action.text):
                    self._steps.append(_Step("speak", sentence, phase=action.phase))
            else:
                self._steps.append(_Step("speak", action.text, phase=action.phase))
        else:
            self._flush_pending()
            self._steps.append(_Step("tool", call=action))
        self._advance()

    def on_brain_done(self, error: str | None) -> None:
        if self.finished:
            return
        if error is not None:
            self._fail(error)
            return
        self._flush_pending()
        self._steps.append(_Step("end"))
        self._advance()

    def _synthesising(self, work_id: str) -> bool:
        return (
            self.phase in (Phase.SYNTHESISING, Phase.SPEAKING)
            and self._sentence is not None
            and self._sentence[0] == work_id
        )

    def on_synthesis_chunk(self, work_id: str, audio: bytes, now_ms: float) -> None:
        """The next piece of the sentence being synthesised: out it goes, as deltas."""
        if not self._synthesising(work_id):
            return
        at = max(now_ms, self._cursor_ms) if self.params.pacing else None
        self._hear_sentence(at)
        chunk = max(2, bytes_for_ms(self.params.chunk_ms, self.params.output_format))
        delta = self._names()["audio_delta"]
        for offset in range(0, len(audio), chunk):
            piece = audio[offset : offset + chunk]
            self._emit(
                {
                    "type": delta,
                    **self._ids(),
                    "delta": base64.b64encode(piece).decode("ascii"),
                },
                at=at,
                audio=piece,
            )
            if at is not None:
                at += duration_ms(len(piece), self.params.output_format)
        if at is not None:
            self._cursor_ms = at

    def on_synthesis_done(
        self, work_id: str, audio: bytes, error: str | None, now_ms: float
    ) -> None:
        """The sentence's synthesis ended (``audio``: a last piece, if any)."""
        if not self._synthesising(work_id):
            return
        if audio:
            self.on_synthesis_chunk(work_id, audio, now_ms)
        assert self._sentence is not None
        if error is not None:
            if self.phase is Phase.SYNTHESISING:
                self._open_message().text += self._sentence[1]
            self._fail(error)
            return
        # A sentence the engine renders as silence still belongs to the transcript.
        self._hear_sentence(max(now_ms, self._cursor_ms) if self.params.pacing else None)
        self._sentence = None
        self._move(Phase.GENERATING)
        self._advance()

    def _hear_sentence(self, at: float | None) -> None:
        """Queue the transcript delta of the sentence in flight, once, before its audio."""
        if self.phase is not Phase.SYNTHESISING or self._sentence is None:
            return
        self._move(Phase.SPEAKING)
        message = self._open_message()
        # Sentences arrive stripped; a space joins them back into the message's transcript.
        piece = self._sentence[1] if not message.text else " " + self._sentence[1]
        message.text += piece
        self._emit(
            {"type": self._names()["tr_delta"], **self._ids(), "delta": piece},
            at=at,
            transcript=piece,
        )

    def cancel(self, reason: Literal["client_cancelled", "turn_detected"]) -> list[str]:
        """Stop now: drop unreleased deltas, close open parts, queue ``response.done``.

        Returns the work ids to cancel.
        """
        if self.drained:
            return []
        kept: deque[_Entry] = deque()
        dropped: set[str] = set()
        for entry in self._queue:
            if entry.audio or entry.transcript:
                # never-sent audio and transcript are dropped, as the service does
                dropped.add(str(entry.event.get("item_id")))
                continue
            entry.release_at = _NO_DELAY
            kept.append(entry)
        self._queue = kept
        self._cursor_ms = _NO_DELAY
        if self.finished:
            # Generation was over but the paced audio was still going out: the client sees
            # this response as in progress, so it ends as cancelled with what was sent.
            for item in self.outputs:
                if item.id in dropped:
                    item.data["status"] = "incomplete"
            for entry in self._queue:
                if entry.event["type"] == "response.done":
                    entry.details = {"type": "cancelled", "reason": reason}
            self._outcome = "cancelled"
            self._move(Phase.RELEASING)
            return []
        works = [w for w in (self._brain_work, self._sentence[0] if self._sentence else None) if w]
        self._sentence = None
        self._steps.clear()
        self._close_message("incomplete")
        self._done("cancelled", {"type": "cancelled", "reason": reason})
        return works

    # --- internals --------------------------------------------------------------------------

    def _flush_pending(self) -> None:
        rest = self._sentences.flush()
        if rest:
            self._steps.append(_Step("speak", rest, phase=self._say_phase))

    def _advance(self) -> None:
        while self._steps and self.phase is Phase.GENERATING:
            step = self._steps.popleft()
            if step.kind == "speak":
                if self.params.audio_out:
                    self._message_for(step.phase)
                    work_id = self.host.new_id("work")
                    self._sentence = (work_id, step.text)
                    self._move(Phase.SYNTHESISING)
                    self.host.request(
                        Synthesize(
                            work_id=work_id,
                            response_id=self.id,
                            text=step.text,
                            voice=self.params.voice,
                            speed=self.params.speed,
                            audio_format=self.params.output_format,
                        )
                    )
                else:
                    message = self._message_for(step.phase)
                    message.text += step.text
                    message.item.data["content"][0]["text"] = message.text
                    self._emit(
                        {"type": self._names()["text_delta"], **self._ids(), "delta": step.text}
                    )
            elif step.kind == "tool":
                assert step.call is not None
                self._close_message("completed")
                self._function_call(step.call)
            else:
                self._close_message("completed")
                self._done("completed", None)

    def _function_call(self, call: CallTool) -> None:
        item_id = self.host.new_id("item")
        call_id = call.call_id or "call_" + item_id[5:21]
        item = StoredItem(
            data={
                "id": item_id,
                "type": "function_call",
                "status": "in_progress",
                "name": call.name,
                "call_id": call_id,
                "arguments": "",
            }
        )
        output_index = self._add_output_item(item)
        ids = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": output_index,
            "call_id": call_id,
        }
        arguments = call.arguments
        half = max(1, len(arguments) // 2)
        for piece in (arguments[:half], arguments[half:]):
            if piece:
                self._emit(
                    {"type": "response.function_call_arguments.delta", **ids, "delta": piece}
                )
        done: dict[str, Any] = {
            "type": "response.function_call_arguments.done",
            **ids,
            "arguments": arguments,
        }
        if self.host.dialect == "ga":
            done["name"] = call.name  # beta has no ``name`` here (protocol.md §6.4)
        self._emit(done)
        item.data["arguments"] = arguments
        item.data["status"] = "completed"
        self._finish_output_item(item, output_index)

    def _fail(self, message: str) -> None:
        self._steps.clear()
        self._sentence = None
        self._close_message("incomplete")
        self._done(
            "failed",
            {
                "type": "failed",
                "error": {"type": "server_error", "code": "engine_error", "message": message},
            },
        )

    def _done(self, outcome: Outcome, details: dict[str, Any] | None) -> None:
        self._outcome = outcome
        self._move(Phase.RELEASING)
        self._emit({"type": "response.done", "response": None}, details=details)

    def _response_object(self, details: dict[str, Any] | None = None) -> dict[str, Any]:
        dialect = self.host.dialect
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "realtime.response",
            "status": self.status,
            "status_details": details,
            "output": [render_item(dialect, item) for item in self.outputs]
            if self.finished
            else [],
            "conversation_id": "conv_default" if self._in_conversation() else None,
            "max_output_tokens": self.params.max_output_tokens,
            "metadata": dict(self.params.metadata) if self.params.metadata else None,
            "usage": self._usage() if self.finished else None,
        }
        if dialect == "ga":
            obj["output_modalities"] = ["audio"] if self.params.audio_out else ["text"]
            obj["audio"] = {
                "output": {
                    "format": _ga_format(self.params.output_format),
                    "voice": self.params.voice,
                }
            }
        else:
            obj["modalities"] = ["audio", "text"] if self.params.audio_out else ["text"]
            obj["voice"] = self.params.voice
            obj["output_audio_format"] = self.params.output_format
            obj["temperature"] = (
                self.params.temperature if self.params.temperature is not None else 0.8
            )
        return obj

    def _usage(self) -> dict[str, Any]:
        # Rough token counts (4 characters a token, 50 ms of audio a token): the service bills
        # by tokens, clients only need plausible, consistent numbers here.
        text_tokens = math.ceil(self.output_text_chars / 4)
        audio_tokens = math.ceil(self.audio_ms_total / 50)
        out = text_tokens + audio_tokens
        inp = self.params.input_tokens
        return {
            "total_tokens": inp + out,
            "input_tokens": inp,
            "output_tokens": out,
            "input_token_details": {"text_tokens": inp, "audio_tokens": 0, "cached_tokens": 0},
            "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        }

    # --- release ----------------------------------------------------------------------------

    def next_release(self) -> float | None:
        return self._queue[0].release_at if self._queue else None

    def release(self, now_ms: float) -> list[dict[str, Any]]:
        """The events due at ``now_ms``, in order, with the bookkeeping of what was sent."""
        out: list[dict[str, Any]] = []
        while self._queue and self._queue[0].release_at <= now_ms:
            entry = self._queue.popleft()
            event = entry.event
            kind = event["type"]
            if entry.audio:
                if self.first_audio_at_ms is None:
                    self.first_audio_at_ms = now_ms
                item = self._item_of(event)
                if item is not None:
                    item.audio.setdefault(0, bytearray()).extend(entry.audio)
                self.audio_ms_total += duration_ms(len(entry.audio), self.params.output_format)
                self.host.on_assistant_audio()
            elif entry.transcript:
                item = self._item_of(event)
                if item is not None:
                    part = item.data["content"][0]
                    part["transcript"] = (part.get("transcript") or "") + entry.transcript
                self.output_text_chars += len(entry.transcript)
            elif kind.endswith("transcript.done") and entry.item is not None:
                event["transcript"] = entry.item.data["content"][0].get("transcript") or ""
            elif kind == "response.content_part.done" and entry.item is not None:
                part = dict(entry.item.data["content"][0])
                if part["type"] == "output_audio":
                    event["part"] = {"type": "audio", "transcript": part.get("transcript") or ""}
                else:
                    event["part"] = {"type": "text", "text": part.get("text") or ""}
            elif kind in ("response.output_item.done", "conversation.item.done") and entry.item:
                event["item"] = render_item(self.host.dialect, entry.item)
            elif kind.endswith("text.delta"):
                self.output_text_chars += len(event["delta"])
            elif kind == "response.done":
                event["response"] = self._response_object(entry.details)
            out.append(event)
        if self.phase is Phase.RELEASING and not self._queue:
            self._move(Phase.DONE)
        return out

    def _item_of(self, event: Mapping[str, Any]) -> StoredItem | None:
        item_id = event.get("item_id")
        for item in self.outputs:
            if item.id == item_id:
                return item
        return None


def _ga_format(fmt: WireFormat) -> dict[str, Any]:
    if fmt == "g711_ulaw":
        return {"type": "audio/pcmu"}
    if fmt == "g711_alaw":
        return {"type": "audio/pcma"}
    return {"type": "audio/pcm", "rate": 24000}


def response_context(
    dialect: Dialect,
    conversation: Conversation,
    raw_input: Any,
    settings: Settings | None,
    new_id: Callable[[str], str],
) -> tuple[list[StoredItem] | None, dict[str, Any] | None]:
    """``response.create``'s ``input`` -> (the items the brain sees, or the error to report).

    ``None`` items mean the whole conversation, read when the brain is asked."""
    if raw_input is None:
        return None, None
    assert settings is not None
    out: list[StoredItem] = []
    for index, raw in enumerate(raw_input):
        if isinstance(raw, Mapping) and raw.get("type") == "item_reference":
            item = conversation.get(str(raw.get("id")))
            if item is None:
                param = f"response.input[{index}].id"
                return None, errors.item_not_found(str(raw.get("id")), param)
            out.append(item)
            continue
        parsed = parse_client_item(dialect, raw, new_id("item"), settings.input_format)
        if isinstance(parsed, dict):
            parsed["param"] = (parsed.get("param") or "item").replace(
                "item", f"response.input[{index}]", 1
            )
            return None, parsed
        out.append(parsed)
    return out, None
