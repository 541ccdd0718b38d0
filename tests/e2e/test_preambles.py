"""gpt-realtime-2 preambles over a real socket: one response carrying a preamble message (phase
``commentary``) and the answer (``final_answer``), from the local server's script brain; the
client passes ``phase`` through to items and events and assumes no one-message response."""

from __future__ import annotations

import json
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import items, testing
from tests.oracle import validate_server_event

PREAMBLE = "Let me look that up."
ANSWER = "Your flight leaves at nine. Gate four."
SCENARIO = {
    "rules": [
        {"keywords": ["flight"], "preamble": PREAMBLE, "say": ANSWER},
        {
            "keywords": ["weather"],
            "preamble": "One moment, checking.",
            "call": "get_weather",
            "then_say": "It is {output.temperature} degrees.",
        },
    ]
}


@rt.function_tool
def get_weather() -> dict[str, Any]:
    """The weather."""
    return {"temperature": 21}


def _runner(flavor: str, *, audio: bool) -> rt.Runner:
    config = rt.SessionConfig() if audio else rt.SessionConfig(output_modalities=("text",))
    return rt.Runner(
        rt.Agent("desk", tools=[get_weather]),
        provider=testing.local(SCENARIO, flavor=flavor),  # type: ignore[arg-type]
        config=config,
        options=rt.SessionOptions(raw_tap=True),
    )


def _wire(turn: testing.Turn, dialect: str) -> list[dict[str, Any]]:
    """Every server event of the turn, each checked against the SDK's types (the phase on a
    message item is the oracle's one documented allowance, GA only)."""
    wire = []
    for event in turn.of_type(ev.RawMessage):
        if event.direction == "in":
            data = json.loads(event.text)
            validate_server_event(dialect, data)
            wire.append(data)
    return wire


@pytest.mark.parametrize("audio", [True, False])
async def test_a_preamble_and_the_answer_are_two_messages_of_one_response(audio: bool) -> None:
    async with _runner("openai", audio=audio).connect() as session:
        turn = await testing.run_turn(session, "When is my flight?")
        wire = _wire(turn, "ga")
    added = turn.of_type(ev.OutputItemAdded)
    assert [e.phase for e in added] == ["commentary", "final_answer"]
    assert [e.output_index for e in added] == [0, 1]
    assert len({e.response_id for e in added}) == 1
    assert [e.phase for e in turn.of_type(ev.OutputItemDone)] == ["commentary", "final_answer"]
    assistant_done = [
        e for e in turn.of_type(ev.ItemDone) if getattr(e.item, "role", None) == "assistant"
    ]
    assert [e.phase for e in assistant_done] == ["commentary", "final_answer"]
    assert turn.preambles == [PREAMBLE]
    assert turn.transcript == ANSWER
    (done,) = turn.of_type(ev.ResponseDone)
    outputs = done.response.output
    assert [o.phase for o in outputs if isinstance(o, items.MessageItem)] == [
        "commentary",
        "final_answer",
    ]
    # On the wire: the phase sits on the message items, as the service sends it.
    phases = [d["item"].get("phase") for d in wire if d["type"] == "response.output_item.added"]
    assert phases == ["commentary", "final_answer"]
    messages = [i for i in session.history if isinstance(i, items.MessageItem)]
    assert [(m.role, m.phase, m.text) for m in messages] == [
        ("user", None, "When is my flight?"),
        ("assistant", "commentary", PREAMBLE),
        ("assistant", "final_answer", ANSWER),
    ]
    # Each message's transcript events name their own item.
    done_kind = ev.AudioTranscriptDone if audio else ev.TextDone
    finished = turn.of_type(done_kind)
    assert [e.item_id for e in finished] == [e.item.id for e in added]


async def test_a_preamble_before_a_tool_call_then_the_answer() -> None:
    async with _runner("openai", audio=False).connect() as session:
        turn = await testing.run_turn(session, "What is the weather?")
        _wire(turn, "ga")
    first, second = turn.of_type(ev.ResponseDone)
    kinds = [(type(o).__name__, getattr(o, "phase", None)) for o in first.response.output]
    assert kinds == [("MessageItem", "commentary"), ("FunctionCallItem", None)]
    assert [getattr(o, "phase", None) for o in second.response.output] == ["final_answer"]
    assert turn.preambles == ["One moment, checking."]
    assert turn.transcript == "It is 21 degrees."
    assert json.loads(turn.tool_outputs["get_weather"]) == {"temperature": 21}


async def test_the_beta_shape_has_no_phase_but_still_two_messages() -> None:
    async with _runner("azure-preview", audio=True).connect() as session:
        turn = await testing.run_turn(session, "When is my flight?")
        wire = _wire(turn, "beta")
    added = turn.of_type(ev.OutputItemAdded)
    assert [e.phase for e in added] == [None, None]
    assert [e.output_index for e in added] == [0, 1]
    assert all("phase" not in d.get("item", {}) for d in wire)
    spoken = [e.transcript for e in turn.of_type(ev.AudioTranscriptDone)]
    assert spoken == [PREAMBLE, ANSWER]
    assert turn.transcript == ANSWER
