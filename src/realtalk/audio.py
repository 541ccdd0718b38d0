"""Audio arithmetic: PCM16, G.711 mu-law and A-law, resampling, WAV files, durations.

Everything here works on bytes of mono audio: PCM16 is 16-bit signed little-endian, G.711 is one
byte per sample at 8 kHz (protocol.md, audio formats). No devices, no asyncio: the client SDK and
the local server both build on it.

G.711 is table-driven: the encoders index a 65,536-entry table by the raw int16 value and the
decoders a 256-entry table, both built once from the ITU-T G.711 segment rules, so the output is
bit-exact to the reference (and to the old stdlib ``audioop``) with no per-sample Python loop.

Resampling uses soxr. For audio that arrives in chunks use :class:`Resampler` or
:class:`Converter`, which keep the filter state between chunks: resampling each chunk on its own
would restart the filter at every boundary and click.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import wave
from collections.abc import Callable
from os import PathLike
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import soxr

from realtalk._namespace import public_dir
from realtalk.config import AudioFormat

__all__ = [
    "Converter",
    "Quality",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "bytes_for_ms",
    "convert",
    "decode",
    "duration_ms",
    "encode",
    "float32_to_pcm16",
    "pcm16_to_float32",
    "read_wav",
    "resample",
    "silence",
    "ulaw_decode",
    "ulaw_encode",
    "user_audio",
    "wav_bytes",
    "write_wav",
]

Quality = Literal["QQ", "LQ", "MQ", "HQ", "VHQ"]

# --------------------------------------------------------------------------------------------
# PCM16 <-> float32


# PCM16 on the wire is little-endian: on a little-endian machine it is the native int16 as it
# is, and frombuffer alone gives it (no astype call per chunk on the audio path).
_NATIVE_IS_LE = sys.byteorder == "little"


def _as_int16(pcm16: bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 audio must have an even number of bytes, got {len(pcm16)}")
    if _NATIVE_IS_LE:
        return np.frombuffer(pcm16, dtype=np.int16)
    return np.frombuffer(pcm16, dtype="<i2").astype(np.int16)


def _le_bytes(samples: npt.NDArray[np.int16]) -> bytes:
    """int16 samples as PCM16 bytes (little-endian)."""
    if _NATIVE_IS_LE:
        return samples.tobytes()  # no dtype to parse per chunk
    return samples.astype("<i2").tobytes()


def pcm16_to_float32(pcm16: bytes | bytearray | memoryview) -> npt.NDArray[np.float32]:
    """PCM16 bytes to float32 samples in [-1, 1) (full scale is 32768)."""
    return _as_int16(pcm16).astype(np.float32) / np.float32(32768.0)


def float32_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Float samples (nominally [-1, 1]) to PCM16 bytes, rounded to nearest and clipped."""
    x = np.asarray(samples, dtype=np.float64) * 32768.0
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


# --------------------------------------------------------------------------------------------
# G.711 (ITU-T G.711; the segment tables below are the standard's, in linear units)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    # mu-law works on 14-bit magnitudes: drop the 2 low bits (arithmetic shift, so -1 -> -1),
    # then bias by 33 and find the segment (the position of the leading one).
    values = np.arange(-32768, 32768, dtype=np.int32) >> 2
    negative = values < 0
    magnitude = np.minimum(np.where(negative, -values, values), 8159) + 33
    segment = np.searchsorted(
        np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), magnitude, side="left"
    )
    # Magnitudes past the last segment (only the clipped maximum) take the top code.
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    mask = np.where(negative, 0x7F, 0xFF)
    table = (code ^ mask).astype(np.uint8)
    # Indexed by the int16 value's unsigned bit pattern, so a uint16 view selects directly.
    return np.roll(table, -32768)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((codes & 0x0F) << 3) + 0x84) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    # A-law works on 13-bit values; negative values are coded as one's complement magnitudes.
    values = np.arange(-32768, 32768, dtype=np.int32) >> 3
    negative = values < 0
    magnitude = np.where(negative, -values - 1, values)
    segment = np.searchsorted(
        np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]), magnitude, side="left"
    )
    shift = np.where(segment < 2, 1, segment)
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> shift) & 0x0F))
    mask = np.where(negative, 0x55, 0xD5)
    table = (code ^ mask).astype(np.uint8)
    return np.roll(table, -32768)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    t = (codes & 0x0F) << 4
    segment = (codes & 0x70) >> 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(codes & 0x80, t, -t).astype(np.int16)


