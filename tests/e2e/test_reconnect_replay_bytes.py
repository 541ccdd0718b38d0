"""After a lost connection, the user audio a restore sends again is byte for byte what the app
sent: the turn under way from the server VAD's speech start (after the lead before speech was
trimmed), a committed turn between its VAD marks (as the replayed item's audio), and a manual
turn past its 15 MiB bound (its last 15 MiB), each sent in chunks of uneven sizes so every cut
falls inside a chunk. Random bytes: an offset off by one sample shows. A scripted server on a
real loopback socket marks speech after a given number of bytes; the fault proxy cuts the
connection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

import realtalk as rt
from realtalk import events as ev
from realtalk import testing

from ..samples import ga_session

PER_MS = 48  # PCM16 mono 24 kHz, the session's input format: bytes per millisecond
LEAD = 2000 * PER_MS  # what the session holds before the VAD marks speech
CAP = 15 * 1024 * 1024
SIZES = (962, 958, 1442, 478, 2398)  # uneven chunks, whole samples


@dataclass
class Marks:
    """What the first connection's VAD says, once it has received ``after`` bytes."""

    after: int
    start_ms: int
    stop_ms: int | None = None  # with a stop: the turn is committed as item ``turn_1``


@dataclass
class Peer:
    appended: list[bytearray] = field(default_factory=list)  # per connection
    created: list[dict[str, Any]] = field(default_factory=list)  # items the restore created


@contextlib.asynccontextmanager
async def scripted(vad: bool, marks: Marks | None = None) -> AsyncIterator[tuple[str, Peer]]:
    peer = Peer()

    async def handle(ws: ServerConnection) -> None:
        got = bytearray()
        peer.appended.append(got)
        first = len(peer.appended) == 1
        session = ga_session(id=f"sess_{len(peer.appended)}", model="gpt-realtime", expires_at=0)
        if not vad:
            session["audio"]["input"]["turn_detection"] = None
        marked = False

        async def send(event: dict[str, Any]) -> None:
            await ws.send(json.dumps(event))

        await send({"type": "session.created", "event_id": "e1", "session": session})
        with contextlib.suppress(ConnectionClosed):  # the proxy's reset
            async for message in ws:
                event = json.loads(message)
                kind = event["type"]
                if kind == "session.update":
                    await send({"type": "session.updated", "session": session})
                elif kind == "input_audio_buffer.append":
                    got += base64.b64decode(event["audio"])
                    if first and marks is not None and not marked and len(got) >= marks.after:
                        marked = True
                        await send(
                            {
                                "type": "input_audio_buffer.speech_started",
                                "audio_start_ms": marks.start_ms,
                                "item_id": "turn_1",
                            }
                        )
                        if marks.stop_ms is not None:
                            await commit(send, marks.stop_ms)
                elif kind == "conversation.item.create":
                    item = event["item"]
                    peer.created.append(item)
                    shown = {**item, "status": "completed"}
                    await send({"type": "conversation.item.added", "item": shown})
                    await send({"type": "conversation.item.done", "item": shown})

    async def commit(send: Any, stop_ms: int) -> None:
        await send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": stop_ms,
                "item_id": "turn_1",
            }
        )
        await send(
            {"type": "input_audio_buffer.committed", "item_id": "turn_1", "previous_item_id": None}
        )
        item = {
            "id": "turn_1",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await send({"type": "conversation.item.added", "item": item, "previous_item_id": None})
        await send({"type": "conversation.item.done", "item": item})

    async with serve(handle, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime", peer


def uneven(audio: bytes) -> list[bytes]:
    chunks, at, n = [], 0, 0
    while at < len(audio):
        size = SIZES[n % len(SIZES)] * (64 if len(audio) > CAP else 1)
        chunks.append(audio[at : at + size])
        at += size
        n += 1
    return chunks


async def replay(
    vad: bool, before: bytes, after: bytes = b"", marks: Marks | None = None
) -> tuple[Peer, ev.Reconnected, int]:
    """Send ``before``; wait for the marks (if any); send ``after``; cut the connection;
    return what the server got on each connection, the Reconnected event and the bytes the
    session held for the turn under way when the connection went."""
    async with scripted(vad, marks) as (url, peer), testing.FaultProxy() as proxy:
        provider = rt.providers.Compatible(url, api_key="sk-test")
        options = rt.SessionOptions(reconnect=rt.Reconnect(initial_delay=0.01))
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            for chunk in uneven(before):
                await session.send_audio(chunk, rate=24000)
            if marks is not None:
                last = ev.ItemDone if marks.stop_ms is not None else ev.SpeechStarted
                await testing.collect(session, last, timeout=10)
            for chunk in uneven(after):
                await session.send_audio(chunk, rate=24000)
            await asyncio.sleep(0.05)  # every append is out before the cut
            held = session._recovery.audio.pending_bytes  # type: ignore[union-attr]
            proxy.cut("rst")
            events = await testing.collect(session, ev.Reconnected, timeout=60)
            [reconnected] = [e for e in events if isinstance(e, ev.Reconnected)]
            await asyncio.sleep(0.3)  # the replayed append reaches the server
    assert len(peer.appended) == 2
    return peer, reconnected, held


def noise(ms: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(ms * PER_MS)


async def test_speech_marked_inside_the_lead_replays_from_its_start() -> None:
    before, after = noise(5000, 1), noise(700, 2)
    start_ms = 4130  # inside the 2 s held when it comes (3.0-5.0 s), mid-chunk
    peer, reconnected, held = await replay(True, before, after, Marks(len(before), start_ms))
    assert held == len(before) + len(after) - (len(before) - LEAD)
    assert bytes(peer.appended[1]) == (before + after)[start_ms * PER_MS :]
    assert reconnected.lost == ()


async def test_speech_marked_before_the_lead_replays_the_whole_lead_and_what_followed() -> None:
    before, after = noise(6000, 3), noise(1300, 4)
    peer, _, _ = await replay(True, before, after, Marks(len(before), 1000))
    assert bytes(peer.appended[1]) == before[-LEAD:] + after


async def test_a_committed_turn_is_replayed_between_its_marks_and_the_silence_after_as_lead() -> (
    None
):
    before, after = noise(4000, 5), noise(3500, 6)
    marks = Marks(len(before), start_ms=2510, stop_ms=3770)
    peer, reconnected, _ = await replay(True, before, after, marks)
    [turn] = peer.created
    assert turn["id"] == "turn_1"
    assert turn["role"] == "user"
    [part] = turn["content"]
    assert part["type"] == "input_audio"
    assert base64.b64decode(part["audio"]) == before[2510 * PER_MS : 3770 * PER_MS]
    # After the turn, VAD waits for speech again: only the last 2 s of what followed is held.
    assert bytes(peer.appended[1]) == (before + after)[-LEAD:]
    assert reconnected.replayed == 1
    assert reconnected.lost == ()


async def test_a_manual_turn_past_its_bound_replays_its_last_fifteen_mebibytes() -> None:
    audio = random.Random(7).randbytes(CAP + 3_000_001 * 2)
    peer, reconnected, held = await replay(False, audio)
    assert held == CAP
    assert bytes(peer.appended[1]) == audio[-CAP:]
    [lost] = reconnected.lost
    assert f"{(len(audio) - CAP) / PER_MS / 1000:.1f} s were not kept" in lost
