"""The official ``openai`` client against the local server over a real loopback socket.

Deterministic engines: the tone synthesizer speaks, the tone transcriber hears it back, and
the echo brain repeats what the user said. Every raw server message is checked against the
official union of its dialect (no undeclared keys).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI

from realtalk.server import ServerHandle, serve
from realtalk.server.engines import ToneSynthesizer
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines

SYNTH = ToneSynthesizer(24000)


def speech(text: str) -> bytes:
    return b"".join(SYNTH.synthesize(text))


def silence(ms: int) -> bytes:
    return bytes(48 * ms)


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    async with serve(engines=tone_engines()) as handle:
        yield handle


async def collect_until_done(conn: Any, dialect: str) -> list[dict[str, Any]]:
    events = []
    while True:
        raw = await conn.recv_bytes()
        event = assert_valid_server_event(dialect, raw.decode())
        events.append(event)
        if event["type"] == "response.done":
            return events
        assert event["type"] != "error", event


async def text_turn(conn: Any, dialect: str, text: str) -> list[dict[str, Any]]:
    """Send ``text`` as a user message, ask for a response and collect its events."""
    await conn.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )
    await conn.response.create()
    return await collect_until_done(conn, dialect)


def deltas(events: list[dict[str, Any]], kind: str) -> str:
    """The text deltas of every ``kind`` event, joined."""
    return "".join(e["delta"] for e in events if e["type"] == kind)


async def test_ga_text_turn(server: ServerHandle) -> None:
    client = AsyncOpenAI(api_key=server.api_key, websocket_base_url=server.url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        events = await text_turn(conn, "ga", "Hello there.")
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["session.created", "conversation.created", "session.updated"]
    text = deltas(events, "response.output_text.delta")
    assert text == "Hello there."
    assert events[-1]["response"]["status"] == "completed"


async def test_ga_audio_turn_with_server_vad(server: ServerHandle) -> None:
    client = AsyncOpenAI(api_key=server.api_key, websocket_base_url=server.url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "whisper-1"}}},
            }
        )
        audio = silence(300) + speech("what time is it") + silence(800)
        for offset in range(0, len(audio), 9600):
            chunk = base64.b64encode(audio[offset : offset + 9600]).decode()
            await conn.input_audio_buffer.append(audio=chunk)
        events = await collect_until_done(conn, "ga")
    kinds = [e["type"] for e in events]
    for expected in (
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "response.output_audio.delta",
    ):
        assert expected in kinds
    [completed] = [e for e in events if e["type"].endswith("transcription.completed")]
    assert completed["transcript"] == "what time is it"
    transcript = deltas(events, "response.output_audio_transcript.delta")
    assert transcript == "what time is it"
    audio_out = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    assert len(audio_out) == SYNTH.samples("what time is it") * 2


async def test_beta_text_and_audio_turns(server: ServerHandle) -> None:
    client = AsyncOpenAI(api_key=server.api_key, websocket_base_url=server.url)
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        await conn.session.update(session={"modalities": ["text"], "turn_detection": None})
        events = await text_turn(conn, "beta", "Hi beta.")
        assert events[0]["type"] == "session.created"
        assert "modalities" in events[0]["session"]
        text = deltas(events, "response.text.delta")
        assert text == "Hi beta."

        await conn.session.update(session={"modalities": ["audio", "text"]})
        await conn.input_audio_buffer.append(audio=base64.b64encode(speech("good night")).decode())
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        events = await collect_until_done(conn, "beta")
    kinds = [e["type"] for e in events]
    assert "input_audio_buffer.committed" in kinds
    assert "conversation.item.created" in kinds
    assert "response.audio.delta" in kinds
    transcript = deltas(events, "response.audio_transcript.delta")
    assert transcript == "good night"


async def test_azure_preview_route_with_azure_client(server: ServerHandle) -> None:
    client = AsyncAzureOpenAI(
        api_key=server.api_key,
        api_version="2025-04-01-preview",
        azure_endpoint=f"http://127.0.0.1:{server.port}",
        # The Azure client forces wss:// unless given a WebSocket base URL (openai 3.52).
        websocket_base_url=f"ws://127.0.0.1:{server.port}/openai",
    )
    async with client.beta.realtime.connect(model="my-deployment") as conn:
        created = assert_valid_server_event("beta", (await conn.recv_bytes()).decode())
        # A deployment name is not a model id: the session reports the underlying model.
        assert created["session"]["model"] == "gpt-4o-realtime-preview"
        # Azure's modality rule: audio-only is rejected with the beta message (protocol.md §4).
        await conn.session.update(session={"modalities": ["audio"]})
        while True:
            event = assert_valid_server_event("beta", (await conn.recv_bytes()).decode())
            if event["type"] == "error":
                break
    assert event["error"]["code"] == "invalid_value"
    assert event["error"]["param"] == "session.modalities"


async def test_azure_ga_route_with_openai_client(server: ServerHandle) -> None:
    client = AsyncOpenAI(
        api_key=server.api_key, websocket_base_url=f"ws://127.0.0.1:{server.port}/openai/v1"
    )
    async with client.realtime.connect(model="my-deployment") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        events = await text_turn(conn, "ga", "Azure.")
    assert events[0]["session"]["model"] == "my-deployment"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Azure."


async def test_client_secret_authenticates_and_carries_config(server: ServerHandle) -> None:
    client = AsyncOpenAI(api_key=server.api_key, base_url=server.http_url)
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 60},
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "Be a pirate."},
    )
    assert secret.value.startswith("ek_")
    assert secret.session is not None
    assert secret.session.instructions == "Be a pirate."
    browser = AsyncOpenAI(api_key=secret.value, websocket_base_url=server.url)
    async with browser.realtime.connect(model="gpt-realtime") as conn:
        created = json.loads((await conn.recv_bytes()).decode())
    assert created["session"]["instructions"] == "Be a pirate."
