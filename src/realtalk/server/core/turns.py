"""The input audio buffer and turn detection on real audio (protocol.md §3).

Positions are milliseconds on the session's input timeline: all audio the client appended
since the session began, as the service counts ``audio_start_ms`` / ``audio_end_ms``.

``server_vad``: a frame whose speech probability reaches ``threshold`` starts speech;
``speech_started.audio_start_ms`` is the onset minus ``prefix_padding_ms`` (never before the
buffer start), because the service's value "includes the prefix padding". Speech stops once
``silence_duration_ms`` of frames stay below the threshold; ``speech_stopped.audio_end_ms`` is
the end of the last speech frame plus that silence, as the service's value includes it.

The end of speech is where the voice stopped, not where the VAD's memory lets go: Silero's
probability stays over the threshold for a frame or so after the last word (median 44 ms on
the benchmark's human speech, against its forced word alignments). A frame the VAD calls
speech right after speech whose level is at the room's floor (within
:data:`HANGOVER_MARGIN_DB` of the quietest frame of the last ~3 s; at most
:data:`MAX_HANGOVER_FRAMES` of them) is taken for that lag: it neither moves the end of speech
nor resumes it, so ``silence_duration_ms`` counts from the voice's end (the lag left is 12 ms).
Pauses (drafts, judgements) are still timed from the VAD's own end, as an end-of-turn model
expects its trailing silence. The VAD hears the wire audio through soxr's QQ resampler, which
holds back no audio to speak of, so a frame is judged in the chunk that completes it.

``semantic_vad``: the same detector with threshold 0.5 and 300 ms padding. With an end-of-turn
model (``realtalk[turn]``, :mod:`realtalk.server.engines.turn`) every pause of
:data:`JUDGE_PAUSE_MS` is judged (:class:`Judges`): the turn's audio so far goes to the model,
and if its P(complete) reaches the eagerness' threshold while the speaker is still silent, the
turn ends there; else it is judged again each :data:`REJUDGE_MS` of further silence, and ends at
the latest after the eagerness' maximum wait (low 8 s / medium 4 s / high 2 s, auto = medium,
protocol.md §3). Without the model (the server logs it once at start-up) our heuristic ends the
turn after ``SEMANTIC_SILENCE_FRACTION`` of that cap of silence, i.e. 1000 / 500 / 250 ms.

Early transcription: the detector also reports a *pause* (speech still on, but
:func:`draft_pause_ms` of silence heard) and a *resume* (speech again after a pause). At a pause
the session transcribes the turn so far in the background (a *draft*, see :class:`Drafts`),
padded with digital silence to where the silence rule would end the turn. If the turn does end
there, the draft's transcript is the turn's: the rest of the rule held no speech (else the draft
would be stale), and with the padding the transcriber hears as much trailing silence as in the
committed audio (Whisper's words can shift with it; when that rest is digital silence, as from
a test or a muted microphone, the two are byte for byte the same). The draft runs while the
silence rule is still being heard, so little or none of it is left when the turn ends.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from realtalk.audio import Converter, silence
from realtalk.server.core.codec import WireFormat, audio_format, bytes_for_ms, duration_ms
from realtalk.server.core.settings import Settings, TurnSettings
from realtalk.server.core.work import JudgeTurn, Transcribe, TranscriptionResult, TurnJudgement
from realtalk.server.engines.base import VAD

__all__ = [
    "DRAFT_PAUSE_MS",
    "JUDGE_PAUSE_MS",
    "REJUDGE_MS",
    "Draft",
    "Drafts",
    "InputBuffer",
    "Judges",
    "TurnDetector",
    "TurnEvent",
    "detector_rule",
    "draft_pause_ms",
    "transcription_hints",
]

DRAFT_PAUSE_MS = 64.0
"""Silence after speech that starts a draft transcription (capped at half the silence rule).