_ULAW_ENC = _ulaw_encode_table()
_ULAW_DEC = _ulaw_decode_table()
_ALAW_ENC = _alaw_encode_table()
_ALAW_DEC = _alaw_decode_table()


def ulaw_encode(pcm16: bytes | bytearray | memoryview) -> bytes:
    """PCM16 to G.711 mu-law, one byte per sample."""
    return _ULAW_ENC[_as_int16(pcm16).view(np.uint16)].tobytes()


def ulaw_decode(data: bytes | bytearray | memoryview) -> bytes:
    """G.711 mu-law to PCM16."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def alaw_encode(pcm16: bytes | bytearray | memoryview) -> bytes:
    """PCM16 to G.711 A-law, one byte per sample."""
    return _ALAW_ENC[_as_int16(pcm16).view(np.uint16)].tobytes()


def alaw_decode(data: bytes | bytearray | memoryview) -> bytes:
    """G.711 A-law to PCM16."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def decode(data: bytes | bytearray | memoryview, fmt: AudioFormat) -> bytes:
    """Audio in ``fmt`` to PCM16 at ``fmt.rate``."""
    if fmt.encoding == "pcm16":
        _as_int16(data)  # validates the length
        return bytes(data)
    if fmt.encoding == "pcmu":
        return ulaw_decode(data)
    if fmt.encoding == "pcma":
        return alaw_decode(data)
    raise ValueError(f"unknown audio encoding {fmt.encoding!r}")


def encode(pcm16: bytes | bytearray | memoryview, fmt: AudioFormat) -> bytes:
    """PCM16 already at ``fmt.rate`` to ``fmt``'s encoding."""
    if fmt.encoding == "pcm16":
        _as_int16(pcm16)
        return bytes(pcm16)
    if fmt.encoding == "pcmu":
        return ulaw_encode(pcm16)
    if fmt.encoding == "pcma":
        return alaw_encode(pcm16)
    raise ValueError(f"unknown audio encoding {fmt.encoding!r}")


# --------------------------------------------------------------------------------------------
# Resampling


def _check_rate(rate: int) -> None:
    if not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"sample rate must be a positive integer, got {rate!r}")


def resample(
    pcm16: bytes | bytearray | memoryview, from_rate: int, to_rate: int, *, quality: Quality = "HQ"
) -> bytes:
    """Resample a whole PCM16 buffer (not for chunks of a stream: use :class:`Resampler`)."""
    _check_rate(from_rate)
    _check_rate(to_rate)
    samples = _as_int16(pcm16)
    if from_rate == to_rate or samples.size == 0:
        return bytes(pcm16)
    out = soxr.resample(samples, from_rate, to_rate, quality=quality)
    return np.asarray(out, dtype="<i2").tobytes()


class Resampler:
    """A streaming PCM16 resampler: chunk boundaries are seamless.

    The filter holds back a few milliseconds of audio (16 -> 24 kHz in 20 ms chunks: about 21 ms
    at ``HQ``, 15 ms at ``MQ``, 6 ms at ``LQ``; benchmarks/outbound.py measures them);
    call :meth:`flush` at the end of the stream to get them out. Over a whole stream the output
    has ``round(n_in * to_rate / from_rate)`` samples, like :func:`resample`.
    """

    def __init__(self, from_rate: int, to_rate: int, *, quality: Quality = "HQ") -> None:
        _check_rate(from_rate)
        _check_rate(to_rate)
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.quality: Quality = quality
        self._stream: soxr.ResampleStream | None = None
        if from_rate != to_rate:
            self._stream = soxr.ResampleStream(
                from_rate, to_rate, 1, dtype="int16", quality=quality
            )

    def process(self, pcm16: bytes | bytearray | memoryview) -> bytes:
        stream = self._stream
        if stream is None or not _NATIVE_IS_LE or len(pcm16) % 2:
            samples = _as_int16(pcm16)  # (the odd length's error)
            if stream is None:
                return bytes(pcm16)
            if samples.size == 0:
                return b""
            return _le_bytes(stream.resample_chunk(samples, last=False))
        if not pcm16:
            return b""
        # _as_int16 and _le_bytes on a little-endian machine, written out: this runs for every
        # chunk send_audio resamples (50 a second a call).
        out: bytes = stream.resample_chunk(
            np.frombuffer(pcm16, dtype=np.int16), last=False
        ).tobytes()
        return out

    def flush(self) -> bytes:
        """End the stream: return the held-back tail. The resampler is then reset."""
        if self._stream is None:
            return b""
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        self.reset()
        return _le_bytes(out)

    def reset(self) -> None:
        if self._stream is not None:
            self._stream = soxr.ResampleStream(
                self.from_rate, self.to_rate, 1, dtype="int16", quality=self.quality
            )


