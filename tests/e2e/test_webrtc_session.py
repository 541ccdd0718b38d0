"""A realtalk Session over WebRTC (realtalk's own transport) against the local server, loopback
only: spoken question in on the Opus track, transcript, a tool call, the spoken reply back on
the track as AudioDelta events, and an interruption truncated at the played position."""

from __future__ import annotations

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.transports.ice import candidate_addresses
from realtalk.transports.webrtc import WebRTCTransport
from tests.e2e.test_runtime_local import WEATHER, make_agents

HEAR = rt.SessionConfig(transcription=rt.Transcription(model="whisper-1"))


async def test_spoken_question_tool_call_and_spoken_reply() -> None:
    concierge, _ = make_agents()
    provider = testing.local(WEATHER, transport="webrtc")
    assert "transport='webrtc'" in repr(provider)
    runner = rt.Runner(concierge, provider=provider, config=HEAR)
    async with runner.connect() as session:
        transport = session._transport
        assert isinstance(transport, WebRTCTransport)
        assert transport.call_id is not None
        assert transport.call_id.startswith("rtc_")
        local, remote = transport.sdp
        assert candidate_addresses(local) == {"127.0.0.1"}
        assert candidate_addresses(remote) == {"127.0.0.1"}
        # The agent was there from the first moment: session.created already carries it.
        assert session.confirmed_config is not None
        assert session.confirmed_config.instructions == "You are a concierge."
        await session.send_audio(
            testing.speak("what is the weather in paris") + testing.silence(1500)
        )
        events = await testing.collect(session, ev.SessionIdle, timeout=40)
    turn = testing.Turn(events)
    heard = [e.transcript for e in events if isinstance(e, ev.InputTranscriptCompleted)]
    assert heard == ["what is the weather in paris"]
    finished = [e for e in events if isinstance(e, ev.ToolCallFinished)]
    assert [(f.name, f.output) for f in finished] == [
        ("get_weather", "Sunny and 21 degrees in Paris.")
    ]
    said = [e.transcript for e in events if isinstance(e, ev.AudioTranscriptDone)]
    assert said[-1] == "Here is the weather. Sunny and 21 degrees in Paris."
    audio = b"".join(e.audio for e in events if isinstance(e, ev.AudioDelta))
    assert len(audio) > 48 * 500  # at least half a second of reply, in the output format
    assert any(isinstance(e, ev.OutputAudioBufferStopped) for e in events)
    # SessionIdle came after the reply's audio: nothing of the turn trails it.
    assert isinstance(events[-1], ev.SessionIdle)
    del turn


async def test_interruption_truncates_at_the_played_position() -> None:
    provider = testing.local(WEATHER, transport="webrtc")
    runner = rt.Runner(rt.Agent("a"), provider=provider)
    async with runner.connect() as session:
        await session.send_text("tell me a story")
        received = 0
        while received < 10:
            event = await session.next_event(timeout=20)
            if isinstance(event, ev.AudioDelta):
                received += 1
        assert session._proto.active_response_id == event.response_id  # response.done held
        session.playback.played(ms=150)
        interrupted = await session.interrupt()
        assert interrupted.response_id == event.response_id
        assert interrupted.audio_end_ms == 150
        after = await testing.collect(session, ev.ItemTruncated, timeout=20)
        assert after[-1].audio_end_ms == 150
        assert after[-1].item_id == interrupted.item_id
        assert any(isinstance(e, ev.OutputAudioBufferCleared) for e in after)
        assert not [e for e in after if isinstance(e, ev.AudioDelta)]


@pytest.mark.parametrize("flavor", ["azure", "azure-preview"])
async def test_azure_routes(flavor: str) -> None:
    provider = testing.local(WEATHER, flavor=flavor, transport="webrtc")  # type: ignore[arg-type]
    runner = rt.Runner(rt.Agent("a", instructions="Azure agent."), provider=provider)
    async with runner.connect() as session:
        assert session.confirmed_config is not None
        assert session.confirmed_config.instructions == "Azure agent."
        turn = await testing.run_turn(session, "tell me about my invoice", timeout=30)
    assert turn.transcript == "Your invoice is paid."
    assert len(turn.audio) > 0
