"""The agent runtime end to end: Runner -> Session -> real loopback WebSocket -> local server."""

from __future__ import annotations

import asyncio
import json

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.items import FunctionCallOutputItem

WEATHER = {
    "default": "I can only talk about the weather.",
    "rules": [
        {
            "when": "weather in (?P<city>[a-z]+)",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "Here is the weather. {output}",
        },
        {"when": "billing", "call": "transfer_to_billing", "arguments": {}},
        {"when": "invoice", "say": "Your invoice is paid."},
        {"when": "secret", "say": "The password is hunter2."},
        {"when": "story", "say": " ".join(["Once upon a time there was a long story."] * 6)},
    ],
}


@rt.function_tool
async def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny and 21 degrees in {city.title()}."


@rt.function_tool
def broken_weather(city: str) -> str:
    """Weather that fails."""
    raise RuntimeError("weather service down")


def make_agents(tool: rt.FunctionTool = get_weather) -> tuple[rt.Agent, rt.Agent]:
    billing = rt.Agent(
        "billing",
        instructions="You handle invoices.",
        config=rt.SessionConfig(voice="cedar", max_output_tokens=300),
    )
    concierge = rt.Agent(
        "concierge",
        instructions="You are a concierge.",
        tools=[tool],
        handoffs=[billing],
        config=rt.SessionConfig(voice="marin"),
    )
    return concierge, billing


async def test_text_turn() -> None:
    concierge, _ = make_agents()
    runner = rt.Runner(concierge, provider=testing.local(WEATHER))
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "Tell me about my invoice")
        assert turn.transcript == "Your invoice is paid."
        assert len(turn.audio) > 0
        metrics = turn.of_type(ev.TurnMetrics)
        assert metrics
        assert metrics[-1].first_audio_ms is not None
        assert metrics[-1].first_audio_ms <= metrics[-1].done_ms
        user, assistant = session.history[-2:]
        assert isinstance(user, rt.items.MessageItem)
        assert user.role == "user"
        assert isinstance(assistant, rt.items.MessageItem)
        assert assistant.role == "assistant"


async def test_audio_turn_with_server_vad() -> None:
    runner = rt.Runner(
        rt.Agent("echo"),
        provider=testing.local(),
        config=rt.SessionConfig(
            turn_detection=rt.ServerVAD(silence_duration_ms=300),
            transcription=rt.Transcription(model="whisper-1"),
        ),
    )
    async with runner.connect() as session:
        speech = testing.silence(200, 16000) + testing.speak("hello there", 16000)
        await session.send_audio(speech + testing.silence(600, 16000), rate=16000)
        events = await testing.collect(session, ev.SessionIdle)
        kinds = [type(e) for e in events]
        assert kinds.index(ev.SpeechStarted) < kinds.index(ev.SpeechStopped)
        assert kinds.index(ev.SpeechStopped) < kinds.index(ev.ResponseCreated)
        (done,) = [e for e in events if isinstance(e, ev.InputTranscriptCompleted)]
        assert done.transcript == "hello there"
        transcripts = [e.transcript for e in events if isinstance(e, ev.AudioTranscriptDone)]
        assert transcripts == ["hello there"]


async def test_manual_turns_with_turn_detection_none() -> None:
    runner = rt.Runner(
        rt.Agent("echo"),
        provider=testing.local(),
        config=rt.SessionConfig(turn_detection=None),
    )
    async with runner.connect() as session:
        assert session.confirmed_config is not None
        assert session.confirmed_config.turn_detection is None
        await session.send_audio(testing.speak("manual mode works", 24000))
        await session.send_audio(testing.silence(300))
        await asyncio.sleep(0.2)
        # nothing happens until we commit: no VAD
        assert session.idle
        turn = await testing.run_turn(session, audio=b"")
        assert turn.transcript == "manual mode works"
        assert not turn.of_type(ev.SpeechStarted)


async def test_tool_call() -> None:
    concierge, _ = make_agents()
    runner = rt.Runner(concierge, provider=testing.local(WEATHER))
    async with runner.connect() as session:
        turn = await testing.run_turn(session, "What is the weather in paris?")
        assert turn.tool_outputs == {"get_weather": "Sunny and 21 degrees in Paris."}
        assert turn.transcript == "Here is the weather. Sunny and 21 degrees in Paris."
        started = turn.of_type(ev.ToolCallStarted)
        assert [json.loads(s.arguments) for s in started] == [{"city": "paris"}]
        outputs = [i for i in session.history if isinstance(i, FunctionCallOutputItem)]
        assert [o.output for o in outputs] == ["Sunny and 21 degrees in Paris."]


