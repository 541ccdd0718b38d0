"""What a reconnect replays of the user's turn under way is bounded, and so is what the session
keeps for it: a long stream with no speech (server VAD on, no VAD event yet) keeps its last 2 s
only (what the server's prefix padding can still use), and a manual turn never committed keeps
its last 15 MiB (what one ``input_audio_buffer.append`` may carry), the rest reported lost.
The session's confirmed input format sets the bytes per millisecond (G.711 is 8, not 48).
A scripted server on a real loopback socket, the connection cut by the fault proxy."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.input_audio import QUALITY

from ..samples import ga_session

RATE_BYTES_PER_S = 48_000  # PCM16 mono 24 kHz: the session's input format
G711_BYTES_PER_S = 8_000  # G.711 mu-law: 8 kHz, one byte a sample
CAP = 15 * 1024 * 1024


@contextlib.asynccontextmanager
async def scripted(
    vad: bool, wire_format: dict[str, Any] | None = None
) -> AsyncIterator[tuple[str, list[bytearray]]]:
    """A server that never hears speech: it answers the handshake and session.update, and
    keeps what each connection appended (one buffer per connection, in order)."""
    appended: list[bytearray] = []

    async def handle(ws: ServerConnection) -> None:
        got = bytearray()
        appended.append(got)
        session = ga_session(id=f"sess_{len(appended)}", model="gpt-realtime", expires_at=0)
        if not vad:
            session["audio"]["input"]["turn_detection"] = None
        if wire_format is not None:
            session["audio"]["input"]["format"] = wire_format
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": session}))
        with contextlib.suppress(ConnectionClosed):  # the proxy's reset
            async for message in ws:
                event = json.loads(message)
                if event["type"] == "session.update":
                    reply = {"type": "session.updated", "event_id": "e2", "session": session}
                    await ws.send(json.dumps(reply))
                elif event["type"] == "input_audio_buffer.append":
                    got += base64.b64decode(event["audio"])

    async with serve(handle, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime", appended


def numbered(seconds: int) -> bytes:
    """``seconds`` of audio whose every second is told apart by its sample value."""
    return b"".join(
        (second % 30_000 + 1).to_bytes(2, "little") * (RATE_BYTES_PER_S // 2)
        for second in range(seconds)
    )


async def replayed_after_a_cut(
    vad: bool, audio: bytes, g711: bool = False
) -> tuple[bytes, ev.Reconnected, int]:
    wire = {"type": "audio/pcmu"} if g711 else None
    async with scripted(vad, wire) as (url, appended), testing.FaultProxy() as proxy:
        provider = rt.providers.Compatible(url, api_key="sk-test")
        options = rt.SessionOptions(reconnect=rt.Reconnect(initial_delay=0.01))
        config = rt.SessionConfig(input_format=rt.AudioFormat.pcmu()) if g711 else None
        agent = rt.Agent("a", config=config)
        runner = rt.Runner(agent, provider=provider, options=options, connector=proxy.connector)
        async with runner.connect() as session:
            step = G711_BYTES_PER_S if g711 else RATE_BYTES_PER_S
            for start in range(0, len(audio), step):
                chunk = audio[start : start + step]
                if g711:
                    await session.send_audio(chunk, format=rt.AudioFormat.pcmu())
                else:
                    await session.send_audio(chunk, rate=24000)
            recovery: Any = session._recovery
            held = recovery.audio.pending_bytes  # what the session keeps for a reconnect
            proxy.cut("rst")
            events = await testing.collect(session, ev.Reconnected, timeout=30)
            [reconnected] = [e for e in events if isinstance(e, ev.Reconnected)]
            await asyncio.sleep(0.3)  # the replayed append reaches the server
        assert len(appended) == 2
        return bytes(appended[1]), reconnected, held


async def test_a_long_stream_with_no_speech_keeps_and_replays_its_last_two_seconds() -> None:
    audio = numbered(60)
    replayed, reconnected, held = await replayed_after_a_cut(True, audio)
    assert held == 2 * RATE_BYTES_PER_S  # not the minute streamed
    assert replayed == audio[-2 * RATE_BYTES_PER_S :]  # the lead before any speech
    assert reconnected.lost == ()  # silence before speech is no part of a turn


async def test_a_manual_turn_keeps_its_last_fifteen_mebibytes_and_says_what_it_lost() -> None:
    audio = numbered(CAP // RATE_BYTES_PER_S + 20)  # 347 s: 20 s more than one append takes
    replayed, reconnected, held = await replayed_after_a_cut(False, audio)
    assert held == CAP
    assert replayed == audio[-CAP:]
    [lost] = reconnected.lost
    cut_s = (len(audio) - CAP) / RATE_BYTES_PER_S
    assert lost.startswith("the user's turn under way: its first ")
    assert f"{cut_s:.1f} s were not kept" in lost


@pytest.mark.parametrize("vad", [True, False])
async def test_a_short_turn_under_way_is_replayed_whole(vad: bool) -> None:
    audio = numbered(1)
    replayed, reconnected, held = await replayed_after_a_cut(vad, audio)
    assert held == len(audio)
    assert replayed == audio
    assert reconnected.lost == ()


async def test_a_g711_stream_keeps_two_seconds_of_its_own_rate() -> None:
    # 8,000 bytes a second: sliced at PCM16's 48 bytes/ms, "2 s" would keep 12 s of it.
    audio = b"".join(bytes([second + 1]) * G711_BYTES_PER_S for second in range(60))
    replayed, reconnected, held = await replayed_after_a_cut(True, audio, g711=True)
    assert held == 2 * G711_BYTES_PER_S
    assert replayed == audio[-2 * G711_BYTES_PER_S :]
    assert reconnected.lost == ()


async def test_a_resampled_stream_is_replayed_once_and_whole_and_goes_on_after() -> None:
    # send_audio(rate=16000) frames take the hot path (straight to the resampler); the turn a
    # reconnect puts back is exactly the appends made before the cut, none lost or doubled,
    # and the frames after it continue the same turn on the new connection.
    frames = [bytes([i % 250 + 1, i % 7]) * 320 for i in range(80)]  # 20 ms each, told apart
    made: list[tuple[int, bytes]] = []  # (connection, append) as the session made them
    async with scripted(False) as (url, appended), testing.FaultProxy() as proxy:
        provider = rt.providers.Compatible(url, api_key="sk-test")
        options = rt.SessionOptions(reconnect=rt.Reconnect(initial_delay=0.01))
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            append = session._append
            connection = 1

            async def watched(chunk: bytes) -> None:
                made.append((connection, chunk))
                await append(chunk)

            session._append = watched  # type: ignore[method-assign]
            for frame in frames[:50]:
                await session.send_audio(frame, rate=16000)
            proxy.cut("rst")
            await testing.collect(session, ev.Reconnected, timeout=30)
            connection = 2
            for frame in frames[50:]:
                await session.send_audio(frame, rate=16000)
            await asyncio.sleep(0.3)  # the appends reach the server
    before = b"".join(chunk for conn, chunk in made if conn == 1)
    after = b"".join(chunk for conn, chunk in made if conn == 2)
    assert len(appended) == 2
    assert bytes(appended[1]) == before + after
    # Every frame was resampled once: as much as one resampler makes of the 80 frames.
    reference = rt.audio.Resampler(16000, 24000, quality=QUALITY)
    assert len(before + after) == sum(len(reference.process(f)) for f in frames)
    assert len(before) > 40 * 960  # the cut came after most of the first 50 frames' appends
