"""SessionIdle over WebRTC means every frame of the reply has reached the app, also when the
app's side reads the incoming track slower than real time (a loaded machine): the reply's last
frames then trail the data channel's ``output_audio_buffer.stopped`` by much more than any
fixed allowance. A real loopback call against the local server; the reply is tone-coded
speech, decoded word for word from the AudioDelta events delivered before SessionIdle."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np
import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.server.engines.tone import decode_tones
from realtalk.transports.webrtc import WebRTCTransport

REPLY = "one two three four five six seven eight nine ten eleven twelve."


def lagging_reader(delay_s: float) -> Any:
    """A ``_read_track`` whose consumer takes ``delay_s`` per non-silent frame (the decoded
    reply queues up behind the data channel) and keeps up again on silence."""
    original = WebRTCTransport._read_track

    async def read_track(self: WebRTCTransport, track: Any) -> None:
        recv = track.recv

        async def slow_recv() -> Any:
            frame = await recv()
            if np.abs(frame.to_ndarray()).max() > 64:
                await asyncio.sleep(delay_s)
            return frame

        track.recv = slow_recv
        await original(self, track)

    return read_track


async def reply_heard_before_idle(session: Any) -> tuple[str, list[ev.Event]]:
    await session.send_text("hello")
    events = await testing.collect(session, ev.SessionIdle, timeout=60)
    after: list[ev.Event] = []
    with contextlib.suppress(TimeoutError):
        while True:  # whatever of the turn still trails SessionIdle
            after.append(await session.next_event(timeout=1.0))
    pcm = b"".join(e.audio for e in events if isinstance(e, ev.AudioDelta))
    heard = decode_tones(np.frombuffer(pcm, dtype="<i2") / 32768.0, 24000)
    return heard, after


@pytest.mark.parametrize("delay_s", [0.0, 0.03])
async def test_session_idle_comes_after_the_last_frame_of_the_reply(
    monkeypatch: pytest.MonkeyPatch, delay_s: float
) -> None:
    monkeypatch.setattr(WebRTCTransport, "_read_track", lagging_reader(delay_s))
    provider = testing.local({"default": REPLY}, transport="webrtc")
    async with rt.Runner(rt.Agent("a"), provider=provider).connect() as session:
        heard, after = await reply_heard_before_idle(session)
        assert not after, after  # nothing of the turn trails it: no frame, no buffer event
        assert heard == REPLY
        # The next turn is held to the same rule (the marks are per stop, not per call).
        heard, after = await reply_heard_before_idle(session)
        assert not after, after
        assert heard == REPLY
