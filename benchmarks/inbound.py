"""Benchmark 1: client CPU per inbound audio event, realtalk against the floor and the peer.

A loopback server in another process streams ``response.output_audio.delta`` events (100 ms,
then 20 ms of PCM16 24 kHz each) as fast as the socket takes them; each client's CPU time per
event delivered to the app is measured in the client process, from the first audio event the
app holds to the last (the one-off cost of the first event is its own column). Rounds interleave
the clients (rotating their order) so drift on the machine hits them all alike; each run has a
fresh process to itself (``_clients.run_in_own_process``), as a user's app runs one SDK.

The plain user-loop harness (``benchmarks/userloop.py``, no code shared with ``_clients.py``) is
measured in the same rounds: right after (or, every other round, right before) each uncompressed
run of a client it also has, its own child runs against the same server. Measured one after the
other instead, in separate stretches of minutes, the two saw different machines: in one idle full
run the main harness's realtalk child took 46-47 us per 100 ms event in all three repeats and the
user loop's 39-40, while paired runs of the two children agree within 0.5-3 % (and callgrind
counts the same instructions in both), so the gap was when they ran, not what they count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks import _targets, userloop
from benchmarks._clients import INBOUND_CLIENTS, InboundSample, run_in_own_process
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


# The sizes of the plain user-loop harness (benchmarks/userloop.py), so the two compare alike.
FULL = Plan(rounds=7, events={100: 8000, 20: 16000})
QUICK = Plan(rounds=2, events={100: 100, 20: 200})


Samples = dict[tuple[int, bool, str], list[InboundSample]]
PlainSamples = dict[tuple[int, str], list[float]]


def measure(plan: Plan, plain: Sequence[str] = ()) -> tuple[Samples, dict[str, str], PlainSamples]:
    """Samples (one per run) per (delta ms, deflate, client), skipped clients, and the user
    loop's samples per (delta ms, client) for the ``plain`` clients, paired with these runs."""
    samples: Samples = {}
    skipped: dict[str, str] = {}
    paired: PlainSamples = {}
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
                        pair = not deflate and name in plain
                        if pair and round_no % 2:
                            paired.setdefault((ms, name), []).append(userloop.one_run(name, url, n))
                        try:
                            value = run_in_own_process(name, url, n, deflate)
                        except PeerMissing as exc:
                            skipped[name] = str(exc)
                            continue
                        samples.setdefault((ms, deflate, name), []).append(value)
                        if pair and not round_no % 2:
                            paired.setdefault((ms, name), []).append(userloop.one_run(name, url, n))
    return samples, skipped, paired


def _medians(samples: Samples, key: tuple[int, bool, str]) -> tuple[list[float], float]:
    values = [sample.us_per_event for sample in samples.get(key, [])]
    firsts = [sample.first_event_ms for sample in samples.get(key, [])]
    return values, median(firsts)


def run(quick: bool = False) -> list[Table]:
    plan = QUICK if quick else FULL
    plain = userloop.available()
    samples, skipped, paired = measure(plan, plain)
    table = Table(
        "Inbound audio events: client CPU per event delivered to the app (us)",
        ["case / client", "median", "p10", "p90", "vs floor", "first event (ms)", "runs"],
    )
    for ms in plan.events:
        for deflate in (False, True):
            case = f"{ms} ms deltas, {'deflate' if deflate else 'no deflate'}"
            floor = median(_medians(samples, (ms, deflate, FLOOR))[0])
            for name in INBOUND_CLIENTS:
                values, first = _medians(samples, (ms, deflate, name))
                if not values:
                    continue
                p10, p90 = spread(values)
                mid = median(values)
                ratio = fmt_ratio(mid, floor)
                table.add(f"{case}: {name}", mid, p10, p90, ratio, first, len(values))
            ours = median(_medians(samples, (ms, deflate, OURS))[0])
            peer = median(_medians(samples, (ms, deflate, PEER))[0])
            if not math.isnan(peer) and ours > 0:
                table.note(f"{case}: openai-agents / realtalk = {peer / ours:.2f}x")
            if deflate:
                continue
            # The goals are for the uncompressed stream (what OpenAI sends by default).
            goal = 1.10 if ms == 100 else 1.15
            table.target(_targets.at_most(f"inbound {ms} ms: realtalk / floor", ours / floor, goal))
            table.target(
                _targets.at_least(f"inbound {ms} ms: openai-agents / realtalk", peer / ours, 1.25)
            )
            _targets.publish(f"inbound.{ms}.realtalk/floor", ours / floor)
            for name in (FLOOR, OURS, PEER):
                values = _medians(samples, (ms, deflate, name))[0]
                _targets.publish_samples(f"inbound.{ms}.{name}", values)
            _targets.publish(f"inbound.{ms}.agents/realtalk", peer / ours)
    for name, why in skipped.items():
        table.note(f"{name}: skipped, {why}")
    sizes = ", ".join(f"{n} x {ms} ms" for ms, n in plan.events.items())
    table.note(
        f"{plan.rounds} runs per cell of {sizes} deltas; server in another process; "
        "CPU = time.process_time() of the client's own fresh process, "
        "first audio event to the last, / (n - 1)"
    )
    table.note(
        "first event (ms): CPU from just before response.create to the first audio event the app "
        "holds (one-off work, outside the per-event figure)"
    )
    table.note(
        "the floor is a bare client loop: json.loads + base64 decode per message, nothing else"
    )
    table.note(
        "the plain user-loop harness ran in these rounds, paired with each uncompressed run "
        "(next table)"
    )
    return [table, userloop.table(paired, plan.events, plain)]
