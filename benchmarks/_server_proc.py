"""A Realtime server in its own process for ``benchmarks.server``, so its CPU is measured alone.

``python -m benchmarks._server_proc --kind realtalk|floor`` prints ``PORT <n>`` and serves until
its standard input closes; the line ``stats`` prints one JSON line with the process's CPU
seconds and wall seconds since the previous ``stats``.

* ``realtalk``: the local server (``realtalk.server.serve``, no auth, deterministic engines:
  energy VAD, tone synthesizer, echo brain): the code being measured.
* ``floor``: the least a server on the same wire must do, written directly on ``websockets``:
  parse each client event as JSON, decode an append's base64 audio, answer
  ``input_audio_buffer.clear`` with ``input_audio_buffer.cleared`` and ``response.create`` with
  as many 100 ms ``response.output_audio.delta`` events as the realtalk server sends for the
  same text, then ``response.done``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from typing import Any

__all__ = ["FLOOR_DELTAS", "main"]

FLOOR_DELTAS = 59
"""Deltas the floor sends per response: what the realtalk server sends for the benchmark text."""


async def _stats_loop(ready: str) -> None:
    print(ready, flush=True)
    loop = asyncio.get_running_loop()
    cpu, wall = time.process_time(), time.monotonic()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        now_cpu, now_wall = time.process_time(), time.monotonic()
        print(json.dumps({"cpu_s": now_cpu - cpu, "wall_s": now_wall - wall}), flush=True)
        cpu, wall = now_cpu, now_wall


async def _realtalk() -> None:
    from realtalk.server import serve
    from realtalk.server.engines import EngineSpec

    spec = EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")
    async with serve(no_auth=True, engines=spec, max_sessions=10_000) as handle:
        await _stats_loop(f"PORT {handle.port}")


_SESSION = {"type": "realtime", "object": "realtime.session", "id": "sess_floor"}
_DELTA_AUDIO = base64.b64encode(bytes(4800)).decode()  # 100 ms of PCM16 24 kHz


async def _floor_session(ws: Any) -> None:
    await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": _SESSION}))
    async for message in ws:
        event = json.loads(message)
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            base64.b64decode(event["audio"])
        elif kind == "input_audio_buffer.clear":
            await ws.send(json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e1"}))
        elif kind == "response.create":
            for i in range(FLOOR_DELTAS):
                delta = {
                    "type": "response.output_audio.delta",
                    "event_id": f"e{i}",
                    "response_id": "resp_1",
                    "item_id": "item_1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": _DELTA_AUDIO,
                }
                await ws.send(json.dumps(delta))
            await ws.send(json.dumps({"type": "response.done", "event_id": "e2"}))


async def _floor() -> None:
    from websockets.asyncio.server import serve

    async with serve(_floor_session, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        await _stats_loop(f"PORT {port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("realtalk", "floor"), required=True)
    args = parser.parse_args()
    asyncio.run(_realtalk() if args.kind == "realtalk" else _floor())


if __name__ == "__main__":
    main()
