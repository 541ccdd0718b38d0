"""A session you can trust: every defect of issue 8, reproduced over a real loopback socket.

Each test drives the SDK against the scripted ``websockets.serve`` server (which answers in the
orders a strict server may choose and cuts the connection on cue) and asserts on what the app
sees and what went over the wire. The local-server variants are in test_trust_local.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk.providers import Compatible

from .scripted_server import (
    BadText,
    BigFrame,
    Close,
    Cut,
    Flood,
    Script,
    Send,
    Sleep,
    Stall,
    Step,
    WaitFor,
    scripted_server,
)


def created(rid: str = "$rid") -> Send:
    response = {"id": rid, "object": "realtime.response", "status": "in_progress", "output": []}
    return Send({"type": "response.created", "response": response})


def done(status: str = "completed", rid: str = "$rid") -> Send:
    response = {"id": rid, "object": "realtime.response", "status": status, "output": []}
    return Send({"type": "response.done", "response": response})


def function_call(name: str, call_id: str = "call_1", arguments: str = "{}") -> list[Step]:
    item = {
        "id": "$item",
        "type": "function_call",
        "status": "in_progress",
        "name": name,
        "call_id": call_id,
        "arguments": "",
    }
    return [
        Send(
            {
                "type": "response.output_item.added",
                "response_id": "$rid",
                "output_index": 0,
                "item": item,
            }
        ),
        Send(
            {
                "type": "response.function_call_arguments.done",
                "response_id": "$rid",
                "item_id": "$item",
                "output_index": 0,
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            }
        ),
    ]


def text_reply(text: str) -> list[Step]:
    base = {"response_id": "$rid", "item_id": "$item", "output_index": 0, "content_index": 0}
    return [
        created(),
        Send({"type": "response.output_text.delta", **base, "delta": text}),
        Send({"type": "response.output_text.done", **base, "text": text}),
        done(),
    ]


def audio_start() -> list[Step]:
    base = {"response_id": "$rid", "item_id": "$item", "output_index": 0, "content_index": 0}
    item = {"id": "$item", "type": "message", "role": "assistant", "status": "in_progress"}
    audio = base64.b64encode(b"\x01\x00" * 2400).decode()
    return [
        Send(
            {
                "type": "response.output_item.added",
                "response_id": "$rid",
                "output_index": 0,
                "item": {**item, "content": []},
            }
        ),
        Send({"type": "response.output_audio.delta", **base, "delta": audio}),
    ]


async def until(session: rt.Session, kind: type, timeout: float = 5.0) -> list[Any]:
    seen: list[Any] = []
    while True:
        event = await session.next_event(timeout=timeout)
        seen.append(event)
        if isinstance(event, kind):
            return seen


async def drain(session: rt.Session, timeout: float = 5.0) -> tuple[list[Any], BaseException]:
    """Every event up to the end, and what next_event raised at the end."""
    seen: list[Any] = []
    while True:
        try:
            seen.append(await session.next_event(timeout=timeout))
        except rt.RealtalkError as exc:
            return seen, exc


def connect(url: str, agent: rt.Agent | None = None, **options: Any) -> Any:
    provider_options = options.pop("provider", {})
    # One connection's honest ends; reconnecting is tested in tests/e2e/test_reconnect.py.
    options.setdefault("reconnect", None)
    runner = rt.Runner(
        agent or rt.Agent("a"),
        provider=Compatible(url, **provider_options),
        options=rt.SessionOptions(**options),
    )
    return runner.connect()


# -- the reader never waits on the server --------------------------------------------------------


async def test_handoff_tool_answering_before_response_done_does_not_deadlock() -> None:
    billing = rt.Agent("billing", instructions="You handle billing.")
    front = rt.Agent("front", instructions="You route.", handoffs=[billing])
    steps = [
        created(),
        *function_call("transfer_to_billing"),
        WaitFor("conversation.item.create"),  # the handoff's output arrives before done
        Sleep(0.05),
        done(),
    ]
    script = Script(responses=[steps, text_reply("Billing here.")])
    async with (
        scripted_server(script) as server,
        connect(server.url, front, update_timeout=2.0) as session,
    ):
        await session.send_text("I have a billing question")
        seen = await until(session, ev.SessionIdle)
        kinds = [type(e) for e in seen]
        assert ev.Handoff in kinds
        assert ev.SessionError not in kinds
        assert session.agent is billing
        texts = [e.text for e in seen if isinstance(e, ev.TextDone)]
        assert texts == ["Billing here."]
        assert kinds.index(ev.Handoff) < kinds.index(ev.TextDone)
        # the handoff update went out, then the follow-up response, in that order
        types = server.types()
        update_at = max(i for i, t in enumerate(types) if t == "session.update")
        assert types.index("conversation.item.create", 1) < update_at
        assert types[update_at:].count("response.create") == 1
        assert server.session["instructions"] == "You handle billing."


# -- a turn ends when it has ended ---------------------------------------------------------------


async def forever() -> str:
    """A tool that takes its time."""
    await asyncio.sleep(3600)
    return "never"


SLOW = rt.Agent("a", tools=[rt.function_tool(forever)])


@pytest.mark.parametrize("still_active", [True, False], ids=["response-active", "response-done"])
async def test_interrupt_during_a_tool_call_still_ends_in_session_idle(still_active: bool) -> None:
    tail: list[Step] = [WaitFor("response.cancel"), done("cancelled")] if still_active else []
    steps = [created(), *function_call("forever"), *([] if still_active else [done()]), *tail]
    script = Script(responses=[steps, text_reply("Next turn.")])
    async with scripted_server(script) as server, connect(server.url, SLOW) as session:
        await session.send_text("take your time")
        await until(session, ev.ToolCallStarted)
        await session.interrupt()
        seen = await until(session, ev.SessionIdle)
        kinds = [type(e) for e in seen]
        failed = [e for e in seen if isinstance(e, ev.ToolCallFailed)]
        assert [f.name for f in failed] == ["forever"]
        assert "cancelled" in failed[0].error
        assert ev.Interrupted in kinds
        assert session.idle
        # no output and no follow-up for the interrupted call
        assert server.types().count("response.create") == 1
        # and the next turn ends in SessionIdle too (it used to hang here)
        await session.send_text("hello again")
        later = await until(session, ev.SessionIdle)
        assert [e.text for e in later if isinstance(e, ev.TextDone)] == ["Next turn."]


async def test_barge_in_during_a_tool_call_still_ends_in_session_idle() -> None:
    steps = [
        created(),
        *function_call("forever"),
        Sleep(0.05),
        Send({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "u1"}),
        done("cancelled"),  # server VAD cancels the response itself
    ]
    script = Script(responses=[steps, text_reply("Yes?")])
    async with scripted_server(script) as server, connect(server.url, SLOW) as session:
        await session.send_text("take your time")
        seen = await until(session, ev.SessionIdle)
        kinds = [type(e) for e in seen]
        assert ev.SpeechStarted in kinds
        interrupted = [e for e in seen if isinstance(e, ev.Interrupted)]
        assert [i.reason for i in interrupted] == ["barge-in"]
        assert [e.name for e in seen if isinstance(e, ev.ToolCallFailed)] == ["forever"]
        assert kinds.index(ev.SessionIdle) == len(kinds) - 1
        assert not server.of_type("response.cancel")  # the server VAD cancelled it already
        await session.send_text("again")
        later = await until(session, ev.SessionIdle)
        assert [e.text for e in later if isinstance(e, ev.TextDone)] == ["Yes?"]


# -- nothing silent: supervision -----------------------------------------------------------------


async def test_raising_on_send_on_the_reader_path_is_a_fatal_error_raised_to_the_app() -> None:
    calls = {"response.create": 0}

    def hook(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "response.create":
            calls["response.create"] += 1
            if calls["response.create"] == 2:  # the queued one, flushed by the reader
                raise ValueError("gateway hook bug")
        return event

    script = Script(responses=[[created(), Sleep(0.1), done()]])
    async with scripted_server(script) as server:
        async with connect(server.url, provider={"on_send": hook}) as session:
            await session.send_text("one")
            await session.create_response()  # queued behind the active one
            seen, raised = await drain(session)
            errors = [e for e in seen if isinstance(e, ev.SessionError)]
            assert [(e.fatal, e.code) for e in errors] == [(True, "internal_error")]
            assert isinstance(errors[0].exception, ValueError)
            assert seen[-1] is errors[0]  # the last event, after everything queued before it
            assert isinstance(raised, rt.SessionFailed)
            assert isinstance(raised.__cause__, ValueError)
            assert "gateway hook bug" in str(raised)
            assert session.closed
            # async for raises it too
            with pytest.raises(rt.SessionFailed):
                async for _ in session:
                    pass
        from realtalk.supervisor import Link

        assert session.state is Link.CLOSED
    assert calls["response.create"] == 2


async def test_raising_on_send_on_the_tool_path_reports_the_call_and_fails() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "conversation.item.create" and event["item"]["type"] == (
            "function_call_output"
        ):
            raise RuntimeError("cannot forward tool output")
        return event

    def lookup(city: str) -> str:
        """Weather."""
        return f"sunny in {city}"

    agent = rt.Agent("a", tools=[rt.function_tool(lookup)])
    steps = [created(), *function_call("lookup", arguments='{"city": "Oslo"}'), done()]
    async with scripted_server(Script(responses=[steps])) as server:
        async with connect(server.url, agent, provider={"on_send": hook}) as session:
            await session.send_text("weather?")
            seen, raised = await drain(session)
            failed = [e for e in seen if isinstance(e, ev.ToolCallFailed)]
            assert len(failed) == 1
            assert "could not be sent" in failed[0].error
            assert "cannot forward tool output" in failed[0].error
            fatal = [e for e in seen if isinstance(e, ev.SessionError) and e.fatal]
            assert len(fatal) == 1
            assert isinstance(fatal[0].exception, RuntimeError)
            assert isinstance(raised, rt.SessionFailed)
            assert not [e for e in seen if isinstance(e, ev.SessionIdle)]
        assert not server.of_type("response.create")[1:]


# -- bookkeeping belongs to the protocol ---------------------------------------------------------


async def test_an_update_dropped_by_on_send_is_not_pending() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any] | None:
        if event["type"] == "session.update" and event["session"].get("instructions") == "drop":
            return None
        return event

    async with (
        scripted_server() as server,
        connect(server.url, provider={"on_send": hook}, update_timeout=2.0) as s,
    ):
        await s.update(instructions="drop")  # returns at once: nothing to wait for
        await s.update(instructions="kept")
        assert s.confirmed_config is not None
        assert s.confirmed_config.instructions == "kept"
        await s.update(voice="cedar")
        assert s.confirmed_config.voice == "cedar"
        seen = []
        while True:
            try:
                seen.append(await s.next_event(timeout=0.2))
            except TimeoutError:
                break
        assert not [e for e in seen if isinstance(e, ev.ConfigMismatch)]
        sent = [u["session"].get("instructions") for u in server.of_type("session.update")]
        assert "drop" not in sent
        assert "kept" in sent


async def test_a_requeued_response_keeps_its_options_and_gets_a_fresh_event_id() -> None:
    refused = Send(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "Conversation already has an active response",
                "param": None,
                "event_id": "$create_event_id",
            },
        }
    )
    # A server-VAD response is under way when ours arrives: ours is refused, then re-sent.
    first = [created(), refused, Sleep(0.05), done()]
    script = Script(responses=[first, text_reply("As asked.")])
    async with scripted_server(script) as server, connect(server.url) as session:
        options = rt.commands.ResponseOptions(instructions="Answer in French.")
        await session.create_response(options)
        seen = await until(session, ev.SessionIdle)
        if not [e for e in seen if isinstance(e, ev.TextDone)]:
            seen = await until(session, ev.SessionIdle)
        creates = server.of_type("response.create")
        assert len(creates) == 2
        assert creates[1]["response"] == creates[0]["response"]
        assert creates[1]["response"]["instructions"] == "Answer in French."
        assert creates[1]["event_id"] != creates[0]["event_id"]


# -- honest closes -------------------------------------------------------------------------------

CLOSES = {
    "rst": (Cut("rst"), 1006),
    "fin": (Cut("fin"), 1006),
    "1000": (Close(1000), 1000),
    "1001": (Close(1001, "going away"), 1001),
    "1011": (Close(1011, "internal error"), 1011),
    "4000": (Close(4000, "custom"), 4000),
}


@pytest.mark.parametrize("name", list(CLOSES))
async def test_a_close_mid_response_is_fatal_with_the_right_code(name: str) -> None:
    step, code = CLOSES[name]
    script = Script(responses=[[created(), *audio_start(), Sleep(0.05), step]])
    async with scripted_server(script) as server, connect(server.url) as session:
        await session.send_text("hi")
        seen, raised = await drain(session)
        errors = [e for e in seen if isinstance(e, ev.SessionError)]
        assert [(e.fatal, e.code) for e in errors] == [(True, "connection_closed")]
        assert isinstance(raised, rt.ConnectionClosed)
        assert raised.code == code
        assert f"code {code}" in errors[0].message
        assert session.closed
        assert ev.AudioDelta in [type(e) for e in seen]  # delivered before the end


async def test_the_servers_last_error_is_attached_to_the_close() -> None:
    error = {
        "type": "invalid_request_error",
        "code": "beta_api_shape_disabled",
        "message": "The beta API shape is disabled for this model.",
        "param": None,
        "event_id": None,
    }
    steps = [Send({"type": "error", "error": error}), Close(1008, "policy")]
    async with scripted_server(Script(responses=[steps])) as server, connect(server.url) as session:
        await session.create_response()
        seen, raised = await drain(session)
        assert isinstance(raised, rt.ConnectionClosed)
        assert raised.code == 1008
        assert raised.server_error is not None
        assert raised.server_error.code == "beta_api_shape_disabled"
        fatal = [e for e in seen if isinstance(e, ev.SessionError)]
        assert fatal[-1].fatal
        assert fatal[-1].error is not None
        assert fatal[-1].error.code == "beta_api_shape_disabled"
        assert "beta_api_shape_disabled" in str(raised)


async def test_an_error_without_a_close_is_not_fatal_and_the_session_goes_on() -> None:
    error = {
        "type": "invalid_request_error",
        "code": "invalid_api_key",
        "message": "Incorrect API key provided.",
        "param": None,
        "event_id": "$create_event_id",
    }
    script = Script(
        responses=[[Send({"type": "error", "error": error})], text_reply("Still here.")]
    )
    async with scripted_server(script) as server, connect(server.url) as session:
        await session.create_response()
        first = await until(session, ev.ErrorEvent)
        assert not [e for e in first if isinstance(e, ev.SessionError) and e.fatal]
        await session.send_text("are you there?")
        seen = await until(session, ev.SessionIdle)
        assert not [e for e in seen if isinstance(e, ev.SessionError) and e.fatal]
        assert [e.text for e in seen if isinstance(e, ev.TextDone)] == ["Still here."]
        assert not session.closed


async def test_keepalive_notices_a_dead_socket() -> None:
    script = Script(responses=[[Stall(deaf=True)]])
    async with scripted_server(script) as server:
        options = {"keepalive_interval": 0.2, "keepalive_timeout": 0.3}
        async with connect(server.url, response_stall_timeout=None, **options) as session:
            await session.create_response()
            seen, raised = await drain(session, timeout=5.0)
            assert isinstance(raised, rt.ConnectionClosed)
            assert raised.code == 1006
            assert [e.fatal for e in seen if isinstance(e, ev.SessionError)] == [True]


def test_keepalive_default_notices_a_dead_socket_within_20_seconds() -> None:
    options = rt.SessionOptions()
    assert options.keepalive_interval is not None
    assert options.keepalive_timeout is not None
    assert options.keepalive_interval + options.keepalive_timeout <= 20.0


async def test_a_stalled_response_is_reported_and_the_session_goes_on() -> None:
    script = Script(responses=[[created(), Stall()]])
    async with (
        scripted_server(script) as server,
        connect(server.url, response_stall_timeout=0.3) as session,
    ):
        await session.create_response()
        seen = await until(session, ev.SessionError)
        stalled = seen[-1]
        assert stalled.code == "response_stalled"
        assert not stalled.fatal
        assert "stalled" in stalled.message
        assert not session.closed
        await session.interrupt()  # the app decides; the session still works


# -- bounds and safe echoes ----------------------------------------------------------------------


async def test_a_lone_surrogate_in_server_ids_can_be_sent_back() -> None:
    def lookup() -> str:
        """Anything."""
        return "ok"

    agent = rt.Agent("a", tools=[rt.function_tool(lookup)])
    call_id = "call_\ud800"
    steps = [created(), *function_call("lookup", call_id=call_id), done()]
    script = Script(responses=[steps, text_reply("Done.")])
    async with scripted_server(script) as server, connect(server.url, agent) as session:
        await session.send_text("go")
        seen = await until(session, ev.SessionIdle)
        assert not [e for e in seen if isinstance(e, ev.SessionError)]
        outputs = [
            e["item"]
            for e in server.of_type("conversation.item.create")
            if e["item"]["type"] == "function_call_output"
        ]
        assert [o["call_id"] for o in outputs] == [call_id]  # echoed exactly


async def test_a_text_message_that_is_not_utf8_is_reported_and_ends_the_session_with_1007() -> None:
    script = Script(responses=[[created(), BadText(), done()]])
    async with scripted_server(script) as server, connect(server.url) as session:
        await session.create_response()
        seen, raised = await drain(session)
        violations = [e for e in seen if isinstance(e, ev.ProtocolViolation)]
        assert len(violations) == 1
        assert "not valid UTF-8" in violations[0].reason
        errors = [e for e in seen if isinstance(e, ev.SessionError)]
        assert [(e.fatal, e.code) for e in errors] == [(True, "invalid_message")]
        assert isinstance(raised, rt.ConnectionClosed)
        assert raised.code == 1007
        assert raised.by_client
        assert not [e for e in seen if isinstance(e, ev.ResponseDone)]  # nothing after it


async def test_a_failing_audio_hot_path_is_a_fatal_error_raised_to_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The audio delta's handling runs in the socket's callback while the reader waits: an
    # exception there still ends the session through the reader, in order.
    from realtalk import session_reader

    def broken(session: Any, event: ev.AudioDelta) -> bool:
        raise ValueError("hot path bug")

    monkeypatch.setattr(session_reader, "keep_audio", broken)
    script = Script(responses=[[created(), *audio_start(), Sleep(0.2), done()]])
    async with scripted_server(script) as server, connect(server.url) as session:
        await session.create_response()
        seen, raised = await drain(session)
        kinds = [type(e) for e in seen]
        assert ev.ResponseCreated in kinds
        assert ev.OutputItemAdded in kinds
        assert ev.AudioDelta not in kinds
        assert ev.ResponseDone not in kinds
        errors = [e for e in seen if isinstance(e, ev.SessionError)]
        assert [(e.fatal, e.code) for e in errors] == [(True, "internal_error")]
        assert isinstance(errors[0].exception, ValueError)
        assert isinstance(raised, rt.SessionFailed)
        assert "hot path bug" in str(raised)


async def test_a_200_mb_frame_is_refused_before_it_is_read() -> None:
    script = Script(responses=[[created(), BigFrame(200 * 1024 * 1024)]])
    async with scripted_server(script) as server:
        async with connect(server.url) as session:
            await session.create_response()
            seen, raised = await drain(session, timeout=10.0)
            violations = [e for e in seen if isinstance(e, ev.ProtocolViolation)]
            assert len(violations) == 1
            assert "max_message_bytes" in violations[0].reason
            errors = [e for e in seen if isinstance(e, ev.SessionError)]
            assert [(e.fatal, e.code) for e in errors] == [(True, "message_too_big")]
            assert isinstance(raised, rt.ConnectionClosed)
            assert raised.code == 1009
        # the client stopped reading long before the end of the frame
        assert server.big_frame_sent < 100 * 1024 * 1024


async def test_the_frame_limit_is_configurable() -> None:
    script = Script(responses=[[created(), BigFrame(3 * 1024 * 1024)]])
    async with (
        scripted_server(script) as server,
        connect(server.url, max_message_bytes=1024 * 1024) as session,
    ):
        await session.create_response()
        seen, raised = await drain(session)
        assert isinstance(raised, rt.ConnectionClosed)
        assert raised.code == 1009
        assert [e for e in seen if isinstance(e, ev.ProtocolViolation)]


class CountingOrder(list[str]):
    """The conversation's order list, counting every element any operation walks over."""

    visits = 0

    def __iter__(self) -> Any:
        for value in super().__iter__():
            CountingOrder.visits += 1
            yield value

    def remove(self, value: str) -> None:
        CountingOrder.visits += len(self)
        super().remove(value)

    def index(self, *args: Any) -> int:
        CountingOrder.visits += len(self)
        return super().index(*args)

    def insert(self, index: Any, value: str) -> None:
        CountingOrder.visits += len(self)
        super().insert(index, value)


