"""Where the server_vad decision falls, in audio time: at the chunk that completes the frame
where the silence rule is met, counted from where the voice stopped (not from the VAD's lag),
with no audio held back by the VAD's resampler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from realtalk.audio import convert, read_wav
from realtalk.server.core.settings import TurnSettings
from realtalk.server.core.turns import MAX_HANGOVER_FRAMES, TurnDetector, TurnEvent
from realtalk.server.engines.base import VAD
from realtalk.server.engines.vad import SileroVAD

FIXTURES = Path(__file__).parents[1] / "fixtures"
RULE = TurnSettings(kind="server_vad", silence_duration_ms=500)
FRAME_MS = 32.0
CHUNK = 960  # 20 ms of 24 kHz PCM16


class ScriptedVAD(VAD):
    """Says 'speech' for the frames listed, whatever the audio."""

    def __init__(self, speech_frames: set[int]) -> None:
        self.speech_frames = speech_frames
        self._pending = 0
        self._frame = 0

    def process(self, pcm16: bytes) -> list[float]:
        self._pending += len(pcm16) // 2
        out = []
        while self._pending >= self.frame_samples:
            self._pending -= self.frame_samples
            out.append(1.0 if self._frame in self.speech_frames else 0.0)
            self._frame += 1
        return out

    def reset(self) -> None:
        self._pending = self._frame = 0


def tone(ms: float) -> bytes:
    t = np.arange(int(24 * ms)) / 24000.0
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()


def quiet(ms: float) -> bytes:
    return bytes(int(24 * ms) * 2)


def feed(detector: TurnDetector, audio: bytes) -> list[tuple[TurnEvent, float]]:
    """Events, each with the audio position of the end of the chunk that caused it."""
    out = []
    for offset in range(0, len(audio), CHUNK):
        for event in detector.feed(audio[offset : offset + CHUNK], RULE):
            out.append((event, (offset + CHUNK) / 48))
    return out


def test_the_vad_hears_every_whole_frame_of_what_arrived() -> None:
    detector = TurnDetector(ScriptedVAD(set()), "pcm16")
    detector.reset(0.0)
    detector.feed(quiet(321), RULE)  # ten frames and 1 ms: no more held back by the resampler
    assert detector.heard_ms == 320


def test_frames_the_vad_calls_speech_after_the_voice_stopped_do_not_delay_the_decision() -> None:
    # The voice: frames 0-9 (320 ms of tone); the VAD lags two frames behind it.
    detector = TurnDetector(ScriptedVAD(set(range(12))), "pcm16")
    detector.reset(0.0)
    events = feed(detector, tone(320) + quiet(1000))
    [(started, _), (stopped, decided_at)] = events
    assert started.kind == "started"
    assert stopped.kind == "stopped"
    assert stopped.at_ms == 320 + RULE.silence_duration_ms  # from where the voice stopped
    # decided at the chunk that completes the frame where 500 ms of silence are heard
    assert 820 <= decided_at < 820 + FRAME_MS + 20


def test_a_longer_quiet_stretch_the_vad_calls_speech_still_counts_as_speech() -> None:
    # Three quiet frames called speech are more than the VAD's lag: the speech ends after them.
    lag = MAX_HANGOVER_FRAMES + 1
    detector = TurnDetector(ScriptedVAD(set(range(10 + lag))), "pcm16")
    detector.reset(0.0)
    [_, (stopped, _)] = feed(detector, tone(320) + quiet(1000))
    assert stopped.at_ms == 320 + lag * FRAME_MS + RULE.silence_duration_ms


def test_a_quiet_frame_inside_speech_does_not_end_it() -> None:
    detector = TurnDetector(ScriptedVAD(set(range(30))), "pcm16")
    detector.reset(0.0)
    audio = tone(320) + quiet(32) + tone(320) + quiet(1000)
    events = [e.kind for e, _ in feed(detector, audio)]
    assert events == ["started", "stopped"]
    assert detector.last_speech_end_ms >= 640


def test_silero_on_real_speech_decides_within_a_frame_and_a_chunk_of_the_rule() -> None:
    pcm, rate = read_wav(FIXTURES / "speech_16k.wav")
    meta = json.loads((FIXTURES / "speech_16k.json").read_text())
    audio = convert(pcm, rate, 24000) + quiet(1000)
    detector = TurnDetector(SileroVAD.shared(), "pcm16")
    detector.reset(0.0)
    stops = [(e, at) for e, at in feed(detector, audio) if e.kind == "stopped"]
    [(stopped, decided_at)] = stops
    voice_end = stopped.at_ms - RULE.silence_duration_ms
    assert meta["speech_end_ms"] <= voice_end <= meta["speech_end_ms"] + 100
    assert stopped.at_ms <= decided_at < stopped.at_ms + FRAME_MS + 20
