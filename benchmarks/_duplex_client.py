"""One step of the concurrency benchmark, in a fresh client process (so RSS is its own).

``--kind realtalk-noreconnect`` is the same realtalk client with ``SessionOptions(reconnect=None)``:
without keeping the turn under way's appends (a reference to each one's bytes) for a
reconnect to replay.

``--kind server`` instead measures ``realtalk serve`` (see :func:`run_server`): the lag is
then the round trip of an ``input_audio_buffer.clear``.

``python -m benchmarks._duplex_client --kind realtalk --url URL --n N --seconds S --warmup W``
opens N sessions to a loopback server in ``mode=duplex``, then each session streams user audio
in real time (a 20 ms 16 kHz frame every 20 ms through ``send_audio``) while the server streams
assistant audio back in real time. Every server delta carries its send time on the system-wide
monotonic clock (``event_id = ev_<scheduled>_<sent>``); the lag is the time from that send to
the app holding the event. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from benchmarks._machine import off_core_ns, rss_bytes

FRAME_MS = 20


@dataclass
class Recorder:
    measure_from: int = 0  # monotonic ns; samples before it are warm-up
    measure_to: int = 0
    lags: list[int] = field(default_factory=list)
    send_late: list[int] = field(default_factory=list)
    received: int = 0
    errors: int = 0

    def on_delta(self, event_id: str | None) -> None:
        if event_id:
            self.on_answer(int(event_id.rsplit("_", 1)[1]))

    def on_answer(self, sent: int) -> None:
        """Something sent at ``sent`` (monotonic ns) reached the app now."""
        now = time.monotonic_ns()
        if self.measure_from <= now < self.measure_to:
            self.lags.append(now - sent)
            self.received += 1


def _frames() -> tuple[list[bytes], list[bytes]]:
    from benchmarks.outbound import make_audio

    audio = make_audio()
    return audio.at16k, audio.at24k


async def _pace(
    rec: Recorder, start: int, stop: int, send: Callable[[int], Awaitable[None]]
) -> None:
    """Call ``send(k)`` at ``start + k * 20 ms`` until ``stop`` (monotonic ns)."""
    period = FRAME_MS * 1_000_000
    k = 0
    while True:
        due = start + k * period
        if due >= stop:
            return
        wait = (due - time.monotonic_ns()) / 1e9
        if wait > 0:
            await asyncio.sleep(wait)
        now = time.monotonic_ns()
        if rec.measure_from <= now < rec.measure_to:
            rec.send_late.append(now - due)
        await send(k)
        k += 1


async def run_realtalk(
    args: argparse.Namespace, rec: Recorder, reconnect: bool = True
) -> dict[str, Any]:
    import realtalk as rt
    from realtalk.events import AudioDelta

    at16k, _ = _frames()
    options = rt.SessionOptions() if reconnect else rt.SessionOptions(reconnect=None)
    runner = rt.Runner(
        rt.Agent(name="bench"), provider=rt.providers.Compatible(args.url), options=options
    )

    async def receive(session: Any) -> None:
        async for event in session:
            if isinstance(event, AudioDelta):
                rec.on_delta(event.event_id)

    async def open_one(stack: contextlib.AsyncExitStack) -> Any:
        return await stack.enter_async_context(runner.connect())

    open_all = _batched(open_one)

    async with contextlib.AsyncExitStack() as warm:  # load lazy imports before the baseline
        await open_all(warm, 1)
    return await _drive(
        args,
        rec,
        open_all,
        receive,
        lambda s, k: s.send_audio(at16k[k % len(at16k)], rate=16000),
        lambda s: s.create_response(),
    )


async def run_realtalk_no_reconnect(args: argparse.Namespace, rec: Recorder) -> dict[str, Any]:
    return await run_realtalk(args, rec, reconnect=False)


async def run_floor(args: argparse.Namespace, rec: Recorder) -> dict[str, Any]:
    import numpy as np
    import soxr
    from websockets.asyncio.client import connect

    from realtalk.input_audio import QUALITY

    at16k, _ = _frames()
    # The same job as realtalk's send_audio(frame, rate=16000): the least a bare client does
    # per frame of 16 kHz microphone audio is resample it to 24 kHz (send_audio's soxr recipe,
    # one stream per session), base64 it and write the append (never an empty one).
    streams: dict[int, Any] = {}

    def append(ws: Any, k: int) -> str | None:
        stream = streams.get(id(ws))
        if stream is None:
            stream = streams[id(ws)] = soxr.ResampleStream(
                16000, 24000, 1, dtype="int16", quality=QUALITY
            )
        pcm = stream.resample_chunk(np.frombuffer(at16k[k % len(at16k)], dtype=np.int16))
        if not len(pcm):
            return None
        audio = base64.b64encode(pcm.tobytes()).decode()
        return json.dumps({"type": "input_audio_buffer.append", "audio": audio})

    async def send(ws: Any, k: int) -> None:
        text = append(ws, k)
        if text is not None:
            await ws.send(text)

    async def receive(ws: Any) -> None:
        async for text in ws:
            event = json.loads(text)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                rec.on_delta(event["event_id"])

    async def open_one(stack: contextlib.AsyncExitStack) -> Any:
        ws = await stack.enter_async_context(
            connect(args.url, compression=None, max_size=None, ping_interval=None)
        )
        await ws.recv()
        return ws

    open_all = _batched(open_one)

    return await _drive(
        args,
        rec,
        open_all,
        receive,
        send,
        lambda ws: ws.send('{"type":"response.create"}'),
    )


async def run_server(args: argparse.Namespace, rec: Recorder) -> dict[str, Any]:
    """N bare sessions against ``realtalk serve``: the server is what is measured. Each streams
    20 ms appends in real time (silence: server VAD runs on each, no turn starts) and every
    500 ms an ``input_audio_buffer.clear``, whose round trip to ``cleared`` is the lag."""
    from websockets.asyncio.client import connect

    from benchmarks.server import APPEND, CLEAR

    pending: dict[int, int] = {}  # connection id -> when its clear was sent (monotonic ns)

    async def receive(ws: Any) -> None:
        async for text in ws:
            if '"input_audio_buffer.cleared"' in text and id(ws) in pending:
                rec.on_answer(pending.pop(id(ws)))

    async def open_one(stack: contextlib.AsyncExitStack) -> Any:
        ws = await stack.enter_async_context(
            connect(args.url, compression=None, max_size=None, ping_interval=None)
        )
        while '"session.created"' not in await ws.recv():
            pass
        return ws

    open_all = _batched(open_one)

    async def send(ws: Any, k: int) -> None:
        if k % 25 == 24:
            pending[id(ws)] = time.monotonic_ns()
            await ws.send(CLEAR)
        else:
            await ws.send(APPEND)

    async def nothing(ws: Any) -> None:
        return None

    result = await _drive(args, rec, open_all, receive, send, nothing)
    result["expected"] = int(args.n * args.seconds * 1000 / (25 * FRAME_MS))
    return result


def _batched(
    open_one: Callable[[contextlib.AsyncExitStack], Awaitable[Any]],
) -> Callable[[contextlib.AsyncExitStack, int], Awaitable[list[Any]]]:
    """``open_all(stack, n)``: n connections opened 50 at a time with ``open_one``, each closed
    with ``stack``; every client of the duplex benchmark opens its connections this way."""

    async def open_all(stack: contextlib.AsyncExitStack, n: int) -> list[Any]:
        opened: list[Any] = []
        for first in range(0, n, 50):
            batch = range(first, min(n, first + 50))
            opened += await asyncio.gather(*(open_one(stack) for _ in batch))
        return opened

    return open_all


def _bind(
    send: Callable[[Any, int], Awaitable[None]], conn: Any
) -> Callable[[int], Awaitable[None]]:
    return lambda k: send(conn, k)


async def _drive(
    args: argparse.Namespace,
    rec: Recorder,
    open_all: Callable[[contextlib.AsyncExitStack, int], Awaitable[list[Any]]],
    receive: Callable[[Any], Coroutine[Any, Any, None]],
    send: Callable[[Any, int], Awaitable[None]],
    start_response: Callable[[Any], Awaitable[None]],
) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_bytes()
    async with contextlib.AsyncExitStack() as stack:
        t_open = time.monotonic()
        conns = await open_all(stack, args.n)
        open_s = time.monotonic() - t_open
        gc.collect()
        rss_idle = rss_bytes()
        now = time.monotonic_ns()
        rec.measure_from = now + int(args.warmup * 1e9)
        rec.measure_to = rec.measure_from + int(args.seconds * 1e9)
        rng = random.Random(1)
        tasks: list[asyncio.Task[None]] = []
        for conn in conns:
            await start_response(conn)
            tasks.append(asyncio.create_task(receive(conn)))
            # Random phases: real calls do not all send on the same millisecond.
            start = now + rng.randrange(FRAME_MS * 1_000_000)
            tasks.append(asyncio.create_task(_pace(rec, start, rec.measure_to, _bind(send, conn))))
        await asyncio.sleep(max(0.0, (rec.measure_from - time.monotonic_ns()) / 1e9))
        cpu0, wall0, off0 = time.process_time(), time.monotonic(), off_core_ns(args.cpu)
        await asyncio.sleep(max(0.0, (rec.measure_to - time.monotonic_ns()) / 1e9))
        cpu_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        off1 = off_core_ns(args.cpu)
        rss_busy = rss_bytes()
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        rec.errors = sum(
            1
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
        )
    lags = sorted(rec.lags)
    late = sorted(rec.send_late)

    def pct(values: list[int], q: float) -> float | None:
        return values[min(len(values) - 1, int(len(values) * q))] / 1e6 if values else None

    return {
        "n": args.n,
        "open_s": open_s,
        "received": rec.received,
        "expected": int(args.n * args.seconds * 1000 / args.ms),
        "lag_p50_ms": pct(lags, 0.5),
        "lag_p99_ms": pct(lags, 0.99),
        "lag_max_ms": lags[-1] / 1e6 if lags else None,
        "send_late_p99_ms": pct(late, 0.99),
        "cpu_share": cpu_share,
        "idle_kb_per_session": (rss_idle - rss0) / 1024 / args.n,
        "busy_kb_per_session": (rss_busy - rss0) / 1024 / args.n,
        "errors": rec.errors,
        # Time the machine kept this client off its core in the measured window: waiting
        # behind another process, and the hypervisor's steal (None where /proc cannot tell).
        "queued_ms": (off1[0] - off0[0]) / 1e6 if off0 and off1 else None,
        "stolen_ms": (off1[1] - off0[1]) / 1e6 if off0 and off1 else None,
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [],
    }


def _watch_gc() -> list[float]:
    pauses: list[float] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(callback)
    return pauses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--kind", choices=("realtalk", "realtalk-noreconnect", "floor", "server"), required=True
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--ms", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--cpu", type=int, default=None, help="run on this core only")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    runner = {
        "realtalk": run_realtalk,
        "realtalk-noreconnect": run_realtalk_no_reconnect,
        "floor": run_floor,
        "server": run_server,
    }[args.kind]
    pauses = _watch_gc()
    result = asyncio.run(runner(args, Recorder()))
    result["gc2_pauses"] = len(pauses)
    result["gc2_max_ms"] = max(pauses, default=0.0)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
