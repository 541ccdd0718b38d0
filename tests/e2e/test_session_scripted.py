"""Session mechanics over a real loopback WebSocket against a scripted server.

The local server is the main end-to-end partner (tests/e2e/test_local_*.py); this scripted one
covers what a well-behaved server never does: malformed frames, and slow streams that let us
interrupt at a known point.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk.providers import Compatible

from .scripted_server import Script, scripted_server


async def collect_until(session: rt.Session, kind: type, limit: int = 500) -> list[Any]:
    seen: list[Any] = []
    for _ in range(limit):
        event = await session.next_event(timeout=5)
        seen.append(event)
        if isinstance(event, kind):
            return seen
    raise AssertionError(f"no {kind.__name__} in {len(seen)} events")


async def test_connect_sends_only_the_difference() -> None:
    async with scripted_server() as server:
        agent = rt.Agent("helper", instructions="Be brief.")
        runner = rt.Runner(
            agent,
            provider=Compatible(server.url),
            config=rt.SessionConfig(voice="marin", turn_detection=rt.SemanticVAD(eagerness="high")),
        )
        async with runner.connect() as session:
            ready = await collect_until(session, ev.SessionReady)
            assert isinstance(ready[-1], ev.SessionReady)
            (update,) = server.of_type("session.update")
            # voice was already "marin" and tools already []: not re-sent; no defaults.
            assert update["session"] == {
                "type": "realtime",
                "instructions": "Be brief.",
                "audio": {
                    "input": {
                        "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                    }
                },
            }
            assert session.effective_config.source("turn_detection") == "runner"
            assert session.effective_config.source("instructions") == "agent:helper"


async def test_explicit_none_reaches_the_wire_and_is_confirmed() -> None:
    async with scripted_server() as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            await session.update(turn_detection=None, noise_reduction=None)
            last = server.of_type("session.update")[-1]["session"]
            assert last["audio"]["input"]["turn_detection"] is None
            assert session.confirmed_config is not None
            assert session.confirmed_config.turn_detection is None
            assert session.effective_config.source("turn_detection") == "session.update"
            # and back on again: the default can be restored, not only changed
            await session.update(turn_detection=rt.ServerVAD(silence_duration_ms=400))
            last = server.of_type("session.update")[-1]["session"]
            assert last["audio"]["input"]["turn_detection"]["type"] == "server_vad"
            assert last["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 400


async def test_malformed_frame_is_reported_and_the_session_goes_on() -> None:
    async with scripted_server(Script(malformed_before_response=True, chunks=2)) as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            await session.send_text("hi")
            seen = await collect_until(session, ev.ResponseDone)
            kinds = [type(e) for e in seen]
            assert ev.ProtocolViolation in kinds
            assert ev.SessionError in kinds
            assert kinds.count(ev.AudioDelta) == 2
            assert kinds.index(ev.ProtocolViolation) < kinds.index(ev.AudioDelta)
            assert not session.closed


async def test_interrupt_truncates_at_played_position_and_drops_late_audio() -> None:
    script = Script(chunks=40, delay=0.02, chunk_bytes=4800)
    async with scripted_server(script) as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            await session.send_text("tell me a long story")
            audio_events = 0
            while audio_events < 3:
                event = await session.next_event(timeout=5)
                if isinstance(event, ev.AudioDelta):
                    audio_events += 1
            session.playback.played(ms=150)  # the app played 150 ms of 300 received
            interrupted = await session.interrupt()
            assert interrupted.audio_end_ms == 150
            after = await collect_until(session, ev.ResponseDone)
            assert not [e for e in after if isinstance(e, ev.AudioDelta)]
            assert after[-1].response.status == "cancelled"
            truncate = server.of_type("conversation.item.truncate")
            assert [t["audio_end_ms"] for t in truncate] == [150]
            assert truncate[0]["item_id"] == interrupted.item_id
            assert len(server.of_type("response.cancel")) == 1


async def test_interrupt_without_active_response_sends_no_cancel() -> None:
    async with scripted_server(Script(chunks=1)) as server:
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url))
        async with runner.connect() as session:
            await session.send_text("hi")
            await collect_until(session, ev.ResponseDone)
            await session.interrupt()
            await asyncio.sleep(0.05)
            assert server.of_type("response.cancel") == []


@pytest.mark.parametrize("overflow", ["block", "drop_oldest", "error"])
async def test_a_queue_smaller_than_the_opening_events_opens_and_loses_none(overflow: str) -> None:
    # Before the open returns the app cannot read: a bound of 2 under "block" left the reader
    # and connect() waiting for each other for ever; "drop_oldest" / "error" dropped the
    # opening events or failed the session on its way in.
    async with scripted_server(Script(chunks=3, chunk_bytes=480)) as server:
        options = rt.SessionOptions(queue_size=2, overflow=overflow)  # type: ignore[arg-type]
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url), options=options)
        async with asyncio.timeout(5):
            async with runner.connect() as session:
                opening = []
                while not opening or not isinstance(opening[-1], ev.SessionReady):
                    opening.append(await session.next_event(timeout=1))
                assert isinstance(opening[0], ev.SessionCreated)
                assert not session.closed
                if overflow == "block":  # the bound holds again once the session is open
                    await session.send_text("hi")
                    seen = await collect_until(session, ev.ResponseDone)
                    assert len([e for e in seen if isinstance(e, ev.AudioDelta)]) == 3


async def test_queue_overflow_policies() -> None:
    script = Script(chunks=30, chunk_bytes=480)
    async with scripted_server(script) as server:
        options = rt.SessionOptions(queue_size=4)  # "block": back-pressure, nothing lost
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url), options=options)
        async with runner.connect() as session:
            await session.send_text("hi")
            await asyncio.sleep(0.3)
            seen = await collect_until(session, ev.ResponseDone)
            assert len([e for e in seen if isinstance(e, ev.AudioDelta)]) == 30

    async with scripted_server(script) as server:
        options = rt.SessionOptions(queue_size=8, overflow="drop_oldest")
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url), options=options)
        async with runner.connect() as session:
            await session.send_text("hi")
            await asyncio.sleep(0.3)  # the app is slow: the reader keeps only the newest 8
            events = []
            while True:
                try:
                    events.append(await session.next_event(timeout=0.2))
                except TimeoutError:
                    break
            assert len(events) == 8
            assert isinstance(events[-1], ev.SessionIdle | ev.HistoryUpdated | ev.ResponseDone)

    async with scripted_server(script) as server:
        options = rt.SessionOptions(queue_size=8, overflow="error")
        runner = rt.Runner(rt.Agent("a"), provider=Compatible(server.url), options=options)
        async with runner.connect() as session:
            await session.send_text("hi")
            await asyncio.sleep(0.3)
            assert session.closed
