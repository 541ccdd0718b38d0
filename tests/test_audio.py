"""realtalk.audio: PCM16/float, G.711 against ITU reference values, resampling, WAV, durations."""

from __future__ import annotations

import io
import warnings
import wave

import numpy as np
import pytest

from realtalk import audio
from realtalk.config import AudioFormat

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop  # the stdlib reference (Python <= 3.12), used only as a test oracle
    except ImportError:  # pragma: no cover - Python 3.13+
        audioop = None  # type: ignore[assignment]

ALL_PCM16 = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def tone(freq: float, rate: int, ms: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * ms / 1000)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


# ---------------------------------------------------------------------------------------------
# PCM16 <-> float32


def test_pcm16_float_round_trip_is_exact() -> None:
    floats = audio.pcm16_to_float32(ALL_PCM16)
    assert floats.dtype == np.float32
    assert floats.min() == -1.0
    assert floats.max() == pytest.approx(32767 / 32768)
    assert audio.float32_to_pcm16(floats) == ALL_PCM16


def test_float_to_pcm16_clips_and_rounds() -> None:
    out = np.frombuffer(audio.float32_to_pcm16([2.0, -2.0, 0.5, 1.4 / 32768, -1.6 / 32768]), "<i2")
    assert out.tolist() == [32767, -32768, 16384, 1, -2]


def test_odd_byte_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        audio.pcm16_to_float32(b"\x00\x01\x02")


# ---------------------------------------------------------------------------------------------
# G.711: known values from the ITU-T G.711 tables, then the whole domain against audioop

# (linear PCM16, mu-law code). Zero is 0xFF, full scale 0x80 / 0x00; -1 falls in the first
# negative step (0x7E). The G.711 tables decode 0xFE / 0x7E to +-8 and the ends to +-32124.
MU_LAW_ENCODE = [(0, 0xFF), (-1, 0x7E), (32767, 0x80), (-32768, 0x00), (8, 0xFE), (1000, 0xCE)]
MU_LAW_DECODE = [(0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124), (0xFE, 8), (0x7E, -8)]
# A-law: silence codes 0xD5 (+) / 0x55 (-); full scale 0xAA / 0x2A decode to +-32256.
A_LAW_ENCODE = [(0, 0xD5), (-1, 0x55), (32767, 0xAA), (-32768, 0x2A), (1000, 0xFA)]
A_LAW_DECODE = [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256)]


@pytest.mark.parametrize(("linear", "code"), MU_LAW_ENCODE)
def test_ulaw_encode_known_values(linear: int, code: int) -> None:
    assert audio.ulaw_encode(np.array([linear], "<i2").tobytes()) == bytes([code])


@pytest.mark.parametrize(("code", "linear"), MU_LAW_DECODE)
def test_ulaw_decode_known_values(code: int, linear: int) -> None:
    assert np.frombuffer(audio.ulaw_decode(bytes([code])), "<i2")[0] == linear


@pytest.mark.parametrize(("linear", "code"), A_LAW_ENCODE)
def test_alaw_encode_known_values(linear: int, code: int) -> None:
    assert audio.alaw_encode(np.array([linear], "<i2").tobytes()) == bytes([code])


@pytest.mark.parametrize(("code", "linear"), A_LAW_DECODE)
def test_alaw_decode_known_values(code: int, linear: int) -> None:
    assert np.frombuffer(audio.alaw_decode(bytes([code])), "<i2")[0] == linear


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_decode_then_encode_is_identity_on_codes(law: str) -> None:
    enc, dec = getattr(audio, f"{law}_encode"), getattr(audio, f"{law}_decode")
    decoded = dec(ALL_CODES)
    reencoded = enc(decoded)
    # mu-law has two zeros (0x7F "-0" and 0xFF "+0"); both decode to 0, which encodes as 0xFF.
    expected = ALL_CODES.replace(b"\x7f", b"\xff") if law == "ulaw" else ALL_CODES
    assert reencoded == expected


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_encoding_is_monotonic_and_bounded_error(law: str) -> None:
    enc, dec = getattr(audio, f"{law}_encode"), getattr(audio, f"{law}_decode")
    back = np.frombuffer(dec(enc(ALL_PCM16)), "<i2").astype(np.int64)
    original = np.frombuffer(ALL_PCM16, "<i2").astype(np.int64)
    assert np.all(np.diff(back) >= 0)  # quantisation never reorders samples
    # Error stays within half the widest step (1024 for A-law and mu-law segment 7) + clipping.
    assert np.max(np.abs(back - original)) <= 1024 + 644