def convert(
    data: bytes | bytearray | memoryview,
    from_format: AudioFormat | int,
    to_format: AudioFormat | int,
    *,
    quality: Quality = "HQ",
) -> bytes:
    """Convert a whole buffer between formats; a plain ``int`` means PCM16 at that rate."""
    src = _fmt(from_format)
    dst = _fmt(to_format)
    if src == dst:
        decode(data, src)  # validates
        return bytes(data)
    pcm = decode(data, src)
    pcm = resample(pcm, src.rate, dst.rate, quality=quality)
    return encode(pcm, dst)


class Converter:
    """A streaming :func:`convert` for audio that arrives in chunks (see :class:`Resampler`)."""

    def __init__(
        self,
        from_format: AudioFormat | int,
        to_format: AudioFormat | int,
        *,
        quality: Quality = "HQ",
    ) -> None:
        self.from_format = _fmt(from_format)
        self.to_format = _fmt(to_format)
        self._resampler = Resampler(self.from_format.rate, self.to_format.rate, quality=quality)
        # A PCM16 chunk may end mid-sample; keep the odd byte for the next chunk.
        self._carry = b""
        self._from_pcm16 = self.from_format.encoding == "pcm16"
        self._to_pcm16 = self.to_format.encoding == "pcm16"
        self.whole_samples_process: Callable[[bytes], bytes] = (
            self._resampler.process if self._from_pcm16 and self._to_pcm16 else self.process
        )
        """:meth:`process` for a caller whose chunks are always whole samples (nothing to
        carry): PCM16 to PCM16 it is the resampler's own ``process``, one call less a chunk."""

    def process(self, data: bytes | bytearray | memoryview) -> bytes:
        if self._from_pcm16:
            if self._carry or len(data) % 2:
                data = self._carry + bytes(data)
                cut = len(data) - (len(data) % 2)
                data, self._carry = data[:cut], data[cut:]
            if self._to_pcm16:
                # PCM16 to PCM16 (send_audio's usual case): only the resampler has work to do.
                return self._resampler.process(data)
        pcm = decode(data, self.from_format)
        return encode(self._resampler.process(pcm), self.to_format)

    def flush(self) -> bytes:
        self._carry = b""
        return encode(self._resampler.flush(), self.to_format)

    def reset(self) -> None:
        self._carry = b""
        self._resampler.reset()


def _fmt(value: AudioFormat | int) -> AudioFormat:
    if isinstance(value, AudioFormat):
        return value
    _check_rate(value)
    return AudioFormat.pcm16(value)


# --------------------------------------------------------------------------------------------
# Durations


def duration_ms(n_bytes: int, fmt: AudioFormat | int) -> float:
    """Playback time of ``n_bytes`` of audio in ``fmt`` (an ``int`` means PCM16 at that rate)."""
    return _fmt(fmt).duration_ms(n_bytes)


