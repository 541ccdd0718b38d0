"""A minimal GA Realtime server for the benchmarks, run in its own process so its CPU is not
counted against the client being measured.

Run ``python -m benchmarks._loopback [--deflate]``: it prints ``PORT <n>`` and serves until its
standard input closes. The line ``stats`` on standard input prints one JSON line with the
server's own schedule lateness and CPU since the previous ``stats`` (to show it was not the
bottleneck). What a connection gets is chosen by its URL query:

* ``mode=stream&n=N&ms=M``: on ``response.create``, N ``response.output_audio.delta`` events of
  M ms of PCM16 24 kHz each, as fast as the socket takes them, then ``response.done``.
* ``mode=duplex&ms=M&seconds=S``: on ``response.create``, an M ms delta every M ms for S seconds,
  paced in real time; each delta's ``event_id`` is ``ev_<scheduled ns>_<sent ns>`` on the
  system-wide monotonic clock, so a client process can compute its own lag.
* ``mode=sink``: only the session handshake; everything else is read and dropped.

Every mode answers ``session.update`` with ``session.updated`` and ``conversation.item.create``
with ``conversation.item.added``/``done``, which is all a Session needs to open.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import copy
import functools
import json
import random
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_bench",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "prompt": None,
    "expires_at": 0,
    "include": None,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": None,
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1},
    },
}

RID, ITEM = "resp_bench", "item_bench"
_WHERE = f'"response_id":"{RID}","item_id":"{ITEM}","output_index":0,"content_index":0'


POOL = 64


def noise_pcm(ms: int, index: int, rate: int = 24000) -> bytes:
    """Speech-like noise (Gaussian, sigma ~ -24 dBFS), different for every ``index``: like real
    audio it barely compresses, and no two deltas in deflate's 32 KiB window are the same."""
    rng = random.Random(index * 7919 + ms)
    samples = rate * ms // 1000
    return array.array(
        "h", (max(-32768, min(32767, int(rng.gauss(0, 2000)))) for _ in range(samples))
    ).tobytes()


@functools.cache
def delta_parts(ms: int) -> list[tuple[str, str]]:
    """The text of distinct delta events, each split around its ``event_id`` value."""
    head = '{"type":"response.output_audio.delta","event_id":"'
    parts = []
    for index in range(POOL):
        audio = base64.b64encode(noise_pcm(ms, index)).decode()
        parts.append((head, f'",{_WHERE},"delta":"{audio}"}}'))
    return parts


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "turn_detection":
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.late_ns: list[int] = []
        self.cpu0 = time.process_time()
        self.wall0 = time.monotonic()
        self.sent = 0
        self.received = 0

    def report(self) -> dict[str, Any]:
        late = sorted(self.late_ns)

        def pct(q: float) -> float:
            return late[min(len(late) - 1, int(len(late) * q))] / 1e6 if late else 0.0

        wall = max(time.monotonic() - self.wall0, 1e-9)
        return {
            "late_p50_ms": pct(0.5),
            "late_p99_ms": pct(0.99),
            "cpu_share": (time.process_time() - self.cpu0) / wall,
            "sent": self.sent,
            "received": self.received,
        }


STATS = Stats()


async def _stream(ws: ServerConnection, n: int, ms: int) -> None:
    messages = [(head + "ev_stream" + tail).encode() for head, tail in delta_parts(ms)]
    for k in range(n):
        await ws.send(messages[k % POOL], text=True)
    STATS.sent += n


async def _duplex(ws: ServerConnection, ms: int, seconds: float) -> None:
    parts = delta_parts(ms)
    period = ms * 1_000_000
    frames = max(1, int(seconds * 1000 / ms))
    # A random phase: real calls do not all start on the same millisecond.
    start = time.monotonic_ns() + random.randrange(period)
    for k in range(frames):
        scheduled = start + k * period
        wait = (scheduled - time.monotonic_ns()) / 1e9
        if wait > 0:
            await asyncio.sleep(wait)
        sent = time.monotonic_ns()
        STATS.late_ns.append(sent - scheduled)
        head, tail = parts[k % POOL]
        await ws.send(f"{head}ev_{scheduled}_{sent}{tail}".encode(), text=True)
        STATS.sent += 1


async def _respond(ws: ServerConnection, query: dict[str, str]) -> None:
    mode = query.get("mode", "stream")
    ms = int(query.get("ms", "100"))
    response = {"id": RID, "object": "realtime.response", "status": "in_progress", "output": []}
    await ws.send(
        json.dumps({"type": "response.created", "event_id": "ev_c", "response": response})
    )
    item = {"id": ITEM, "type": "message", "role": "assistant", "status": "in_progress"}
    await ws.send(
        json.dumps(
            {
                "type": "response.output_item.added",
                "event_id": "ev_a",
                "response_id": RID,
                "output_index": 0,
                "item": dict(item, content=[]),
            }
        )
    )
    if mode == "duplex":
        await _duplex(ws, ms, float(query.get("seconds", "5")))
    else:
        await _stream(ws, int(query.get("n", "1000")), ms)
    where = {"response_id": RID, "item_id": ITEM, "output_index": 0, "content_index": 0}
    await ws.send(json.dumps({"type": "response.output_audio.done", "event_id": "ev_d", **where}))
    done = dict(response, status="completed")
    await ws.send(json.dumps({"type": "response.done", "event_id": "ev_e", "response": done}))


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else "/"
    query = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
    session = copy.deepcopy(SESSION)
    counter = 0
    tasks: set[asyncio.Task[None]] = set()

    async def send(event: dict[str, Any]) -> None:
        nonlocal counter
        counter += 1
        event.setdefault("event_id", f"event_{counter}")
        await ws.send(json.dumps(event))

    await send({"type": "session.created", "session": session})
    try:
        async for text in ws:
            STATS.received += 1
            # Audio appends are most of the traffic and need no answer: skip the parse.
            if isinstance(text, str) and text.find("input_audio_buffer.append", 0, 120) >= 0:
                continue
            event = json.loads(text)
            kind = event.get("type")
            if kind == "session.update":
                session = _merge(session, event.get("session") or {})
                await send({"type": "session.updated", "session": session})
            elif kind == "conversation.item.create":
                item = dict(event.get("item") or {}, id=f"item_{counter}", status="completed")
                await send({"type": "conversation.item.added", "item": item})
                await send({"type": "conversation.item.done", "item": item})
            elif kind == "response.create" and query.get("mode", "stream") != "sink":
                task = asyncio.create_task(_respond(ws, query))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()


async def main(deflate: bool) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with serve(
        handler,
        "127.0.0.1",
        0,
        compression="deflate" if deflate else None,
        max_size=None,
        ping_interval=None,
        backlog=4096,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.strip() == b"stats":
                print(json.dumps(STATS.report()), flush=True)
                STATS.reset()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.deflate))
