"""The session's dispatch table and the response phase machine (pure, no event loop)."""

from __future__ import annotations

from typing import Any

import pytest

from realtalk.errors import InvalidState
from realtalk.server.core.conversation import Conversation
from realtalk.server.core.phases import TRANSITIONS, Phase, advance
from realtalk.server.core.responses import ResponseParams, ResponseRun
from realtalk.server.core.session import HANDLERS
from realtalk.server.core.work import Synthesize, Work
from realtalk.server.engines.base import CallTool, Say
from realtalk.server.wire.events import BETA_CLIENT_EVENTS, GA_CLIENT_EVENTS
from tests.server.harness import Harness, user_text


def test_every_client_event_has_exactly_one_handler_in_the_table() -> None:
    assert set(HANDLERS) == set(GA_CLIENT_EVENTS) | set(BETA_CLIENT_EVENTS)
    assert all(callable(handler) for handler in HANDLERS.values())


def test_each_handler_is_reached_through_the_table() -> None:
    calls: list[str] = []
    h = Harness()
    original = dict(HANDLERS)
    try:
        for kind in HANDLERS:
            HANDLERS[kind] = lambda session, event, cid, now, kind=kind: calls.append(kind)
        for kind in GA_CLIENT_EVENTS:
            if kind == "session.update":
                continue  # validation needs a whole session object; covered elsewhere
            h.send({"type": kind})
    finally:
        HANDLERS.clear()
        HANDLERS.update(original)
    # Events that pass validation with no fields reach their handler, and only through it.
    assert {"input_audio_buffer.commit", "input_audio_buffer.clear", "response.create"} <= set(
        calls
    )


def test_the_transition_table_is_closed_and_done_is_terminal() -> None:
    assert set(TRANSITIONS) == set(Phase)
    assert TRANSITIONS[Phase.DONE] == frozenset()
    for phase in Phase:
        if phase is not Phase.DONE:
            assert Phase.RELEASING in TRANSITIONS[phase], phase  # every phase can end
    with pytest.raises(InvalidState, match="DONE to GENERATING"):
        advance(Phase.DONE, Phase.GENERATING)
    with pytest.raises(InvalidState):
        advance(Phase.WAITING, Phase.SPEAKING)


class Host:
    """A session as a response run sees it (ResponseHost): ids, work requests, audio flag."""

    dialect = "ga"

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.work: list[Work] = []
        self._n = 0

    def new_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def request(self, work: Work) -> None:
        self.work.append(work)

    def on_assistant_audio(self) -> None:
        pass


def run_for(audio: bool) -> tuple[ResponseRun, Host]:
    host = Host()
    params = ResponseParams(audio_out=audio, voice="marin", speed=1.0, output_format="pcm16")
    return ResponseRun(host=host, id="resp_1", params=params), host  # type: ignore[arg-type]


def test_an_audio_response_walks_the_phases_in_order() -> None:
    run, host = run_for(audio=True)
    seen = [run.phase]
    assert not run.wait_for({"work_t"})
    assert not run.transcription_done("other")
    assert run.transcription_done("work_t")
    run.thinking("work_brain")
    seen.append(run.phase)
    run.on_brain_action(Say("Hello there. How are you today?"))
    seen.append(run.phase)
    synth = host.work[-1]
    assert isinstance(synth, Synthesize)
    run.on_synthesis_chunk(synth.work_id, b"\x00\x01" * 2400, 0.0)
    seen.append(run.phase)
    run.on_synthesis_done(synth.work_id, b"", None, 0.0)
    seen.append(run.phase)  # the last sentence waits: it may go on until the brain is done
    run.on_brain_done(None)
    while run.phase is not Phase.RELEASING:
        work = host.work[-1]
        assert isinstance(work, Synthesize)
        run.on_synthesis_done(work.work_id, b"\x00\x00" * 240, None, 0.0)
    assert run.status == "completed"
    seen.append(run.phase)
    events = run.release(0.0)
    seen.append(run.phase)
    assert seen == [
        Phase.WAITING,
        Phase.GENERATING,
        Phase.SYNTHESISING,
        Phase.SPEAKING,
        Phase.GENERATING,
        Phase.RELEASING,
        Phase.DONE,
    ]
    done = events[-1]
    assert done["type"] == "response.done"
    assert done["response"]["status"] == "completed"
    assert not [key for event in events for key in event if key.startswith("_")]


def test_cancel_after_generation_ended_is_a_self_move_that_marks_it_cancelled() -> None:
    run, _ = run_for(audio=False)
    run.thinking("work_brain")
    run.on_brain_action(CallTool(name="lookup", arguments="{}", call_id="call_1"))
    run.on_brain_done(None)
    assert run.phase is Phase.RELEASING
    assert run.cancel("client_cancelled") == []
    assert run.phase is Phase.RELEASING
    done = run.release(0.0)[-1]
    assert run.phase is Phase.DONE
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert run.cancel("client_cancelled") == []  # over: nothing left to cancel


def test_a_cancel_while_synthesising_cancels_the_brain_and_the_synthesis() -> None:
    run, host = run_for(audio=True)
    run.thinking("work_brain")
    run.on_brain_action(Say("One sentence here. And another one."))
    assert run.phase is Phase.SYNTHESISING
    synth = host.work[-1]
    assert run.cancel("turn_detected") == ["work_brain", synth.work_id]
    assert run.phase is Phase.RELEASING
    # A late chunk of the cancelled synthesis is ignored.
    run.on_synthesis_chunk(synth.work_id, b"\x00\x00" * 100, 0.0)
    events: list[dict[str, Any]] = run.release(0.0)
    assert [e["type"] for e in events if "audio" in e["type"] and "delta" in e["type"]] == []
    assert events[-1]["response"]["status"] == "cancelled"


def test_the_session_end_to_end_still_completes_a_text_turn() -> None:
    h = Harness()
    h.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["text"]},
        }
    )
    h.send(user_text("hello"))
    events = h.send({"type": "response.create"})
    assert events[-1]["type"] == "response.done"
    assert events[-1]["response"]["status"] == "completed"
