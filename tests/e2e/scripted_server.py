"""A small scripted GA Realtime server on a real loopback socket (websockets.serve).

It exists for what the local server never does on purpose: send a malformed frame, stream
slowly enough to interrupt at a known point, answer in an order a strict server may choose,
cut the connection (RST, FIN, a close code) at a known point, and record exactly what the
client sent. A response is either the default audio stream (:class:`Script`) or a list of
steps (:class:`Send`, :class:`WaitFor`, :class:`Sleep`, :class:`Close`, :class:`Cut`,
:class:`Stall`, :class:`Flood`, :class:`BigFrame`) in ``Script.responses``, one list per
``response.create`` in order.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

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


@dataclass(frozen=True)
class Send:
    """Send ``event``; the strings ``"$rid"`` and ``"$item"`` are replaced by the response's
    ids, ``"$create_event_id"`` by the event_id of the client's last ``response.create``."""

    event: dict[str, Any]


@dataclass(frozen=True)
class WaitFor:
    """Wait until the client sent one more message of type ``kind`` (than already waited for)."""

    kind: str


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Close:
    """A WebSocket close frame with ``code``."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class Cut:
    """End the TCP connection without a close frame: ``"rst"`` (abort) or ``"fin"``."""

    how: str


@dataclass(frozen=True)
class Stall:
    """Stop sending, and stop reading too when ``deaf`` (pings go unanswered)."""

    deaf: bool = False


@dataclass(frozen=True)
class Flood:
    """``count`` conversation items, each after the previous one (added, then done)."""

    count: int


@dataclass(frozen=True)
class BigFrame:
    """One text frame declaring ``size`` bytes, its payload streamed in 1 MiB pieces for as long
    as the client keeps reading (``ScriptedServer.big_frame_sent`` counts what went out)."""

    size: int


@dataclass(frozen=True)
class BadText:
    """One text frame whose payload is not UTF-8, written as raw bytes (websockets' own send
    only takes valid text)."""

    payload: bytes = b'{"type":"bad \xff\xfe"}'


Step = Send | WaitFor | Sleep | Close | Cut | Stall | Flood | BigFrame | BadText


@dataclass
class Script:
    """What the server does on response.create."""

    chunks: int = 5
    chunk_bytes: int = 4800  # 100 ms of PCM16 24 kHz
    delay: float = 0.0
    transcript: str = "Hello there."
    malformed_before_response: bool = False
    responses: list[list[Step]] = field(default_factory=list)
    """Per response.create, in order; once used up, the default audio stream."""
    on_text: dict[str, list[Step]] = field(default_factory=dict)
    """Steps run when the client adds a user message with exactly this text."""


@dataclass
class ScriptedServer:
    script: Script = field(default_factory=Script)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    session: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(GA_SESSION))
    _counter: int = 0
    _cancel: asyncio.Event = field(default_factory=asyncio.Event)
    _active: str | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _waited: dict[str, int] = field(default_factory=dict)
    _responses_started: int = 0
    big_frame_sent: int = 0

    def types(self) -> list[str]:
        return [e["type"] for e in self.received]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["type"] == kind]

    def _id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    async def handler(self, ws: ServerConnection) -> None:
        with suppress(ConnectionClosed):  # the tests cut connections on purpose
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        async def send(event: dict[str, Any]) -> None:
            event.setdefault("event_id", self._id("event"))
            await ws.send(json.dumps(event))

        await send({"type": "session.created", "session": self.session})
        tasks: set[asyncio.Task[None]] = set()

        def run(steps: list[Step]) -> None:
            task = asyncio.create_task(self._run_steps(ws, send, steps))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async for text in ws:
            event = json.loads(text)
            self.received.append(event)
            async with self._arrived:
                self._arrived.notify_all()
            kind = event["type"]
            if kind == "conversation.item.create":
                content = event["item"].get("content") or [{}]
                steps = self.script.on_text.get(content[0].get("text", ""))
                if steps is not None:
                    run(steps)
            if kind == "response.create" and self._responses_started < len(self.script.responses):
                self._responses_started += 1
                run(self.script.responses[self._responses_started - 1])
                continue
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

    async def _wait_for(self, kind: str) -> None:
        wanted = self._waited.get(kind, 0) + 1
        self._waited[kind] = wanted
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.of_type(kind)) >= wanted)

    async def _run_steps(self, ws: ServerConnection, send: Any, steps: list[Step]) -> None:
        ids = {"$rid": self._id("resp"), "$item": self._id("item")}
        self._active = ids["$rid"]
        try:
            await self._steps(ws, send, steps, ids)
        finally:
            self._active = None

    async def _steps(
        self, ws: ServerConnection, send: Any, steps: list[Step], ids: dict[str, str]
    ) -> None:
        for step in steps:
            match step:
                case Send(event=event):
                    creates = self.of_type("response.create")
                    ids["$create_event_id"] = creates[-1].get("event_id", "") if creates else ""
                    await send(_fill(event, ids))
                case WaitFor(kind=kind):
                    await self._wait_for(kind)
                case Sleep(seconds=seconds):
                    await asyncio.sleep(seconds)
                case Close(code=code, reason=reason):
                    await ws.close(code, reason)
                case Cut(how=how):
                    sock = ws.transport.get_extra_info("socket")
                    if how == "rst":
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        ws.transport.abort()
                    else:
                        sock.shutdown(socket.SHUT_WR)  # FIN, and no close frame ever
                case Stall(deaf=deaf):
                    if deaf:
                        ws.transport.pause_reading()
                    await asyncio.Event().wait()
                case Flood(count=count):
                    previous = None
                    for index in range(count):
                        item = {
                            "id": f"flood_{index}",
                            "type": "message",
                            "role": "user",
                            "status": "completed",
                            "content": [{"type": "input_text", "text": f"line {index}"}],
                        }
                        added = {"type": "conversation.item.added", "item": item}
                        added["previous_item_id"] = previous
                        await send(added)
                        await send({"type": "conversation.item.done", "item": item})
                        previous = item["id"]
                case BigFrame(size=size):
                    await self._big_frame(ws, size)
                case BadText(payload=payload):
                    assert len(payload) < 126  # the frame's one-byte length
                    ws.transport.write(b"\x81" + bytes([len(payload)]) + payload)

    async def _big_frame(self, ws: ServerConnection, size: int) -> None:
        transport = ws.transport
        transport.write(b"\x81\x7f" + struct.pack("!Q", size))  # FIN + text, 64-bit length
        piece = b"a" * (1024 * 1024)
        while self.big_frame_sent < size and not transport.is_closing():
            transport.write(piece)
            self.big_frame_sent += len(piece)
            while transport.get_write_buffer_size() > 4 * len(piece):
                if transport.is_closing():
                    return
                await asyncio.sleep(0.01)

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


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@asynccontextmanager
async def scripted_server(script: Script | None = None) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(script or Script())

    async with serve(server.handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/v1/realtime"
        yield server
