"""The app's audio on its way to the wire: converted to the session's input format in chunks
that fit one ``input_audio_buffer.append``.

One streaming converter per source format, so chunk boundaries do not click; :meth:`flush`
returns what the resamplers still hold (sent before a commit, so a turn ends with its last
sample) and starts afresh. numpy and soxr load on the first audio, not on import.
"""

from __future__ import annotations

from typing import Any

from realtalk.config import AudioFormat

__all__ = ["MAX_APPEND_BYTES", "InputAudio"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""One append carries at most 15 MiB (protocol.md 1a)."""


class InputAudio:
    """Converters for the audio one session sends."""

    def __init__(self) -> None:
        self._converters: dict[AudioFormat, Any] = {}

    def convert(self, audio: bytes, source: AudioFormat, target: AudioFormat) -> list[bytes]:
        """``audio`` in ``target``, as append-sized chunks."""
        if source != target:
            from realtalk.audio import Converter

            converter = self._converters.get(source)
            if converter is None or converter.to_format != target:
                converter = self._converters[source] = Converter(source, target)
            audio = converter.process(audio)
        return _chunks(audio)

    def flush(self) -> list[bytes]:
        """What the converters still hold, as chunks; the converters start afresh."""
        converters, self._converters = self._converters, {}
        tail = b"".join(c.flush() for c in converters.values())
        return _chunks(tail)


def _chunks(data: bytes) -> list[bytes]:
    return [bytes(data[i : i + MAX_APPEND_BYTES]) for i in range(0, len(data), MAX_APPEND_BYTES)]
