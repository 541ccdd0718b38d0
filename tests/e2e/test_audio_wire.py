"""What send_audio puts on a real socket: the appends' JSON, with and without an on_send hook.

Without a hook the protocol writes an append's text around its base64 (its fast path); with one,
the hook still sees and rewrites every append. The scripted server records what arrived.
"""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from typing import Any

import pytest

import realtalk as rt
from realtalk.input_audio import QUALITY
from realtalk.providers import Compatible

from .scripted_server import ScriptedServer, scripted_server


def tone(ms: int, rate: int, hz: float = 440.0) -> bytes:
    n = rate * ms // 1000
    return struct.pack(
        f"<{n}h", *(int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    )


async def appends(server: ScriptedServer, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        found = server.of_type("input_audio_buffer.append")
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(server.of_type('input_audio_buffer.append'))} appends arrived")


async def test_appends_without_a_hook_are_exactly_the_wire_shape() -> None:
    frames = [tone(20, 24000, 300 + 10 * i) for i in range(10)]
    async with scripted_server() as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            for frame in frames:
                await session.send_audio(frame)
            got = await appends(server, len(frames))
    assert [set(e) for e in got] == [{"type", "event_id", "audio"}] * len(frames)
    assert [base64.b64decode(e["audio"]) for e in got] == frames
    assert len({e["event_id"] for e in got}) == len(frames)


async def test_a_hook_still_sees_rewrites_and_drops_appends() -> None:
    seen: list[int] = []

    def hook(event: dict[str, Any]) -> dict[str, Any] | None:
        if event["type"] != "input_audio_buffer.append":
            return event
        seen.append(len(base64.b64decode(event["audio"])))
        if len(seen) % 2 == 0:
            return None  # every second append dropped
        return {**event, "x_tag": len(seen)}

    frames = [tone(20, 24000) for _ in range(6)]
    async with scripted_server() as server:
        provider = Compatible(server.url, on_send=hook)
        async with rt.Runner(rt.Agent("a"), provider=provider).connect() as session:
            for frame in frames:
                await session.send_audio(frame)
            got = await appends(server, 3)
            await asyncio.sleep(0.1)
            got = server.of_type("input_audio_buffer.append")
    assert seen == [960] * 6
    assert [e["x_tag"] for e in got] == [1, 3, 5]
    assert all(base64.b64decode(e["audio"]) == frames[0] for e in got)


async def test_resampled_audio_arrives_whole_at_24_khz() -> None:
    audio = tone(1000, 16000)
    async with scripted_server() as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            for i in range(0, len(audio), 640):  # 20 ms frames at 16 kHz
                await session.send_audio(audio[i : i + 640], rate=16000)
            await session.commit_audio()  # sends what the resampler still holds, then commits
            for _ in range(200):
                if server.of_type("input_audio_buffer.commit"):
                    break
                await asyncio.sleep(0.02)
    sent = b"".join(
        base64.b64decode(e["audio"]) for e in server.of_type("input_audio_buffer.append")
    )
    assert len(sent) == 24000 * 2  # one second at 24 kHz, to the sample
    assert all(e["audio"] for e in server.of_type("input_audio_buffer.append"))  # none empty


async def test_a_confirmed_input_format_change_takes_the_next_chunk() -> None:
    # send_audio reads the target format once per confirmed config: once the server confirms
    # G.711, the same PCM16 frames go out as mu-law. (The scripted server merges the new type
    # into the session's format and keeps its rate: G.711 at 24 kHz, one byte a sample.)
    frame = tone(20, 24000)
    mulaw = rt.audio.convert(frame, 24000, rt.AudioFormat(encoding="pcmu", rate=24000))
    async with scripted_server() as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            for _ in range(3):
                await session.send_audio(frame)
            await session.update(input_format=rt.AudioFormat.pcmu())
            for _ in range(5):
                await session.send_audio(frame)
            got = await appends(server, 8)
    assert [base64.b64decode(e["audio"]) for e in got] == [frame] * 3 + [mulaw] * 5
    assert len(mulaw) == len(frame) // 2


def turns_on_the_wire(server: ScriptedServer) -> list[bytes]:
    """The audio appended before each commit (the last item: appended after the last commit)."""
    turns, current = [], bytearray()
    for event in server.received:
        if event["type"] == "input_audio_buffer.append":
            assert event["audio"], "an empty append"
            current += base64.b64decode(event["audio"])
        elif event["type"] == "input_audio_buffer.commit":
            turns.append(bytes(current))
            current = bytearray()
    return [*turns, bytes(current)]


async def test_every_kind_of_chunk_continues_one_stream_and_bad_ones_lose_nothing() -> None:
    # send_audio takes a stream's plain chunks (bytes, the same rate=, no format=) straight to
    # its resampler; everything else goes through the full checks. Mixed in one stream, the
    # wire carries exactly what one resampler per turn makes of the same samples.
    import numpy as np

    frames = [tone(20, 16000, 200 + 15 * i) for i in range(40)]
    riff_pcm = b"RIFF" + tone(20, 16000)[4:]  # starts like a WAV header, is not one
    rate = int("16000")  # equal to the literal, not the same object
    first: list[bytes] = []  # what turn 1 gives send_audio, as 16 kHz PCM16
    async with scripted_server() as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            for frame in frames[:10]:
                await session.send_audio(frame, rate=16000)
                first.append(frame)
            # Refused in realtalk's words, the stream untouched (the next chunk continues it).
            with pytest.raises(rt.ConfigError, match="PCM16 has 2 bytes per sample"):
                await session.send_audio(frames[12][:-1], rate=16000)
            for wrong in (16000.0, True):
                with pytest.raises(TypeError, match="takes the sample rate in Hz as an int"):
                    await session.send_audio(frames[12], rate=wrong)  # type: ignore[arg-type]
            await session.send_audio(bytearray(frames[10]), rate=16000)
            await session.send_audio(np.frombuffer(frames[11], dtype=np.int16), rate=16000)
            first += frames[10:12]
            await session.send_audio(riff_pcm, rate=16000)
            await session.send_audio(rt.audio.wav_bytes(frames[12], 16000), rate=16000)
            await session.send_audio(frames[13], rate=rate)
            first += [riff_pcm, frames[12], frames[13]]
            # The hot path: the plain chunks that follow skip the checks (user_audio).
            inp: Any = session._input_audio
            checked, accept = [], inp.accept
            inp.accept = lambda audio, **kw: checked.append(kw) or accept(audio, **kw)
            for frame in frames[14:30]:
                await session.send_audio(frame, rate=16000)
                first.append(frame)
            assert checked == [{"rate": 16000, "format": None}]  # the first, a new rate object
            await session.commit_audio()
            for _ in range(3):  # 24 kHz now: no resampler
                await session.send_audio(tone(20, 24000, 500))
            for frame in frames[33:]:  # and 16 kHz again: a fresh resampler after the commit
                await session.send_audio(frame, rate=16000)
            await session.commit_audio()
            for _ in range(200):
                if len(server.of_type("input_audio_buffer.commit")) == 2:
                    break
                await asyncio.sleep(0.02)

    def resampled(chunks: list[bytes]) -> bytes:
        stream = rt.audio.Resampler(16000, 24000, quality=QUALITY)
        return b"".join(stream.process(c) for c in chunks) + stream.flush()

    def close_to(got: bytes, want: bytes) -> bool:
        # Two soxr streams fed the same samples agree to a rounding (up to 2 LSB here: not
        # bit for bit from one instance to the next); a chunk lost, doubled or taken out of
        # order shifts the tones and is off by thousands.
        a, b = np.frombuffer(got, dtype=np.int16), np.frombuffer(want, dtype=np.int16)
        return len(a) == len(b) and int(np.abs(a.astype(int) - b.astype(int)).max()) <= 4

    turn1, turn2, after = turns_on_the_wire(server)
    assert len(turn1) == len(first) * 960  # 20 ms at 24 kHz each, to the sample
    assert close_to(turn1, resampled(first))
    assert turn2[:2880] == tone(20, 24000, 500) * 3  # as given
    assert close_to(turn2[2880:], resampled(frames[33:]))
    assert after == b""