The transcript is what the end of a turn waits for: Whisper tiny.en's run (~405 ms on 2 idle
cores, its 30 s window whatever the audio) starts here, so every millisecond of this pause is a
millisecond of turn latency. Two Silero frames: in audio time over the benchmark's human phrase
groups (benchmarks/turn_latency.py ``draft_table``) a 405 ms draft is done before the 500 ms
rule decides in 7 of 8 groups, a 450 ms one in 1 (none at 160 ms), so the speculative response
can run in the rule, and otherwise the turn waits ~95 ms less for it; the drafts asked for over
the 8 groups go from 25 to 31 (the extra ones, inside sentences, are engine time spent for
nothing), and none of them kept the final draft waiting. Whisper's words move with ~100 ms of
trailing room noise either way: against the transcript of the committed audio the 64 ms draft
agreed in 13 of 16 turns, the 160 ms one in 10."""


JUDGE_PAUSE_MS = 160.0
"""Silence after speech at which ``semantic_vad`` first asks the end-of-turn model. Later than
the draft: smart-turn was made for trailing silence. Asked at 64 ms instead (the decision table
in benchmarks/turn_latency.py, audio time, human groups) it cut off no more people but judged
fewer pauses complete: medium (auto) decided a median 460 ms after the end of speech instead of
238, low 780 instead of 524 (high 300 instead of 381)."""

REJUDGE_MS = 320.0
"""Further silence after which an undecided pause is judged again (ten Silero frames)."""


def draft_pause_ms(turn: TurnSettings) -> float:
    return min(DRAFT_PAUSE_MS, turn.silence_duration_ms / 2)


def detector_rule(turn: TurnSettings, judged: bool) -> TurnSettings:
    """The rule the detector applies: with an end-of-turn model (``judged``), ``semantic_vad``'s
    silence rule is its maximum wait, since the model ends the turn sooner."""
    if judged and turn.kind == "semantic_vad":
        return dataclasses.replace(turn, silence_duration_ms=turn.max_wait_ms)
    return turn


def transcription_hints(settings: Settings | None) -> tuple[str | None, str | None]:
    """The session's input transcription ``language`` and ``prompt``, if set."""
    transcription = (settings.transcription if settings else None) or {}
    return transcription.get("language") or None, transcription.get("prompt") or None


class InputBuffer:
    """Uncommitted input audio in the session's input format, placed on the input timeline."""

    def __init__(self, fmt: WireFormat) -> None:
        self.format: WireFormat = fmt
        self.data = bytearray()
        self.start_ms = 0.0

    @property
    def end_ms(self) -> float:
        return self.start_ms + duration_ms(len(self.data), self.format)

    @property
    def buffered_ms(self) -> float:
        return duration_ms(len(self.data), self.format)

    def append(self, audio: bytes) -> None:
        self.data.extend(audio)

    def peek(self, from_ms: float, to_ms: float) -> bytes:
        """A copy of the audio in [from_ms, to_ms), left in the buffer."""
        start = bytes_for_ms(max(0.0, from_ms - self.start_ms), self.format)
        end = bytes_for_ms(max(0.0, to_ms - self.start_ms), self.format)
        start = min(start, len(self.data))
        return bytes(self.data[start : max(start, min(end, len(self.data)))])

    def take(self, from_ms: float | None = None, to_ms: float | None = None) -> bytes:
        """Remove and return the audio in [from_ms, to_ms); audio before ``from_ms`` is dropped."""
        start = (
            0 if from_ms is None else bytes_for_ms(max(0.0, from_ms - self.start_ms), self.format)
        )
        end = (
            len(self.data)
            if to_ms is None
            else bytes_for_ms(max(0.0, to_ms - self.start_ms), self.format)
        )
        start = min(start, len(self.data))
        end = max(start, min(end, len(self.data)))
        taken = bytes(self.data[start:end])
        new_start = self.start_ms + duration_ms(end, self.format)
        del self.data[:end]
        self.start_ms = new_start
        return taken

    def clear(self) -> None:
        self.take()

    def set_format(self, fmt: WireFormat) -> None:
        """A format change drops the uncommitted audio: its bytes mean nothing in the new format."""
        if fmt != self.format:
            end = self.end_ms
            self.data.clear()
            self.format = fmt
            self.start_ms = end


@dataclass(frozen=True, slots=True)
class TurnEvent:
    kind: Literal["started", "paused", "resumed", "stopped", "silent"]
    at_ms: float
    """``started``: the speech onset (padding not applied). ``stopped``: ``audio_end_ms``.
    ``paused``: the end of the frame that completed the pause. ``resumed``: the onset of the
    speech after the pause. ``silent``: the end of a frame at ``first_check_ms`` of silence, then
    each ``recheck_ms`` more."""
    turn_end_ms: float = 0.0
    """``paused``: where the silence rule will end the turn if no speech comes first."""


