"""The speculative response: at a transcribed pause the brain and the first clause's synthesis
run before the turn is decided, held in the core; the decided turn's wire is the same as
without speculation, and speech that resumes leaves no trace.

The session is driven in audio time with the tone engines (every event checked against the
official union by the harness); work runs when the test says, so "before the decision" is exact.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

from realtalk.server.core.codec import duration_ms
from realtalk.server.core.config import ServerConfig
from realtalk.server.core.session import ServerSession
from realtalk.server.core.work import (
    JudgeTurn,
    Synthesize,
    Think,
    Transcribe,
    TurnJudgement,
    Work,
    WorkResult,
)
from realtalk.server.engines.base import Action, Brain, BrainRequest, CallTool, EngineError, Say
from realtalk.server.engines.brain import last_user_text
from realtalk.server.engines.synthesize import ToneSynthesizer
from realtalk.server.front.worker import run_work
from tests.server.harness import Harness, user_text
from tests.server.test_app_pipeline import engines_with
from tests.server.test_early_transcription import silence, speech

RULE_MS = 500


class InstructedBrain(Brain):
    """Answers with the session's instructions, then what it heard: two sentences."""

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        yield Say(f"{request.instructions} ")
        yield Say(f"You said {last_user_text(request.items)}.")


class FailingBrain(Brain):
    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        yield Say("Well, ")
        raise EngineError("the brain is out to lunch")


class ToolBrain(Brain):
    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        yield CallTool("get_weather", '{"city": "Paris"}', call_id="call_1")


class SpecHarness(Harness):
    """Work runs through the front's own run_work (engine errors become results as there)."""

    def run_work(self, work: Work) -> None:
        if isinstance(work, Think):
            results: list[WorkResult] = []
            asyncio.run(run_work(work, self.engines, results.append))
            for result in results:
                self.session.feed(result, self.now)
        else:
            super().run_work(work)


def harness(
    *,
    speculate: bool = True,
    brain: Brain | None = None,
    auto_work: bool = False,
    turn: dict[str, Any] | None = None,
    judged: bool = False,
) -> SpecHarness:
    engines = engines_with(brain=brain or InstructedBrain())
    h = SpecHarness(engines=engines, auto_work=auto_work)
    h.session = ServerSession(
        vad=engines.new_vad(),
        early_transcription=True,
        end_of_turn=judged,
        config=ServerConfig(speculative_responses=speculate, default_instructions="Hi."),
    )
    h.events.clear()
    h.session.start(h.now)
    h.pump()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "instructions": "Hello there.",
                "tools": [{"type": "function", "name": "get_weather", "parameters": {}}],
                "audio": {
                    "input": {
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": turn
                        or {"type": "server_vad", "silence_duration_ms": RULE_MS},
                    }
                },
            },
        }
    )
    return h


def stream(h: Harness, audio: bytes, *, until_stopped: bool = False) -> list[dict[str, Any]]:
    """Append ``audio`` in 20 ms pieces, each when it would have been fully spoken."""
    mark = len(h.events)
    for offset in range(0, len(audio), 960):
        piece = audio[offset : offset + 960]
        h.now += duration_ms(len(piece), "pcm16")
        events = h.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
        )
        if until_stopped and "input_audio_buffer.speech_stopped" in h.types(events):
            break
    return h.events[mark:]


def run_all(h: Harness) -> None:
    while h.pending:
        h.run_next()


def pending(h: Harness, kind: type) -> list[Any]:
    return [w for w in h.pending if isinstance(w, kind)]