async def test_20000_history_items_cost_linear_work() -> None:
    count = 20_000
    script = Script(on_text={"flood": [Flood(count)]})
    async with scripted_server(script) as server:
        async with connect(server.url) as session:
            order = CountingOrder(session.conversation._order)
            session.conversation._order = order
            CountingOrder.visits = 0
            await session.send_text("flood", respond=False)
            updates = 0
            last: Any = None
            while updates < 2 * count + 1:
                event = await session.next_event(timeout=10)
                if isinstance(event, ev.HistoryUpdated):
                    updates += 1
                    last = event
            # Linear: a bounded number of element visits per item event, however long the
            # history (a full rebuild per event would be ~count**2 = 4e8 visits).
            assert CountingOrder.visits <= 10 * count, CountingOrder.visits
            assert last.item_id == f"flood_{count - 1}"
            assert len(last.items) == count + 1  # the history itself, on demand
            assert [i.id for i in session.history][-2:] == [f"flood_{count - 2}", last.item_id]
        assert server.types().count("conversation.item.create") == 1


async def test_close_under_block_loses_nothing_buffered() -> None:
    script = Script(on_text={"flood": [Flood(20)]})
    async with scripted_server(script) as server:
        async with connect(server.url, queue_size=8) as session:
            await until(session, ev.SessionReady)
            await session.send_text("flood", respond=False)
            await asyncio.sleep(0.3)  # the app is slow: the reader waits, the queue is full
            await session.close()
            seen, raised = await drain(session, timeout=1.0)
            assert len(seen) == 8  # all eight buffered events, none dropped by the close
            assert isinstance(seen[0], ev.ItemAdded)  # the oldest is still there
            assert isinstance(raised, rt.ConnectionClosed)
            assert raised.code == 1000
        assert server.url


