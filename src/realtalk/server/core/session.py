"""The pure per-connection state machine of the local Realtime server.

``ServerSession`` takes client JSON text in and gives server JSON text out, in the client's
dialect (GA or beta) and provider flavor (OpenAI or Azure). It never blocks, never sleeps and
never reads the clock: time comes in as ``now_ms`` arguments. Slow work (transcription, the
brain, synthesis) leaves as requests in :meth:`ServerSession.outgoing` and comes back through
:meth:`ServerSession.feed` (see :mod:`realtalk.server.core.work`). Use it like this::

    session = ServerSession(dialect="ga", vad=EnergyVAD())
    session.start(now_ms)                      # queues session.created, conversation.created
    session.receive(text, now_ms)              # one client message
    for out in session.outgoing(): ...         # Send / Close / work requests, in order
    session.feed(result, now_ms)               # a work result
    session.tick(now_ms)                       # at session.next_deadline(): pacing, timers

After each call, drain :meth:`outgoing`. Wire shapes and the error catalogue come from
:mod:`realtalk.server.wire`; event flows follow protocol.md §6.9. A client event reaches its
handler through :data:`HANDLERS`, one table from event type to method.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import secrets
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal

from realtalk.server.core.config import ServerConfig
from realtalk.server.core.conversation import (
    Conversation,
    StoredItem,
    parse_client_item,
    render_item,
    text_of,
    truncate_audio,
)
from realtalk.server.core.responses import ResponseParams, ResponseRun, response_context
from realtalk.server.core.settings import (
    Settings,
    overlay_response_params,
    read_settings,
)
from realtalk.server.core.speculation import Speculations
from realtalk.server.core.timings import ArrivalLog, ResponseStamps, TurnStamps
from realtalk.server.core.transcripts import record_transcript
from realtalk.server.core.turn_taking import CHANGES_THE_ANSWER, TurnTaking, brain_request
from realtalk.server.core.turns import (
    Draft,
    Drafts,
    InputBuffer,
    Judges,
    TurnDetector,
    transcription_hints,
)
from realtalk.server.core.work import (
    BrainDone,
    BrainStep,
    CancelWork,
    Close,
    Outgoing,
    Send,
    SynthesisChunk,
    SynthesisResult,
    Synthesize,
    Think,
    Transcribe,
    TranscriptionResult,
    TurnJudgement,
    Work,
    WorkResult,
)
from realtalk.server.engines.base import VAD
from realtalk.server.wire import errors
from realtalk.server.wire.encoders import rate_limits_event
from realtalk.server.wire.events import (
    client_event_id,
    parse_client_message,
    validate_client_event,
)
from realtalk.server.wire.session import (
    BETA_FALLBACK_MODEL,
    BETA_MODELS,
    apply_session_update,
    default_session,
    is_transcription_session,
)

__all__ = ["HANDLERS", "ServerSession"]

Dialect = Literal["ga", "beta"]
Flavor = Literal["openai", "azure"]
SessionType = Literal["realtime", "transcription"]
_MIN_COMMIT_MS = 100.0  # protocol.md §5: a commit needs at least 100 ms of audio


def _random_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class ServerSession(TurnTaking):
    """One client connection's session. See the module docstring for the calling pattern."""

    def __init__(
        self,
        *,
        dialect: Dialect = "ga",
        flavor: Flavor = "openai",
        model: str = "gpt-realtime",
        vad: VAD | None = None,
        config: ServerConfig | None = None,
        session: Mapping[str, Any] | None = None,
        session_type: SessionType | None = None,
        early_transcription: bool = False,
        end_of_turn: bool = False,
    ) -> None:
        """``session`` is a session object (in ``dialect``'s shape) applied on top of the
        defaults before ``session.created``, e.g. the config attached to a client secret.

        ``session_type="transcription"`` (a connection with ``intent=transcription``) makes a
        transcription session: it transcribes committed audio and never responds. Without it,
        the type of ``session`` decides (a transcription client secret), else ``realtime``.

        ``early_transcription``: transcribe the turn at each pause in the speech, so the
        transcript is (nearly) ready when the turn ends
        (:class:`~realtalk.server.core.turns.Drafts`).

        ``end_of_turn``: the front can run :class:`JudgeTurn` work (an end-of-turn model), so
        ``semantic_vad`` judges each pause (:class:`~realtalk.server.core.turns.Judges`).
        """
        self.dialect: Dialect = dialect
        if session_type is None:
            secret_type = session.get("type") if session else None
            session_type = "transcription" if secret_type == "transcription" else "realtime"
        self.session_type: SessionType = session_type
        self.flavor: Flavor = flavor
        self.model = model
        if dialect == "beta" and model not in BETA_MODELS:
            self.model = BETA_FALLBACK_MODEL
        self.config = config or ServerConfig()
        self.conversation = Conversation()
        self._vad = vad
        self._initial = dict(session) if session else None
        self._session: dict[str, Any] = {}
        self._settings: Settings | None = None
        self._out: list[Outgoing] = []
        self._runs: list[ResponseRun] = []
        self._think: dict[str, ResponseRun] = {}
        self._synth: dict[str, ResponseRun] = {}
        self._transcribing: dict[str, tuple[str, bool]] = {}  # work id -> (item id, emit events)
        self._buffer = InputBuffer("pcm16")
        self._detector: TurnDetector | None = None
        self._drafts = Drafts() if early_transcription else None
        self._judges = Judges() if end_of_turn else None
        # The speculative response rests on a draft transcript, so it comes with the drafts.
        speculate = early_transcription and self.config.speculative_responses
        self._specs = Speculations() if speculate else None
        self._replay: list[WorkResult] = []  # claimed speculative results, fed at the next flush
        self._discards_reported = 0
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0.0
        self._assistant_audio = False
        self._started_at_ms: float | None = None
        self._idle_deadline_ms: float | None = None
        self.closed = False
        # Latency stamps (see timings.py), all on the clock of the ``now_ms`` arguments.
        self._now = 0.0
        self._arrivals = ArrivalLog()
        self._turn: TurnStamps | None = None  # committed, not yet answered
        self._turn_work: dict[str, TurnStamps] = {}  # transcription work id -> its turn
        self._stamps: dict[str, ResponseStamps] = {}  # response id -> its stamps

    # --- public API ---------------------------------------------------------------------------

    def start(self, now_ms: float) -> None:
        """Open the session: queue ``session.created`` then ``conversation.created``."""
        self._started_at_ms = self._now = now_ms
        session = default_session(
            self.dialect,
            self.flavor,
            self.model,
            session_id=_random_id("sess"),
            now_s=int(now_ms // 1000),
            session_type=self.session_type,
            max_duration_s=int(self.config.max_session_s),
        )
        if self._initial:
            session = apply_session_update(self.dialect, session, self._initial)
        self._set_session(session)
        if self.transcription_only:
            # GA reports a transcription session in session.created; beta has its own event
            # (in the spec's beta schemas, not in the SDK's union: protocol.md §6.4).
            kind = "session.created" if self.dialect == "ga" else "transcription_session.created"
            self._send({"type": kind, "session": session})
            return
        self._send({"type": "session.created", "session": session})
        self._send(
            {
                "type": "conversation.created",
                "conversation": {"id": "conv_default", "object": "realtime.conversation"},
            }
        )

    @property
    def transcription_only(self) -> bool:
        """A transcription session: committed audio is transcribed, nothing responds."""
        return self.session_type == "transcription"

    @property
    def session(self) -> dict[str, Any]:
        """The effective session object, as last sent in ``session.created`` / ``updated``."""
        return self._session

    def outgoing(self) -> list[Outgoing]:
        """Everything to do now, in order; the list is emptied by the call."""
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must next be called (ms, same clock as ``now_ms``), if ever."""
        deadlines = [run.next_release() for run in self._runs]
        candidates = [d for d in deadlines if d is not None and math.isfinite(d)]
        if self._idle_deadline_ms is not None:
            candidates.append(self._idle_deadline_ms)
        if self._started_at_ms is not None and not self.closed:
            candidates.append(self._started_at_ms + self.config.max_session_s * 1000.0)
        return min(candidates) if candidates else None

    def tick(self, now_ms: float) -> None:
        """Advance time: release paced audio, fire the idle and session-length timers."""
        if self.closed:
            return
        self._now = now_ms
        if (
            self._started_at_ms is not None
            and now_ms >= self._started_at_ms + self.config.max_session_s * 1000.0
        ):
            self._expire()
            return
        if self._idle_deadline_ms is not None and now_ms >= self._idle_deadline_ms:
            self._idle_deadline_ms = None
            self._idle_timeout(now_ms)
        self._flush(now_ms)

    def receive(self, text: str | bytes, now_ms: float) -> None:
        """Handle one client message. Never raises: bad input becomes an ``error`` event."""
        if self.closed:
            return
        if self._started_at_ms is None:
            self.start(now_ms)
        self._now = now_ms
        event, error = parse_client_message(text)
        if error is None:
            error = validate_client_event(
                self.dialect,
                self.flavor,
                event,
                current=self._session,
                assistant_audio_present=self._assistant_audio,
            )
        client_id = client_event_id(event)
        if error is not None:
            self._error(error, client_id)
        else:
            handler = HANDLERS.get(event["type"])
            if handler is None:
                self._error(errors.unknown_event_type(event["type"], ()), client_id)
            else:
                handler(self, event, client_id, now_ms)
                if event["type"] in CHANGES_THE_ANSWER:
                    self._respeculate()
        self._flush(now_ms)

    def feed(self, result: WorkResult, now_ms: float) -> None:
        """Hand back the result of a work request."""
        if self.closed:
            return
        self._now = now_ms
        if self._specs is not None:
            result = self._specs.route(result)
            if self._specs.holds(result.work_id):
                synth = self._specs.hold(result, partial(_random_id, "work"))
                if synth is not None:
                    self._out.append(synth)
                return
        self._dispatch(result, now_ms)
        self._flush(now_ms)

    def _dispatch(self, result: WorkResult, now_ms: float) -> None:
        if isinstance(result, TranscriptionResult):
            if self._drafts is not None and self._drafts.owns(result.work_id):
                self._request_draft(self._drafts.finished(result, partial(_random_id, "work")))
                self._speculate()
            else:
                self._on_transcription(result)
        elif isinstance(result, TurnJudgement):
            self._on_judgement(result, now_ms)
        elif isinstance(result, BrainStep):
            run = self._think.get(result.work_id)
            if run is not None:
                self._stamps_of(run.id).brain_acted(result.action, now_ms)
                run.on_brain_action(result.action)
        elif isinstance(result, BrainDone):
            run = self._think.pop(result.work_id, None)
            if run is not None:
                run.on_brain_done(result.error)
        elif isinstance(result, SynthesisChunk):
            run = self._synth.get(result.work_id)
            if run is not None:
                self._stamps_of(run.id).synthesis_chunk(result.work_id, now_ms)
                run.on_synthesis_chunk(result.work_id, result.audio, now_ms)
        elif isinstance(result, SynthesisResult):
            run = self._synth.pop(result.work_id, None)
            if run is not None:
                run.on_synthesis_done(result.work_id, result.audio, result.error, now_ms)

    # --- plumbing -----------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return _random_id(prefix)

    def request(self, work: Work) -> None:
        if isinstance(work, Synthesize):
            run = next((r for r in self._runs if r.id == work.response_id), None)
            if run is not None:
                self._synth[work.work_id] = run
                self._stamps_of(run.id).synthesis_asked(work.work_id, self._now)
            self._send_work(work)
        else:
            self._out.append(work)

    def _stamps_of(self, response_id: str) -> ResponseStamps:
        # A response that has ended keeps no stamps; late results stamp a throwaway.
        return self._stamps.get(response_id) or ResponseStamps(created_at=self._now)

    def on_assistant_audio(self) -> None:
        self._assistant_audio = True

    def _send(self, event: dict[str, Any]) -> None:
        body = {"type": event["type"], "event_id": _random_id("event")}
        body.update((k, v) for k, v in event.items() if k != "type")
        self._out.append(Send(json.dumps(body, separators=(",", ":"))))

    def _error(self, error: dict[str, Any], client_event_id: str | None) -> None:
        event = errors.error_event(error, "", client_event_id)
        self._send({"type": "error", "error": event["error"]})

    def _set_session(self, session: dict[str, Any]) -> None:
        old = self._settings
        self._session = session
        self._settings = read_settings(self.dialect, session)
        settings = self._settings
        self._buffer.set_format(settings.input_format)
        turn_changed = old is None or old.turn != settings.turn
        format_changed = old is not None and old.input_format != settings.input_format
        if settings.turn is not None and self._vad is not None:
            if self._detector is None:
                self._detector = TurnDetector(self._vad, settings.input_format)
                self._reset_detector()
            elif turn_changed or format_changed:
                self._reset_detector(settings.input_format)
        if settings.turn is None or settings.turn.idle_timeout_ms is None:
            self._idle_deadline_ms = None

    def _flush(self, now_ms: float) -> None:
        while self._replay:
            self._dispatch(self._replay.pop(0), now_ms)
        for run in list(self._runs):
            for event in run.release(now_ms):
                self._send(event)
            if run.drained:
                self._runs.remove(run)
                self._after_response(run, now_ms)
                stamps = self._stamps.pop(run.id)
                timings = stamps.timings(run.id, run.status, run.first_audio_at_ms)
                if self._specs is not None:
                    self._cancel_works(self._specs.release(run.id))
                    discarded = self._specs.discarded - self._discards_reported
                    self._discards_reported = self._specs.discarded
                    timings = dataclasses.replace(timings, speculations_discarded=discarded)
                self._out.append(timings)

    def _expire(self) -> None:
        minutes = max(1, round(self.config.max_session_s / 60))
        self._error(errors.session_expired(minutes), None)
        self._out.append(Close(1001, "session expired"))
        self.closed = True
        for run in self._runs:
            self._cancel_run(run, "client_cancelled")
        if self._specs is not None:
            self._cancel_works(self._specs.discard())

    # --- session.update -----------------------------------------------------------------------

    def _on_session_update(self, event: dict[str, Any], client_id: str | None, now: float) -> None:
        # GA updates both kinds of session with session.update; beta has one event for each.
        expected = (
            "transcription_session.update"
            if self.dialect == "beta" and is_transcription_session(self.dialect, self._session)
            else "session.update"
        )
        if event["type"] != expected:
            self._error(errors.wrong_update_event(event["type"], expected), client_id)
            return
        self._set_session(apply_session_update(self.dialect, self._session, event["session"]))
        self._send({"type": expected.replace("update", "updated"), "session": self._session})

    # --- input audio buffer -------------------------------------------------------------------

    def _on_input_audio_buffer_append(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        audio = base64.b64decode(event["audio"])
        if len(audio) > self.config.max_append_bytes:
            self._error(
                errors.make_error(
                    "invalid_value",
                    f"Invalid 'audio': audio chunk too large. Expected at most "
                    f"{self.config.max_append_bytes} bytes of audio per event.",
                    "audio",
                ),
                client_id,
            )
            return
        self._buffer.append(audio)
        self._arrivals.add(self._buffer.end_ms, now)
        self._detect_turns(audio, now)

    def _on_input_audio_buffer_commit(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        buffered = self._buffer.buffered_ms
        if buffered < _MIN_COMMIT_MS:
            self._error(errors.commit_empty(buffered), client_id)
            return
        item_id = self._speech_item_id or self.new_id("item")
        self._speech_item_id = None
        audio = self._buffer.take()
        self._reset_detector()
        self._commit(audio, item_id)

    def _on_input_audio_buffer_clear(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        self._buffer.clear()
        self._speech_item_id = None
        self._reset_detector()
        self._send({"type": "input_audio_buffer.cleared"})

    def _on_output_audio_buffer_clear(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        # WebRTC/SIP only (protocol.md §6.1); over a WebSocket there is no server-side output
        # buffer to clear. Wording is our choice.
        self._error(
            errors.make_error(
                "invalid_value",
                "output_audio_buffer.clear is only supported for WebRTC and SIP connections.",
                "type",
            ),
            client_id,
        )

    def _user_item(self, item_id: str, audio: bytes) -> StoredItem:
        return StoredItem(
            data={
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
            audio={0: bytearray(audio)},
            audio_format=self._buffer.format,
        )

    def _commit(self, audio: bytes, item_id: str, draft: Draft | None = None) -> TurnStamps:
        settings = self._settings
        assert settings is not None
        item = self._user_item(item_id, audio)
        previous = self.conversation.insert(item)
        self._send(
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous,
                "item_id": item_id,
            }
        )
        self._announce_item(item, previous)
        # The brain hears the transcript whether or not the client asked for its events.
        emit = settings.transcription is not None or self.transcription_only
        if draft is None:
            work_id = self._transcribe(item, emit=emit)
        else:  # the turn's transcription started at its last pause
            work_id = draft.work_id
            self._transcribing[work_id] = (item_id, emit)
        turn = self._turn = self._turn_work[work_id] = TurnStamps(item_id, committed_at=self._now)
        turn.early = draft is not None
        if draft is not None and draft.result is not None:
            self._on_transcription(draft.result)
        return turn

    def _announce_item(self, item: StoredItem, previous: str | None) -> None:
        rendered = render_item(self.dialect, item)
        kinds = (
            ("conversation.item.added", "conversation.item.done")
            if self.dialect == "ga"
            else ("conversation.item.created",)
        )
        for kind in kinds:
            self._send({"type": kind, "previous_item_id": previous, "item": rendered})

    def _transcribe(self, item: StoredItem, *, emit: bool) -> str:
        language, prompt = transcription_hints(self._settings)
        work_id = self.new_id("work")
        self._transcribing[work_id] = (item.id, emit)
        self._out.append(
            Transcribe(
                work_id=work_id,
                item_id=item.id,
                audio=bytes(item.audio.get(0, b"")),
                audio_format=item.audio_format,
                language=language,
                prompt=prompt,
            )
        )
        return work_id

    def _on_transcription(self, result: TranscriptionResult) -> None:
        entry = self._transcribing.pop(result.work_id, None)
        if entry is None:
            return
        turn = self._turn_work.pop(result.work_id, None)
        if turn is not None:
            turn.transcribed_at = self._now
        item_id, emit = entry
        item = self.conversation.get(item_id)
        if item is not None:
            for event in record_transcript(item, result, emit=emit):
                self._send(event)
        for run in list(self._runs):
            if run.transcription_done(result.work_id):
                self._begin_thinking(run)

    # --- conversation items ---------------------------------------------------------------------

    def _on_conversation_item_create(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        settings = self._settings
        assert settings is not None
        parsed = parse_client_item(
            self.dialect, event["item"], self.new_id("item"), settings.input_format
        )
        if isinstance(parsed, dict):
            self._error(parsed, client_id)
            return
        if parsed.id in self.conversation:
            self._error(errors.item_id_exists(parsed.id), client_id)
            return
        previous_id = event.get("previous_item_id")
        try:
            previous = self.conversation.insert(parsed, previous_id)
        except KeyError:
            self._error(errors.previous_item_not_found(str(previous_id)), client_id)
            return
        self._announce_item(parsed, previous)
        for index, part in enumerate(parsed.data.get("content", [])):
            if part.get("type") == "input_audio" and part.get("transcript") is None:
                if parsed.audio.get(index):
                    self._transcribe(parsed, emit=False)
                break

    def _on_conversation_item_delete(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        if not self.conversation.delete(event["item_id"]):
            self._error(errors.item_not_found(event["item_id"]), client_id)
            return
        self._send({"type": "conversation.item.deleted", "item_id": event["item_id"]})

    def _on_conversation_item_retrieve(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        item = self.conversation.get(event["item_id"])
        if item is None:
            self._error(errors.item_not_found(event["item_id"]), client_id)
            return
        self._send(
            {
                "type": "conversation.item.retrieved",
                "item": render_item(self.dialect, item, with_audio=True),
            }
        )

    def _on_conversation_item_truncate(
        self, event: dict[str, Any], client_id: str | None, now: float
    ) -> None:
        item_id, index, end_ms = event["item_id"], event["content_index"], event["audio_end_ms"]
        error = truncate_audio(self.conversation.get(item_id), item_id, index, end_ms)
        if error is not None:
            self._error(error, client_id)
            return
        self._send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": index,
                "audio_end_ms": end_ms,
            }
        )

    # --- responses ------------------------------------------------------------------------------

    def _active_run(self) -> ResponseRun | None:
        for run in self._runs:
            if run.params.conversation == "auto":
                return run
        return None

    def _on_response_create(self, event: dict[str, Any], client_id: str | None, now: float) -> None:
        params = event.get("response") or {}
        if self.transcription_only:
            self._error(errors.no_responses_in_transcription(), client_id)
            return
        if params.get("conversation", "auto") != "none":
            active = self._active_run()
            if active is not None:
                self._error(errors.active_response(active.id), client_id)
                return
        self._start_response(params, client_id, now)

    def _on_response_cancel(self, event: dict[str, Any], client_id: str | None, now: float) -> None:
        wanted = event.get("response_id")
        for run in self._runs:
            matches = (wanted is None and run.params.conversation == "auto") or run.id == wanted
            if matches and not run.drained:
                self._cancel_run(run, "client_cancelled")
                return
        self._error(errors.cancel_not_active(), client_id)

    def _cancel_run(
        self, run: ResponseRun, reason: Literal["client_cancelled", "turn_detected"]
    ) -> None:
        works = run.cancel(reason)
        for work_id in works:
            self._think.pop(work_id, None)
            self._synth.pop(work_id, None)
            front_id = self._specs.front_id(work_id) if self._specs is not None else work_id
            self._out.append(CancelWork(front_id))
        if self._specs is not None:
            self._specs.forget(works)
            self._cancel_works(self._specs.release(run.id))

    def _start_response(
        self,
        params: Mapping[str, Any],
        client_id: str | None,
        now: float,
        *,
        decided_turn: bool = False,
    ) -> None:
        """``decided_turn``: the auto-response of a turn just decided, which its speculative
        response (if any) may serve."""
        if self.transcription_only:
            if self._specs is not None:
                self._cancel_works(self._specs.decide(None))
            return  # turn detection commits, the transcript is the answer
        settings = read_settings(
            self.dialect, overlay_response_params(self.dialect, self._session, params)
        )
        context, error = response_context(
            self.dialect, self.conversation, params.get("input"), self._settings, self.new_id
        )
        if error is not None:
            self._error(error, client_id)
            return
        seen = context if context is not None else self.conversation.items()
        input_tokens = math.ceil(
            (len(settings.instructions) + sum(len(text_of(item)) for item in seen)) / 4
        )
        run = ResponseRun(
            host=self,
            id=self.new_id("resp"),
            params=ResponseParams.of(
                settings,
                params,
                input_tokens=input_tokens,
                pacing=self.config.realtime_pacing,
                chunk_ms=self.config.audio_chunk_ms,
            ),
        )
        run.context = context
        run.settings = settings
        self._runs.append(run)
        self._stamps[run.id] = ResponseStamps(created_at=now, turn=self._turn)
        self._turn = None
        self._idle_deadline_ms = None
        self._send(run.created_event())
        limits = (self.config.rate_limit_requests, self.config.rate_limit_tokens)
        self._send(rate_limits_event(*limits, input_tokens))
        if decided_turn and self._specs is not None:
            self._cancel_works(self._specs.decide(run.id))
        if run.wait_for(set(self._transcribing)):
            self._begin_thinking(run)

    def _begin_thinking(self, run: ResponseRun) -> None:
        settings = run.settings
        assert settings is not None
        items = run.context if run.context is not None else list(self.conversation.items())
        work_id = self.new_id("work")
        run.thinking(work_id)
        self._think[work_id] = run
        stamps = self._stamps_of(run.id)
        stamps.think_at = self._now
        think = Think(work_id=work_id, response_id=run.id, request=brain_request(settings, items))
        stamps.speculative = self._send_work(think)

    def _after_response(self, run: ResponseRun, now: float) -> None:
        settings = self._settings
        if (
            run.params.conversation == "auto"
            and settings is not None
            and settings.turn is not None
            and settings.turn.idle_timeout_ms is not None
        ):
            playback_end = now
            if run.first_audio_at_ms is not None:
                playback_end = max(now, run.first_audio_at_ms + run.audio_ms_total)
            self._idle_deadline_ms = playback_end + settings.turn.idle_timeout_ms

    def _idle_timeout(self, now: float) -> None:
        # protocol.md §3: the idle timer fires input_audio_buffer.timeout_triggered, commits the
        # (silent) audio and creates a response. The beta union has no such event.
        item_id = self.new_id("item")
        start, end = self._buffer.start_ms, self._buffer.end_ms
        if self.dialect == "ga":
            self._send(
                {
                    "type": "input_audio_buffer.timeout_triggered",
                    "audio_start_ms": round(start),
                    "audio_end_ms": round(end),
                    "item_id": item_id,
                }
            )
        self._commit(self._buffer.take(), item_id)
        self._reset_detector()
        if self._active_run() is None:
            self._start_response({}, None, now)


ClientEventHandler = Callable[[ServerSession, dict[str, Any], "str | None", float], None]

HANDLERS: dict[str, ClientEventHandler] = {
    "session.update": ServerSession._on_session_update,
    # Beta's transcription sessions have their own update event; one handler checks both.
    "transcription_session.update": ServerSession._on_session_update,
    "input_audio_buffer.append": ServerSession._on_input_audio_buffer_append,
    "input_audio_buffer.commit": ServerSession._on_input_audio_buffer_commit,
    "input_audio_buffer.clear": ServerSession._on_input_audio_buffer_clear,
    "output_audio_buffer.clear": ServerSession._on_output_audio_buffer_clear,
    "conversation.item.create": ServerSession._on_conversation_item_create,
    "conversation.item.retrieve": ServerSession._on_conversation_item_retrieve,
    "conversation.item.truncate": ServerSession._on_conversation_item_truncate,
    "conversation.item.delete": ServerSession._on_conversation_item_delete,
    "response.create": ServerSession._on_response_create,
    "response.cancel": ServerSession._on_response_cancel,
}
"""Client event type -> its handler: every event of ``GA_CLIENT_EVENTS`` and
``BETA_CLIENT_EVENTS`` (wire.events), and nothing else (tests/server/test_dispatch.py)."""