def bytes_for_ms(ms: float, fmt: AudioFormat | int) -> int:
    """Bytes of ``ms`` milliseconds of audio, rounded down to a whole sample."""
    f = _fmt(fmt)
    width = 2 if f.encoding == "pcm16" else 1
    samples = int(ms * f.rate // 1000)
    return max(samples, 0) * width


def silence(ms: float, fmt: AudioFormat | int = 24000) -> bytes:
    """``ms`` milliseconds of digital silence in ``fmt``."""
    f = _fmt(fmt)
    n = bytes_for_ms(ms, f)
    if f.encoding == "pcm16":
        return bytes(n)
    return encode(bytes(2 * n), f)


# --------------------------------------------------------------------------------------------
# WAV files


def read_wav(source: str | PathLike[str] | bytes | IO[bytes]) -> tuple[bytes, int]:
    """Read a PCM WAV file (path, bytes or binary file) as mono PCM16: ``(audio, rate)``.

    8-bit, 24-bit and 32-bit integer samples are converted to 16 bits; several channels are
    averaged to one.
    """
    handle: IO[bytes] | str
    if isinstance(source, bytes):
        handle = io.BytesIO(source)
    elif isinstance(source, str | PathLike):
        handle = os.fspath(source)  # wave.open takes str paths only (Python 3.11)
    else:
        handle = source
    with wave.open(handle, "rb") as w:
        rate = w.getframerate()
        channels = w.getnchannels()
        width = w.getsampwidth()
        raw = w.readframes(w.getnframes())
    samples = _to_float(raw, width)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return float32_to_pcm16(samples), rate


def _to_float(raw: bytes, width: int) -> npt.NDArray[np.float64]:
    if width == 1:  # WAV 8-bit is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v & 0x800000, v - (1 << 24), v)
        return v.astype(np.float64) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise ValueError(f"unsupported WAV sample width: {width} bytes")


def write_wav(target: str | PathLike[str] | IO[bytes], pcm16: bytes, rate: int) -> None:
    """Write mono PCM16 audio as a WAV file (path or binary file)."""
    _check_rate(rate)
    _as_int16(pcm16)
    handle = os.fspath(target) if isinstance(target, str | PathLike) else target
    with wave.open(handle, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16)


def wav_bytes(pcm16: bytes, rate: int) -> bytes:
    """Mono PCM16 audio as the bytes of a WAV file."""
    buf = io.BytesIO()
    write_wav(buf, pcm16, rate)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# What Session.send_audio accepts


_MIN_RATE, _MAX_RATE = 8000, 192000
_FORMATS = {"pcm16": "rt.AudioFormat.pcm16(24000)", "pcmu": "rt.AudioFormat.pcmu()"}
_FORMATS["pcma"] = "rt.AudioFormat.pcma()"


def _audio_error(rule: str, fix: str, value: object = "<audio>") -> Exception:
    from realtalk.errors import ConfigError, ConfigProblem

    return ConfigError([ConfigProblem("send_audio", value, rule, fix)])


def user_audio(
    audio: object, *, rate: object = None, format: object = None
) -> tuple[bytes, AudioFormat]:
    """What :meth:`Session.send_audio <realtalk.session.Session.send_audio>` was given, as bytes
    and their format, or an error that says what to send instead.

    * ``bytes`` (``bytearray``, ``memoryview``): PCM16 at ``rate`` (default 24000 Hz), or G.711
      when ``format`` is :meth:`AudioFormat.pcmu` / :meth:`AudioFormat.pcma`. PCM16 must be
      whole samples (an even number of bytes).
    * The bytes of a WAV file (a ``RIFF``/``WAVE`` header): the header is read and stripped, and
      the WAV's own rate is used (several channels are averaged; 8/24/32-bit become 16-bit).
    * A numpy array: ``int16`` samples as they are; ``float32``/``float64`` samples in [-1, 1]
      (what sound-card libraries give) are converted to PCM16; floats outside that range and
      other dtypes are refused. Mono only: shape ``(n,)`` or ``(n, 1)``.
    """
    if format is not None and not isinstance(format, AudioFormat):
        hint = _FORMATS.get(str(format).lower()) if isinstance(format, str) else None
        raise TypeError(
            f"send_audio(format=) takes an AudioFormat, not {format!r}: write "
            f"format={hint or 'rt.AudioFormat.pcmu()'}"
        )
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int):
            raise TypeError(
                f"send_audio(rate=) takes the sample rate in Hz as an int, e.g. rate=16000, "
                f"not {rate!r}"
            )
        if not _MIN_RATE <= rate <= _MAX_RATE:
            guess = f"did you mean rate={rate * 1000}? " if 8 <= rate <= 192 else ""
            raise _audio_error(
                f"rate must be a sample rate in Hz from {_MIN_RATE} to {_MAX_RATE}",
                guess + "give the rate your audio was recorded at, e.g. rate=16000",
                rate,
            )
        if format is not None and format.rate != rate:
            raise _audio_error(
                f"rate={rate} and format={format.encoding} ({format.rate} Hz) disagree",
                "give one of them: format= for G.711, rate= for PCM16",
                rate,
            )
    data = audio if type(audio) is bytes else _audio_bytes(audio)  # bytes: one call less
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _from_wav(data, rate, format)
    fmt = format if format is not None else _pcm16(24000 if rate is None else rate)
    if fmt.encoding == "pcm16" and len(data) % 2:
        raise _audio_error(
            f"PCM16 has 2 bytes per sample, but {len(data)} bytes is an odd number",
            "send whole samples (split chunks at even offsets); for G.711 pass "
            "format=rt.AudioFormat.pcmu() or pcma()",
            len(data),
        )
    return data, fmt


