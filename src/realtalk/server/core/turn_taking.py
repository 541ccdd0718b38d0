"""Turn taking on the server's input audio: the part of
:class:`~realtalk.server.core.session.ServerSession` between the VAD and the commit.

The detector's events (:class:`~realtalk.server.core.turns.TurnDetector`) start and stop
speech; at each pause a draft transcription starts (:class:`~realtalk.server.core.turns.Drafts`),
``semantic_vad`` asks the end-of-turn model (:class:`~realtalk.server.core.turns.Judges`), and
once the draft is transcribed the speculative response runs
(:mod:`realtalk.server.core.speculation`): held in the core, claimed by the decided turn's
response, dropped when speech resumes or when a client event changes the answer
(:data:`CHANGES_THE_ANSWER`). :class:`TurnTaking` is a mixin of the session: it keeps no state of
its own; the attributes and methods it relies on are declared below for the type checker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from realtalk.items import Item
from realtalk.server.core.codec import WireFormat
from realtalk.server.core.conversation import Conversation, StoredItem, to_neutral
from realtalk.server.core.settings import (
    Settings,
    TurnSettings,
    overlay_response_params,
    read_settings,
)
from realtalk.server.core.speculation import Claimable, Speculations
from realtalk.server.core.timings import ArrivalLog, TurnStamps
from realtalk.server.core.transcripts import record_transcript
from realtalk.server.core.turns import (
    JUDGE_PAUSE_MS,
    REJUDGE_MS,
    Draft,
    Drafts,
    InputBuffer,
    Judges,
    TurnDetector,
    TurnEvent,
    detector_rule,
    draft_pause_ms,
    transcription_hints,
)
from realtalk.server.core.work import CancelWork, Outgoing, Think, TurnJudgement, WorkResult
from realtalk.server.engines.base import BrainRequest

if TYPE_CHECKING:
    from realtalk.server.core.responses import ResponseRun

__all__ = ["CHANGES_THE_ANSWER", "TurnTaking", "brain_request"]

CHANGES_THE_ANSWER = frozenset(
    {
        "session.update",
        "transcription_session.update",
        "conversation.item.create",
        "conversation.item.delete",
        "conversation.item.truncate",
        "response.create",
        "input_audio_buffer.clear",
    }
)
"""Client events after which an undecided speculative response is dropped and redone (the
instructions, tools, voice, the conversation or the input may differ; see
:meth:`TurnTaking._respeculate`)."""


class TurnTaking:
    """Speech started / paused / stopped, drafts, judgements and the speculative response."""

    if TYPE_CHECKING:  # provided by ServerSession
        dialect: Literal["ga", "beta"]
        conversation: Conversation
        _session: dict[str, Any]
        _settings: Settings | None
        _out: list[Outgoing]
        _runs: list[ResponseRun]
        _buffer: InputBuffer
        _detector: TurnDetector | None
        _drafts: Drafts | None
        _judges: Judges | None
        _specs: Speculations | None
        _replay: list[WorkResult]
        _arrivals: ArrivalLog
        _speech_item_id: str | None
        _speech_start_ms: float
        _idle_deadline_ms: float | None

        @property
        def transcription_only(self) -> bool: ...

        def new_id(self, prefix: str) -> str: ...

        def _send(self, event: dict[str, Any]) -> None: ...

        def _user_item(self, item_id: str, audio: bytes) -> StoredItem: ...

        def _commit(self, audio: bytes, item_id: str, draft: Draft | None = None) -> TurnStamps: ...

        def _active_run(self) -> ResponseRun | None: ...

        def _cancel_run(
            self, run: ResponseRun, reason: Literal["client_cancelled", "turn_detected"]
        ) -> None: ...

        def _start_response(
            self,
            params: Mapping[str, Any],
            client_id: str | None,
            now: float,
            *,
            decided_turn: bool = False,
        ) -> None: ...

    def _detect_turns(self, audio: bytes, now: float) -> None:
        """The appended ``audio`` through the detector: its turn events, handled."""
        settings = self._settings
        if settings is None or settings.turn is None or self._detector is None:
            return
        rule = self._turn_rule(settings.turn)
        judging = self._judges is not None and rule.kind == "semantic_vad"
        pause_ms = draft_pause_ms(rule) if self._drafts is not None or judging else None
        recheck_ms = REJUDGE_MS if judging else None
        first_check_ms = JUDGE_PAUSE_MS if judging else None
        for turn_event in self._detector.feed(audio, rule, pause_ms, recheck_ms, first_check_ms):
            if turn_event.kind == "started":
                self._speech_started(turn_event.at_ms, settings, now)
            elif turn_event.kind == "stopped":
                self._speech_stopped(turn_event.at_ms, settings, now)
            elif turn_event.kind in ("paused", "silent"):
                self._on_pause(turn_event, judging)
            else:
                self._reset_pauses()

    def _turn_rule(self, turn: TurnSettings) -> TurnSettings:
        return detector_rule(turn, judged=self._judges is not None)

    def _on_pause(self, pause: TurnEvent, judging: bool) -> None:
        new_id = partial(self.new_id, "work")
        if self._drafts is not None and pause.kind == "paused":
            # A judged turn ends at the pause or soon after: pad the draft with no silence.
            draft_pause = dataclasses.replace(pause, turn_end_ms=pause.at_ms) if judging else pause
            self._request_draft(self._drafts.pause(self._speech_start_ms, draft_pause, new_id))
        # The model is asked at the ``silent`` checks (JUDGE_PAUSE_MS, then each REJUDGE_MS),
        # after the draft's shorter pause.
        if judging and self._judges is not None and pause.kind == "silent":
            judge = self._judges.pause(self._buffer, self._speech_start_ms, pause.at_ms, new_id)
            if judge is not None:
                self._out.append(judge)

    def _reset_pauses(self) -> None:
        if self._drafts is not None:
            self._drafts.reset()
        if self._judges is not None:
            self._judges.reset()
        if self._specs is not None:
            self._cancel_works(self._specs.drop_undecided())

    def _respeculate(self) -> None:
        # Anything that can change the answer (CHANGES_THE_ANSWER) drops an undecided
        # speculation and starts it again on the same draft under the new state: redo rather
        # than keep, because a held answer for the old config would be wrong, and redo rather
        # than wait for the decision, because the pause may be long enough to finish it.
        if self._specs is not None and self._specs.undecided:
            self._cancel_works(self._specs.drop_undecided())
            self._speculate()

    def _speculate(self) -> None:
        """At a transcribed pause: ask the brain for the response the turn would get if it
        ended here (held until the decision, :mod:`realtalk.server.core.speculation`)."""
        specs, drafts, settings = self._specs, self._drafts, self._settings
        if specs is None or drafts is None or settings is None or specs.current is not None:
            return
        draft, turn = drafts.current, settings.turn
        if (
            draft is None
            or draft.result is None
            or draft.result.error is not None
            or draft.start_ms != self._speech_start_ms
            or self._speech_item_id is None
            or turn is None
            or not turn.create_response  # no response: the draft transcript is all there is
            or self.transcription_only
            or self._active_run() is not None  # the decided turn would not respond either
        ):
            return
        item = self._user_item(self._speech_item_id, b"")
        record_transcript(item, draft.result, emit=False)
        response = read_settings(
            self.dialect, overlay_response_params(self.dialect, self._session, {})
        )
        think = Think(
            work_id=self.new_id("work"),
            response_id="",
            request=brain_request(response, [*self.conversation.items(), item]),
        )
        specs.begin(
            think,
            audio_out=response.audio_out,
            voice=response.voice,
            speed=response.speed,
            fmt=response.output_format,
        )
        self._out.append(think)

    def _on_judgement(self, result: TurnJudgement, now_ms: float) -> None:
        settings, detector = self._settings, self._detector
        if self._judges is None or not self._judges.owns(result.work_id):
            return
        threshold = settings.turn.end_of_turn_threshold if settings and settings.turn else 1.0
        new_id = partial(self.new_id, "work")
        end, again = self._judges.finished(result, threshold, self._buffer, new_id)
        if again is not None:
            self._out.append(again)
        if end and settings is not None and detector is not None and detector.paused:
            heard = detector.heard_ms
            silence_ms = heard - detector.last_speech_end_ms
            detector.end_turn()
            self._speech_stopped(heard, settings, now_ms, silence_ms)

    def _reset_detector(self, fmt: WireFormat | None = None) -> None:
        if self._detector is not None:
            self._detector.reset(self._buffer.end_ms, fmt)
        self._reset_pauses()

    def _request_draft(self, draft: Draft | None) -> None:
        if draft is not None:
            hints = transcription_hints(self._settings)
            self._out.append(draft.work(self._buffer, self._speech_item_id or "", *hints))

    def _speech_started(self, onset_ms: float, settings: Settings, now: float) -> None:
        assert settings.turn is not None
        self._idle_deadline_ms = None
        self._speech_item_id = self.new_id("item")
        start = max(self._buffer.start_ms, onset_ms - settings.turn.prefix_padding_ms)
        self._speech_start_ms = start
        self._send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": round(start),
                "item_id": self._speech_item_id,
            }
        )
        if settings.turn.interrupt_response:
            for run in self._runs:
                if run.params.conversation == "auto" and not run.drained:
                    self._cancel_run(run, "turn_detected")

    def _speech_stopped(
        self, end_ms: float, settings: Settings, now: float, silence_ms: float | None = None
    ) -> None:
        """The turn ends at ``end_ms``, after ``silence_ms`` of silence (default: the rule's)."""
        assert settings.turn is not None
        if self._judges is not None:
            self._judges.reset()
        item_id = self._speech_item_id or self.new_id("item")
        self._speech_item_id = None
        self._send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": round(end_ms),
                "item_id": item_id,
            }
        )
        draft = self._drafts.adopt(self._speech_start_ms) if self._drafts is not None else None
        audio = self._buffer.take(self._speech_start_ms, end_ms)
        turn = self._commit(audio, item_id, draft)
        if silence_ms is None:
            silence_ms = self._turn_rule(settings.turn).silence_duration_ms
        turn.speech_end_audio_ms = end_ms - silence_ms
        turn.speech_end_at = self._arrivals.arrival_of(turn.speech_end_audio_ms)
        if settings.turn.create_response and self._active_run() is None:
            self._start_response({}, None, now, decided_turn=True)
        elif self._specs is not None:
            self._cancel_works(self._specs.decide(None))

    def _send_work(self, work: Claimable) -> bool:
        """Send a response's brain or synthesis work, unless a speculation did it already
        (its results are then fed at the next flush); True if it was claimed."""
        if self._specs is not None:
            held, cancel = self._specs.claim(work)
            self._cancel_works(cancel)
            if held is not None:
                self._replay.extend(held)
                return True
        self._out.append(work)
        return False

    def _cancel_works(self, work_ids: list[str]) -> None:
        for work_id in work_ids:
            self._out.append(CancelWork(work_id))


def brain_request(settings: Settings, items: Iterable[StoredItem]) -> BrainRequest:
    neutral: tuple[Item, ...] = tuple(to_neutral(item) for item in items)
    return BrainRequest(
        items=neutral,
        instructions=settings.instructions,
        tools=settings.tools,
        tool_choice=settings.tool_choice,
        max_output_tokens=settings.max_output_tokens,
        temperature=settings.temperature,
    )
