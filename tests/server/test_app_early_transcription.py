"""The front turns early transcription on for a transcriber that asks for it."""

from __future__ import annotations

import base64
import json

from websockets.asyncio.client import connect

from realtalk.server import serve
from realtalk.server.engines.base import Transcript
from realtalk.server.engines.transcribe import ToneTranscriber
from tests.server.test_app_pipeline import TONE, URL, engines_with, until


class SlowToneTranscriber(ToneTranscriber):
    """Stands for an engine slow enough to be worth drafting; records what it was given."""

    early_transcription = True

    def __init__(self) -> None:
        super().__init__(16000)
        self.heard: list[int] = []

    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        self.heard.append(len(pcm16))
        return super().transcribe(pcm16, language=language, prompt=prompt)


async def test_the_turn_is_transcribed_once_from_its_draft() -> None:
    transcriber = SlowToneTranscriber()
    async with serve(engines=engines_with(transcriber=transcriber), no_auth=True) as h:
        async with connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws:
            await until(ws, "conversation.created")
            turn = {"type": "server_vad", "silence_duration_ms": 500}
            await ws.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {
                            "type": "realtime",
                            "audio": {
                                "input": {
                                    "turn_detection": turn,
                                    "transcription": {"model": "whisper-1"},
                                }
                            },
                        },
                    }
                )
            )
            await until(ws, "session.updated")
            audio = bytes(9600) + b"".join(TONE.synthesize("what is new")) + bytes(36000)
            for offset in range(0, len(audio), 4800):
                piece = base64.b64encode(audio[offset : offset + 4800]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
            events = await until(ws, "response.done")
        [record] = h.timings
    [completed] = [
        e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert completed["transcript"] == "what is new"
    assert record.early_transcription
    # one run: the draft, padded with silence to the length of the committed turn
    [heard] = transcriber.heard  # 16 kHz PCM16: 32 bytes a millisecond
    [started] = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    [stopped] = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    committed_ms = stopped["audio_end_ms"] - started["audio_start_ms"]
    assert abs(heard / 32 - committed_ms) <= 1
