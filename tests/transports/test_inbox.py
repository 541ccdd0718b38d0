"""The inbox a connection pushes its messages into: order, the reader's fast handler (only
while it waits with nothing queued), errors in order, the end, and websockets' back-pressure
marks. Pure asyncio; the WebSocket transport's use of it is in test_websocket_inbox.py."""

from __future__ import annotations

import asyncio

import pytest

from realtalk.errors import ConnectionClosed
from realtalk.transports.inbox import Inbox

pytestmark = pytest.mark.asyncio


async def waiting(inbox: Inbox) -> asyncio.Task[object]:
    """A reader task suspended in ``get``."""
    task = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    return task


async def test_messages_come_out_in_order_then_the_end() -> None:
    inbox = Inbox(None)
    for text in ("a", b"b", "c"):
        inbox.put(text)
    inbox.close(ConnectionClosed(1000, "bye"))
    inbox.put("after the end")
    assert [await inbox.get() for _ in range(3)] == ["a", b"b", "c"]
    with pytest.raises(ConnectionClosed, match="bye"):
        await inbox.get()
    with pytest.raises(ConnectionClosed):  # and again: the end stays the end
        await inbox.get()


async def test_fast_handles_a_message_only_while_the_reader_waits_with_nothing_queued() -> None:
    inbox = Inbox(None)
    handled: list[object] = []

    def fast(message: str | bytes) -> object:
        handled.append(message)
        return None if message != "slow" else ("left", message)

    inbox.fast = fast
    inbox.put("before the reader")  # nobody waits: queued, not handled
    assert handled == []
    assert len(inbox) == 1
    assert await inbox.get() == "before the reader"

    reader = await waiting(inbox)
    inbox.put("one")
    inbox.put("two")
    assert handled == ["one", "two"]
    assert not reader.done()
    inbox.put("slow")  # the handler leaves its work to the reader...
    inbox.put("three")  # ...so what follows waits behind it, unhandled
    assert handled == ["one", "two", "slow"]
    assert await reader == ("left", "slow")
    assert await inbox.get() == "three"


async def test_a_raising_fast_handler_is_raised_by_the_next_get_in_order() -> None:
    inbox = Inbox(None)

    def fast(message: str | bytes) -> object:
        raise ValueError(f"bug on {message!r}")

    inbox.fast = fast
    reader = await waiting(inbox)
    inbox.put("x")
    inbox.put("y")  # queued behind the failure
    with pytest.raises(ValueError, match="bug on 'x'"):
        await reader
    assert await inbox.get() == "y"


async def test_the_end_wakes_a_waiting_reader_and_a_second_reader_is_refused() -> None:
    inbox = Inbox(None)
    reader = await waiting(inbox)
    with pytest.raises(RuntimeError, match="two readers"):
        await inbox.get()
    inbox.close(ConnectionClosed(1006, "lost"))
    with pytest.raises(ConnectionClosed, match="lost"):
        await reader


async def test_a_cancelled_get_loses_nothing() -> None:
    inbox = Inbox(None)
    reader = await waiting(inbox)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put("kept")
    assert await inbox.get() == "kept"


async def test_reading_pauses_above_the_high_mark_and_resumes_at_a_quarter() -> None:
    calls: list[str] = []
    inbox = Inbox(8, pause=lambda: calls.append("pause"), resume=lambda: calls.append("resume"))
    for n in range(12):
        inbox.put(str(n))
    assert calls == ["pause"]  # once, at the ninth
    got = []
    while len(inbox) > 3:
        got.append(await inbox.get())
        assert calls == ["pause"]
    got.append(await inbox.get())  # three left -> two: 8 // 4, the low mark
    assert calls == ["pause", "resume"]
    got += [await inbox.get() for _ in range(len(inbox))]
    assert got == [str(n) for n in range(12)]
    assert calls == ["pause", "resume"]