@functools.lru_cache(maxsize=32)
def _pcm16(rate: int) -> AudioFormat:
    # One object per rate: the converters downstream recognise their format by identity.
    return AudioFormat.pcm16(rate)


def _audio_bytes(audio: object) -> bytes:
    if isinstance(audio, bytes):
        return audio
    if isinstance(audio, bytearray | memoryview):
        return bytes(audio)
    if isinstance(audio, np.ndarray):
        return _from_array(audio)
    raise TypeError(
        f"send_audio takes audio as bytes (PCM16 or G.711) or a numpy array, not "
        f"{type(audio).__name__}: read a file with rt.audio.read_wav(path)"
    )


def _from_array(array: npt.NDArray[Any]) -> bytes:
    samples = array
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise _audio_error(
            f"audio must be mono, got an array of shape {samples.shape}",
            "mix the channels first, e.g. audio.mean(axis=1) (then send it as float or int16)",
            samples.shape,
        )
    if samples.dtype == np.int16:
        return samples.astype("<i2", copy=False).tobytes()
    if samples.dtype in (np.float32, np.float64):
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if not peak <= 1.0 + 1e-6:  # also refuses NaN
            raise _audio_error(
                f"float samples must be in [-1, 1], got a peak of {peak:g}",
                "scale the floats to [-1, 1], or send int16 samples (array.astype(np.int16))",
                str(samples.dtype),
            )
        return float32_to_pcm16(samples)
    raise _audio_error(
        f"numpy audio must be int16 or float32/float64, got {samples.dtype}",
        "convert it: array.astype(np.int16) for integer PCM, or floats in [-1, 1]",
        str(samples.dtype),
    )


def _from_wav(data: bytes, rate: object, format: object) -> tuple[bytes, AudioFormat]:
    if format is not None:
        raise _audio_error(
            "these bytes are a WAV file (RIFF header) and format= is given too",
            "drop format=: the WAV's header says its format",
        )
    try:
        pcm, wav_rate = read_wav(data)
    except (wave.Error, EOFError, ValueError) as exc:
        raise _audio_error(
            f"these bytes start with a WAV (RIFF) header but cannot be read as PCM ({exc})",
            "send raw PCM16 bytes, or convert the file to PCM WAV first",
        ) from None
    if rate is not None and rate != wav_rate:
        raise _audio_error(
            f"the WAV's header says {wav_rate} Hz but rate={rate} was given",
            "drop rate=: the WAV's own rate is used",
            rate,
        )
    if not _MIN_RATE <= wav_rate <= _MAX_RATE:
        raise _audio_error(
            f"the WAV's rate {wav_rate} Hz is outside {_MIN_RATE}..{_MAX_RATE}",
            "resample the file",
            wav_rate,
        )
    return pcm, AudioFormat.pcm16(wav_rate)


__dir__ = public_dir(__all__)
