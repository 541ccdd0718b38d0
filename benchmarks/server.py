"""Benchmark 6: the local server's own cost on the audio path, and sessions held at once.

The server runs in its own process (``benchmarks._server_proc``) and reports its CPU time; the
clients here are bare ``websockets`` connections sending pre-encoded events, so what is
measured is the server. Two servers side by side, rounds interleaved:

* ``realtalk``: ``realtalk.server.serve`` (no auth, energy VAD, tone synthesizer, echo brain);
* ``floor``: the least a server on this wire does (parse JSON, decode the audio, answer), on
  ``websockets`` directly: the naive second harness, so a ratio can be read across machines.

Tables: server CPU per ``input_audio_buffer.append`` of 20 ms (GA default session: server VAD
runs on every append), server CPU per ``response.output_audio.delta`` of 100 ms (the realtalk
figure includes synthesis by the tone engine and the echo brain), and N duplex sessions each
streaming 20 ms appends in real time while measuring the round trip of an
``input_audio_buffer.clear`` every 500 ms.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from benchmarks._harness import ROOT
from benchmarks._stats import Table, fmt_ratio, median, percentile, spread

__all__ = ["run"]

APPEND = json.dumps(
    {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(960)).decode()}
)  # 20 ms of PCM16 24 kHz silence
CLEAR = json.dumps({"type": "input_audio_buffer.clear"})
SAY = "The quick brown fox jumps over the lazy dog, again and again, until the end of the day."
ITEM = json.dumps(
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": SAY}],
        },
    }
)
RESPONSE = json.dumps({"type": "response.create"})


@dataclass(frozen=True)
class Plan:
    rounds: int
    appends: int
    responses: int
    ladder: tuple[int, ...]
    seconds: float


FULL = Plan(rounds=5, appends=2000, responses=5, ladder=(20, 50, 100), seconds=4.0)
QUICK = Plan(rounds=1, appends=50, responses=1, ladder=(2,), seconds=0.5)


BASELINE_ENV = "REALTALK_BENCH_BASELINE_SRC"
"""Set to another checkout's ``src`` directory to add its server as a third column, run in the
same rounds (a before/after comparison on one machine at one load)."""


class ServerProcess:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        env = dict(os.environ)
        if kind == "baseline":
            env["PYTHONPATH"] = os.pathsep.join([env[BASELINE_ENV], str(ROOT)])
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks._server_proc",
                f"--kind={'realtalk' if kind == 'baseline' else kind}",
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"the {kind} server did not start: {line!r}")
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}/v1/realtime?model=gpt-realtime"

    def stats(self) -> dict[str, float]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, float] = json.loads(self.proc.stdout.readline())
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


async def _open(url: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(url, max_size=None, compression=None)
    while json.loads(await ws.recv())["type"] != "session.created":
        pass
    return ws


async def _until(ws: Any, kind: str) -> int:
    """Read until an event of ``kind``; how many audio deltas came before it."""
    deltas = 0
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == kind:
            return deltas
        if event["type"] == "response.output_audio.delta":
            deltas += 1


async def _appends(server: ServerProcess, n: int) -> float:
    """Server CPU ms per append."""
    ws = await _open(server.url)
    try:
        server.stats()
        for _ in range(n):
            await ws.send(APPEND)
        await ws.send(CLEAR)
        await _until(ws, "input_audio_buffer.cleared")
        return server.stats()["cpu_s"] * 1000 / n
    finally:
        await ws.close()


async def _deltas(server: ServerProcess, responses: int) -> tuple[float, int]:
    """Server CPU ms per output delta, and deltas per response."""
    ws = await _open(server.url)
    try:
        # The GA default has server VAD; none is needed for a text turn.
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
                }
            )
        )
        server.stats()
        total = 0
        for _ in range(responses):
            await ws.send(ITEM)
            await ws.send(RESPONSE)
            total += await _until(ws, "response.done")
        return server.stats()["cpu_s"] * 1000 / max(1, total), total // responses
    finally:
        await ws.close()


async def _duplex(server: ServerProcess, n: int, seconds: float) -> dict[str, float]:
    sessions = await asyncio.gather(*(_open(server.url) for _ in range(n)))
    rtts: list[float] = []
    late: list[float] = []

    async def stream(ws: Any, phase: float) -> None:
        await asyncio.sleep(phase)
        start = time.monotonic()
        frame = 0
        while (now := time.monotonic()) - start < seconds:
            if frame % 25 == 24:
                sent = time.monotonic()
                await ws.send(CLEAR)
                await _until(ws, "input_audio_buffer.cleared")
                rtts.append((time.monotonic() - sent) * 1000)
            else:
                await ws.send(APPEND)
            frame += 1
            due = start + frame * 0.02
            late.append(max(0.0, (now - (due - 0.02)) * 1000))
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    try:
        server.stats()
        await asyncio.gather(*(stream(ws, i * 0.02 / n) for i, ws in enumerate(sessions)))
        stats = server.stats()
    finally:
        await asyncio.gather(*(ws.close() for ws in sessions))
    share = stats["cpu_s"] / stats["wall_s"]
    return {
        "rtt_p50": percentile(rtts, 50),
        "rtt_p99": percentile(rtts, 99),
        "late_p99": percentile(late, 99),
        "cpu_share": share,
        "cpu_ms_per_session_s": share * 1000 / n,
    }


def run(quick: bool = False) -> list[Table]:
    plan = QUICK if quick else FULL
    kinds = ["realtalk", "floor"] + (["baseline"] if os.environ.get(BASELINE_ENV) else [])
    servers = {kind: ServerProcess(kind) for kind in kinds}
    try:
        return asyncio.run(_run(plan, servers))
    finally:
        for server in servers.values():
            server.close()


async def _run(plan: Plan, servers: dict[str, ServerProcess]) -> list[Table]:
    per_append: dict[str, list[float]] = {k: [] for k in servers}
    per_delta: dict[str, list[float]] = {k: [] for k in servers}
    deltas_per_response: dict[str, int] = {}
    for r in range(plan.rounds):
        order = list(servers) if r % 2 == 0 else list(reversed(servers))
        for kind in order:
            per_append[kind].append(await _appends(servers[kind], plan.appends))
            cost, count = await _deltas(servers[kind], plan.responses)
            per_delta[kind].append(cost)
            deltas_per_response[kind] = count

    cost = Table(
        "Local server CPU per event on the audio path (server process only)",
        ["server / event", "median us", "p10 us", "p90 us", "vs floor"],
    )
    for label, data in (("append 20 ms", per_append), ("audio delta 100 ms", per_delta)):
        floor = median(data["floor"])
        for kind in servers:
            low, high = spread(data[kind])
            cost.add(
                f"{kind} / {label}",
                median(data[kind]) * 1000,
                low * 1000,
                high * 1000,
                fmt_ratio(median(data[kind]), floor),
            )
    cost.note(
        f"{plan.rounds} rounds, {plan.appends} appends and {plan.responses} responses per round "
        f"and server; realtalk sent {deltas_per_response.get('realtalk', 0)} deltas per response "
        "(tone synthesis and the echo brain included in its figure), the floor "
        f"{deltas_per_response.get('floor', 0)}"
    )

    duplex = Table(
        "Local server with N real-time sessions (20 ms appends, a clear every 500 ms)",
        [
            "server / N",
            "clear rtt p50 ms",
            "clear rtt p99 ms",
            "client send late p99 ms",
            "server CPU",
            "CPU ms/session-s",
        ],
    )
    for n in plan.ladder:
        for kind, server in servers.items():
            result = await _duplex(server, n, plan.seconds)
            duplex.add(
                f"{kind} / {n}",
                result["rtt_p50"],
                result["rtt_p99"],
                result["late_p99"],
                f"{result['cpu_share']:.0%}",
                result["cpu_ms_per_session_s"],
            )
    duplex.note(
        f"{plan.seconds:g} s per step; the clients share the machine with the server (client "
        "send lateness shows when the load generator, not the server, was the limit)"
    )
    return [cost, duplex]