def _vad_converter(fmt: WireFormat, vad: VAD) -> Converter:
    # A VAD needs no studio-grade filter, and every held-back millisecond delays the end of the
    # turn: soxr's "QQ" (cubic) holds back 0.06 ms of a 24 -> 16 kHz stream, "LQ" 6.25 ms,
    # "HQ" ~21 ms. The speech band a VAD listens to is far below where QQ's aliasing starts.
    return Converter(audio_format(fmt), vad.sample_rate, quality="QQ")


HANGOVER_MARGIN_DB = 10.0
"""A frame within this much of the room's floor is room noise, whatever the VAD says."""
MAX_HANGOVER_FRAMES = 2
"""At most this many such frames after speech are taken for the VAD's lag (Silero's
probability stays over the threshold for one frame or so after the voice stops)."""
FLOOR_WINDOW_FRAMES = 94
"""The floor is the quietest frame of the last ~3 s (94 Silero frames)."""


def _level_db(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64) / 32768.0
    power = float(np.mean(samples**2)) if len(samples) else 0.0
    return 10.0 * math.log10(max(power, 1e-12))


class TurnDetector:
    """Frames of VAD probability -> speech started / stopped on the input timeline."""

    def __init__(self, vad: VAD, fmt: WireFormat) -> None:
        self.vad = vad
        self._fmt = fmt
        self._converter = _vad_converter(fmt, vad)
        self._origin_ms = 0.0
        self._frames = 0
        self.speaking = False
        self.paused = False
        self.onset_ms = 0.0
        self.last_speech_end_ms = 0.0
        """The end of the speech: the last frame over the threshold, unless it was the VAD's
        lag (:meth:`_vad_lag`); the silence rule counts from here."""
        self._vad_end_ms = 0.0  # the last frame over the threshold, lag or not
        self._next_check_ms = math.inf
        self._pcm = bytearray()  # converted audio of the frames the VAD has yet to report
        self._levels: deque[float] = deque(maxlen=FLOOR_WINDOW_FRAMES)
        self._hangover = 0

    @property
    def heard_ms(self) -> float:
        """The end of the last frame the VAD has judged, on the input timeline."""
        return self._origin_ms + self._frames * self.vad.frame_ms

    def end_turn(self) -> None:
        """The turn was ended by a judgement, not by the silence rule: wait for new speech."""
        self.speaking = self.paused = False

    def reset(self, at_ms: float, fmt: WireFormat | None = None) -> None:
        """Forget audio and state; the next frame starts at ``at_ms`` on the timeline."""
        if fmt is not None and fmt != self._fmt:
            self._fmt = fmt
        self._converter = _vad_converter(self._fmt, self.vad)
        self.vad.reset()
        self._origin_ms = at_ms
        self._frames = 0
        self.speaking = False
        self.paused = False
        self._pcm.clear()
        self._hangover = 0

    def _vad_lag(self, probability: float, threshold: float) -> bool:
        """Whether a frame the VAD calls speech is the VAD's lag after the speech: it comes
        right after speech and its level is at the room's floor (the quietest frame of the
        last seconds). Such a frame does not move the end of speech, so the silence rule counts
        from where the voice stopped; a later frame over the floor (or a third quiet one)
        counts as speech again, from its end, so no speech is lost to the trim."""
        level = self._levels[-1]
        quiet = level <= min(self._levels) + HANGOVER_MARGIN_DB
        if (
            probability >= threshold
            and self.speaking
            and quiet
            and self._hangover < MAX_HANGOVER_FRAMES
            and (self._hangover > 0 or self._after_speech())
        ):
            self._hangover += 1
            return True
        self._hangover = 0
        return False

    def _after_speech(self) -> bool:
        # The frame just counted (``heard_ms`` is its end) follows a speech frame.
        return abs(self.heard_ms - self.vad.frame_ms - self.last_speech_end_ms) < 1e-6

    def feed(
        self,
        audio: bytes,
        turn: TurnSettings,
        pause_ms: float | None = None,
        recheck_ms: float | None = None,
        first_check_ms: float | None = None,
    ) -> list[TurnEvent]:
        """Consume wire audio (already appended to the buffer); return the turn events it caused.

        With ``pause_ms``, ``pause_ms`` of silence inside a turn gives one ``paused`` event, and
        speech after it one ``resumed``; without, only ``started`` and ``stopped``. With
        ``recheck_ms`` too, a ``silent`` comes at ``first_check_ms`` of that silence (default:
        ``pause_ms + recheck_ms``), then each further ``recheck_ms``.
        """
        # One converter per turn: the resampler's filter state and a PCM16 append's odd byte
        # carry over to the next append.
        pcm = self._converter.process(audio)
        self._pcm.extend(pcm)
        events: list[TurnEvent] = []
        frame_ms = self.vad.frame_ms
        frame_bytes = self.vad.frame_samples * 2
        for probability in self.vad.process(pcm):
            frame_start = self._origin_ms + self._frames * frame_ms
            frame_end = frame_start + frame_ms
            self._levels.append(_level_db(bytes(self._pcm[:frame_bytes])))
            del self._pcm[:frame_bytes]
            self._frames += 1
            if probability >= turn.threshold:
                self._vad_end_ms = frame_end
            if self._vad_lag(probability, turn.threshold):
                probability = 0.0  # the voice had stopped: this frame is the silence's
            if probability >= turn.threshold:
                if not self.speaking:
                    self.speaking = True
                    self.onset_ms = frame_start
                    events.append(TurnEvent("started", frame_start))
                elif self.paused:
                    self.paused = False
                    events.append(TurnEvent("resumed", frame_start))
                self.last_speech_end_ms = frame_end
            elif self.speaking:
                silence = frame_end - self.last_speech_end_ms
                # Pauses keep counting from the VAD's own end: an end-of-turn model is asked
                # with the trailing silence it was made for, and drafts come when they did.
                paused_for = frame_end - self._vad_end_ms
                if silence >= turn.silence_duration_ms:
                    self.speaking = self.paused = False
                    events.append(
                        TurnEvent("stopped", self.last_speech_end_ms + turn.silence_duration_ms)
                    )
                elif pause_ms is not None and not self.paused and paused_for >= pause_ms:
                    self.paused = True
                    turn_end = self.last_speech_end_ms + turn.silence_duration_ms
                    events.append(TurnEvent("paused", frame_end, turn_end))
                    self._next_check_ms = (
                        math.inf
                        if recheck_ms is None
                        else paused_for + recheck_ms
                        if first_check_ms is None
                        else max(first_check_ms, paused_for)
                    )
                elif self.paused and paused_for >= self._next_check_ms and recheck_ms is not None:
                    self._next_check_ms = paused_for + recheck_ms
                    turn_end = self.last_speech_end_ms + turn.silence_duration_ms
                    events.append(TurnEvent("silent", frame_end, turn_end))
        return events


