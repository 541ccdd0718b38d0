"""The app's audio on its way to the wire: converted to the session's input format in chunks
that fit one ``input_audio_buffer.append``.

One streaming converter per source format, so chunk boundaries do not click; :meth:`flush`
returns what the resamplers still hold (sent before a commit, so a turn ends with its last
sample) and starts afresh. numpy and soxr load on the first audio, not on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from realtalk.config import AudioFormat

__all__ = ["MAX_APPEND_BYTES", "InputAudio", "split_appends"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
"""One append carries at most 15 MiB (protocol.md 1a)."""

QUALITY: Final = "MQ"
"""soxr's "medium" recipe for the user's audio: 16-bit precision and 95 % bandwidth (SoX's
table), what PCM16 holds; HQ's 20-bit filter is finer than the samples. It holds back 15 ms
instead of HQ's 21 ms (audio the server hears that much sooner) and costs less CPU; Whisper's
word error rate was the same for every recipe (benchmarks/outbound.py, the quality table)."""


class _Accept(Protocol):
    def __call__(
        self, audio: object, *, rate: object, format: object
    ) -> tuple[bytes, AudioFormat]: ...


class InputAudio:
    """Converters for the audio one session sends."""

    def __init__(self) -> None:
        self.accept: _Accept = self._first_accept
        """What send_audio was given, as bytes and their format: after the first call this is
        :func:`realtalk.audio.user_audio` itself (no wrapper call per chunk; imported on the
        first audio, not at import)."""
        self._converters: dict[AudioFormat, Any] = {}
        # The last (source, target) seen, by identity, with the call that converts: a stream
        # sends one format, so the usual chunk skips the dataclass comparisons and the lookup.
        self._last: tuple[AudioFormat, AudioFormat, Callable[[bytes], bytes] | None] | None = None
        self.stream: (
            tuple[object, AudioFormat, AudioFormat, Callable[[bytes], bytes] | None] | None
        ) = None
        """``(rate, source, target, process)`` of the PCM16 stream being sent, once a chunk of
        it went through :attr:`accept` and :meth:`convert` (:meth:`keep_stream`): send_audio
        hands the stream's next plain chunk (bytes with that same ``rate=`` object and no
        ``format=``, whole samples, not a WAV file: what ``accept`` returns unchanged, in
        ``source``) straight to ``process`` (None: taken as it is) while the target is still
        ``target``. None after :meth:`flush` and after a chunk that went another way."""

    def _first_accept(
        self, audio: object, *, rate: object, format: object
    ) -> tuple[bytes, AudioFormat]:
        from realtalk.audio import user_audio

        self.accept = user_audio
        return user_audio(audio, rate=rate, format=format)

    def keep_stream(self, rate: object, source: AudioFormat, target: AudioFormat) -> None:
        """The chunk :meth:`convert` just took from ``source`` to ``target`` was plain PCM16
        bytes at ``rate=`` (no ``format=``, no WAV header): remember the stream
        (:attr:`stream`)."""
        last = self._last
        if last is not None and last[0] is source and last[1] is target:
            self.stream = (rate, source, target, last[2])
        else:
            self.stream = None

    def convert(self, audio: bytes, source: AudioFormat, target: AudioFormat) -> list[bytes]:
        """``audio`` (whole samples: what :func:`~realtalk.audio.user_audio` gives) in
        ``target``, as append-sized chunks."""
        last = self._last
        if last is not None and last[0] is source and last[1] is target:
            process = last[2]
        else:
            converter = self._converter(source, target)
            # PCM16 to PCM16 (send_audio's usual case) is the resampler's work alone: the
            # converter's odd-byte carry never holds anything, the audio is whole samples.
            process = None if converter is None else converter.whole_samples_process
            self._last = (source, target, process)
        if process is not None:
            audio = process(audio)
        if len(audio) <= MAX_APPEND_BYTES:
            return [audio] if audio else []
        return split_appends(audio)

    def _converter(self, source: AudioFormat, target: AudioFormat) -> Any:
        if source == target:
            return None
        from realtalk.audio import Converter

        converter = self._converters.get(source)
        if converter is None or converter.to_format != target:
            converter = self._converters[source] = Converter(source, target, quality=QUALITY)
        return converter

    def flush(self) -> list[bytes]:
        """What the converters still hold, as chunks; the converters start afresh."""
        converters, self._converters = self._converters, {}
        self._last = None
        self.stream = None
        tail = b"".join(c.flush() for c in converters.values())
        return split_appends(tail)


def split_appends(data: bytes) -> list[bytes]:
    """``data`` cut into pieces one ``input_audio_buffer.append`` may carry."""
    return [bytes(data[i : i + MAX_APPEND_BYTES]) for i in range(0, len(data), MAX_APPEND_BYTES)]
