"""The server's names for the wire audio formats, mapped onto :mod:`realtalk.audio`.

The Realtime wire carries raw sample bytes in one of three formats (protocol.md §5): PCM16 at
24 kHz, G.711 mu-law or A-law at 8 kHz (telephony convention; the sources are silent on the
rate, see §5). The session keeps the beta names (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``)
because both dialects' settings reduce to them; all audio arithmetic (G.711, soxr resampling,
durations from byte counts so a client can truncate exactly) is :mod:`realtalk.audio`'s.
"""

from __future__ import annotations

from typing import Literal

from realtalk import audio
from realtalk.config import AudioFormat

__all__ = ["WireFormat", "audio_format", "bytes_for_ms", "duration_ms", "whole_samples"]

WireFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]

_FORMATS: dict[str, AudioFormat] = {
    "pcm16": AudioFormat.pcm16(24000),
    "g711_ulaw": AudioFormat.pcmu(),
    "g711_alaw": AudioFormat.pcma(),
}


def audio_format(fmt: WireFormat) -> AudioFormat:
    """The :class:`~realtalk.config.AudioFormat` (encoding and rate) of a wire format."""
    return _FORMATS[fmt]


def duration_ms(nbytes: int, fmt: WireFormat) -> float:
    """How long ``nbytes`` of audio in ``fmt`` last, in milliseconds."""
    return audio.duration_ms(nbytes, _FORMATS[fmt])


def bytes_for_ms(ms: float, fmt: WireFormat) -> int:
    """The byte count of ``ms`` milliseconds in ``fmt``, rounded down to whole samples."""
    return audio.bytes_for_ms(ms, _FORMATS[fmt])


def whole_samples(data: bytes, fmt: WireFormat) -> bytes:
    """``data`` without a trailing half sample: a client may append an odd number of PCM16
    bytes, which the service tolerates and :mod:`realtalk.audio` (rightly) refuses."""
    if fmt == "pcm16" and len(data) % 2:
        return data[:-1]
    return data
