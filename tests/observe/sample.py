"""One recorded local-server session used by the recording, report and replay tests: a text
turn, a tool call, an audio turn (server VAD, transcription) and an interruption."""

from __future__ import annotations

from pathlib import Path

import realtalk as rt
from realtalk import events as ev
from realtalk import testing

SCENARIO = {
    "default": "I did not catch that.",
    "rules": [
        {
            "when": "weather in (?P<city>[a-z]+)",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "Here is the weather. {output}",
        },
        {"when": "invoice", "say": "Your invoice is paid."},
        {"when": "hello", "say": "Hello to you too."},
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


def make_runner(record: Path | None, **options: object) -> rt.Runner:
    agent = rt.Agent("concierge", instructions="You are a concierge.", tools=[get_weather])
    return rt.Runner(
        agent,
        provider=testing.local(SCENARIO, realtime_pacing=True),
        config=rt.SessionConfig(
            turn_detection=rt.ServerVAD(silence_duration_ms=300),
            transcription=rt.Transcription(model="whisper-1"),
        ),
        record=record,
        **options,
    )


USER_AUDIO_MS = 200 + 600  # silence around the spoken words, plus the words themselves


def user_speech() -> bytes:
    """Tone speech at 24 kHz: 200 ms silence, "hello there", 600 ms silence."""
    return testing.silence(200) + testing.speak("hello there") + testing.silence(600)


async def run_sample(session: rt.Session) -> list[ev.Event]:
    """The four turns; every event the app saw, in order."""
    seen: list[ev.Event] = []
    seen += (await testing.run_turn(session, "Tell me about my invoice", timeout=30)).events
    seen += (await testing.run_turn(session, "What is the weather in paris", timeout=30)).events
    await session.send_audio(user_speech())
    seen += await testing.collect(session, ev.SessionIdle, timeout=30)
    await session.send_text("tell me a story")
    received = 0
    while received < 5:
        event = await session.next_event(timeout=10)
        seen.append(event)
        if isinstance(event, ev.AudioDelta):
            received += 1
    session.playback.played(ms=120)
    await session.interrupt()  # the Interrupted event also comes through the stream
    seen += await testing.collect(session, ev.SessionIdle, timeout=30)
    return seen


def record_sample(folder: Path) -> Path:
    """Record the sample session into ``folder``; the recording's path. Runs its own loop (for
    module-scoped fixtures)."""
    import asyncio

    async def go() -> Path:
        async with make_runner(folder).connect() as session:
            await run_sample(session)
            assert session.recording_path is not None
            return Path(session.recording_path)

    return asyncio.run(go())