async def test_failing_tool_becomes_an_error_for_the_model() -> None:
    agent = rt.Agent("concierge", tools=[broken_weather])
    scenario = {
        "rules": [
            {
                "when": "weather",
                "call": "broken_weather",
                "arguments": {"city": "x"},
                "then_say": "Sorry: {output.error}",
            }
        ]
    }
    async with rt.Runner(agent, provider=testing.local(scenario)).connect() as session:
        turn = await testing.run_turn(session, "weather please")
        assert turn.tool_errors["broken_weather"].startswith("RuntimeError: weather service down")
        assert turn.transcript.startswith("Sorry: RuntimeError: weather service down")
        assert not session.closed


async def test_approval() -> None:
    @rt.function_tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund money."""
        return f"refunded {amount}"

    scenario = {
        "rules": [
            {"when": "refund", "call": "refund", "arguments": {"amount": 5}, "then_say": "{output}"}
        ]
    }
    async with rt.Runner(
        rt.Agent("a", tools=[refund]), provider=testing.local(scenario)
    ).connect() as session:
        await session.send_text("refund me")
        (approval,) = [
            e
            for e in await testing.collect(session, ev.ApprovalRequired)
            if isinstance(e, ev.ApprovalRequired)
        ]
        assert approval.name == "refund"
        assert not session.idle
        session.approve(approval.call_id)
        events = await testing.collect(session, ev.SessionIdle)
        done = [e for e in events if isinstance(e, ev.AudioTranscriptDone)]
        assert done[-1].transcript == "refunded 5"

        await session.send_text("refund me again")
        approval = next(
            e
            for e in await testing.collect(session, ev.ApprovalRequired)
            if isinstance(e, ev.ApprovalRequired)
        )
        session.reject(approval.call_id, "not allowed")
        events = await testing.collect(session, ev.SessionIdle)
        failed = [e for e in events if isinstance(e, ev.ToolCallFailed)]
        assert "not allowed" in failed[0].error


async def test_handoff_sends_only_the_diff_and_keeps_runtime_settings() -> None:
    concierge, billing = make_agents()
    runner = rt.Runner(
        concierge,
        provider=testing.local(WEATHER),
        config=rt.SessionConfig(turn_detection=rt.SemanticVAD(eagerness="high")),
        raw_tap=True,
    )
    async with runner.connect() as session:
        await session.update(noise_reduction=rt.NoiseReduction(type="far_field"), speed=1.2)
        turn = await testing.run_turn(session, "I have a billing question")
        handoffs = turn.of_type(ev.Handoff)
        assert [(h.from_agent, h.to_agent) for h in handoffs] == [("concierge", "billing")]
        assert session.agent is billing
        sent = [
            json.loads(e.text)
            for e in turn.events
            if isinstance(e, ev.RawMessage) and e.direction == "out"
        ]
        updates = [e["session"] for e in sent if e["type"] == "session.update"]
        # connect, the run-time update, then the switch
        assert len(updates) == 3
        switch = updates[-1]
        # Only what differs: instructions, tools, max_output_tokens, and the voice (the
        # assistant has not spoken yet: its only response so far was the function call).
        assert set(switch) == {"type", "instructions", "tools", "max_output_tokens", "audio"}
        assert switch["audio"] == {"output": {"voice": "cedar"}}
        assert switch["instructions"] == "You handle invoices."
        assert switch["tools"] == []
        assert switch["max_output_tokens"] == 300
        assert "turn_detection" not in json.dumps(switch)
        assert "noise_reduction" not in json.dumps(switch)
        confirmed = session.confirmed_config
        assert confirmed is not None
        assert confirmed.turn_detection == rt.SemanticVAD(
            eagerness="high", create_response=True, interrupt_response=True
        )
        assert confirmed.noise_reduction == rt.NoiseReduction(type="far_field")
        assert confirmed.speed == pytest.approx(1.2)
        assert session.effective_config.source("speed") == "session.update"
        assert session.effective_config.source("instructions") == "agent:billing"


async def test_output_guardrail_trips_on_a_short_reply() -> None:
    @rt.output_guardrail
    def no_passwords(text: str) -> bool:
        return "password" in text.lower()

    runner = rt.Runner(rt.Agent("a"), provider=testing.local(WEATHER), guardrails=[no_passwords])
    async with runner.connect() as session:
        await session.send_text("tell me the secret")
        events = await testing.collect(session, ev.GuardrailTripped)
        trip = events[-1]
        assert isinstance(trip, ev.GuardrailTripped)
        assert trip.guardrail == "no_passwords"
        assert "hunter2" in trip.text
        interrupted = await testing.collect(session, ev.Interrupted)
        assert interrupted[-1].reason == "guardrail:no_passwords"


async def test_interruption_mid_response() -> None:
    runner = rt.Runner(rt.Agent("a"), provider=testing.local(WEATHER, realtime_pacing=True))
    async with runner.connect() as session:
        await session.send_text("tell me a story")
        received = 0
        while received < 5:
            event = await session.next_event(timeout=10)
            if isinstance(event, ev.AudioDelta):
                received += 1
        session.playback.played(ms=120)
        interrupted = await session.interrupt()
        assert interrupted.audio_end_ms == 120
        after = await testing.collect(session, ev.ResponseDone)
        assert not [e for e in after if isinstance(e, ev.AudioDelta)]
        assert after[-1].response.status == "cancelled"
        truncated = await testing.collect(session, ev.ItemTruncated)
        assert truncated[-1].audio_end_ms == 120
        assert truncated[-1].item_id == interrupted.item_id


async def test_two_sessions_from_one_runner_at_once() -> None:
    runner = rt.Runner(rt.Agent("echo"), provider=testing.local())

    async def talk(text: str) -> str:
        async with runner.connect() as session:
            return (await testing.run_turn(session, text)).transcript

    first, second = await asyncio.gather(talk("first caller"), talk("second caller"))
    assert (first, second) == ("first caller", "second caller")


async def test_invalid_config_fails_before_connecting() -> None:
    provider = testing.local()
    # At the call that wrote it: building the Runner, not connecting.
    with pytest.raises(rt.ConfigError) as info:
        rt.Runner(
            rt.Agent("a"),
            provider=provider,
            config=rt.SessionConfig(temperature=0.7, turn_detection=rt.ServerVAD(threshold=2.0)),
        )
    assert len(info.value.problems) == 2
    assert provider.running is None


async def test_handoff_after_assistant_audio_keeps_the_voice_back_with_a_warning() -> None:
    concierge, billing = make_agents()
    async with rt.Runner(concierge, provider=testing.local(WEATHER)).connect() as session:
        await testing.run_turn(session, "what about my invoice")  # the assistant speaks
        turn = await testing.run_turn(session, "a billing question")
        warnings = turn.of_type(ev.Warning)
        assert [w.field for w in warnings] == ["voice"], [type(e).__name__ for e in turn.events]
        assert not turn.of_type(ev.ErrorEvent)
        (handoff,) = turn.of_type(ev.Handoff)
        assert handoff.update.voice is rt.UNSET
        assert handoff.update.instructions == "You handle invoices."
        assert session.agent is billing
        assert session.confirmed_config is not None
        assert session.confirmed_config.voice == "marin"


async def test_update_rejected_by_the_server_raises_and_keeps_the_old_config() -> None:
    concierge, _ = make_agents()
    async with rt.Runner(concierge, provider=testing.local(WEATHER)).connect() as session:
        await testing.run_turn(session, "what about my invoice")  # the assistant speaks
        with pytest.raises(rt.ServerError) as info:
            await session.update(voice="cedar")
        assert info.value.code == "cannot_update_voice"
        assert info.value.message == (
            "Cannot update a conversation's voice if assistant audio is present."
        )
        assert session.confirmed_config is not None
        assert session.confirmed_config.voice == "marin"
        assert session.effective_config.config.voice == "marin"  # the run-time layer rolled back
        turn = await testing.run_turn(session, "what about my invoice")
        assert turn.transcript == "Your invoice is paid."


@pytest.mark.parametrize("flavor", ["openai", "azure", "azure-preview"])
async def test_every_provider_shape_end_to_end(flavor: str) -> None:
    concierge, _ = make_agents()
    concierge.config = rt.SessionConfig(voice="alloy")  # a voice every shape offers
    provider = testing.local(WEATHER, flavor=flavor)  # type: ignore[arg-type]
    async with rt.Runner(concierge, provider=provider).connect() as session:
        assert session.provider.dialect.name == ("beta" if flavor == "azure-preview" else "ga")
        turn = await testing.run_turn(session, "What is the weather in paris?")
        assert turn.tool_outputs == {"get_weather": "Sunny and 21 degrees in Paris."}
        assert turn.transcript == "Here is the weather. Sunny and 21 degrees in Paris."
        assert len(turn.audio) > 0
        assert not turn.of_type(ev.ErrorEvent)
        assert session.confirmed_config is not None
        assert session.confirmed_config.voice == "alloy"
        assert session.confirmed_config.instructions == "You are a concierge."


async def test_a_voice_the_preview_shape_lacks_fails_before_connecting() -> None:
    concierge, _ = make_agents()  # voice "marin": GA only
    provider = testing.local(WEATHER, flavor="azure-preview")
    with pytest.raises(rt.ConfigError) as info:
        async with rt.Runner(concierge, provider=provider).connect():
            pass
    assert info.value.paths == ("session.voice",)
    assert "verse" in str(info.value)


async def test_g711_audio_in_and_out() -> None:
    from realtalk import audio

    runner = rt.Runner(
        rt.Agent("echo"),
        provider=testing.local(),
        config=rt.SessionConfig(
            turn_detection=None,
            input_format=rt.AudioFormat.pcmu(),
            output_format=rt.AudioFormat.pcma(),
        ),
    )
    async with runner.connect() as session:
        spoken = audio.ulaw_encode(
            audio.resample(testing.speak("telephone call", 24000), 24000, 8000)
        )
        await session.send_audio(spoken, format=rt.AudioFormat.pcmu())
        turn = await testing.run_turn(session, audio=b"")
        assert turn.transcript == "telephone call"
        # A-law at 8 kHz: one byte per sample, and the duration the server reports matches.
        item_id = next(e.item_id for e in turn.events if isinstance(e, ev.AudioDelta))
        assert session.conversation.audio_ms(item_id) == pytest.approx(len(turn.audio) / 8, abs=1)


async def test_a_connect_update_the_server_rejects_is_reported_not_silent() -> None:
    def add_unknown_field(event: dict[str, object]) -> dict[str, object]:
        if event["type"] == "session.update":
            event["session"]["bogus"] = 1  # type: ignore[index]
        return event

    provider = testing.local(WEATHER)
    provider.on_send = add_unknown_field
    runner = rt.Runner(rt.Agent("a", instructions="Be brief."), provider=provider)
    async with runner.connect() as session:
        events = await testing.collect(session, ev.SessionReady)
        errors = [e for e in events if isinstance(e, ev.SessionError)]
        assert len(errors) == 1
        assert errors[0].code == "unknown_parameter"
        assert errors[0].error is not None
        assert errors[0].error.param == "session.bogus"
        assert "previous one stays in force" in errors[0].message
        assert session.confirmed_config is not None
        assert session.confirmed_config.instructions != "Be brief."


async def test_server_vad_barge_in_stops_the_assistant() -> None:
    runner = rt.Runner(
        rt.Agent("a"),
        provider=testing.local(WEATHER, realtime_pacing=True),
        config=rt.SessionConfig(turn_detection=rt.ServerVAD(silence_duration_ms=300)),
    )
    async with runner.connect() as session:
        await session.send_text("tell me a story")
        received = 0
        while received < 5:
            event = await session.next_event(timeout=10)
            if isinstance(event, ev.AudioDelta):
                received += 1
                response_id = event.response_id
        session.playback.played(ms=200)
        # The user talks over the assistant.
        await session.send_audio(testing.speak("stop please") + testing.silence(600))
        events = await testing.collect(session, ev.Interrupted, timeout=10)
        interrupted = events[-1]
        assert interrupted.reason == "barge-in"
        assert interrupted.response_id == response_id
        assert interrupted.audio_end_ms == 200
        rest = await testing.collect(session, ev.SessionIdle, timeout=20)
        late = [e for e in rest if isinstance(e, ev.AudioDelta) and e.response_id == response_id]
        assert late == []
        done = [e for e in rest if isinstance(e, ev.ResponseDone)]
        assert done[0].response.id == response_id
        assert done[0].response.status == "cancelled"
        truncated = [e for e in events + rest if isinstance(e, ev.ItemTruncated)]
        if not truncated:
            truncated = (await testing.collect(session, ev.ItemTruncated, timeout=5))[-1:]
        assert [t.audio_end_ms for t in truncated] == [200]