def test_session_options_carry_the_new_limits() -> None:
    options = rt.SessionOptions()
    assert options.max_message_bytes is not None
    assert options.max_message_bytes >= 16 * 2**20
    assert options.response_stall_timeout is not None
    assert json.dumps(options.max_message_bytes)


async def test_audio_of_an_interrupted_response_arriving_after_its_done_is_dropped() -> None:
    # A media track's frames can trail the cancelled response.done (WebRTC under load): the
    # response's record is retired by then, and its late audio must still not reach the app.
    base = {"response_id": "$rid", "item_id": "$item", "output_index": 0, "content_index": 0}
    late = base64.b64encode(b"\x02\x00" * 2400).decode()
    steps: list[Step] = [
        created(),
        *audio_start(),
        WaitFor("response.cancel"),
        done("cancelled"),
        Send({"type": "response.output_audio.delta", **base, "delta": late}),
        Send({"type": "response.output_audio.delta", **base, "delta": late}),
    ]
    script = Script(responses=[steps, text_reply("Next.")])
    async with scripted_server(script) as server, connect(server.url) as session:
        await session.send_text("tell me a story")
        await until(session, ev.AudioDelta)
        interrupted = await session.interrupt()
        assert interrupted is not None
        await session.send_text("and now?")
        after = await until(session, ev.TextDone)
        assert not [e for e in after if isinstance(e, ev.AudioDelta)]
        assert after[-1].text == "Next."
