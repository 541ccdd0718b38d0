"""A guardrail's verdict on the complete reply belongs to its turn: SessionIdle waits for it."""

from __future__ import annotations

import asyncio

import realtalk as rt
from realtalk import events as ev
from realtalk import testing

SCENARIO = {"rules": [{"keywords": ["suite"], "say": "The suite is $900 a night."}]}


async def test_a_slow_final_check_trips_before_the_turn_ends() -> None:
    @rt.output_guardrail(every_chars=1000)  # only the final check runs
    async def no_prices(text: str) -> bool:
        await asyncio.sleep(0.3)  # slower than the rest of the turn
        return "$" in text

    runner = rt.Runner(rt.Agent("a"), provider=testing.local(SCENARIO), guardrails=[no_prices])
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "How much is the suite?")
        kinds = [type(e).__name__ for e in turn.events]
        assert "GuardrailTripped" in kinds, kinds
        assert kinds.index("GuardrailTripped") < kinds.index("SessionIdle")
        assert kinds.count("SessionIdle") == 1
        # the next turn starts clean: no stale trip or idle left over from the first
        await session.send_text("hello")
        later = await testing.collect(session, ev.SessionIdle)
        assert not [e for e in later if isinstance(e, ev.GuardrailTripped)]


async def test_a_passing_final_check_still_ends_the_turn_once() -> None:
    @rt.output_guardrail(every_chars=1000)
    async def never(text: str) -> bool:
        await asyncio.sleep(0.1)
        return False

    runner = rt.Runner(rt.Agent("a"), provider=testing.local(SCENARIO), guardrails=[never])
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "How much is the suite?")
        assert turn.transcript == "The suite is $900 a night."
        assert [type(e).__name__ for e in turn.events].count("SessionIdle") == 1
        assert session.idle
