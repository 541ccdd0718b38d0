"""The input audio buffer and turn detection on real audio (protocol.md §3).

Positions are milliseconds on the session's input timeline: all audio the client appended
since the session began, as the service counts ``audio_start_ms`` / ``audio_end_ms``.

``server_vad``: a frame whose speech probability reaches ``threshold`` starts speech;
``speech_started.audio_start_ms`` is the onset minus ``prefix_padding_ms`` (never before the
buffer start), because the service's value "includes the prefix padding". Speech stops once
``silence_duration_ms`` of frames stay below the threshold; ``speech_stopped.audio_end_ms`` is
the end of the last speech frame plus that silence, as the service's value includes it.

``semantic_vad`` (our heuristic; the real one is a model that judges whether the user finished):
the same detector with threshold 0.5 and 300 ms padding, ending the turn after
``SEMANTIC_SILENCE_FRACTION`` of the eagerness cap of silence (low 8 s / medium 4 s / high 2 s,
auto = medium, protocol.md §3), i.e. 1000 / 500 / 250 ms: always well inside the documented
maximum wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from realtalk.audio import Converter
from realtalk.server.codec import WireFormat, audio_format, bytes_for_ms, duration_ms
from realtalk.server.engines.base import VAD
from realtalk.server.settings import TurnSettings

__all__ = ["InputBuffer", "TurnDetector", "TurnEvent"]


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
    kind: Literal["started", "stopped"]
    at_ms: float
    """``started``: the speech onset (padding not applied). ``stopped``: ``audio_end_ms``."""


class TurnDetector:
    """Frames of VAD probability -> speech started / stopped on the input timeline."""

    def __init__(self, vad: VAD, fmt: WireFormat) -> None:
        self.vad = vad
        self._fmt = fmt
        self._converter = Converter(audio_format(fmt), vad.sample_rate)
        self._origin_ms = 0.0
        self._frames = 0
        self.speaking = False
        self.onset_ms = 0.0
        self._last_speech_end_ms = 0.0

    def reset(self, at_ms: float, fmt: WireFormat | None = None) -> None:
        """Forget audio and state; the next frame starts at ``at_ms`` on the timeline."""
        if fmt is not None and fmt != self._fmt:
            self._fmt = fmt
        self._converter = Converter(audio_format(self._fmt), self.vad.sample_rate)
        self.vad.reset()
        self._origin_ms = at_ms
        self._frames = 0
        self.speaking = False

    def feed(self, audio: bytes, turn: TurnSettings) -> list[TurnEvent]:
        """Consume wire audio (already appended to the buffer); return the turn events it caused."""
        # One converter per turn: the resampler's filter state and a PCM16 append's odd byte
        # carry over to the next append.
        pcm = self._converter.process(audio)
        events: list[TurnEvent] = []
        frame_ms = self.vad.frame_ms
        for probability in self.vad.process(pcm):
            frame_start = self._origin_ms + self._frames * frame_ms
            frame_end = frame_start + frame_ms
            self._frames += 1
            if probability >= turn.threshold:
                if not self.speaking:
                    self.speaking = True
                    self.onset_ms = frame_start
                    events.append(TurnEvent("started", frame_start))
                self._last_speech_end_ms = frame_end
            elif self.speaking and frame_end - self._last_speech_end_ms >= turn.silence_duration_ms:
                self.speaking = False
                events.append(
                    TurnEvent("stopped", self._last_speech_end_ms + turn.silence_duration_ms)
                )
        return events
