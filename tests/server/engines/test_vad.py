"""Voice activity detectors: frame bookkeeping, the energy VAD, and Silero on real speech."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from realtalk import audio
from realtalk.server.engines import VAD, EnergyVAD

RATE = 16000


def noise(ms: float, dbfs: float, seed: int = 0, pink: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    n = int(RATE * ms / 1000)
    x = rng.normal(0, 1, n)
    if pink:  # 1/f spectrum by shaping white noise in the frequency domain
        spectrum = np.fft.rfft(x)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        x = np.fft.irfft(spectrum, n)
    x *= 10 ** (dbfs / 20) / np.sqrt(np.mean(x**2))
    return audio.float32_to_pcm16(x)


def feed_in_chunks(vad: VAD, pcm: bytes, size: int) -> list[float]:
    out: list[float] = []
    for i in range(0, len(pcm), size):
        out += vad.process(pcm[i : i + size])
    return out


# ---------------------------------------------------------------------------------------------
# Energy VAD (no extra needed)


def test_frames_are_32_ms_at_16k_and_chunking_does_not_matter() -> None:
    vad = EnergyVAD()
    assert (vad.sample_rate, vad.frame_samples, vad.frame_ms) == (16000, 512, 32.0)
    pcm = noise(1000, -20)
    whole = EnergyVAD().process(pcm)
    assert len(whole) == 16000 // 512  # 31 whole frames; the rest waits for more audio
    assert feed_in_chunks(EnergyVAD(), pcm, 333) == whole  # odd sizes split samples too


def test_energy_vad_threshold() -> None:
    vad = EnergyVAD(threshold_dbfs=-40)
    assert max(vad.process(audio.silence(500, RATE))) < 0.001
    assert max(vad.process(noise(500, -60))) < 0.01
    assert min(vad.process(noise(500, -20))) > 0.99
    vad.reset()  # 500 ms is not a whole number of frames: drop the loud remainder
    assert vad.process(noise(32, -40, seed=3)) == [pytest.approx(0.5, abs=0.05)]


def test_reset_drops_partial_frames() -> None:
    vad = EnergyVAD()
    assert vad.process(noise(20, -20)) == []  # 320 samples: not a frame yet
    vad.reset()
    assert vad.process(audio.silence(20, RATE)) == []
    assert vad.process(audio.silence(12, RATE)) == [pytest.approx(0.0, abs=1e-6)]


def test_energy_vad_on_speech_finds_the_words(speech_fixture: tuple[bytes, dict[str, Any]]) -> None:
    pcm, meta = speech_fixture
    probs = EnergyVAD().process(audio.silence(512, RATE) + pcm)
    # Frame k covers [k*32, (k+1)*32) ms; the speech starts 512 ms + speech_start_ms in.
    first = next(k for k, p in enumerate(probs) if p > 0.5)
    assert abs(first * 32 - (512 + meta["speech_start_ms"])) <= 64


# ---------------------------------------------------------------------------------------------
# Silero (speech extra)


@pytest.mark.speech
def test_silero_finds_speech_and_its_timing(
    silero: VAD, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    lead = 1024  # ms of silence before the speech: 32 frames
    probs = np.array(silero.process(audio.silence(lead, RATE) + pcm + audio.silence(1024, RATE)))
    speech = probs > 0.5
    start = (lead + meta["speech_start_ms"]) // 32
    end = (lead + meta["speech_end_ms"]) // 32
    assert not speech[: start - 1].any()  # nothing before the speech
    first = int(np.argmax(speech))
    assert abs(first * 32 - (lead + meta["speech_start_ms"])) <= 96  # onset within 3 frames
    assert speech[start:end].mean() > 0.75  # most of the utterance is speech
    assert not speech[end + 10 :].any()  # and it lets go within ~320 ms of the end


@pytest.mark.speech
@pytest.mark.parametrize(
    ("label", "pcm"),
    [
        ("digital silence", audio.silence(3000, RATE)),
        ("white noise -50 dBFS", noise(3000, -50)),
        ("white noise -30 dBFS", noise(3000, -30)),
        ("pink noise -35 dBFS", noise(3000, -35, pink=True)),
    ],
)
def test_silero_ignores_silence_and_noise(silero: VAD, label: str, pcm: bytes) -> None:
    probs = silero.process(pcm)
    assert len(probs) == 93
    assert max(probs) < 0.5, label


@pytest.mark.speech
def test_silero_finds_speech_in_noise(
    silero: VAD, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    speech = np.frombuffer(pcm, "<i2").astype(np.float64)
    bed = np.frombuffer(noise(len(speech) / 16, -40, seed=7), "<i2")  # about 20 dB SNR
    mixed = np.clip(speech + bed, -32768, 32767).astype("<i2").tobytes()
    probs = np.array(silero.process(mixed))
    a, b = meta["speech_start_ms"] // 32 + 1, meta["speech_end_ms"] // 32
    assert (probs[a:b] > 0.5).mean() > 0.7


@pytest.mark.speech
def test_silero_streaming_equals_batch_and_reset_restarts(
    silero: VAD, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, _ = speech_fixture
    batch = silero.process(pcm)
    silero.reset()
    streamed = feed_in_chunks(silero, pcm, 640)  # 20 ms chunks, as clients send
    assert np.allclose(batch, streamed, atol=1e-5)
    silero.reset()
    assert np.allclose(silero.process(pcm), batch, atol=1e-5)


@pytest.mark.speech
def test_silero_sessions_do_not_share_state(
    silero: VAD, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    from realtalk.server.engines import SileroVAD

    pcm, _ = speech_fixture
    a, b = SileroVAD.shared(), SileroVAD.shared()
    reference = a.process(pcm)
    a.reset()
    # Interleave two sessions frame by frame: each must see only its own audio.
    out_a: list[float] = []
    for i in range(0, len(pcm), 1024):
        out_a += a.process(pcm[i : i + 1024])
        b.process(noise(32, -20, seed=i))
    assert np.allclose(out_a, reference, atol=1e-5)


@pytest.mark.speech
def test_silero_per_frame_cost_is_reported(silero: VAD, capsys: pytest.CaptureFixture[str]) -> None:
    pcm = noise(32 * 200, -30)
    frames = [pcm[i : i + 1024] for i in range(0, len(pcm), 1024)]
    start = time.perf_counter()
    for frame in frames:
        silero.process(frame)
    per_frame_us = (time.perf_counter() - start) / len(frames) * 1e6
    with capsys.disabled():
        print(
            f"\n[figures] Silero VAD: {per_frame_us:.0f} us per 32 ms frame "
            "(fed one frame at a time)"
        )
