"""Issue 8's defects against the local server over a real loopback socket (the scripted-server
versions, which control the exact order of events, are in test_session_trust.py)."""

from __future__ import annotations

import asyncio

import realtalk as rt
from realtalk import events as ev
from realtalk import testing

SCENARIO = {
    "default": "Okay.",
    "rules": [
        {"when": "secret", "say": "The password is hunter2."},
        {"when": "billing", "call": "transfer_to_billing", "arguments": {}},
        {"when": "wait", "call": "forever", "arguments": {}, "then_say": "Done waiting."},
        {"when": "invoice", "say": "Your invoice is paid."},
    ],
}


@rt.function_tool
async def forever() -> str:
    """A tool that takes its time."""
    await asyncio.sleep(3600)
    return "never"


async def test_a_guardrail_trip_on_a_short_reply_is_seen_by_run_turn_before_session_idle() -> None:
    @rt.output_guardrail  # every_chars=100: the reply is shorter, only the final check sees it
    def no_passwords(text: str) -> bool:
        return "password" in text.lower()

    runner = rt.Runner(rt.Agent("a"), provider=testing.local(SCENARIO), guardrails=[no_passwords])
    async with runner.connect() as session:
        for _ in range(5):  # it used to arrive after SessionIdle 5 times out of 5
            turn = await testing.run_turn(session, "tell me the secret")
            trips = turn.of_type(ev.GuardrailTripped)
            assert [t.guardrail for t in trips] == ["no_passwords"]
            kinds = [type(e) for e in turn.events]
            assert kinds.index(ev.GuardrailTripped) < kinds.index(ev.SessionIdle)
            assert ev.Interrupted in kinds


async def test_a_handoff_completes_and_the_turn_ends() -> None:
    billing = rt.Agent("billing", instructions="You handle invoices.")
    front = rt.Agent("front", instructions="You route.", handoffs=[billing])
    runner = rt.Runner(front, provider=testing.local(SCENARIO))
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "I have a billing question")
        assert [(h.from_agent, h.to_agent) for h in turn.of_type(ev.Handoff)] == [
            ("front", "billing")
        ]
        assert session.agent is billing
        assert not turn.of_type(ev.SessionError)
        again = await testing.run_turn(session, "what about my invoice")
        assert again.transcript == "Your invoice is paid."


async def test_interrupt_during_a_tool_call_ends_the_turn_and_the_next_one_works() -> None:
    runner = rt.Runner(rt.Agent("a", tools=[forever]), provider=testing.local(SCENARIO))
    async with runner.connect() as session:
        await session.send_text("please wait")
        await testing.collect(session, ev.ToolCallStarted)
        await session.interrupt()
        events = await testing.collect(session, ev.SessionIdle)
        failed = [e for e in events if isinstance(e, ev.ToolCallFailed)]
        assert [f.name for f in failed] == ["forever"]
        assert session.idle
        turn = await testing.run_turn(session, "what about my invoice")
        assert turn.transcript == "Your invoice is paid."


async def test_the_local_server_going_away_is_a_fatal_error_with_its_code() -> None:
    provider = testing.local(SCENARIO)
    runner = rt.Runner(rt.Agent("a"), provider=provider)
    async with runner.connect() as session:
        await testing.run_turn(session, "hello")
        await provider.aclose()  # the server shuts down under the session
        seen: list[ev.Event] = []
        try:
            while True:
                seen.append(await session.next_event(timeout=10))
        except rt.ConnectionClosed as exc:
            raised = exc
        errors = [e for e in seen if isinstance(e, ev.SessionError)]
        assert [(e.fatal, e.code) for e in errors] == [(True, "connection_closed")]
        assert raised.code == 1001
        assert session.closed
