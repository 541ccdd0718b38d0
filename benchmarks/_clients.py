"""Inbound clients measured side by side: each connects to the same loopback URL, asks for a
response of ``n`` audio deltas, and returns the client's CPU time (``time.process_time``) per
audio event delivered to the app, in microseconds. Connecting is not measured: the clock starts
just before the request and stops at the n-th audio event the app holds.
"""

from __future__ import annotations

import base64
import json
import math
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks._harness import PeerMissing
from benchmarks._machine import has_module

__all__ = ["INBOUND_CLIENTS", "Meter"]


class Meter:
    """Counts app-visible audio events; CPU from just before the request to the n-th event.

    One figure per run, not per batch: every client reads in bursts (its reader fills a queue,
    then the app drains it), so short windows would measure the bursts, not the cost.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self._start = 0.0
        self.us_per_event = math.nan

    def start(self) -> None:
        self._start = time.process_time()

    def tick(self) -> bool:
        """Call once per audio event the app received; True once all ``n`` arrived."""
        self.count += 1
        if self.count >= self.n:
            self.us_per_event = (time.process_time() - self._start) / self.n * 1e6
            return True
        return False


async def floor_websockets(url: str, n: int, deflate: bool) -> float:
    from websockets.asyncio.client import connect

    meter = Meter(n)
    async with connect(
        url, compression="deflate" if deflate else None, max_size=None, ping_interval=None
    ) as ws:
        await ws.recv()  # session.created
        meter.start()
        await ws.send(json.dumps({"type": "response.create"}))
        async for text in ws:
            event = json.loads(text)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if meter.tick():
                    break
    return meter.us_per_event


async def floor_aiohttp(url: str, n: int, deflate: bool) -> float:
    if not has_module("aiohttp"):
        raise PeerMissing("aiohttp is not installed (pip install -e '.[bench]')")
    import aiohttp

    meter = Meter(n)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, compress=15 if deflate else 0, max_msg_size=0, autoping=True) as ws,
    ):
        await ws.receive_str()
        meter.start()
        await ws.send_str(json.dumps({"type": "response.create"}))
        while True:
            event = json.loads(await ws.receive_str())
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if meter.tick():
                    break
    return meter.us_per_event


async def realtalk_session(url: str, n: int, deflate: bool, record: str | None = None) -> float:
    import realtalk as rt
    from realtalk.events import AudioDelta
    from realtalk.transports.websocket import connect_websocket

    connector: Any = None
    if deflate:

        async def connector(u: str, h: Any, s: Any) -> Any:
            return await connect_websocket(u, h, s, compression=True)

    meter = Meter(n)
    runner = rt.Runner(
        rt.Agent(name="bench"),
        provider=rt.providers.Compatible(url),
        connector=connector,
        record=record,
    )
    async with runner.connect() as session:
        meter.start()
        await session.create_response()
        async for event in session:
            match event:
                case AudioDelta(audio=audio):
                    assert audio
                    if meter.tick():
                        break
    return meter.us_per_event


async def realtalk_recording(url: str, n: int, deflate: bool) -> float:
    """The same session recording itself (SessionOptions(record=...)) into a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="realtalk-bench-") as folder:
        return await realtalk_session(url, n, deflate, record=folder)


def _agents_quiet() -> None:
    # Tracing would export spans from a background thread (and try the network).
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import set_tracing_disabled

    set_tracing_disabled(True)


async def agents_session(url: str, n: int, deflate: bool) -> float:
    if not has_module("agents.realtime"):
        raise PeerMissing("openai-agents is not installed (pip install -e '.[bench]')")
    # openai-agents always offers permessage-deflate; the server decides whether it is used.
    _agents_quiet()
    from agents.realtime import RealtimeAgent, RealtimeRunner
    from agents.realtime.model_inputs import RealtimeModelSendRawMessage

    meter = Meter(n)
    runner = RealtimeRunner(RealtimeAgent(name="bench", instructions=""))
    session = await runner.run(
        model_config={
            "url": url,
            "headers": {"Authorization": "Bearer bench"},
            "initial_model_settings": {"tracing": None},
        }
    )
    async with session:
        meter.start()
        await session.model.send_event(
            RealtimeModelSendRawMessage(message={"type": "response.create"})
        )
        async for event in session:
            if event.type == "audio":
                assert event.audio.data
                if meter.tick():
                    break
    return meter.us_per_event


Client = Callable[[str, int, bool], Coroutine[Any, Any, float]]

INBOUND_CLIENTS: dict[str, Client] = {
    "floor: websockets": floor_websockets,
    "floor: aiohttp": floor_aiohttp,
    "realtalk Session": realtalk_session,
    "realtalk Session, recording": realtalk_recording,
    "openai-agents RealtimeSession": agents_session,
}
