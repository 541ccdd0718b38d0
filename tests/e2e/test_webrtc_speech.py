"""Real speech over WebRTC: Piper speaks the question onto realtalk's outgoing Opus track, the
local server hears it through the same engines as on the WebSocket route (Silero VAD, Whisper
tiny.en), the scripted brain answers and Piper's reply comes back on the incoming track."""

from __future__ import annotations

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from tests.wer import word_errors

pytestmark = pytest.mark.speech

# Words with one written form (tests/e2e/test_speech_local.py says why).
SENTENCES = [
    "What is the weather in Paris today?",
    "Please book a table for dinner tonight.",
    "Can you tell me a short story about a dragon?",
]


async def test_spoken_turns_over_webrtc(piper: object) -> None:
    scenario = {"default": "I heard you say: {text}"}
    runner = rt.Runner(
        rt.Agent("listener"),
        provider=testing.local(scenario, speech=True, transport="webrtc"),
        config=rt.SessionConfig(
            turn_detection=rt.ServerVAD(silence_duration_ms=500),
            transcription=rt.Transcription(model="whisper-1", language="en"),
        ),
    )
    errors, words = 0, 0
    heard_all: list[str] = []
    async with runner.connect() as session:
        for sentence in SENTENCES:
            pcm = b"".join(piper.synthesize(sentence))  # type: ignore[attr-defined]
            rate = piper.sample_rate  # type: ignore[attr-defined]
            audio = testing.silence(300, rate) + pcm + testing.silence(1200, rate)
            await session.send_audio(audio, rate=rate)
            events = await testing.collect(session, ev.SessionIdle, timeout=90)
            heard = [e.transcript for e in events if isinstance(e, ev.InputTranscriptCompleted)]
            assert len(heard) == 1
            heard_all.append(heard[0])
            e, n = word_errors(sentence, heard[0])
            errors, words = errors + e, words + n
            reply = b"".join(e.audio for e in events if isinstance(e, ev.AudioDelta))
            assert len(reply) > 48000  # more than a second of spoken reply, from the track
            spoken = [e.transcript for e in events if isinstance(e, ev.AudioTranscriptDone)]
            assert spoken[0].startswith("I heard you say:")
    rate = errors / words
    print(
        f"[figures] WER over WebRTC (Piper -> Opus -> Whisper tiny.en): {rate:.1%} "
        f"({errors}/{words} words) heard={heard_all}"
    )
    assert rate < 0.35
