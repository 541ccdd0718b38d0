"""Where a turn's time went: from the end of the user's speech to the first audio delta.

The session stamps each step with the ``now_ms`` its front passes in (the front's clock, read
when a message or a work result arrives), so the stages are measured where the work happens
and the module stays pure: no clock is read here. One :class:`TurnTimings` record per response
leaves the session as an outgoing item when the response ends; the front keeps the last ones
(``ServerHandle.timings``) and hands each to an ``on_timings`` callback.

The stages follow each other, so they add up (``other_ms`` is the rest: queues, thread
hand-offs, encoding)::

    end of speech heard ─vad_ms─> speech_stopped/commit ─transcription_ms─> brain asked
      ─brain_ms─> first text ... first sentence complete ─synthesis_ms─> first audio chunk
      ... first audio delta sent          (first_audio_ms spans all of it)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from realtalk.server.engines.base import Action, Say

__all__ = ["ArrivalLog", "ResponseStamps", "TurnStamps", "TurnTimings"]

Origin = Literal["speech_end", "commit", "response"]


@dataclass(frozen=True, slots=True)
class TurnTimings:
    """The latency breakdown of one response, in milliseconds of the server's clock.

    A stage that did not happen (no audio turn, a text-only response, a tool call with no
    speech) is ``None``. ``first_audio_ms`` is measured from ``origin``: the moment the audio
    at the end of the user's speech reached the server (server VAD), the commit (manual
    commit or idle timeout), or the ``response.create`` (no user audio turn).
    """

    response_id: str
    status: str
    """The response's final status (``completed``, ``cancelled``, ``failed``, ...)."""
    origin: Origin
    item_id: str | None = None
    """The committed user audio item that ended the turn, if any."""
    speech_end_audio_ms: float | None = None
    """Where the speech ended on the input audio timeline (``audio_end_ms`` minus the
    silence the VAD waited for)."""
    vad_ms: float | None = None
    """End of speech reached the server -> the VAD decided the turn was over (this includes
    the ``silence_duration_ms`` it has to hear first)."""
    transcription_ms: float | None = None
    """Commit -> transcript ready (the brain waits for it). With early transcription this is
    only what was left of the draft's run when the turn ended (0 if it was done)."""
    early_transcription: bool = False
    """The transcript came from a draft started at the last pause in the speech, before the
    silence rule ended the turn."""
    speculative: bool = False
    """The brain's answer (and maybe the first clause's audio) came from a speculative
    response started at the last pause, before the turn was decided; the brain and synthesis
    stages then count only what was left of them at the decision."""
    speculations_discarded: int = 0
    """Speculative responses dropped (speech resumed, or the answer changed) since the
    session's previous response ended: engine time spent for nothing."""
    brain_ms: float | None = None
    """Brain asked -> its first text (or tool call)."""
    synthesis_ms: float | None = None
    """First sentence sent to the synthesizer -> its first audio chunk."""
    first_audio_ms: float | None = None
    """``origin`` -> the first audio delta left the session."""

    @property
    def other_ms(self) -> float | None:
        """``first_audio_ms`` minus the stages: waiting for a whole first sentence, queues,
        thread hand-offs, encoding."""
        if self.first_audio_ms is None:
            return None
        stages = (self.vad_ms, self.transcription_ms, self.brain_ms, self.synthesis_ms)
        return self.first_audio_ms - sum(s for s in stages if s is not None)


@dataclass(slots=True)
class TurnStamps:
    """Times of one committed user audio turn (the session's clock, ms)."""

    item_id: str
    committed_at: float
    speech_end_audio_ms: float | None = None
    speech_end_at: float | None = None
    transcribed_at: float | None = None
    early: bool = False


@dataclass(slots=True)
class ResponseStamps:
    """Times of one response; ``turn`` is the audio turn that led to it, if any."""

    created_at: float
    turn: TurnStamps | None = None
    think_at: float | None = None
    first_text_at: float | None = None
    synth_work_id: str | None = None
    synth_at: float | None = None
    first_chunk_at: float | None = None
    speculative: bool = False

    def brain_acted(self, action: Action, now: float) -> None:
        if self.first_text_at is None and (not isinstance(action, Say) or action.text):
            self.first_text_at = now

    def synthesis_asked(self, work_id: str, now: float) -> None:
        if self.synth_work_id is None:
            self.synth_work_id, self.synth_at = work_id, now

    def synthesis_chunk(self, work_id: str, now: float) -> None:
        # Only the first synthesis counts: later sentences overlap the audio already playing.
        if work_id == self.synth_work_id and self.first_chunk_at is None:
            self.first_chunk_at = now

    def timings(self, response_id: str, status: str, first_audio_at: float | None) -> TurnTimings:
        turn = self.turn
        origin: Origin = "response"
        start = self.created_at
        if turn is not None and turn.speech_end_at is not None:
            origin, start = "speech_end", turn.speech_end_at
        elif turn is not None:
            origin, start = "commit", turn.committed_at
        return TurnTimings(
            response_id=response_id,
            status=status,
            origin=origin,
            item_id=turn.item_id if turn else None,
            speech_end_audio_ms=turn.speech_end_audio_ms if turn else None,
            vad_ms=_span(turn.speech_end_at, turn.committed_at) if turn else None,
            transcription_ms=_span(turn.committed_at, turn.transcribed_at) if turn else None,
            early_transcription=turn.early if turn else False,
            speculative=self.speculative,
            brain_ms=_span(self.think_at, self.first_text_at),
            synthesis_ms=_span(self.synth_at, self.first_chunk_at),
            first_audio_ms=_span(start, first_audio_at),
        )


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else max(0.0, end - start)


class ArrivalLog:
    """When the input audio up to each position arrived, for the last ``maxlen`` appends."""

    def __init__(self, maxlen: int = 1024) -> None:
        self._marks: deque[tuple[float, float]] = deque(maxlen=maxlen)

    def add(self, end_ms: float, now_ms: float) -> None:
        """The audio up to ``end_ms`` on the input timeline arrived at ``now_ms``."""
        self._marks.append((end_ms, now_ms))

    def arrival_of(self, position_ms: float) -> float | None:
        """When the audio at ``position_ms`` arrived (None if that is no longer known)."""
        for end_ms, now_ms in self._marks:
            if end_ms >= position_ms:
                return now_ms
        return None
