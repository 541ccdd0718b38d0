"""Audio plumbing of the local server: wire formats, durations, G.711, resampling.

The Realtime wire carries raw sample bytes in one of three formats (protocol.md §5):
PCM16 at 24 kHz, G.711 mu-law or A-law at 8 kHz (telephony convention; the sources are silent
on the rate, see §5). Durations are computed from byte counts so a client can truncate exactly.
Resampling uses soxr (band-limited; a naive resampler would alias); the G.711 tables are
realtalk.audio's.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import soxr

from realtalk.audio import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

__all__ = [
    "WireFormat",
    "bytes_for_ms",
    "decode_to_pcm16",
    "duration_ms",
    "encode_from_pcm16",
    "format_rate",
    "resample_pcm16",
]

WireFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]


def format_rate(fmt: WireFormat) -> int:
    """The sample rate of a wire format."""
    return 24000 if fmt == "pcm16" else 8000


def _bytes_per_sample(fmt: WireFormat) -> int:
    return 2 if fmt == "pcm16" else 1


def duration_ms(nbytes: int, fmt: WireFormat) -> float:
    """How long ``nbytes`` of audio in ``fmt`` last, in milliseconds."""
    return nbytes / _bytes_per_sample(fmt) * 1000.0 / format_rate(fmt)


def bytes_for_ms(ms: float, fmt: WireFormat) -> int:
    """The byte count of ``ms`` milliseconds in ``fmt``, rounded down to whole samples."""
    samples = int(ms * format_rate(fmt) / 1000.0)
    return samples * _bytes_per_sample(fmt)


def decode_to_pcm16(data: bytes, fmt: WireFormat) -> bytes:
    """Wire bytes -> PCM16 little-endian at the format's own rate (no resampling)."""
    if fmt == "pcm16":
        return data[: len(data) - len(data) % 2]
    return ulaw_decode(data) if fmt == "g711_ulaw" else alaw_decode(data)


def encode_from_pcm16(pcm16: bytes, rate: int, fmt: WireFormat) -> bytes:
    """PCM16 at ``rate`` -> wire bytes in ``fmt`` (resampled to the format's rate)."""
    pcm = resample_pcm16(pcm16, rate, format_rate(fmt))
    if fmt == "pcm16":
        return pcm
    return ulaw_encode(pcm) if fmt == "g711_ulaw" else alaw_encode(pcm)


def resample_pcm16(pcm16: bytes, rate_in: int, rate_out: int) -> bytes:
    """Resample a whole PCM16 mono clip with soxr."""
    data = pcm16[: len(pcm16) - len(pcm16) % 2]
    if rate_in == rate_out or not data:
        return data
    samples = np.frombuffer(data, dtype="<i2")
    out = soxr.resample(samples, rate_in, rate_out)
    return np.asarray(out, dtype="<i2").tobytes()


class StreamResampler:
    """Chunk-by-chunk PCM16 resampling (for feeding a VAD while audio streams in)."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._stream = (
            None
            if rate_in == rate_out
            else soxr.ResampleStream(rate_in, rate_out, 1, dtype="int16")
        )

    def process(self, pcm16: bytes) -> bytes:
        data = pcm16[: len(pcm16) - len(pcm16) % 2]
        if self._stream is None:
            return data
        samples = np.frombuffer(data, dtype="<i2")
        out = self._stream.resample_chunk(samples)
        return np.asarray(out, dtype="<i2").tobytes()
