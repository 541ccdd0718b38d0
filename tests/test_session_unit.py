"""Session and ToolCalls failure paths over the in-memory transport, with a scripted peer.

The end-to-end versions (real loopback sockets) are in tests/e2e/test_session_trust.py; these
pin the same paths down without a socket: the peer below plays the server message by message,
so each test decides exactly when the client hears what.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk.errors import InvalidState
from realtalk.providers import Compatible
from realtalk.supervisor import LINK_TRANSITIONS, Lifecycle, Link, Supervisor
from realtalk.transports.memory import MemoryTransport

from .samples import ga_session


class Peer:
    """The server end: reads what the client sent, sends what the test says."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport
        self.session = ga_session(id="sess_unit", expires_at=0)
        self.received: list[dict[str, Any]] = []
        self._backlog: list[dict[str, Any]] = []
        self._counter = 0

    async def send(self, event: dict[str, Any]) -> None:
        self._counter += 1
        await self.transport.send(json.dumps({"event_id": f"ev_{self._counter}", **event}))

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next client message of type ``kind``; session.updates are answered on the way."""
        while True:
            event = json.loads(await asyncio.wait_for(self.transport.recv(), 5))
            self.received.append(event)
            if event["type"] == kind:
                return event
            if event["type"] == "session.update":
                await self.updated(event)

    async def expect_any(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(self.transport.recv(), 5))
        self.received.append(event)
        return event

    async def updated(self, update: dict[str, Any]) -> None:
        self.session = {**copy.deepcopy(self.session), **update["session"]}
        await self.send({"type": "session.updated", "session": self.session})

    async def created(self, rid: str) -> None:
        response = {"id": rid, "object": "realtime.response", "status": "in_progress"}
        await self.send({"type": "response.created", "response": {**response, "output": []}})

    async def done(self, rid: str, status: str = "completed") -> None:
        response = {"id": rid, "object": "realtime.response", "status": status, "output": []}
        await self.send({"type": "response.done", "response": response})

    async def call(self, rid: str, name: str, call_id: str, arguments: str = "{}") -> None:
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                "response_id": rid,
                "item_id": f"item_{call_id}",
                "output_index": 0,
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            }
        )

    async def text(self, rid: str, text: str) -> None:
        base = {"response_id": rid, "item_id": f"item_{rid}", "output_index": 0}
        await self.send({"type": "response.output_text.delta", **base, "content_index": 0,
                         "delta": text})  # fmt: skip
        await self.send({"type": "response.output_text.done", **base, "content_index": 0,
                         "text": text})  # fmt: skip


async def open_session(agent: rt.Agent | None = None, **kwargs: Any) -> tuple[rt.Session, Peer]:
    client, server = MemoryTransport.pair()
    peer = Peer(server)

    async def connector(url: str, headers: Any, protocols: Any) -> MemoryTransport:
        return client

    provider = Compatible("ws://127.0.0.1:9/v1/realtime", on_send=kwargs.pop("on_send", None))
    guardrails = kwargs.pop("guardrails", ())
    session = rt.Session(
        provider=provider,
        agent=agent or rt.Agent("a"),
        options=rt.SessionOptions(response_stall_timeout=None, **kwargs),
        connector=connector,
        guardrails=guardrails,
    )

    async def handshake() -> None:
        await peer.send({"type": "session.created", "session": peer.session})
        first = json.loads(await asyncio.wait_for(server.recv(), 5))
        peer.received.append(first)
        if first["type"] == "session.update":
            await peer.updated(first)

    await asyncio.gather(session._open(), handshake())
    return session, peer


async def until(session: rt.Session, kind: type) -> list[Any]:
    seen = []
    while True:
        seen.append(await session.next_event(timeout=5))
        if isinstance(seen[-1], kind):
            return seen


async def drain(session: rt.Session) -> tuple[list[Any], BaseException]:
    seen: list[Any] = []
    while True:
        try:
            seen.append(await session.next_event(timeout=5))
        except rt.RealtalkError as exc:
            return seen, exc


# -- the state machine and the supervisor --------------------------------------------------------


def test_every_link_state_has_a_row_and_undefined_moves_raise() -> None:
    assert set(LINK_TRANSITIONS) == set(Link)
    life = Lifecycle()
    with pytest.raises(InvalidState, match="from new to connected"):
        life.move(Link.CONNECTED)
    for step in (Link.CONNECTING, Link.CONNECTED, Link.RECONNECTING, Link.RESTORING):
        life.move(step)
    life.move(Link.CONNECTED)  # reconnect is a loop in the same table
    life.move(Link.CLOSING)
    life.move(Link.CLOSED)
    with pytest.raises(InvalidState):
        life.move(Link.CONNECTING)


async def test_supervisor_reports_each_failure_once_and_never_leaves_it_unretrieved() -> None:
    failures: list[tuple[str, str]] = []
    tasks = Supervisor(lambda exc, name: failures.append((type(exc).__name__, name)))

    async def boom() -> None:
        raise KeyError("x")

    async def forever() -> None:
        await asyncio.Event().wait()

    tasks.spawn(boom(), "boom")
    tasks.spawn(forever(), "forever")
    await asyncio.sleep(0.01)
    assert failures == [("KeyError", "boom")]
    await tasks.aclose()
    assert len(tasks) == 0
    assert failures == [("KeyError", "boom")]  # cancellation is not a failure
    coro = forever()
    with pytest.raises(InvalidState):
        tasks.spawn(coro, "late")


# -- supervision: failures become one fatal error, raised after the queued events -----------------


async def test_an_exception_in_the_reader_is_fatal_and_raised_from_next_event() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "response.create" and event.get("response", {}).get("metadata"):
            raise ZeroDivisionError("hook")
        return event

    session, peer = await open_session(on_send=hook)
    await session.create_response()
    await peer.expect("response.create")
    await peer.created("r1")
    options = rt.commands.ResponseOptions(metadata={"second": "1"})
    await session.create_response(options)  # queued; the reader sends it after r1 is done
    await peer.done("r1")
    seen, raised = await drain(session)
    assert isinstance(seen[-1], ev.SessionError)
    assert seen[-1].fatal
    assert [type(e) for e in seen].index(ev.ResponseCreated) < len(seen) - 1
    assert isinstance(raised, rt.SessionFailed)
    assert isinstance(raised.__cause__, ZeroDivisionError)
    await session.close()  # the whole teardown still runs
    assert session.state is Link.CLOSED
    assert len(session._tasks) == 0


async def test_a_tool_whose_output_cannot_be_sent_reports_it_and_fails_the_session() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    def hook(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "conversation.item.create":
            raise OSError("gateway down")
        return event

    session, peer = await open_session(rt.Agent("a", tools=[rt.function_tool(ping)]), on_send=hook)
    await peer.created("r1")
    await peer.call("r1", "ping", "c1")
    await peer.done("r1")
    seen, raised = await drain(session)
    (failed,) = [e for e in seen if isinstance(e, ev.ToolCallFailed)]
    assert "gateway down" in failed.error
    assert isinstance(raised, rt.SessionFailed)
    assert not [e for e in seen if isinstance(e, ev.SessionIdle)]
    await session.close()


async def test_a_close_by_the_peer_is_fatal_with_its_code() -> None:
    session, peer = await open_session()
    await peer.transport.close(4000, "custom")
    seen, raised = await drain(session)
    assert [(e.fatal, e.code) for e in seen if isinstance(e, ev.SessionError)] == [
        (True, "connection_closed")
    ]
    assert isinstance(raised, rt.ConnectionClosed)
    assert raised.code == 4000
    with pytest.raises(rt.ConnectionClosed):
        async for _ in session:
            pass
    await session.close()


async def test_the_apps_close_ends_iteration_quietly() -> None:
    session, _ = await open_session()
    await session.close()
    assert [e async for e in session if isinstance(e, ev.SessionError)] == []
    with pytest.raises(rt.ConnectionClosed) as info:
        await session.next_event()
    assert info.value.code == 1000


# -- the reader never waits; a turn ends when it has ended ----------------------------------------


async def test_a_handoff_before_response_done_runs_outside_the_reader() -> None:
    billing = rt.Agent("billing", instructions="Billing.")
    session, peer = await open_session(rt.Agent("front", handoffs=[billing]))
    await peer.created("r1")
    await peer.call("r1", "transfer_to_billing", "c1")
    await peer.expect("conversation.item.create")  # the handoff's output, before done
    await peer.done("r1")
    update = json.loads(await asyncio.wait_for(peer.transport.recv(), 5))
    assert update["type"] == "session.update"
    # The reader still reads while the handoff waits for session.updated:
    await peer.send({"type": "rate_limits.updated", "rate_limits": []})
    seen = await until(session, ev.RateLimitsUpdated)
    assert ev.Handoff not in [type(e) for e in seen]
    await peer.updated(update)
    await peer.expect("response.create")
    await peer.created("r2")
    await peer.text("r2", "Billing here.")
    await peer.done("r2")
    seen = await until(session, ev.SessionIdle)
    kinds = [type(e) for e in seen]
    assert kinds.index(ev.Handoff) < kinds.index(ev.TextDone) < kinds.index(ev.SessionIdle)
    assert session.agent is billing
    await session.close()


async def test_interrupt_during_a_tool_call_ends_in_session_idle() -> None:
    async def slow() -> str:
        """Slow."""
        await asyncio.sleep(3600)
        return ""

    session, peer = await open_session(rt.Agent("a", tools=[rt.function_tool(slow)]))
    await peer.created("r1")
    await peer.call("r1", "slow", "c1")
    await peer.done("r1")
    await until(session, ev.ToolCallStarted)
    assert not session.idle
    await session.interrupt()
    seen = await until(session, ev.SessionIdle)
    assert [e.call_id for e in seen if isinstance(e, ev.ToolCallFailed)] == ["c1"]
    assert isinstance(seen[-1], ev.SessionIdle)
    assert session.idle
    assert len(session._proto.responses) == 0  # the record is retired
    await session.close()


async def test_a_final_guardrail_trip_comes_before_session_idle() -> None:
    @rt.output_guardrail(every_chars=1000)
    async def no_hi(text: str) -> bool:
        await asyncio.sleep(0.05)  # slower than the events around it
        return "hi" in text

    session, peer = await open_session(guardrails=[no_hi])
    await peer.created("r1")
    await peer.text("r1", "hi")
    await peer.done("r1")
    seen = await until(session, ev.SessionIdle)
    kinds = [type(e) for e in seen]
    assert ev.GuardrailTripped in kinds
    assert kinds.index(ev.ResponseDone) < kinds.index(ev.GuardrailTripped)
    assert kinds.index(ev.GuardrailTripped) < kinds.index(ev.SessionIdle)
    await session.close()


async def test_a_dropped_update_is_not_waited_for() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any] | None:
        dropped = event.get("session", {}).get("instructions") == "never sent"
        return None if dropped else event

    session, _peer = await open_session(on_send=hook, update_timeout=0.5)
    await session.update(instructions="never sent")  # returns at once, no TimeoutError
    assert session._proto.pending_updates == ()
    await session.close()


async def test_event_queue_close_under_block_loses_nothing() -> None:
    from realtalk.event_queue import EventQueue, QueueClosed

    queue: EventQueue[int] = EventQueue(3, "block", on_overflow=lambda: None)
    for n in range(3):
        await queue.put(n)
    queue.close((99,))  # the queue is full: the final event still gets delivered
    assert [await queue.get(), await queue.get(), await queue.get(), await queue.get()] == [
        0,
        1,
        2,
        99,
    ]
    with pytest.raises(QueueClosed):
        await queue.get()
    with pytest.raises(QueueClosed):  # every later reader ends too
        await queue.get()


async def test_many_responses_with_fresh_ids_keep_nothing_per_response() -> None:
    session, peer = await open_session()
    audio = "AQA=" * 8
    for n in range(3000):
        rid, item = f"r{n}", f"i{n}"
        await peer.created(rid)
        base = {"response_id": rid, "item_id": item, "output_index": 0, "content_index": 0}
        await peer.send({"type": "response.output_audio.delta", **base, "delta": audio})
        await peer.done(rid)
    seen = 0
    while seen < 3000:
        if isinstance(await session.next_event(timeout=5), ev.ResponseDone):
            seen += 1
    assert len(session._proto.responses) == 0  # every record retired
    assert session._proto.responses.retired == 3000
    assert len(session.playback._items) <= 8  # playback tracks only the newest items
    await session.close()


async def test_commit_audio_sends_what_the_resampler_still_holds() -> None:
    import base64

    session, peer = await open_session()
    await session.send_audio(b"\x10\x00" * 16000, rate=16000)  # 1 s at 16 kHz
    await session.commit_audio()
    appended = 0
    while True:
        event = await peer.expect_any()
        if event["type"] == "input_audio_buffer.append":
            appended += len(base64.b64decode(event["audio"]))
        if event["type"] == "input_audio_buffer.commit":
            break
    assert abs(appended - 48000) <= 4  # 1 s at 24 kHz, the last samples included
    await session.close()


# -- the send lock: one flush writes at a time ---------------------------------------------------


def _retrieve(item_id: str) -> dict[str, Any]:
    return {"type": "conversation.item.retrieve", "item_id": item_id}


async def _blocked_writes(session: rt.Session) -> tuple[asyncio.Event, list[str], Any]:
    """The session's transport, made to hold item "a"'s write until the gate opens (a full
    socket buffer); returns the gate, the item ids written in order, and a hook run right
    after "a" is written."""
    transport = session._transport
    assert isinstance(transport, MemoryTransport)
    gate, written, after_a = asyncio.Event(), [], [lambda: None]
    send = transport.send

    async def slow_send(text: str) -> None:
        item_id = json.loads(text).get("item_id")
        if item_id == "a":
            await gate.wait()
        await send(text)
        if item_id is not None:
            written.append(item_id)
        if item_id == "a":
            after_a[0]()

    transport.send = slow_send  # type: ignore[method-assign]
    return gate, written, after_a


async def test_sends_behind_a_blocked_write_go_out_in_order_and_a_cancelled_one_drops() -> None:
    session, _peer = await open_session()
    gate, written, _ = await _blocked_writes(session)
    tasks = {}
    for item_id in "abcd":
        tasks[item_id] = asyncio.create_task(session.send_raw(_retrieve(item_id)))
        await asyncio.sleep(0)  # each queued in turn
    await asyncio.sleep(0.01)
    assert written == []  # "a" holds the write; b, c, d wait their turn
    tasks["c"].cancel()
    gate.set()
    await asyncio.wait_for(asyncio.gather(tasks["a"], tasks["b"], tasks["d"]), 2.0)
    assert written == ["a", "b", "d"]  # c was cancelled before its turn: not written
    await session.send_raw(_retrieve("e"))  # the lock is free again
    assert written[-1] == "e"
    await session.close()


async def test_a_send_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    session, _peer = await open_session()
    gate, written, after_a = await _blocked_writes(session)
    tasks = {}
    for item_id in "abc":
        tasks[item_id] = asyncio.create_task(session.send_raw(_retrieve(item_id)))
        await asyncio.sleep(0)
    # Cancelled once "a" is written: by then "a"'s flush has woken "b", before "b" runs.
    after_a[0] = lambda: asyncio.get_running_loop().call_soon(tasks["b"].cancel)
    gate.set()
    await asyncio.wait_for(asyncio.gather(tasks["a"], tasks["c"]), 2.0)
    assert tasks["b"].cancelled()
    assert written == ["a", "c"]
    await session.close()


async def test_a_send_arriving_as_the_turn_passes_waits_behind_the_one_woken() -> None:
    session, _peer = await open_session()
    gate, written, after_a = await _blocked_writes(session)
    first = asyncio.create_task(session.send_raw(_retrieve("a")))
    await asyncio.sleep(0)
    second = asyncio.create_task(session.send_raw(_retrieve("b")))
    await asyncio.sleep(0)
    late: list[asyncio.Task[None]] = []
    # Starts right after "a" is written, before "b" (woken by then) runs: it must not barge in.
    after_a[0] = lambda: late.append(asyncio.create_task(session.send_raw(_retrieve("e"))))
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2.0)
    await asyncio.wait_for(late[0], 2.0)
    assert written == ["a", "b", "e"]
    await session.close()


async def test_a_waiter_cancelled_while_the_woken_one_has_not_run_wakes_no_second_one() -> None:
    session, _peer = await open_session()
    gate, written, after_a = await _blocked_writes(session)
    transport = session._transport
    send = transport.send
    gate_b = asyncio.Event()

    async def slow_b(text: str) -> None:
        if json.loads(text).get("item_id") == "b":
            await gate_b.wait()
        await send(text)

    transport.send = slow_b  # type: ignore[method-assign]
    tasks = {}
    for item_id in "abcd":
        tasks[item_id] = asyncio.create_task(session.send_raw(_retrieve(item_id)))
        await asyncio.sleep(0)
    # "c" is cancelled just before "a"'s flush ends and wakes "b", so "c" handles its
    # cancellation before "b" runs. The turn is b's: "d" must wait for it, not run beside it.
    after_a[0] = tasks["c"].cancel
    gate.set()
    await asyncio.sleep(0.05)
    assert written == ["a"]  # "b" holds the write (blocked); "d" waits behind it
    gate_b.set()
    await asyncio.wait_for(asyncio.gather(tasks["b"], tasks["d"]), 2.0)
    assert written == ["a", "b", "d"]
    await session.close()
