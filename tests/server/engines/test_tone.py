"""The deterministic tone synthesizer and its transcriber: exact round trips, exact durations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from realtalk import audio
from realtalk.config import AudioFormat
from realtalk.server.engines import ToneSynthesizer, ToneTranscriber

TEXTS = [
    "Hello world, how are you today?",
    "Déjà vu: ünïcode — and a very-long-hyphenated-word-here.",
    "It is 21 degrees in Paris. Anything else? Bye!",
]


def synth(text: str, rate: int = 24000, speed: float = 1.0) -> bytes:
    return b"".join(ToneSynthesizer(rate).synthesize(text, speed=speed))


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("speed", [0.25, 1.0, 1.5])
def test_round_trip_at_16k_is_exact(text: str, speed: float) -> None:
    pcm16k = audio.resample(synth(text, speed=speed), 24000, 16000)
    assert ToneTranscriber().transcribe(pcm16k).text == " ".join(text.split())


@pytest.mark.parametrize("fmt", [AudioFormat.pcmu(), AudioFormat.pcma(), AudioFormat.pcm16(24000)])
def test_round_trip_survives_the_wire_formats(fmt: AudioFormat) -> None:
    # What a client hears in each output format, then sends back as input.
    text = TEXTS[2]
    wire = audio.convert(synth(text), 24000, fmt)
    heard = audio.convert(wire, fmt, 16000)
    assert ToneTranscriber().transcribe(heard).text == text


def test_round_trip_with_leading_silence_and_streamed_resampling() -> None:
    text = "streamed through a chunked resampler"
    pcm = audio.silence(300, 24000) + synth(text) + audio.silence(200, 24000)
    r = audio.Resampler(24000, 16000)
    out = b"".join(r.process(pcm[i : i + 960]) for i in range(0, len(pcm), 960)) + r.flush()
    assert ToneTranscriber().transcribe(out).text == text


def test_duration_is_an_exact_function_of_the_text() -> None:
    s = ToneSynthesizer(24000)
    # 2 words, 7 bytes: (2 markers + 14 nibbles) * 30 ms + one 60 ms gap between the words and
    # the 60 ms gap that ends the piece = 600 ms.
    assert s.duration_ms("hi there") == 600.0
    assert s.duration_ms("hi there", speed=1.5) == pytest.approx(400.0)
    for text in TEXTS:
        for speed in (0.5, 1.0, 1.25):
            pcm = synth(text, speed=speed)
            assert len(pcm) // 2 == s.samples(text, speed)
    assert s.duration_ms("") == 0


def test_streams_one_chunk_per_sentence() -> None:
    chunks = list(ToneSynthesizer().synthesize("One. Two two? Three three three!"))
    assert len(chunks) == 3
    # Later sentences begin with the word gap, so the chunks join seamlessly.
    assert chunks[1][:2880] == bytes(2880)  # 60 ms of silence at 24 kHz
    assert chunks[0][:2] != b"\x00\x00" or chunks[0][2:4] != b"\x00\x00"


def test_declared_rate_is_the_output_rate() -> None:
    s = ToneSynthesizer(8000)
    assert s.sample_rate == 8000
    pcm = b"".join(s.synthesize("eight kilohertz"))
    assert len(pcm) // 2 == s.samples("eight kilohertz")
    assert ToneTranscriber(8000).transcribe(pcm).text == "eight kilohertz"


def test_speed_outside_the_realtime_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="speed"):
        list(ToneSynthesizer().synthesize("too fast", speed=2.0))


def test_silence_noise_and_plain_tones_transcribe_as_nothing() -> None:
    rng = np.random.default_rng(1)
    t = ToneTranscriber()
    assert t.transcribe(audio.silence(1000, 16000)).text == ""
    assert t.transcribe(audio.float32_to_pcm16(rng.normal(0, 0.03, 16000))).text == ""
    assert t.transcribe(audio.float32_to_pcm16(rng.normal(0, 0.3, 16000))).text == ""
    hum = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert t.transcribe(audio.float32_to_pcm16(hum)).text == ""
    assert t.transcribe(b"").text == ""


def test_deltas_come_word_by_word_and_join_to_the_text() -> None:
    pcm = audio.resample(synth("one two three"), 24000, 16000)
    deltas = list(ToneTranscriber().transcribe_deltas(pcm))
    assert deltas == ["one", " two", " three"]


def test_tone_audio_is_loud_enough_for_the_energy_vad() -> None:
    from realtalk.server.engines import EnergyVAD

    pcm = audio.resample(synth("speech like"), 24000, 16000)
    probs = EnergyVAD().process(audio.silence(320, 16000) + pcm + audio.silence(320, 16000))
    assert max(probs[:9]) < 0.01  # the leading 320 ms of silence (10 frames, minus the edge)
    assert min(probs[11:20]) > 0.99


def test_real_speech_is_not_mistaken_for_tones(
    speech_fixture: tuple[bytes, dict[str, Any]],
) -> None:
    pcm, _ = speech_fixture
    assert ToneTranscriber().transcribe(pcm).text == ""


def test_tones_decode_under_moderate_noise() -> None:
    text = "noisy line test"
    x = audio.pcm16_to_float32(audio.resample(synth(text), 24000, 16000))
    hiss = np.random.default_rng(5).normal(0, 0.25 / np.sqrt(2) / 10, x.size)  # 20 dB SNR
    assert ToneTranscriber().transcribe(audio.float32_to_pcm16(x + hiss)).text == text


def test_pieces_synthesised_one_after_another_keep_their_words_apart() -> None:
    # The server synthesises a reply sentence by sentence and plays the pieces back to back:
    # the last word of one and the first of the next must still be two words.
    s = ToneSynthesizer(24000)
    pieces = ["Here is the weather.", "Sunny and 21 degrees in Paris."]
    pcm = b"".join(b"".join(s.synthesize(piece)) for piece in pieces)
    assert len(pcm) // 2 == sum(s.samples(piece) for piece in pieces)
    heard = ToneTranscriber(24000).transcribe(pcm).text
    assert heard == "Here is the weather. Sunny and 21 degrees in Paris."
    chunks = list(s.synthesize("Here is the weather."))
    assert chunks[-1][-2880:] == bytes(2880)  # it ends with the 60 ms word gap
