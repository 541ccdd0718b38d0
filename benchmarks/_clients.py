"""Inbound clients measured side by side: each connects to the same loopback URL, asks for a
response of ``n`` audio deltas, and returns what the client's process spent (``time.process_time``):
the steady cost per audio event, from the first audio event the app holds to the n-th, and apart
from it the one-off cost of getting the first event (from just before the request). Connecting is
not measured.

The two are kept apart on purpose. Folding the first event's one-off work into the per-event
figure made a library with a heavy first response look dearer per event the fewer events a run
had (openai-agents spends 8-14 ms of CPU before its first audio event, realtalk 1-1.5 ms: 2-3.5 us
per event folded into a 4,000-event run), so this harness disagreed with the plain user-loop harness
(``benchmarks/userloop.py``, first to n-th) on the openai-agents ratio.

Each run has a fresh interpreter to itself (:func:`run_in_own_process`), as a user's app runs one
SDK: run one after another in one process, the clients shared its heap and allocator. Importing
openai-agents alone leaves ~166,000 more objects for the garbage collector to track (21,000 for
the bare loop, 28,000 for realtalk), so every client after it ran in a process shaped by another
library, and the order of the rounds decided what each paid.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from benchmarks._harness import PeerMissing, child_main, run_child
from benchmarks._machine import has_module

__all__ = ["INBOUND_CLIENTS", "InboundSample", "Meter", "run_in_own_process"]


@dataclass(frozen=True)
class InboundSample:
    us_per_event: float  # steady state: first audio event to the n-th, / (n - 1)
    first_event_ms: float  # from just before the request to the first audio event


class Meter:
    """Counts app-visible audio events and keeps the two figures of an :class:`InboundSample`.

    One figure per run, not per batch: every client reads in bursts (its reader fills a queue,
    then the app drains it), so short windows would measure the bursts, not the cost.
    """

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError("a run needs at least 2 audio events (first to n-th)")
        self.n = n
        self.count = 0
        self._start = 0.0
        self._first = 0.0
        self._end = math.nan

    def start(self) -> None:
        self._start = time.process_time()

    def tick(self) -> bool:
        """Call once per audio event the app received; True once all ``n`` arrived."""
        self.count += 1
        if self.count == 1:
            self._first = time.process_time()
        elif self.count >= self.n:
            self._end = time.process_time()
            return True
        return False

    @property
    def sample(self) -> InboundSample:
        return InboundSample(
            us_per_event=(self._end - self._first) / (self.n - 1) * 1e6,
            first_event_ms=(self._first - self._start) * 1e3,
        )


async def floor_websockets(url: str, n: int, deflate: bool) -> InboundSample:
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
    return meter.sample


async def floor_aiohttp(url: str, n: int, deflate: bool) -> InboundSample:
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
    return meter.sample


async def realtalk_session(
    url: str, n: int, deflate: bool, record: str | None = None
) -> InboundSample:
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
    return meter.sample


async def realtalk_recording(url: str, n: int, deflate: bool) -> InboundSample:
    """The same session recording itself (SessionOptions(record=...)) into a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="realtalk-bench-") as folder:
        return await realtalk_session(url, n, deflate, record=folder)


def _agents_quiet() -> None:
    # Tracing would export spans from a background thread (and try the network).
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import set_tracing_disabled

    set_tracing_disabled(True)


async def agents_session(url: str, n: int, deflate: bool) -> InboundSample:
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
    return meter.sample


Client = Callable[[str, int, bool], Coroutine[Any, Any, InboundSample]]

INBOUND_CLIENTS: dict[str, Client] = {
    "floor: websockets": floor_websockets,
    "floor: aiohttp": floor_aiohttp,
    "realtalk Session": realtalk_session,
    "realtalk Session, recording": realtalk_recording,
    "openai-agents RealtimeSession": agents_session,
}


def run_in_own_process(name: str, url: str, n: int, deflate: bool) -> InboundSample:
    """One run of client ``name`` in a fresh interpreter (``python -m benchmarks._clients``)."""
    line = run_child("benchmarks._clients", name, url, str(n), str(int(deflate)))
    return InboundSample(**json.loads(line))


def _main(argv: list[str]) -> int:
    name, url, n, deflate = argv[0], argv[1], int(argv[2]), argv[3] == "1"
    client = INBOUND_CLIENTS[name]
    return child_main(lambda: json.dumps(dataclasses.asdict(asyncio.run(client(url, n, deflate)))))


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
