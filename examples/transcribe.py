"""A transcription-only session: speech in, transcripts out, no assistant.

``rt.transcribe(provider, TranscriptionConfig(...))`` opens a Realtime connection with
``intent=transcription``: the server transcribes each stretch of speech and never answers. Two
utterances are sent here: the first ended by server VAD (the silence after it), the second, on a
model that takes no turn detection, committed by the app. The "microphone" is
``testing.speak()`` audio, which the local server's deterministic engines hear exactly, so it
runs offline; point ``provider`` at ``rt.providers.OpenAI()`` for the real service.

Run: ``python examples/transcribe.py``
"""

from __future__ import annotations

import asyncio

import realtalk as rt
from realtalk import testing


async def with_server_vad(provider: rt.providers.Provider) -> None:
    config = rt.TranscriptionConfig(model="whisper-1", language="en")
    async with rt.transcribe(provider, config) as t:
        await t.send_audio(testing.speak("the meeting starts at nine") + testing.silence(1000))
        async for event in t:
            match event:
                case rt.events.SpeechStarted():
                    print("  (speech started)")
                case rt.events.InputTranscriptDelta(delta=delta):
                    print(f"  delta: {delta!r}")
                case rt.events.InputTranscriptCompleted(transcript=text):
                    print(f"heard: {text}")
                    break


async def committed_by_the_app(provider: rt.providers.Provider) -> None:
    # gpt-realtime-whisper takes no turn detection: the app says where an utterance ends.
    config = rt.TranscriptionConfig(model="gpt-realtime-whisper")
    async with rt.transcribe(provider, config) as t:
        await t.send_audio(testing.speak("please call me back", rate=16000), rate=16000)
        await t.commit()
        done = await t.transcript(timeout=20)
        print(f"heard: {done.transcript}")


async def main() -> None:
    async with testing.local() as provider:  # one local server for both sessions
        await with_server_vad(provider)
        await committed_by_the_app(provider)


if __name__ == "__main__":
    asyncio.run(main())