@dataclass(slots=True)
class Draft:
    """A background transcription of a turn's audio so far, started at a pause."""

    work_id: str
    start_ms: float
    """Where the turn's audio starts on the input timeline (the committed item's start)."""
    end_ms: float
    """Where the draft's audio ends (the pause)."""
    pad_ms: float = 0.0
    """Digital silence after the audio: the rest of the silence rule."""
    result: TranscriptionResult | None = None
    stale: bool = False

    def work(
        self, buffer: InputBuffer, item_id: str, language: str | None, prompt: str | None
    ) -> Transcribe:
        """The work request: the turn's audio so far, left in the buffer."""
        return Transcribe(
            work_id=self.work_id,
            item_id=item_id,
            audio=buffer.peek(self.start_ms, self.end_ms)
            + silence(self.pad_ms, audio_format(buffer.format)),
            audio_format=buffer.format,
            language=language,
            prompt=prompt,
        )


class Drafts:
    """The draft transcriptions of one session (pure bookkeeping; the session sends the work).

    At most one draft is in flight. A started engine call cannot be stopped (CTranslate2 decodes
    to the end), and a cancelled task would hide when the engine is free again, so a draft made
    stale by more speech is left to finish and its result dropped; a pause meanwhile waits for it
    (the engine would run it only afterwards anyway) rather than queue a second one behind it.
    """

    def __init__(self) -> None:
        self.current: Draft | None = None
        self._in_flight: Draft | None = None
        self._pending: tuple[float, float, float] | None = None

    def pause(self, start_ms: float, pause: TurnEvent, new_id: Callable[[], str]) -> Draft | None:
        """A ``paused`` event in the turn whose audio starts at ``start_ms``: the draft to
        request now, if the engine is free of ours."""
        end_ms, pad_ms = pause.at_ms, pause.turn_end_ms - pause.at_ms
        if self.current is not None:
            self.current.stale = True
        self.current = None
        if self._in_flight is not None:
            self._pending = (start_ms, end_ms, pad_ms)
            return None
        return self._new(start_ms, end_ms, pad_ms, new_id)

    def reset(self) -> None:
        """Speech resumed, or the turn's audio changed: the current draft no longer fits."""
        if self.current is not None:
            self.current.stale = True
        self.current = None
        self._pending = None

    def owns(self, work_id: str) -> bool:
        return self._in_flight is not None and self._in_flight.work_id == work_id

    def finished(self, result: TranscriptionResult, new_id: Callable[[], str]) -> Draft | None:
        """The result of the draft in flight; returns a waiting draft to request now."""
        draft, self._in_flight = self._in_flight, None
        if draft is not None and not draft.stale:
            draft.result = result
        if self._pending is None:
            return None
        (start_ms, end_ms, pad_ms), self._pending = self._pending, None
        return self._new(start_ms, end_ms, pad_ms, new_id)

    def adopt(self, start_ms: float) -> Draft | None:
        """The turn starting at ``start_ms`` ended with no speech since the current draft:
        the draft (done, or still running) becomes the turn's transcription."""
        draft, self.current = self.current, None
        self._pending = None
        if draft is None or draft.stale or draft.start_ms != start_ms:
            return None
        if draft.result is not None and draft.result.error is not None:
            return None  # the committed audio gets its own try
        if draft is self._in_flight:
            self._in_flight = None  # from now on its result is the turn's, not a draft's
        return draft

    def _new(
        self, start_ms: float, end_ms: float, pad_ms: float, new_id: Callable[[], str]
    ) -> Draft:
        self.current = self._in_flight = Draft(new_id(), start_ms, end_ms, max(0.0, pad_ms))
        return self.current


