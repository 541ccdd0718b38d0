"""The speculative response over a real loopback socket: scripted engines (the order is proven
with events the engines set, not with clocks), then the real Silero + Whisper + Piper set."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from realtalk.audio import convert, read_wav
from realtalk.server import serve
from realtalk.server.engines import EngineSpec, load_engines
from realtalk.server.engines.base import Action, Brain, BrainRequest, Say
from realtalk.server.engines.brain import last_user_text
from realtalk.server.engines.registry import speech_extra_installed
from realtalk.server.engines.synthesize import ToneSynthesizer
from realtalk.server.engines.transcribe import ToneTranscriber
from tests.server.test_app_pipeline import TONE, URL, engines_with, until

FIXTURES = Path(__file__).parents[1] / "fixtures"


class DraftingTranscriber(ToneTranscriber):
    early_transcription = True  # as Whisper: the session drafts at pauses

    def __init__(self) -> None:
        super().__init__(16000)


class SignallingBrain(Brain):
    """Says two sentences; ``done`` is set when it has answered."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.asked = 0

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        self.asked += 1
        yield Say("Sure thing. ")
        yield Say(f"You said {last_user_text(request.items)}.")
        self.done.set()


class CountingSynth(ToneSynthesizer):
    def __init__(self) -> None:
        super().__init__(24000)
        self.texts: list[str] = []
        self.spoke = threading.Event()

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        self.texts.append(text)
        yield from super().synthesize(text, voice=voice, speed=speed)
        self.spoke.set()


def session_update(silence_ms: int) -> str:
    turn = {"type": "server_vad", "silence_duration_ms": silence_ms}
    audio = {"input": {"turn_detection": turn, "transcription": {"model": "whisper-1"}}}
    return json.dumps({"type": "session.update", "session": {"type": "realtime", "audio": audio}})


async def send_audio(ws: Any, audio: bytes, *, real_time: bool = False) -> None:
    for offset in range(0, len(audio), 960):  # 20 ms of 24 kHz PCM16
        piece = base64.b64encode(audio[offset : offset + 960]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
        if real_time:
            await asyncio.sleep(0.02)


async def test_over_loopback_the_speculation_is_held_until_the_decision() -> None:
    brain, synth = SignallingBrain(), CountingSynth()
    engines = engines_with(transcriber=DraftingTranscriber(), brain=brain, synthesizer=synth)
    async with serve(engines=engines, no_auth=True) as h:
        async with connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws:
            await until(ws, "conversation.created")
            await ws.send(session_update(500))
            await until(ws, "session.updated")
            question = bytes(9600) + b"".join(TONE.synthesize("what is new"))
            await send_audio(ws, question + bytes(int(24000 * 0.3) * 2))  # a 300 ms pause
            # the speculation runs: brain answered, first clause synthesised, in the pause
            await asyncio.wait_for(brain.done.wait(), 10)
            assert await asyncio.to_thread(synth.spoke.wait, 10)
            await send_audio(ws, bytes(int(24000 * 0.5) * 2))  # the rest of the silence rule
            events = await until(ws, "response.done")
        [record] = h.timings
    kinds = [e["type"] for e in events]
    # everything sent before the decision arrives before it: only speech_started did
    assert kinds[: kinds.index("input_audio_buffer.speech_stopped")] == [
        "input_audio_buffer.speech_started"
    ]
    assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
    [done] = [e for e in events if e["type"] == "response.output_audio_transcript.done"]
    assert done["transcript"] == "Sure thing. You said what is new."
    assert brain.asked == 1  # the speculative answer was the response's
    assert synth.texts == ["Sure thing.", "You said what is new."]  # the first clause once
    assert record.speculative


@pytest.mark.skipif(
    not speech_extra_installed(), reason="needs the speech extra: pip install 'realtalk[speech]'"
)
async def test_real_engines_answer_from_the_speculation_made_in_the_pause() -> None:
    engines = load_engines(
        EngineSpec(vad="silero", transcriber="whisper", synthesizer="piper", end_of_turn="none")
    )
    pcm, rate = read_wav(FIXTURES / "speech_16k.wav")
    meta = json.loads((FIXTURES / "speech_16k.json").read_text())
    audio = convert(pcm[: int(meta["speech_end_ms"]) * rate // 500], rate, 24000)
    # A long silence rule leaves the pause time to transcribe, think and synthesise even on a
    # loaded machine; the decision itself is the rule's, as without speculation.
    async with serve(engines=engines, no_auth=True) as h:
        async with connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws:
            await until(ws, "conversation.created")
            await ws.send(session_update(2000))
            await until(ws, "session.updated")
            await send_audio(ws, audio + bytes(24000 * 2 * 3), real_time=True)
            events = await asyncio.wait_for(until(ws, "response.done"), 60)
        [record] = h.timings
    kinds = [e["type"] for e in events]
    stopped = kinds.index("input_audio_buffer.speech_stopped")
    assert not [k for k in kinds[:stopped] if k.startswith(("response.", "conversation."))]
    [heard] = [
        e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert "weather" in heard["transcript"].lower()
    [spoken] = [e for e in events if e["type"] == "response.output_audio_transcript.done"]
    assert "weather" in spoken["transcript"].lower()  # the echo brain said the turn back
    assert any(e["type"] == "response.output_audio.delta" for e in events)
    assert record.speculative
    assert record.early_transcription