@pytest.mark.skipif(audioop is None, reason="audioop (the reference) was removed in Python 3.13")
def test_g711_bit_exact_against_audioop_over_the_whole_domain() -> None:
    assert audio.ulaw_encode(ALL_PCM16) == audioop.lin2ulaw(ALL_PCM16, 2)
    assert audio.alaw_encode(ALL_PCM16) == audioop.lin2alaw(ALL_PCM16, 2)
    assert audio.ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert audio.alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_g711_speech_like_snr() -> None:
    x = tone(440, 8000, 500, 0.3) + tone(1230, 8000, 500, 0.1)
    pcm = audio.float32_to_pcm16(x)
    for law in ("ulaw", "alaw"):
        back = audio.pcm16_to_float32(
            getattr(audio, f"{law}_decode")(getattr(audio, f"{law}_encode")(pcm))
        )
        ref = audio.pcm16_to_float32(pcm)
        snr = 10 * np.log10(np.sum(ref**2) / np.sum((back - ref) ** 2))
        assert snr > 30, (law, snr)


# ---------------------------------------------------------------------------------------------
# Resampling


def _level_at(x: np.ndarray, rate: int, freq: float) -> float:
    t = np.arange(len(x)) / rate
    return float(
        2
        * np.abs(np.dot(x * np.hanning(len(x)), np.exp(-2j * np.pi * freq * t)))
        / np.sum(np.hanning(len(x)))
    )


@pytest.mark.parametrize(
    ("src", "dst"), [(24000, 16000), (16000, 24000), (24000, 8000), (8000, 24000), (22050, 24000)]
)
def test_resample_keeps_a_tone_and_the_length(src: int, dst: int) -> None:
    pcm = audio.float32_to_pcm16(tone(1000, src, 1000))
    out = audio.resample(pcm, src, dst)
    assert len(out) // 2 == dst  # one second in, one second out
    y = audio.pcm16_to_float32(out)
    assert _level_at(y, dst, 1000) == pytest.approx(0.5, abs=0.01)


def test_resample_down_removes_what_the_new_rate_cannot_hold() -> None:
    # 6 kHz fits at 24 kHz but not at 8 kHz: a naive decimator would fold it to 2 kHz.
    pcm = audio.float32_to_pcm16(tone(6000, 24000, 1000))
    y = audio.pcm16_to_float32(audio.resample(pcm, 24000, 8000))
    # Away from the edges (where the tone switches on and off abruptly), nothing is left.
    assert np.sqrt(np.mean(y[100:-100] ** 2)) < 0.001


def test_streaming_resampler_matches_whole_buffer_and_has_no_seams() -> None:
    x = tone(440, 24000, 1000) + tone(3000, 24000, 1000, 0.2)
    pcm = audio.float32_to_pcm16(x)
    whole = audio.pcm16_to_float32(audio.resample(pcm, 24000, 16000))
    stream = audio.Resampler(24000, 16000)
    pieces = []
    # Uneven chunk sizes, including an empty one, as a network would deliver.
    sizes = [2, 960, 0, 478, 1920, 4800, 31842]
    pos = 0
    for size in sizes:
        pieces.append(stream.process(pcm[pos : pos + size]))
        pos += size
    pieces.append(stream.process(pcm[pos:]))
    pieces.append(stream.flush())
    streamed = audio.pcm16_to_float32(b"".join(pieces))
    assert len(streamed) == len(whole) == 16000
    # Same signal as the one-shot resample (both are the same filter), to within rounding.
    assert np.max(np.abs(streamed[200:-200] - whole[200:-200])) < 3 / 32768


def test_resampler_same_rate_is_a_pass_through() -> None:
    r = audio.Resampler(24000, 24000)
    assert r.process(b"\x01\x00\x02\x00") == b"\x01\x00\x02\x00"
    assert r.flush() == b""