class Judges:
    """The end-of-turn judgements of one ``semantic_vad`` session (pure bookkeeping).

    At most one judgement is in flight (the model is shared and one answer is enough to act on);
    a pause meanwhile waits for it. A judgement that speech overtook is *stale*: its answer is
    dropped, whatever it says, so a turn never ends on a judgement of audio the speaker has
    since added to.
    """

    WINDOW_MS = 8000.0
    """The model hears at most this much of the turn (smart-turn's window)."""

    def __init__(self) -> None:
        self._in_flight: str | None = None
        self._stale = False
        self._pending: tuple[float, float] | None = None

    def pause(
        self, buffer: InputBuffer, start_ms: float, at_ms: float, new_id: Callable[[], str]
    ) -> JudgeTurn | None:
        """A pause (or more silence) at ``at_ms`` in the turn starting at ``start_ms``: the
        judgement to request now, if none is in flight."""
        if self._in_flight is not None:
            self._pending = (start_ms, at_ms)
            return None
        return self._new(buffer, start_ms, at_ms, new_id)

    def reset(self) -> None:
        """Speech resumed, or the turn ended: what is in flight no longer decides anything."""
        if self._in_flight is not None:
            self._stale = True
        self._pending = None

    def finished(
        self,
        result: TurnJudgement,
        threshold: float,
        buffer: InputBuffer,
        new_id: Callable[[], str],
    ) -> tuple[bool, JudgeTurn | None]:
        """``(end the turn now, the waiting judgement to request now)`` for a result."""
        if result.work_id != self._in_flight:
            return False, None
        stale, self._in_flight, self._stale = self._stale, None, False
        complete = not stale and result.error is None and result.probability >= threshold
        if complete or self._pending is None:
            self._pending = None
            return complete, None
        (start_ms, at_ms), self._pending = self._pending, None
        return False, self._new(buffer, start_ms, at_ms, new_id)

    def owns(self, work_id: str) -> bool:
        return work_id == self._in_flight

    def _new(
        self, buffer: InputBuffer, start_ms: float, at_ms: float, new_id: Callable[[], str]
    ) -> JudgeTurn:
        work_id = self._in_flight = new_id()
        self._stale = False
        audio = buffer.peek(max(start_ms, at_ms - self.WINDOW_MS), at_ms)
        return JudgeTurn(work_id, audio, buffer.format)
