"""Benchmark 2: client CPU per outbound audio frame (20 ms of user audio).

realtalk's ``send_audio(frame, rate=16000)`` resamples to the session's 24 kHz, encodes and
sends. The floors do the least the wire needs: ``websockets`` send of a JSON ``append`` with
base64 audio that was resampled beforehand (and, second floor, resampled per frame with soxr
directly). The server (another process) reads and drops everything.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from benchmarks._clients import _agents_quiet
from benchmarks._harness import LoopbackServer, PeerMissing
from benchmarks._loopback import noise_pcm
from benchmarks._machine import has_module
from benchmarks._stats import Table, fmt_ratio, median, spread

__all__ = ["run"]

FRAME_MS = 20
DISTINCT = 50  # distinct frames, cycled


@dataclass(frozen=True)
class Audio:
    at16k: list[bytes]
    at24k: list[bytes]


def make_audio() -> Audio:
    at16k = [noise_pcm(FRAME_MS, i, rate=16000) for i in range(DISTINCT)]
    stream = soxr.ResampleStream(16000, 24000, 1, dtype="int16", quality="HQ")
    at24k = [stream.resample_chunk(np.frombuffer(f, dtype=np.int16)).tobytes() for f in at16k]
    return Audio(at16k, at24k)


class Clock:
    def __init__(self) -> None:
        self.start = 0.0

    def begin(self) -> None:
        self.start = time.process_time()

    def per_frame(self, n: int) -> float:
        return (time.process_time() - self.start) / n * 1e6


def _append(audio: bytes) -> str:
    return json.dumps(
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()}
    )


async def floor_presampled(url: str, audio: Audio, n: int) -> float:
    from websockets.asyncio.client import connect

    clock = Clock()
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.recv()
        clock.begin()
        for k in range(n):
            await ws.send(_append(audio.at24k[k % DISTINCT]))
        return clock.per_frame(n)


async def floor_soxr(url: str, audio: Audio, n: int) -> float:
    from websockets.asyncio.client import connect

    clock = Clock()
    stream = soxr.ResampleStream(16000, 24000, 1, dtype="int16", quality="HQ")
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.recv()
        clock.begin()
        for k in range(n):
            pcm = np.frombuffer(audio.at16k[k % DISTINCT], dtype=np.int16)
            out = stream.resample_chunk(pcm).tobytes()
            if out:  # like realtalk, never send an empty append (see the note on bursts)
                await ws.send(_append(out))
        return clock.per_frame(n)


async def _realtalk(url: str, audio: Audio, n: int, rate: int) -> float:
    import realtalk as rt

    clock = Clock()
    frames = audio.at16k if rate == 16000 else audio.at24k
    runner = rt.Runner(rt.Agent(name="bench"), provider=rt.providers.Compatible(url))
    async with runner.connect() as session:
        clock.begin()
        for k in range(n):
            await session.send_audio(frames[k % DISTINCT], rate=rate)
        return clock.per_frame(n)


async def realtalk_16k(url: str, audio: Audio, n: int) -> float:
    return await _realtalk(url, audio, n, 16000)


async def realtalk_24k(url: str, audio: Audio, n: int) -> float:
    return await _realtalk(url, audio, n, 24000)


async def agents_24k(url: str, audio: Audio, n: int) -> float:
    if not has_module("agents.realtime"):
        raise PeerMissing("openai-agents is not installed (pip install -e '.[bench]')")
    _agents_quiet()
    from agents.realtime import RealtimeAgent, RealtimeRunner

    clock = Clock()
    runner = RealtimeRunner(RealtimeAgent(name="bench", instructions=""))
    session = await runner.run(
        model_config={
            "url": url,
            "headers": {"Authorization": "Bearer bench"},
            "initial_model_settings": {"tracing": None},
        }
    )
    async with session:
        clock.begin()
        for k in range(n):
            await session.send_audio(audio.at24k[k % DISTINCT])
        return clock.per_frame(n)


Client = Callable[[str, Audio, int], Coroutine[Any, Any, float]]
FLOOR = "floor: websockets, pre-resampled"
CLIENTS: dict[str, Client] = {
    FLOOR: floor_presampled,
    "floor: websockets + soxr per frame": floor_soxr,
    "realtalk send_audio(rate=16000)": realtalk_16k,
    "realtalk send_audio(24 kHz, no resampling)": realtalk_24k,
    "openai-agents send_audio(24 kHz; it cannot resample)": agents_24k,
}


def run(quick: bool = False) -> list[Table]:
    rounds, n = (2, 50) if quick else (7, 3000)
    audio = make_audio()
    samples: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    names = list(CLIENTS)
    with LoopbackServer() as server:
        url = server.url(mode="sink")
        for round_no in range(rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                if name in skipped:
                    continue
                try:
                    samples.setdefault(name, []).append(asyncio.run(CLIENTS[name](url, audio, n)))
                except PeerMissing as exc:
                    skipped[name] = str(exc)
    table = Table(
        "Outbound audio: client CPU per 20 ms frame sent (us)",
        ["client", "median", "p10", "p90", "vs floor", "runs"],
    )
    floor = median(samples.get(FLOOR, []))
    for name in names:
        values = samples.get(name)
        if not values:
            continue
        p10, p90 = spread(values)
        mid = median(values)
        table.add(
            name,
            mid,
            p10,
            p90,
            fmt_ratio(mid, floor) if not math.isnan(floor) else "-",
            len(values),
        )
    for name, why in skipped.items():
        table.note(f"{name}: skipped, {why}")
    table.note(f"{rounds} runs of {n} frames each (16 kHz PCM16 in; 24 kHz on the wire)")
    table.note(
        "soxr's streaming HQ resampler returns nothing for about 1 frame in 3 and ~30 ms for "
        "the others, so the resampling rows send ~2 messages per 3 frames (and add up to a "
        "frame of latency); the per-frame figure divides by frames given, not messages sent"
    )
    return [table]
