"""The reader's hot path end to end: a real loopback server streams compact audio deltas (the
shape the decoder's fast path takes) mixed with every case that must leave it, and the app's
``async for`` sees exactly the wire's events, in order, with their audio, under each queue
policy (some of them in binary frames); the recording keeps the audio byte for byte."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

import realtalk as rt
from realtalk import events as ev
from realtalk import recording
from realtalk.providers import Compatible

from ..samples import ga_session

RID, ITEM = "resp_hot", "item_hot"
WHERE = {"response_id": RID, "item_id": ITEM, "output_index": 0, "content_index": 0}


def compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def audio(n: int) -> bytes:
    return bytes((n * 31 + i) % 256 for i in range(960))  # 20 ms of PCM16 24 kHz


def stream() -> tuple[list[str], list[tuple[type, Any]]]:
    """The response's wire messages, and what the app must see of them (type, audio/delta)."""
    texts: list[str] = []
    seen: list[tuple[type, Any]] = []

    def delta(n: int, **extra: Any) -> dict[str, Any]:
        return {"type": "response.output_audio.delta", "event_id": f"ev_{n}", **WHERE,
                "delta": base64.b64encode(audio(n)).decode(), **extra}  # fmt: skip

    response = {"id": RID, "object": "realtime.response", "status": "in_progress", "output": []}
    texts.append(compact({"type": "response.created", "response": response}))
    seen.append((ev.ResponseCreated, None))
    for n in range(40):
        message = delta(n)
        if n % 10 == 3:
            message["type"] = "response.audio.delta"  # the beta name, on a GA session
        if n % 10 == 5:
            del message["event_id"]
        if n % 10 == 7:
            message = {"delta": message.pop("delta"), **message}  # the payload first
        text = compact(message)
        if n % 10 == 9:
            text = text.replace("/", "\\/")  # escaped slashes: the general parser's case
        texts.append(text)
        seen.append((ev.AudioDelta, audio(n)))
        if n % 4 == 0:
            word = {"type": "response.output_audio_transcript.delta", **WHERE, "delta": f"w{n} "}
            texts.append(compact(word))
            seen.append((ev.AudioTranscriptDelta, f"w{n} "))
    bad = delta(99)
    bad["delta"] = "not base64!"
    texts.append(compact(bad))
    seen += [(ev.ProtocolViolation, None), (ev.SessionError, None)]
    texts.append(compact({"type": "response.output_audio.done", **WHERE}))
    seen.append((ev.AudioDone, None))
    texts.append(compact({"type": "response.done", "response": dict(response, status="completed")}))
    seen.append((ev.ResponseDone, None))
    return texts, seen


@asynccontextmanager
async def streaming_server(texts: list[str]) -> AsyncIterator[str]:
    session = ga_session(id="sess_hot", model="gpt-realtime", expires_at=0)

    async def handler(ws: ServerConnection) -> None:
        await ws.send(compact({"type": "session.created", "session": session}))
        async for text in ws:
            kind = json.loads(text)["type"]
            if kind == "session.update":
                await ws.send(compact({"type": "session.updated", "session": session}))
            elif kind == "response.create":
                for n, message in enumerate(texts):
                    # Every seventh as a binary frame: the reader decodes it as UTF-8.
                    await ws.send(message.encode() if n % 7 == 2 else message)

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


def shown(event: Any) -> tuple[type, Any]:
    if isinstance(event, ev.AudioDelta):
        return type(event), event.audio
    if isinstance(event, ev.AudioTranscriptDelta):
        return type(event), event.delta
    return type(event), None


KINDS = (ev.ResponseCreated, ev.AudioDelta, ev.AudioTranscriptDelta, ev.ProtocolViolation,
         ev.SessionError, ev.AudioDone, ev.ResponseDone)  # fmt: skip


@pytest.mark.parametrize(
    ("queue_size", "raw_tap"),
    [(1024, False), (4, False), (1024, True)],
    ids=["room", "full-blocks", "raw-tap"],
)
async def test_the_app_sees_the_wire_in_order_and_the_recording_keeps_the_audio(
    tmp_path: Path, queue_size: int, raw_tap: bool
) -> None:
    texts, expected = stream()
    async with streaming_server(texts) as url:
        runner = rt.Runner(
            rt.Agent("a"),
            provider=Compatible(url),
            record=tmp_path,
            queue_size=queue_size,
            raw_tap=raw_tap,
        )
        async with runner.connect() as session:
            await session.create_response()
            seen: list[Any] = []
            async for event in session:
                seen.append(event)
                if isinstance(event, ev.ResponseDone):
                    break
            got = [shown(e) for e in seen if isinstance(e, KINDS)]
            assert got[got.index((ev.ResponseCreated, None)) :] == expected
            deltas = [e for e in seen if isinstance(e, ev.AudioDelta)]
            assert [d.event_id for d in deltas[:6]] == [f"ev_{n}" for n in range(5)] + [None]
            assert {(d.response_id, d.item_id, d.output_index) for d in deltas} == {(RID, ITEM, 0)}
            total = sum(len(d.audio) for d in deltas)
            assert total == 40 * 960
            assert session.conversation.get(ITEM).audio_bytes == total  # type: ignore[union-attr]
            assert session.playback.received_ms(ITEM) == 800.0
            raw_in = [e.text for e in seen if isinstance(e, ev.RawMessage) and e.direction == "in"]
            if raw_tap:
                assert all(text in raw_in for text in texts)
            else:
                assert raw_in == []
            where = session.recording_path
    assert where is not None
    rec = recording.load(where)
    assistant = b"".join(audio(n) for n in range(40))
    assert (where / "assistant.raw").read_bytes() == assistant
    replayed = [json.loads(rec.wire_text(r)) for r in rec.wire("server")]
    sent = [json.loads(text) for text in texts]
    assert replayed[-len(sent) :] == sent