def shape(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Event types, with every id replaced by its order of first appearance: the sequence and
    its id consistency, free of the random ids themselves."""
    names: dict[str, str] = {}
    out = []
    for event in events:
        text = re.sub(r'"event_id": "[^"]+"', "", repr(event))
        ids = re.findall(r"'((?:item|resp|call)_[0-9a-f]+|call_\w+)'", text)
        for found in ids:
            names.setdefault(found, f"id{len(names)}")
        out.append((event["type"], *(names[i] for i in ids)))
    return out


def decided_turn(h: SpecHarness, *, speculate_first: bool) -> list[dict[str, Any]]:
    """A question with a pause held long enough for the speculation, then the rest of the
    silence rule; returns every event from the start of speech."""
    mark = len(h.events)
    stream(h, silence(300) + speech("what is new") + silence(250))
    if speculate_first:
        run_all(h)
    stream(h, silence(700), until_stopped=True)
    run_all(h)
    return h.events[mark:]


# --- held until the decision ---------------------------------------------------------------


def test_the_brain_and_first_clause_run_in_the_pause_and_nothing_leaves_before_the_decision() -> (
    None
):
    h = harness()
    stream(h, silence(300) + speech("what is new") + silence(250))
    [draft] = pending(h, Transcribe)
    h.run_next()  # the draft: its transcript starts the speculation
    [think] = pending(h, Think)
    assert think.request.instructions == "Hello there."
    assert last_user_text(think.request.items) == "what is new"
    h.run_next()  # the brain answers: its first clause goes to the synthesizer
    [synth] = pending(h, Synthesize)
    assert synth.text == "Hello there."
    h.run_next()
    assert h.pending == []
    kinds = h.types()
    assert "input_audio_buffer.speech_stopped" not in kinds
    assert not [k for k in kinds if k.startswith("response.")]
    assert not [k for k in kinds if k.startswith("conversation.item")]
    assert len(h.session.conversation) == 0

    after = stream(h, silence(700), until_stopped=True)
    # decided: the held answer and the first clause's audio go out at once, no new brain work
    types = h.types(after)
    assert types[0] == "input_audio_buffer.speech_stopped"
    assert "response.output_audio.delta" in types
    assert pending(h, Think) == []
    assert draft not in h.pending
    [second] = pending(h, Synthesize)  # the second sentence was not guessed ahead
    assert second.text == "You said what is new."
    run_all(h)
    [done] = h.of_type("response.done")
    assert done["response"]["status"] == "completed"
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Hello there. You said what is new."
    [record] = h.timings
    assert record.speculative
    assert record.speculations_discarded == 0


def test_the_decided_turns_wire_is_the_same_with_and_without_speculation() -> None:
    shapes = []
    for speculate in (True, False):
        h = harness(speculate=speculate)
        shapes.append(shape(decided_turn(h, speculate_first=True)))
        assert [t.speculative for t in h.timings] == [speculate]
    with_speculation, without = shapes
    assert with_speculation == without
    kinds = [s[0] for s in with_speculation]
    assert kinds.index("input_audio_buffer.speech_stopped") < kinds.index("response.created")


def test_a_speculation_not_finished_at_the_decision_is_claimed_as_it_runs() -> None:
    h = harness()
    stream(h, silence(300) + speech("what is new") + silence(250))
    h.run_next()  # draft -> speculative brain asked, not yet answered
    [think] = pending(h, Think)
    after = stream(h, silence(700), until_stopped=True)
    assert "response.created" in h.types(after)
    assert pending(h, Think) == [think]  # not asked twice: the running one is the response's
    run_all(h)
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Hello there. You said what is new."
    assert h.timings[0].speculative


# --- discarded without a trace -----------------------------------------------------------------


def test_resumed_speech_discards_the_speculation_without_a_trace() -> None:
    h = harness()
    stream(h, silence(300) + speech("what is") + silence(250))
    run_all(h)  # the speculation for "what is" is done and held
    stream(h, speech("new today") + silence(250))
    # a second pause: a new draft and a new speculation; the first left nothing behind
    run_all(h)
    stream(h, silence(700), until_stopped=True)
    run_all(h)
    assert h.types().count("response.created") == 1
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Hello there. You said what is new today."
    ids = {i for e in h.events for i in re.findall(r"(?:item|resp)_[0-9a-f]+", repr(e))}
    assert ids == {item.id for item in h.session.conversation.items()} | {
        h.of_type("response.created")[0]["response"]["id"]
    }
    assert len(h.session.conversation) == 2  # the user's turn and the one answer
    assert h.timings[0].speculations_discarded == 1


def test_speech_resuming_while_the_speculation_runs_cancels_its_work() -> None:
    h = harness()
    stream(h, silence(300) + speech("what is") + silence(250))
    h.run_next()  # draft -> speculative brain asked
    [think] = pending(h, Think)
    stream(h, speech("new"))
    assert think.work_id in h.cancelled
    assert not [k for k in h.types() if k.startswith("response.")]


def test_a_session_update_in_the_pause_yields_the_answer_for_the_new_config() -> None:
    h = harness()
    stream(h, silence(300) + speech("what is new") + silence(250))
    run_all(h)  # held: an answer under the old instructions
    h.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Bye."}})
    [redo] = pending(h, Think)  # redone on the same draft for the new instructions
    assert redo.request.instructions == "Bye."
    run_all(h)
    stream(h, silence(700), until_stopped=True)
    run_all(h)
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Bye. You said what is new."
    assert h.timings[0].speculative
    assert h.timings[0].speculations_discarded == 1


def test_a_conversation_item_in_the_pause_reaches_the_brain() -> None:
    h = harness()
    stream(h, silence(300) + speech("what is new") + silence(250))
    run_all(h)
    h.send(user_text("an aside"))
    [redo] = pending(h, Think)
    assert len(redo.request.items) == 2  # the aside, then the turn
    run_all(h)
    stream(h, silence(700), until_stopped=True)
    run_all(h)
    [added] = [e for e in h.of_type("conversation.item.added") if e["item"]["role"] == "assistant"]
    assert h.of_type("response.done")[0]["response"]["status"] == "completed"
    assert added["previous_item_id"] == h.of_type("input_audio_buffer.committed")[0]["item_id"]


def test_no_speculation_when_the_turn_creates_no_response() -> None:
    turn = {"type": "server_vad", "silence_duration_ms": RULE_MS, "create_response": False}
    h = harness(turn=turn)
    stream(h, silence(300) + speech("what is new") + silence(250))
    h.run_next()  # the draft (transcription is still done early)
    assert h.pending == []
    stream(h, silence(700), until_stopped=True)
    assert "conversation.item.input_audio_transcription.completed" in h.types()
    assert not [k for k in h.types() if k.startswith("response.")]


# --- failures and tool calls after the decision ---------------------------------------------------


def test_a_failing_speculative_brain_fails_the_response_as_without_speculation() -> None:
    outcomes = []
    for speculate in (True, False):
        h = harness(speculate=speculate, brain=FailingBrain())
        events = decided_turn(h, speculate_first=True)
        kinds = [e["type"] for e in events]
        assert kinds.index("input_audio_buffer.speech_stopped") < kinds.index("response.created")
        [done] = [e for e in events if e["type"] == "response.done"]
        outcomes.append((shape(events), done["response"]["status_details"]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1]["error"]["message"] == "the brain is out to lunch"


class BrokenSynth(ToneSynthesizer):
    def synthesize(self, text: str, *, voice: str | None = None, speed: float = 1.0) -> Any:
        raise EngineError("no voice today")


def test_a_failing_speculative_synthesis_fails_the_response_after_the_decision() -> None:
    outcomes = []
    for speculate in (True, False):
        h = harness(speculate=speculate)
        h.engines = engines_with(brain=InstructedBrain(), synthesizer=BrokenSynth())
        events = decided_turn(h, speculate_first=True)
        kinds = [e["type"] for e in events]
        assert kinds.index("input_audio_buffer.speech_stopped") < kinds.index("response.created")
        [done] = [e for e in events if e["type"] == "response.done"]
        outcomes.append((shape(events), done["response"]["status_details"]))
    assert outcomes[0] == outcomes[1]
    assert "no voice today" in outcomes[0][1]["error"]["message"]


def test_a_speculative_tool_call_is_held_like_audio() -> None:
    shapes = []
    for speculate in (True, False):
        h = harness(speculate=speculate, brain=ToolBrain())
        stream(h, silence(300) + speech("weather please") + silence(250))
        run_all(h)
        assert not [k for k in h.types() if "function_call" in k or k.startswith("response.")]
        stream(h, silence(700), until_stopped=True)
        run_all(h)
        [args] = h.of_type("response.function_call_arguments.done")
        assert args["name"] == "get_weather"
        assert args["call_id"] == "call_1"
        shapes.append(shape(h.events))
    assert shapes[0] == shapes[1]


def test_a_pause_judged_complete_is_answered_from_its_speculation() -> None:
    h = harness(turn={"type": "semantic_vad", "eagerness": "high"}, judged=True)
    stream(h, silence(300) + speech("what is new") + silence(200))
    [judge] = pending(h, JudgeTurn)
    h.pending.remove(judge)
    run_all(h)  # the draft, then the speculative brain and first clause: all held
    assert "input_audio_buffer.speech_stopped" not in h.types()
    assert pending(h, Think) == []
    events = h.feed(TurnJudgement(judge.work_id, probability=0.9), after_ms=40)
    types = h.types(events)
    assert types[0] == "input_audio_buffer.speech_stopped"
    assert "response.output_audio.delta" in types  # the held first clause, at once
    run_all(h)
    [transcript] = h.of_type("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Hello there. You said what is new."
    assert h.timings[0].speculative
