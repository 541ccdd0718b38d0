"""The speech pipeline over real loopback sockets: streamed synthesis, the brain and the
synthesizer overlapping, turn timings on the handle, and transcription sessions.

Ordering is proven with events, never with wall-clock figures: an engine that blocks until the
client has seen the first audio can only finish in time if that audio was streamed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from realtalk.server import TurnTimings, serve
from realtalk.server.engines.base import Action, Brain, BrainRequest, Say, Synthesizer
from realtalk.server.engines.registry import Engines
from realtalk.server.engines.synthesize import ToneSynthesizer
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines
from tests.server.test_app import post

URL = "/v1/realtime?model=gpt-realtime"
WAIT_S = 5.0
TONE = ToneSynthesizer(24000)


def engines_with(**replace: Any) -> Engines:
    base = tone_engines()
    parts = {
        "vad_factory": base.vad_factory,
        "transcriber": base.transcriber,
        "synthesizer": base.synthesizer,
        "brain": base.brain,
        **replace,
    }
    return Engines(**parts)


async def recv(ws: Any, dialect: str = "ga") -> dict[str, Any]:
    return assert_valid_server_event(dialect, await asyncio.wait_for(ws.recv(), WAIT_S))


async def until(ws: Any, kind: str, dialect: str = "ga") -> list[dict[str, Any]]:
    """Events up to and including the first of type ``kind``."""
    seen = []
    while True:
        event = await recv(ws, dialect)
        seen.append(event)
        if event["type"] == kind:
            return seen


class GatedSynthesizer(Synthesizer):
    """Yields one chunk, then waits for the client to have heard it before the next."""

    def __init__(self) -> None:
        self.heard = threading.Event()
        self.waited_in_vain = False

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        yield b"\x00\x01" * 2400
        if not self.heard.wait(WAIT_S):
            self.waited_in_vain = True
        yield b"\x00\x02" * 2400


async def test_audio_is_sent_while_the_synthesizer_is_still_working() -> None:
    synth = GatedSynthesizer()
    async with (
        serve(engines=engines_with(synthesizer=synth), no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws,
    ):
        await until(ws, "conversation.created")
        await ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Just one sentence."}],
                    },
                }
            )
        )
        await ws.send(json.dumps({"type": "response.create"}))
        first = (await until(ws, "response.output_audio.delta"))[-1]
        synth.heard.set()
        rest = await until(ws, "response.done")
    assert not synth.waited_in_vain
    audio = base64.b64decode(first["delta"]) + b"".join(
        base64.b64decode(e["delta"]) for e in rest if e["type"] == "response.output_audio.delta"
    )
    assert audio == b"\x00\x01" * 2400 + b"\x00\x02" * 2400


class SlowBrain(Brain):
    """Says one sentence, then waits until the client has its audio before going on."""

    def __init__(self) -> None:
        self.heard = asyncio.Event()
        self.waited_in_vain = False

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        yield Say("Hello there. ")
        try:
            await asyncio.wait_for(self.heard.wait(), WAIT_S)
        except TimeoutError:
            self.waited_in_vain = True
        yield Say("How are you?")


async def test_first_sentence_is_spoken_before_the_brain_finishes() -> None:
    brain = SlowBrain()
    seen: list[TurnTimings] = []
    async with serve(engines=engines_with(brain=brain), no_auth=True, on_timings=seen.append) as h:
        async with connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws:
            await until(ws, "conversation.created")
            await ws.send(json.dumps({"type": "response.create"}))
            head = await until(ws, "response.output_audio.delta")
            brain.heard.set()
            events = head + await until(ws, "response.done")
        timings = list(h.timings)
    assert not brain.waited_in_vain
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "Hello there. How are you?"
    # the handle and the callback got the same record for this response
    [done] = [e for e in events if e["type"] == "response.done"]
    assert seen == timings
    [record] = timings
    assert record.response_id == done["response"]["id"]
    assert record.status == "completed"
    assert record.origin == "response"
    assert record.brain_ms is not None
    assert record.brain_ms >= 0
    assert record.synthesis_ms is not None
    assert record.synthesis_ms >= 0
    assert record.first_audio_ms is not None
    assert record.other_ms is not None
    assert record.other_ms >= 0


async def test_vad_turn_timings_cover_every_stage() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        async with connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws:
            await until(ws, "conversation.created")
            await ws.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {
                            "type": "realtime",
                            "audio": {"input": {"turn_detection": {"type": "server_vad"}}},
                        },
                    }
                )
            )
            await until(ws, "session.updated")
            audio = bytes(9600) + b"".join(TONE.synthesize("what is new")) + bytes(24000)
            for offset in range(0, len(audio), 4800):
                piece = base64.b64encode(audio[offset : offset + 4800]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
            events = await until(ws, "response.done")
        [record] = h.timings
    [stopped] = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    assert record.origin == "speech_end"
    assert record.item_id == stopped["item_id"]
    assert record.speech_end_audio_ms is not None
    assert abs(record.speech_end_audio_ms - (stopped["audio_end_ms"] - 200)) <= 1
    stages = (
        record.vad_ms,
        record.transcription_ms,
        record.brain_ms,
        record.synthesis_ms,
        record.first_audio_ms,
    )
    assert all(stage is not None and stage >= 0 for stage in stages)


async def test_transcription_session_over_raw_websockets() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}/v1/realtime?intent=transcription") as ws,
    ):
        created = await recv(ws)
        assert created["type"] == "session.created"
        assert created["session"]["type"] == "transcription"
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "transcription",
                        "audio": {
                            "input": {
                                "transcription": {"model": "gpt-4o-mini-transcribe"},
                                "turn_detection": None,
                            }
                        },
                    },
                }
            )
        )
        assert (await recv(ws))["type"] == "session.updated"
        speech = base64.b64encode(b"".join(TONE.synthesize("hello world"))).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": speech}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        events = await until(ws, "conversation.item.input_audio_transcription.completed")
        assert events[-1]["transcript"] == "hello world"
        await ws.send(json.dumps({"type": "response.create"}))
        error = await recv(ws)
        assert error["type"] == "error"
        assert not [e for e in events if e["type"].startswith("response.")]


async def test_beta_transcription_session_over_raw_websockets() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True) as h,
        connect(
            f"ws://127.0.0.1:{h.port}/v1/realtime?intent=transcription",
            additional_headers={"OpenAI-Beta": "realtime=v1"},
        ) as ws,
    ):
        created = await recv(ws, "beta")
        assert created["type"] == "transcription_session.created"
        await ws.send(
            json.dumps(
                {
                    "type": "transcription_session.update",
                    "session": {"input_audio_transcription": {"model": "whisper-1"}},
                }
            )
        )
        assert (await recv(ws, "beta"))["type"] == "transcription_session.updated"


async def test_transcription_session_with_the_openai_client() -> None:
    async with serve(engines=tone_engines()) as h:
        client = AsyncOpenAI(api_key=h.api_key, websocket_base_url=h.url)
        async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
            created = await asyncio.wait_for(conn.recv(), WAIT_S)
            assert created.type == "session.created"
            assert created.session.type == "transcription"
            speech = base64.b64encode(b"".join(TONE.synthesize("good day"))).decode()
            await conn.input_audio_buffer.append(audio=speech)
            await conn.input_audio_buffer.commit()
            while True:
                event = await asyncio.wait_for(conn.recv(), WAIT_S)
                if event.type == "conversation.item.input_audio_transcription.completed":
                    assert event.transcript == "good day"
                    break


async def test_unknown_intent_is_refused_at_the_handshake() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"ws://127.0.0.1:{h.port}/v1/realtime?intent=dictation"):
                pass
    assert info.value.response.status_code == 400
    assert json.loads(info.value.response.body)["error"]["param"] == "intent"


async def test_transcription_client_secret_opens_a_transcription_session() -> None:
    async with serve(engines=tone_engines()) as h:
        status, body = await asyncio.to_thread(
            post,
            f"{h.http_url}/realtime/client_secrets",
            {"session": {"type": "transcription"}},
            {"Authorization": f"Bearer {h.api_key}"},
        )
        assert status == 200, body
        assert body["session"]["type"] == "transcription"
        async with connect(
            f"ws://127.0.0.1:{h.port}/v1/realtime",  # no model, no intent: the secret decides
            additional_headers={"Authorization": f"Bearer {body['value']}"},
        ) as ws:
            created = await recv(ws)
            assert created["session"]["type"] == "transcription"


class BrokenSynthesizer(Synthesizer):
    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        yield b"\x00\x01" * 2400
        raise RuntimeError("the voice model crashed")


async def test_a_synthesizer_crash_mid_sentence_fails_the_response_not_the_session() -> None:
    async with (
        serve(engines=engines_with(synthesizer=BrokenSynthesizer()), no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}{URL}", max_size=None) as ws,
    ):
        await until(ws, "conversation.created")
        await ws.send(json.dumps({"type": "response.create"}))
        events = await until(ws, "response.done")
        assert events[-1]["response"]["status"] == "failed"
        message = events[-1]["response"]["status_details"]["error"]["message"]
        assert "RuntimeError" in message
        assert "crashed" not in message  # an engine's own text may carry anything
        assert [e for e in events if e["type"] == "response.output_audio.delta"]
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert (await recv(ws))["type"] == "input_audio_buffer.cleared"
