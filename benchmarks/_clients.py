"""Inbound clients measured side by side: each connects to the same loopback URL, asks for a
response, and records client CPU (``time.process_time``) every ``batch`` audio events.

Each returns per-event CPU samples in microseconds (one per batch). Connecting is not measured;
the clock starts at the first audio event the app receives.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._harness import PeerMissing
from benchmarks._machine import has_module

__all__ = ["INBOUND_CLIENTS", "Meter"]


class Meter:
    """Counts app-visible audio events and samples CPU per batch."""

    def __init__(self, n: int, batch: int) -> None:
        self.n = n
        self.batch = batch
        self.count = 0
        self.samples: list[float] = []
        self._mark: float | None = None

    def tick(self) -> bool:
        """Call once per audio event the app received; True once all ``n`` arrived."""
        self.count += 1
        if self._mark is None:
            self._mark = time.process_time()
        elif (self.count - 1) % self.batch == 0:
            now = time.process_time()
            self.samples.append((now - self._mark) / self.batch * 1e6)
            self._mark = now
        return self.count >= self.n


async def floor_websockets(url: str, n: int, batch: int, deflate: bool) -> list[float]:
    from websockets.asyncio.client import connect

    meter = Meter(n, batch)
    async with connect(
        url, compression="deflate" if deflate else None, max_size=None, ping_interval=None
    ) as ws:
        await ws.recv()  # session.created
        await ws.send(json.dumps({"type": "response.create"}))
        async for text in ws:
            event = json.loads(text)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if meter.tick():
                    break
    return meter.samples


async def floor_aiohttp(url: str, n: int, batch: int, deflate: bool) -> list[float]:
    if not has_module("aiohttp"):
        raise PeerMissing("aiohttp is not installed (pip install -e '.[bench]')")
    import aiohttp

    meter = Meter(n, batch)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, compress=15 if deflate else 0, max_msg_size=0, autoping=True) as ws,
    ):
        await ws.receive_str()
        await ws.send_str(json.dumps({"type": "response.create"}))
        while True:
            event = json.loads(await ws.receive_str())
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if meter.tick():
                    break
    return meter.samples


async def realtalk_session(url: str, n: int, batch: int, deflate: bool) -> list[float]:
    import realtalk as rt
    from realtalk.events import AudioDelta
    from realtalk.transports.websocket import connect_websocket

    connector: Any = None
    if deflate:

        async def connector(u: str, h: Any, s: Any) -> Any:
            return await connect_websocket(u, h, s, compression=True)

    meter = Meter(n, batch)
    runner = rt.Runner(
        rt.Agent(name="bench"), provider=rt.providers.Compatible(url), connector=connector
    )
    async with runner.connect() as session:
        await session.create_response()
        async for event in session:
            match event:
                case AudioDelta(audio=audio):
                    assert audio
                    if meter.tick():
                        break
    return meter.samples


def _agents_quiet() -> None:
    # Tracing would export spans from a background thread (and try the network).
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import set_tracing_disabled

    set_tracing_disabled(True)


async def agents_session(url: str, n: int, batch: int, deflate: bool) -> list[float]:
    if not has_module("agents.realtime"):
        raise PeerMissing("openai-agents is not installed (pip install -e '.[bench]')")
    # openai-agents always offers permessage-deflate; the server decides whether it is used.
    _agents_quiet()
    from agents.realtime import RealtimeAgent, RealtimeRunner
    from agents.realtime.model_inputs import RealtimeModelSendRawMessage

    meter = Meter(n, batch)
    runner = RealtimeRunner(RealtimeAgent(name="bench", instructions=""))
    session = await runner.run(
        model_config={
            "url": url,
            "headers": {"Authorization": "Bearer bench"},
            "initial_model_settings": {"tracing": None},
        }
    )
    async with session:
        await session.model.send_event(
            RealtimeModelSendRawMessage(message={"type": "response.create"})
        )
        async for event in session:
            if event.type == "audio":
                assert event.audio.data
                if meter.tick():
                    break
    return meter.samples


Client = Callable[[str, int, int, bool], Awaitable[list[float]]]

INBOUND_CLIENTS: dict[str, Client] = {
    "floor: websockets": floor_websockets,
    "floor: aiohttp": floor_aiohttp,
    "realtalk Session": realtalk_session,
    "openai-agents RealtimeSession": agents_session,
}
