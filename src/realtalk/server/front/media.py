"""What the two media channels share: a WebRTC call (:mod:`~realtalk.server.front.rtc`) and an
attached phone call (:mod:`~realtalk.server.front.sip`).

Both are :class:`~realtalk.server.front.connection.Channel` s whose audio does not travel as
``input_audio_buffer.append`` events from the client: the peer's audio (an Opus track, a phone
line) is converted to the session's input format and queued as appends; the session's audio
deltas are converted for the peer, with the resampler's tail flushed when a response's audio is
done (else its last milliseconds, often the end of the last word, would be lost).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TYPE_CHECKING, Any, Literal

from realtalk.config import AudioFormat
from realtalk.server.core.codec import audio_format
from realtalk.server.core.settings import read_settings

if TYPE_CHECKING:
    from realtalk.server.front.connection import Connection

__all__ = ["AUDIO_DELTA", "AUDIO_DONE", "MediaChannel"]

AUDIO_DELTA = ("response.output_audio.delta", "response.audio.delta")
AUDIO_DONE = ("response.output_audio.done", "response.audio.done")
"""The session's audio events in the GA and the beta shape."""
_CLOSE = object()


class MediaChannel:
    """The shared half of a media channel; subclasses add ``send`` and ``close``."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        """The session's connection, set once it exists (the formats are read from it)."""
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._close_code: int | None = None
        self._in: Any = None
        self._out: dict[tuple[AudioFormat, AudioFormat], Any] = {}

    async def receive(self, timeout: float | None) -> str | bytes | None:
        async with asyncio.timeout(timeout):
            item = await self._inbox.get()
        if item is _CLOSE:
            self._inbox.put_nowait(_CLOSE)
            return None
        assert isinstance(item, str | bytes)
        return item

    @property
    def close_code(self) -> int | None:
        return self._close_code

    def ended(self, code: int = 1000) -> None:
        """The peer or the call is gone: :meth:`receive` returns None from now on."""
        if self._close_code is None:
            self._close_code = code
            self._inbox.put_nowait(_CLOSE)

    def client_text(self, text: str) -> None:
        """A client event, for the session as it is."""
        self._inbox.put_nowait(text)

    def session_format(self, direction: Literal["input", "output"]) -> AudioFormat:
        session = self.connection.session if self.connection else None
        if session is None or not session.session:
            return AudioFormat.pcm16()
        settings = read_settings(session.dialect, session.session)
        return audio_format(
            settings.input_format if direction == "input" else settings.output_format
        )

    def peer_audio(self, data: bytes, fmt: AudioFormat) -> None:
        """Audio the peer sent, queued as an append in the session's input format."""
        from realtalk.audio import Converter

        target = self.session_format("input")
        if self._in is None or self._in.to_format != target or self._in.from_format != fmt:
            self._in = Converter(fmt, target)
        converted = self._in.process(data)
        if converted:
            audio = base64.b64encode(converted).decode("ascii")
            self._inbox.put_nowait(
                json.dumps({"type": "input_audio_buffer.append", "audio": audio})
            )

    def session_audio(self, delta: str, target: AudioFormat, *, last: bool = False) -> bytes:
        """A base64 audio delta of the session as ``target`` audio; ``last`` also flushes the
        resampler (the response's audio is done)."""
        from realtalk.audio import Converter

        source = self.session_format("output")
        key = (source, target)
        converter = self._out.get(key)
        if converter is None:
            converter = self._out[key] = Converter(source, target)
        out = converter.process(base64.b64decode(delta)) if delta else b""
        if last:
            out += converter.flush()
            del self._out[key]
        return out