def test_resample_rejects_bad_rates() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        audio.resample(b"\x00\x00", 0, 16000)


# ---------------------------------------------------------------------------------------------
# convert / Converter


@pytest.mark.parametrize("fmt", [AudioFormat.pcmu(), AudioFormat.pcma(), AudioFormat.pcm16(16000)])
def test_convert_round_trip_through_each_format(fmt: AudioFormat) -> None:
    pcm24 = audio.float32_to_pcm16(tone(700, 24000, 500, 0.4))
    coded = audio.convert(pcm24, AudioFormat.pcm16(), fmt)
    assert audio.duration_ms(len(coded), fmt) == pytest.approx(500)
    back = audio.convert(coded, fmt, 24000)
    assert len(back) == len(pcm24)
    assert _level_at(audio.pcm16_to_float32(back), 24000, 700) == pytest.approx(0.4, abs=0.01)


def test_convert_same_format_returns_the_input() -> None:
    data = bytes(range(10))
    assert audio.convert(data, AudioFormat.pcmu(), AudioFormat.pcmu()) == data


def test_convert_g711_to_g711_at_the_same_rate_is_transcoding() -> None:
    pcm8 = audio.float32_to_pcm16(tone(500, 8000, 100, 0.3))
    mu = audio.ulaw_encode(pcm8)
    assert audio.convert(mu, AudioFormat.pcmu(), AudioFormat.pcma()) == audio.alaw_encode(
        audio.ulaw_decode(mu)
    )


def test_streaming_converter_handles_split_samples() -> None:
    pcm24 = audio.float32_to_pcm16(tone(700, 24000, 300, 0.4))
    conv = audio.Converter(AudioFormat.pcm16(), AudioFormat.pcmu())
    # Odd-sized chunks split samples in half; the converter must carry the odd byte.
    out = (
        b"".join(conv.process(pcm24[i : i + 301]) for i in range(0, len(pcm24), 301)) + conv.flush()
    )
    assert len(out) == 2400  # 300 ms at 8 kHz, one byte per sample
    whole = audio.convert(pcm24, AudioFormat.pcm16(), AudioFormat.pcmu())
    a = audio.pcm16_to_float32(audio.ulaw_decode(out))
    b = audio.pcm16_to_float32(audio.ulaw_decode(whole))
    assert np.max(np.abs(a[50:-50] - b[50:-50])) < 0.01


# ---------------------------------------------------------------------------------------------
# Durations, silence, WAV


def test_durations_per_format() -> None:
    assert audio.duration_ms(48000, AudioFormat.pcm16()) == 1000
    assert audio.duration_ms(48000, 24000) == 1000
    assert audio.duration_ms(8000, AudioFormat.pcmu()) == 1000
    assert audio.duration_ms(320, 16000) == 10
    assert audio.bytes_for_ms(100, AudioFormat.pcm16()) == 4800
    assert audio.bytes_for_ms(20, AudioFormat.pcma()) == 160
    assert audio.bytes_for_ms(0.03, 24000) == 0  # rounds down to whole samples


def test_silence_in_each_format() -> None:
    assert audio.silence(10, 24000) == bytes(480)
    assert audio.silence(10, AudioFormat.pcmu()) == b"\xff" * 80
    assert audio.silence(10, AudioFormat.pcma()) == b"\xd5" * 80


def test_wav_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pcm = audio.float32_to_pcm16(tone(300, 16000, 200))
    path = tmp_path / "a.wav"
    audio.write_wav(path, pcm, 16000)
    assert audio.read_wav(path) == (pcm, 16000)
    assert audio.read_wav(audio.wav_bytes(pcm, 16000)) == (pcm, 16000)


def test_read_wav_downmixes_stereo_and_widens_8_bit() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128 + 64, 128, 128 - 64, 128]))  # L=+0.5 R=0, L=-0.5 R=0
    pcm, rate = audio.read_wav(buf.getvalue())
    assert rate == 8000
    assert np.frombuffer(pcm, "<i2").tolist() == [8192, -8192]
