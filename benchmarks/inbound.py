"""Benchmark 1: client CPU per inbound audio event, realtalk against the floor and the peer.

A loopback server in another process streams ``response.output_audio.delta`` events (100 ms,
then 20 ms of PCM16 24 kHz each) as fast as the socket takes them; each client's CPU time per
event delivered to the app is measured in the client process. Rounds interleave the clients
(rotating their order) so drift on the machine hits them all alike.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from benchmarks._clients import INBOUND_CLIENTS
from benchmarks._harness import LoopbackServer, PeerMissing
from benchmarks._stats import Table, fmt_ratio, median, spread

__all__ = ["run"]

FLOOR = "floor: websockets"
OURS = "realtalk Session"
PEER = "openai-agents RealtimeSession"


@dataclass(frozen=True)
class Plan:
    rounds: int
    events: dict[int, int]  # delta duration (ms) -> events per run


FULL = Plan(rounds=7, events={100: 4000, 20: 10000})
QUICK = Plan(rounds=2, events={100: 100, 20: 200})


def measure(plan: Plan) -> tuple[dict[tuple[int, bool, str], list[float]], dict[str, str]]:
    """Samples (us/event, one per run) per (delta ms, deflate, client), and skipped clients."""
    samples: dict[tuple[int, bool, str], list[float]] = {}
    skipped: dict[str, str] = {}
    names = list(INBOUND_CLIENTS)
    for deflate in (False, True):
        with LoopbackServer(deflate=deflate) as server:
            for ms, n in plan.events.items():
                url = server.url(mode="stream", n=n, ms=ms)
                for round_no in range(plan.rounds):
                    shift = round_no % len(names)
                    for name in names[shift:] + names[:shift]:
                        if name in skipped:
                            continue
                        try:
                            value = asyncio.run(INBOUND_CLIENTS[name](url, n, deflate))
                        except PeerMissing as exc:
                            skipped[name] = str(exc)
                            continue
                        samples.setdefault((ms, deflate, name), []).append(value)
    return samples, skipped


def run(quick: bool = False) -> list[Table]:
    plan = QUICK if quick else FULL
    samples, skipped = measure(plan)
    table = Table(
        "Inbound audio events: client CPU per event delivered to the app (us)",
        ["case / client", "median", "p10", "p90", "vs floor", "runs"],
    )
    for ms in plan.events:
        for deflate in (False, True):
            case = f"{ms} ms deltas, {'deflate' if deflate else 'no deflate'}"
            floor = median(samples.get((ms, deflate, FLOOR), []))
            for name in INBOUND_CLIENTS:
                values = samples.get((ms, deflate, name))
                if not values:
                    continue
                p10, p90 = spread(values)
                mid = median(values)
                table.add(f"{case}: {name}", mid, p10, p90, fmt_ratio(mid, floor), len(values))
            ours = median(samples.get((ms, deflate, OURS), []))
            peer = median(samples.get((ms, deflate, PEER), []))
            if not math.isnan(peer) and ours > 0:
                table.note(f"{case}: openai-agents / realtalk = {peer / ours:.2f}x")
    for name, why in skipped.items():
        table.note(f"{name}: skipped, {why}")
    sizes = ", ".join(f"{n} x {ms} ms" for ms, n in plan.events.items())
    table.note(
        f"{plan.rounds} runs per cell of {sizes} deltas; server in another process; "
        "CPU = time.process_time() of the client process"
    )
    table.note(
        "the floor is a bare client loop: json.loads + base64 decode per message, nothing else"
    )
    return [table]
