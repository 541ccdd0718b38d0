"""A small scripted GA Realtime server on a real loopback socket (websockets.serve).

It exists for what the local server never does on purpose: send a malformed frame, stream
slowly enough to interrupt at a known point, and record exactly what the client sent.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from ..samples import ga_session

GA_SESSION = ga_session(id="sess_scripted", model="gpt-realtime", expires_at=0)


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "turn_detection":
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Script:
    """What the server does on response.create."""

    chunks: int = 5
    chunk_bytes: int = 4800  # 100 ms of PCM16 24 kHz
    delay: float = 0.0
    transcript: str = "Hello there."
    malformed_before_response: bool = False


@dataclass
class ScriptedServer:
    script: Script = field(default_factory=Script)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    session: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(GA_SESSION))
    _counter: int = 0
    _cancel: asyncio.Event = field(default_factory=asyncio.Event)
    _active: str | None = None

    def types(self) -> list[str]:
        return [e["type"] for e in self.received]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["type"] == kind]

    def _id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    async def handler(self, ws: ServerConnection) -> None:
        async def send(event: dict[str, Any]) -> None:
            event.setdefault("event_id", self._id("event"))
            await ws.send(json.dumps(event))

        await send({"type": "session.created", "session": self.session})
        tasks: set[asyncio.Task[None]] = set()
        async for text in ws:
            event = json.loads(text)
            self.received.append(event)
            kind = event["type"]
            if kind == "session.update":
                self.session = deep_merge(self.session, event["session"])
                await send({"type": "session.updated", "session": self.session})
            elif kind == "conversation.item.create":
                item = dict(event["item"], id=self._id("item"))
                await send({"type": "conversation.item.added", "item": item})
                await send({"type": "conversation.item.done", "item": item})
            elif kind == "response.create":
                task = asyncio.create_task(self._respond(ws, send))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif kind == "response.cancel":
                if self._active is None:
                    await send(
                        {
                            "type": "error",
                            "error": {
                                "type": "invalid_request_error",
                                "code": "response_cancel_not_active",
                                "message": "Cancellation failed: no active response found",
                                "param": None,
                                "event_id": event.get("event_id"),
                            },
                        }
                    )
                else:
                    self._cancel.set()
            elif kind == "conversation.item.truncate":
                await send(
                    {
                        "type": "conversation.item.truncated",
                        "item_id": event["item_id"],
                        "content_index": event["content_index"],
                        "audio_end_ms": event["audio_end_ms"],
                    }
                )

    async def _respond(self, ws: ServerConnection, send: Any) -> None:
        script = self.script
        rid, item_id = self._id("resp"), self._id("item")
        self._active = rid
        self._cancel.clear()
        base = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        if script.malformed_before_response:
            await ws.send("{this is not json")
        response = {"id": rid, "object": "realtime.response", "status": "in_progress", "output": []}
        await send({"type": "response.created", "response": response})
        item = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        await send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": 0,
                "item": item,
            }
        )
        status = "completed"
        words = script.transcript.split(" ")
        for index in range(script.chunks):
            if self._cancel.is_set():
                status = "cancelled"
                break
            audio = base64.b64encode(b"\x01\x00" * (script.chunk_bytes // 2)).decode()
            await send({"type": "response.output_audio.delta", **base, "delta": audio})
            if index < len(words):
                await send(
                    {
                        "type": "response.output_audio_transcript.delta",
                        **base,
                        "delta": words[index] + " ",
                    }
                )
            if script.delay:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._cancel.wait(), script.delay)
        if status == "completed":
            await send({"type": "response.output_audio.done", **base})
            await send(
                {
                    "type": "response.output_audio_transcript.done",
                    **base,
                    "transcript": script.transcript,
                }
            )
        response = dict(response, status=status)
        await send({"type": "response.done", "response": response})
        self._active = None


@asynccontextmanager
async def scripted_server(script: Script | None = None) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(script or Script())

    async with serve(server.handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/v1/realtime"
        yield server
