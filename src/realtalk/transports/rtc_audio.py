"""Audio between realtalk's byte buffers and aiortc's tracks (Opus on the wire, 48 kHz inside).

:class:`OutgoingAudio` is an audio track fed with PCM16 mono bytes at 48 kHz: it hands aiortc one
20 ms frame per 20 ms of real time (silence when nothing is queued) and reports when audio
starts and when the queue drains, which is what ``output_audio_buffer.started`` / ``stopped``
mean. :func:`frame_pcm` turns a received frame into PCM16 mono at the frame's rate.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

__all__ = ["FRAME_SAMPLES", "RTC_RATE", "OutgoingAudio", "frame_pcm"]

RTC_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: Opus's usual frame
_FRAME_BYTES = FRAME_SAMPLES * 2


class OutgoingAudio(MediaStreamTrack):
    """A live audio track: :meth:`feed` PCM16 mono 48 kHz bytes, aiortc pulls paced frames."""

    kind = "audio"

    def __init__(
        self,
        *,
        on_started: Callable[[], None] | None = None,
        on_drained: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._queue = bytearray()
        self._pts = 0
        self._start: float | None = None
        self._playing = False
        self.played_samples = 0
        """Samples of queued (non-silence) audio handed to the encoder so far."""
        self.on_started = on_started
        self.on_drained = on_drained

    @property
    def queued_ms(self) -> float:
        return len(self._queue) / 2 / RTC_RATE * 1000.0

    @property
    def playing(self) -> bool:
        return self._playing

    def feed(self, pcm48: bytes) -> None:
        self._queue.extend(pcm48)

    def clear(self) -> int:
        """Drop everything queued; returns how many ms were dropped."""
        dropped = len(self._queue) // 2
        self._queue.clear()
        if self._playing:
            self._playing = False
        return dropped * 1000 // RTC_RATE

    async def recv(self) -> Any:
        import av

        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            wait = self._start + self._pts / RTC_RATE - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = bytes(self._queue[:_FRAME_BYTES])
        del self._queue[:_FRAME_BYTES]
        if chunk:
            self.played_samples += len(chunk) // 2
            if not self._playing:
                self._playing = True
                if self.on_started is not None:
                    self.on_started()
        elif self._playing:
            self._playing = False
            if self.on_drained is not None:
                self.on_drained()
        chunk = chunk.ljust(_FRAME_BYTES, b"\0")
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = RTC_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RTC_RATE)
        self._pts += FRAME_SAMPLES
        return frame


def frame_pcm(frame: Any) -> tuple[bytes, int]:
    """(PCM16 mono bytes, sample rate) of a received ``av.AudioFrame`` (channels averaged)."""
    import numpy as np

    samples = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        data = samples.astype(np.int32).mean(axis=0)
    else:
        data = samples.reshape(-1, channels).astype(np.int32).mean(axis=1)
    if frame.format.name not in ("s16", "s16p"):
        raise ValueError(f"unexpected audio frame format {frame.format.name!r}")
    return data.astype("<i2").tobytes(), int(frame.sample_rate)
