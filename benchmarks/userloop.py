"""The second, plain harness for the inbound figure: each run written as a user would write it.

One fresh process per run (``python -m benchmarks.userloop CLIENT URL N``): connect, ask for a
response, ``async for event in session``, count the audio events. The loopback server
(``benchmarks/_loopback.py``, another process, no permessage-deflate) streams N deltas of 100 ms
or 20 ms of PCM16 24 kHz as fast as the socket takes them. The figure is the process's CPU time
from the first audio event the app holds to the N-th, divided by N - 1: connecting, imports and
the first event's one-off costs are outside the window, everything the process does inside it
(the library's reader, its other events, the garbage collector, other threads) is in.

It shares no code with the clients of ``benchmarks/inbound.py`` (``_clients.py``) on purpose: the
two harnesses must agree (within 5 %) for the inbound figure to be believed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from benchmarks import _targets
from benchmarks._harness import ROOT, LoopbackServer
from benchmarks._machine import has_module
from benchmarks._stats import Table, fmt_ratio, median, spread

__all__ = ["CLIENTS", "available", "measure_runs", "one_run", "run", "table"]


class Window:
    """CPU time from the first counted event to the n-th."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.first = 0.0
        self.us_per_event = float("nan")

    def tick(self) -> bool:
        self.count += 1
        if self.count == 1:
            self.first = time.process_time()
        elif self.count >= self.n:
            self.us_per_event = (time.process_time() - self.first) / (self.n - 1) * 1e6
            return True
        return False


async def floor(url: str, n: int) -> float:
    from websockets.asyncio.client import connect

    window = Window(n)
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "response.create"}))
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if window.tick():
                    break
    return window.us_per_event


async def realtalk(url: str, n: int) -> float:
    import realtalk as rt

    window = Window(n)
    runner = rt.Runner(rt.Agent(name="bench"), provider=rt.providers.Compatible(url))
    async with runner.connect() as session:
        await session.create_response()
        async for event in session:
            if isinstance(event, rt.events.AudioDelta) and window.tick():
                break
    return window.us_per_event


async def agents(url: str, n: int) -> float:
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import set_tracing_disabled
    from agents.realtime import RealtimeAgent, RealtimeRunner
    from agents.realtime.model_inputs import RealtimeModelSendRawMessage

    set_tracing_disabled(True)
    window = Window(n)
    runner = RealtimeRunner(RealtimeAgent(name="bench", instructions=""))
    config: Any = {
        "url": url,
        "headers": {"Authorization": "Bearer bench"},
        "initial_model_settings": {"tracing": None},
    }
    session = await runner.run(model_config=config)
    async with session:
        message = RealtimeModelSendRawMessage(message={"type": "response.create"})
        await session.model.send_event(message)
        async for event in session:
            if event.type == "audio" and window.tick():
                break
    return window.us_per_event


CLIENTS: dict[str, Callable[[str, int], Coroutine[Any, Any, float]]] = {
    "floor: websockets": floor,
    "realtalk Session": realtalk,
    "openai-agents RealtimeSession": agents,
}
NEEDS = {"openai-agents RealtimeSession": "agents.realtime"}


def one_run(client: str, url: str, n: int) -> float:
    """One run in a fresh interpreter; the figure it prints (us per event)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.userloop", client, url, str(n)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return float(out.split()[-1])


def measure_runs(
    deltas: dict[int, int], runs: int, clients: list[str]
) -> dict[tuple[int, str], list[float]]:
    """Samples per (delta ms, client), runs interleaved (rotating the order) against drift."""
    samples: dict[tuple[int, str], list[float]] = {}
    with LoopbackServer(deflate=False) as server:
        for ms, n in deltas.items():
            url = server.url(mode="stream", n=n, ms=ms)
            for round_no in range(runs):
                shift = round_no % len(clients)
                for name in clients[shift:] + clients[:shift]:
                    samples.setdefault((ms, name), []).append(one_run(name, url, n))
    return samples


@dataclass(frozen=True)
class Plan:
    runs: int
    events: dict[int, int]


FULL = Plan(runs=7, events={100: 8000, 20: 16000})
QUICK = Plan(runs=1, events={100: 100, 20: 200})


def available() -> list[str]:
    """The clients this machine can run (a peer library may be missing)."""
    return [c for c in CLIENTS if c not in NEEDS or has_module(NEEDS[c])]


def table(
    samples: dict[tuple[int, str], list[float]], events: dict[int, int], clients: list[str]
) -> Table:
    """The user loop's table and targets from its samples (us per event, per delta and client)."""
    table = Table(
        "Inbound, plain user loop: CPU per audio event, first to N-th, fresh process per run (us)",
        ["case / client", "median", "p10", "p90", "vs floor", "runs"],
    )
    for ms, n in events.items():
        base = median(samples.get((ms, "floor: websockets"), []))
        for name in clients:
            values = samples[(ms, name)]
            _targets.publish_samples(f"userloop.{ms}.{name}", values)
            p10, p90 = spread(values)
            mid = median(values)
            table.add(f"{ms} ms x {n}: {name}", mid, p10, p90, fmt_ratio(mid, base), len(values))
        ours = median(samples[(ms, "realtalk Session")])
        peer = math.nan
        if "openai-agents RealtimeSession" in clients:
            peer = median(samples[(ms, "openai-agents RealtimeSession")])
            table.note(f"{ms} ms: openai-agents / realtalk = {peer / ours:.2f}x")
        goal = 1.10 if ms == 100 else 1.15
        what = f"user loop {ms} ms"
        table.target(_targets.at_most(f"{what}: realtalk / floor", ours / base, goal))
        table.target(_targets.at_least(f"{what}: openai-agents / realtalk", peer / ours, 1.25))
        _targets.publish(f"userloop.{ms}.realtalk/floor", ours / base)
        _targets.publish(f"userloop.{ms}.agents/realtalk", peer / ours)
    for name in CLIENTS:
        if name not in clients:
            table.note(f"{name}: skipped, {NEEDS[name]} is not installed")
    table.note("no permessage-deflate; the server is benchmarks/_loopback.py in another process")
    return table


def run(quick: bool = False) -> list[Table]:
    """This harness on its own (``python -m benchmarks --only userloop``); a full run measures
    it inside the inbound benchmark's rounds instead (``benchmarks/inbound.py``)."""
    plan = QUICK if quick else FULL
    clients = available()
    return [table(measure_runs(plan.events, plan.runs, clients), plan.events, clients)]


if __name__ == "__main__":
    name, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(f"{asyncio.run(CLIENTS[name](url, count)):.4f}")
