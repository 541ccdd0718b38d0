"""Push-to-talk: manual turns, no voice activity detection.

With ``turn_detection=None`` the server never decides that the user has finished: the app does.
While the talk key is held the app streams microphone audio with ``send_audio``; on release it
calls ``commit_audio(respond=True)``; a press that is cancelled calls ``clear_audio()``; a press
while the assistant is still talking interrupts it first. The key presses here are scripted and
the "microphone" is ``testing.speak()`` audio, so it runs offline against the local server
(realtime pacing on, so the assistant takes as long to talk as a real one).

Run: ``python examples/push_to_talk.py``
"""

from __future__ import annotations

import asyncio

import realtalk as rt
from realtalk import testing

SCENARIO = {
    "rules": [
        {
            "keywords": ["story"],
            "say": "Once upon a time there was a hotel by the sea, and every night the "
            "guests asked the concierge for one more story about the lighthouse keeper.",
        },
        {"keywords": ["weather"], "say": "Sunny and 21 degrees."},
    ],
    "default": "Sorry, I did not catch that.",
}
FRAME = 24000 // 50 * 2  # 20 ms of PCM16 at 24 kHz


class PushToTalk:
    """What a talk key does to the session."""

    def __init__(self, session: rt.Session) -> None:
        self.session = session

    async def press(self) -> None:
        if not self.session.idle:  # the assistant is talking: stop it, the user wins
            interrupted = await self.session.interrupt(reason="push-to-talk")
            print(f"  (interrupted the assistant at {interrupted.audio_end_ms} ms)")

    async def hold(self, microphone: bytes) -> None:
        for start in range(0, len(microphone), FRAME):  # as the microphone delivers it
            await self.session.send_audio(microphone[start : start + FRAME])

    async def release(self) -> None:
        await self.session.commit_audio(respond=True)

    async def cancel(self) -> None:
        await self.session.clear_audio()


async def answer(session: rt.Session, *, stop_after_ms: float | None = None) -> None:
    """Print the user's transcript and the reply; with ``stop_after_ms``, return that long
    after the assistant starts talking (the user is about to press the key again)."""
    started: float | None = None
    loop = asyncio.get_running_loop()
    while True:
        event = await session.next_event(timeout=30)
        match event:
            case rt.events.InputTranscriptCompleted(transcript=text):
                print(f"user: {text}")
            case rt.events.AudioDelta():
                # A real app plays the audio and reports where it is with
                # session.playback.played(ms=...); without reports realtalk assumes real time.
                started = started or loop.time()
                if stop_after_ms is not None and (loop.time() - started) * 1000 > stop_after_ms:
                    return
            case rt.events.AudioTranscriptDone(transcript=text):
                print(f"assistant: {text}")
            case rt.events.SessionIdle():
                return


async def main() -> None:
    runner = rt.Runner(
        rt.Agent("storyteller", instructions="You tell short stories."),
        provider=testing.local(SCENARIO, realtime_pacing=True),
        config=rt.SessionConfig(
            turn_detection=None,  # push-to-talk: explicit None switches server VAD off
            transcription=rt.Transcription(model="whisper-1"),
        ),
    )
    async with runner.connect() as session:
        key = PushToTalk(session)

        await key.press()
        await key.hold(testing.speak("Tell me a story"))
        await key.release()
        await answer(session, stop_after_ms=500)

        await key.press()  # talks over the assistant
        await key.hold(testing.speak("What's the weather?"))
        await key.release()
        await answer(session)

        await key.press()
        await key.hold(testing.speak("never mind"))
        await key.cancel()  # released outside the window: nothing is sent for a reply
        print("cancelled press: nothing committed")


if __name__ == "__main__":
    asyncio.run(main())
