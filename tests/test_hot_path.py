"""The per-event shortcuts of the client's hot path give exactly what the plain code gives.

``Dialect.decode`` parses with json's C scanner (``json.loads`` decides every other case), the
decoder builds ``AudioDelta`` through its slots, and ``EventQueue`` runs on a deque with its own
waiters instead of ``asyncio.Queue``. Each is checked here against the behaviour it replaces.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from realtalk import events as ev
from realtalk.dialects import BETA, GA
from realtalk.event_queue import EventQueue, QueueClosed

DELTA = (
    '{"type":"response.output_audio.delta","event_id":"ev_1","response_id":"r1",'
    '"item_id":"i1","output_index":0,"content_index":1,"delta":"AQID"}'
)


def test_the_decoded_delta_is_the_frozen_dataclass_the_constructor_makes() -> None:
    decoded = GA.decode(DELTA)
    made = ev.AudioDelta("r1", "i1", 0, 1, b"\x01\x02\x03", "ev_1")
    assert type(decoded) is ev.AudioDelta
    assert decoded == made
    assert hash(decoded) == hash(made)
    assert repr(decoded) == repr(made)
    assert dataclasses.astuple(decoded) == dataclasses.astuple(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.audio = b""  # type: ignore[misc]
    no_id = GA.decode(DELTA.replace('"event_id":"ev_1",', ""))
    assert no_id == ev.AudioDelta("r1", "i1", 0, 1, b"\x01\x02\x03", None)


@pytest.mark.parametrize(
    "text",
    [
        '  {"type":"x.y"}',  # whitespace before
        '{"type":"x.y"}\n',  # and after
        '{"type":"x.y"} {"type":"x.y"}',  # extra data
        '{"type":"x.y"',  # cut short
        "",
        "not json",
        "[1, 2]",
        "42",
        '{"type": NaN}',
        '{"type":"session.updated","session":{"instructions":"\\ud800"}}',
    ],
)
def test_decode_agrees_with_json_loads_on_every_odd_message(text: str) -> None:
    for dialect in (GA, BETA):
        event = dialect.decode(text)
        try:
            data = json.loads(text)
        except ValueError as exc:
            error = f"not JSON: {exc}"
        else:
            error = None
        if error is not None:
            assert isinstance(event, ev.ProtocolViolation)
            assert event.reason == error
            continue
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            assert event == dialect.decode_event(data)
        else:
            assert isinstance(event, ev.ProtocolViolation)


def test_a_bad_base64_delta_is_still_a_violation() -> None:
    event = GA.decode(DELTA.replace("AQID", "AQ!D"))
    assert isinstance(event, ev.ProtocolViolation)
    assert "delta" in event.reason
    assert "base64" in event.reason


def _queue(size: int, overflow: str = "block") -> tuple[EventQueue[int], list[int]]:
    overflows: list[int] = []
    queue: EventQueue[int] = EventQueue(
        size,
        overflow,  # type: ignore[arg-type]
        on_overflow=lambda: overflows.append(1),
    )
    return queue, overflows


async def test_queue_order_and_a_blocked_producer_waits_for_room() -> None:
    queue, _ = _queue(2)
    await queue.put(1)
    await queue.put(2)
    producer = asyncio.create_task(queue.put(3))
    await asyncio.sleep(0)
    assert queue.blocked
    assert not producer.done()
    assert await queue.get() == 1
    await asyncio.wait_for(producer, 1)
    assert not queue.blocked
    assert [await queue.get(), await queue.get()] == [2, 3]


async def test_a_waiting_reader_gets_the_item_put_later_and_a_timeout_loses_nothing() -> None:
    queue, _ = _queue(4)
    with pytest.raises(TimeoutError):
        await queue.get(timeout=0.01)
    reader = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    await queue.put(7)
    assert await asyncio.wait_for(reader, 1) == 7
    timed = asyncio.create_task(queue.get(timeout=5))
    await asyncio.sleep(0)
    await queue.put(8)
    assert await timed == 8


async def test_a_reader_cancelled_after_its_wake_up_passes_it_on() -> None:
    queue, _ = _queue(4)
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    await queue.put(5)  # wakes the first reader...
    first.cancel()  # ...which is cancelled before it runs: the second one must get the item
    assert await asyncio.wait_for(second, 1) == 5
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_drop_oldest_and_error_overflow() -> None:
    queue, overflows = _queue(2, "drop_oldest")
    for n in range(4):
        await queue.put(n)
    assert [await queue.get(), await queue.get()] == [2, 3]
    queue, overflows = _queue(1, "error")
    for n in range(3):
        await queue.put(n)
    assert overflows == [1]  # reported once
    assert await queue.get() == 0


async def test_close_wakes_a_waiting_reader_and_delivers_the_final_events() -> None:
    queue, _ = _queue(4)
    reader = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.close((9,))
    assert await asyncio.wait_for(reader, 1) == 9
    with pytest.raises(QueueClosed):
        await queue.get()
    await queue.put(1)  # nothing is delivered after the end
    with pytest.raises(QueueClosed):
        await queue.get()


def test_the_fast_path_decodes_a_compact_delta_without_the_general_decoder() -> None:
    def general_decoder(data: object) -> ev.ServerEvent:
        raise AssertionError(f"the general decoder was asked: {data}")

    for dialect in (GA, BETA):
        fast_only = dataclasses.replace(dialect, decode_event=general_decoder)
        for text in (DELTA, DELTA.replace("output_audio", "audio")):
            made = ev.AudioDelta("r1", "i1", 0, 1, b"\x01\x02\x03", "ev_1")
            assert fast_only.decode(text) == made
        # Anything else still goes to the dialect's decoder.
        with pytest.raises(AssertionError, match="general decoder"):
            fast_only.decode(DELTA.replace("AQID", "AQ!D"))
        with pytest.raises(AssertionError, match="general decoder"):
            fast_only.decode('{"type":"response.output_text.delta","delta":"AQID"}')


def test_receive_returns_an_audio_delta_counted_and_queues_everything_else() -> None:
    from realtalk.protocol import ClientProtocol

    proto = ClientProtocol(GA)
    event = proto.receive(DELTA)
    assert event == ev.AudioDelta("r1", "i1", 0, 1, b"\x01\x02\x03", "ev_1")
    assert proto.events_received() == []  # returned, not queued
    assert proto.conversation.get("i1").audio_bytes == 3  # type: ignore[union-attr]
    assert proto.receive('{"type":"input_audio_buffer.cleared"}') is None
    assert proto.receive("{not json") is None
    kinds = [type(e) for e in proto.events_received()]
    assert kinds == [ev.InputAudioCleared, ev.ProtocolViolation]
    proto.receive_message(DELTA)  # the general entry point queues audio too
    assert proto.events_received() == [event]
    assert proto.conversation.get("i1").audio_bytes == 6  # type: ignore[union-attr]


async def test_put_nowait_takes_what_fits_and_leaves_a_full_queue_to_put() -> None:
    for overflow in ("block", "drop_oldest", "error"):
        queue, overflows = _queue(2, overflow)
        reader = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        assert queue.put_nowait(1)  # wakes the waiting reader
        assert await asyncio.wait_for(reader, 1) == 1
        assert queue.put_nowait(2)
        assert queue.put_nowait(3)
        assert not queue.put_nowait(4)  # full: the policy is put's to apply
        assert len(queue) == 2
        assert overflows == []
        queue.close()
        assert queue.put_nowait(5)  # closed: dropped, like put after the end
        assert [item async for item in queue] == [2, 3]


async def test_drain_takes_in_order_across_waits_then_calls_at_end_after_the_final_ones() -> None:
    queue, _ = _queue(3)
    ended: list[str] = []

    def at_end() -> None:
        ended.append("end")
        raise RuntimeError("the failure")

    seen: list[int] = []

    async def consume() -> None:
        async for item in queue.drain(at_end):
            seen.append(item)

    consumer = asyncio.create_task(consume())
    for n in range(7):  # a full queue makes the producer wait; an empty one the consumer
        await queue.put(n)
        if n % 3 == 0:
            await asyncio.sleep(0)
    queue.close((70, 71))
    with pytest.raises(RuntimeError, match="the failure"):
        await asyncio.wait_for(consumer, 1)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 70, 71]
    assert ended == ["end"]
    assert [item async for item in queue] == []  # later readers end too, without at_end
    assert ended == ["end"]
