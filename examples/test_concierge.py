"""Testing an agent with pytest: the concierge of ``concierge.py`` against the local server.

Run: ``python -m pytest -q examples/test_concierge.py`` (``examples/pytest.ini`` turns on
pytest-asyncio's auto mode, so async tests need no marks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from concierge import SCENARIO, concierge  # beside this file (pytest puts its folder on the path)

import realtalk as rt
from realtalk import testing


@pytest.fixture
async def session() -> AsyncIterator[rt.Session]:
    runner = rt.Runner(
        concierge,
        provider=testing.local(SCENARIO),
        config=rt.SessionConfig(transcription=rt.Transcription(model="whisper-1")),
    )
    async with runner.connect() as session:
        yield session


async def test_weather_comes_from_the_tool(session: rt.Session) -> None:
    turn = await testing.run_turn(session, "What's the weather in London?")
    assert turn.tool_outputs == {"get_weather": "London: light rain, 14 degrees."}
    assert turn.transcript == "London: light rain, 14 degrees. Anything else?"


async def test_booking_arguments_are_validated_into_types(session: rt.Session) -> None:
    turn = await testing.run_turn(session, "A table for 4 at 20:00")
    assert turn.transcript == "Booked for 4 at 20:00, confirmation T-1042."


async def test_a_failing_tool_is_reported_to_the_model(session: rt.Session) -> None:
    turn = await testing.run_turn(session, "A table for 30 at 20:00")
    assert "we seat 1 to 12 guests" in turn.tool_errors["book_table"]


async def test_invoices_are_handed_to_billing(session: rt.Session) -> None:
    turn = await testing.run_turn(session, "A question about my invoice")
    assert [(h.from_agent, h.to_agent) for h in turn.of_type(rt.events.Handoff)] == [
        ("concierge", "billing")
    ]
    assert session.agent is concierge.handoffs[0]
    assert turn.transcript.startswith("Billing here.")


async def test_the_concierge_never_quotes_a_price(session: rt.Session) -> None:
    turn = await testing.run_turn(session, "How much is the suite?")
    assert [t.guardrail for t in turn.of_type(rt.events.GuardrailTripped)] == ["no_prices"]
    assert turn.of_type(rt.events.Interrupted)[0].reason == "guardrail:no_prices"


async def test_a_spoken_question(session: rt.Session) -> None:
    turn = await testing.run_turn(session, audio=testing.speak("What's the weather in Paris?"))
    assert turn.user_transcript == "What's the weather in Paris?"
    assert turn.tool_outputs == {"get_weather": "Paris: sunny, 21 degrees."}


@pytest.mark.parametrize("flavor", ["openai", "azure", "azure-preview"])
async def test_the_agent_works_on_every_wire_shape(flavor: str) -> None:
    runner = rt.Runner(concierge, provider=testing.local(SCENARIO, flavor=flavor))
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "What's the weather in Paris?")
        assert turn.transcript == "Paris: sunny, 21 degrees. Anything else?"
