"""The script brain explains a failed tool call (on_error) instead of reading its JSON out."""

from __future__ import annotations

import pytest

import realtalk as rt
from realtalk import testing
from realtalk.errors import ConfigError
from realtalk.server.engines import ScriptBrain


@rt.function_tool
def book(guests: int) -> str:
    """Book a table."""
    if guests > 12:
        raise ValueError("we seat 12 at most")
    return f"Booked for {guests}."


def scenario(**extra: str) -> dict[str, object]:
    rule = {"when": r"for (?P<n>\d+)", "call": "book", "arguments": {"guests": "{n}"}, **extra}
    return {"rules": [rule]}


async def turn(text: str, **extra: str) -> str:
    runner = rt.Runner(rt.Agent("a", tools=[book]), provider=testing.local(scenario(**extra)))
    async with runner.connect() as session:
        return (await testing.run_turn(session, text)).transcript


async def test_a_failing_tool_is_explained_with_the_default_on_error() -> None:
    said = await turn("a table for 30")
    assert said == "Sorry, that did not work: ValueError: we seat 12 at most"
    assert "{" not in said


async def test_on_error_is_a_template_with_the_error() -> None:
    said = await turn("a table for 30", on_error="No luck for {n}: {error}")
    assert said.startswith("No luck for 30: ")
    assert "we seat 12 at most" in said


async def test_a_successful_call_still_uses_then_say() -> None:
    assert await turn("a table for 2", then_say="Done: {output}") == "Done: Booked for 2."


def test_on_error_is_a_known_rule_key() -> None:
    ScriptBrain(scenario(on_error="x"))
    with pytest.raises(ConfigError, match="unknown rule key"):
        ScriptBrain(scenario(on_eror="x"))
