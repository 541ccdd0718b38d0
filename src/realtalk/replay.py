"""Replay: run a recorded session's client side again, so a bug report becomes a test.

``await replay(REC)`` sends the recording's client messages again (audio put back from the
audio files), each once the server messages that came before it in the recording have come
again, and returns what the server said. Two servers to say it:

* ``server="recording"`` (the default): a scripted loopback WebSocket server answering from the
  recording itself. It sends the recorded server messages up to the next client message, waits
  for that message, and so on: the same sequence every time, whatever produced the recording.
* a :class:`~realtalk.providers.Provider`, e.g. ``testing.local(scenario)``: the real local
  server (or any provider) answers afresh. Server ids differ from run to run, so ids in client
  messages (``item_id``, ``call_id``, ...) are mapped from the recorded server's to this one's.

:class:`ReplayResult` compares the event types of both runs (decoded through the recording's
dialect, so both wire shapes compare alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from realtalk.dialects import get_dialect
from realtalk.errors import ConnectionClosed
from realtalk.recording import Record, Recording, load

__all__ = ["ReplayResult", "replay", "scripted_server"]

_ID_KEYS = ("id", "item_id", "response_id", "call_id", "previous_item_id")


@dataclass
class ReplayResult:
    """What the server said when the recording's client side ran again."""

    recorded: list[str]
    """Neutral event types of the recorded server messages, in order."""
    replayed: list[str]
    """The same for this run."""
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """This run's server messages (audio as base64, as received)."""

    @property
    def same_types(self) -> bool:
        """True when this run's server event types are the recording's, one for one."""
        return self.recorded == self.replayed

    @property
    def same_steps(self) -> bool:
        """True when the types agree once runs of one type are counted as one (a live server
        may split the same audio into more or fewer deltas)."""
        return _runs(self.recorded) == _runs(self.replayed)

    @property
    def same_events(self) -> bool:
        """True when both runs have the same events, counted by type, in any order: what a live
        server promises, whose independent streams (transcription beside a truncation, say)
        may interleave differently from run to run."""
        return Counter(self.recorded) == Counter(self.replayed)

    def diff(self) -> str:
        """The first place the two runs part, for an assertion message."""
        for n, (a, b) in enumerate(zip(self.recorded, self.replayed, strict=False)):
            if a != b:
                return f"at server message {n}: recorded {a}, replayed {b}"
        if len(self.recorded) != len(self.replayed):
            return f"recorded {len(self.recorded)} server messages, replayed {len(self.replayed)}"
        return "same"

    def __repr__(self) -> str:
        return (
            f"ReplayResult(same_types={self.same_types}, recorded={len(self.recorded)}, "
            f"replayed={len(self.replayed)})"
        )


def _runs(types: list[str]) -> list[str]:
    return [t for n, t in enumerate(types) if n == 0 or types[n - 1] != t]


def _event_type(dialect: Any, message: dict[str, Any]) -> str:
    return type(dialect.decode_event(message)).__name__


class _Ids:
    """Recorded server ids -> this run's, learnt by pairing the n-th message of each type."""

    def __init__(self) -> None:
        self.map: dict[str, str] = {}

    def learn(self, recorded: Any, replayed: Any) -> None:
        if isinstance(recorded, dict) and isinstance(replayed, dict):
            for key, value in recorded.items():
                other = replayed.get(key)
                if key in _ID_KEYS and isinstance(value, str) and isinstance(other, str):
                    if value != other:
                        self.map[value] = other
                else:
                    self.learn(value, other)
        elif isinstance(recorded, list) and isinstance(replayed, list):
            for a, b in zip(recorded, replayed, strict=False):
                self.learn(a, b)

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (self.map.get(v, v) if k in _ID_KEYS and isinstance(v, str) else self.apply(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value


def _steps(rec: Recording) -> Iterator[tuple[Record, Counter[str]]]:
    """Each client record with the server message types seen before it (counts by type)."""
    seen: Counter[str] = Counter()
    for record in rec.wire():
        if record.source == "server":
            seen[record.type] += 1
        else:
            yield record, Counter(seen)


@contextlib.asynccontextmanager
async def scripted_server(rec: Recording) -> AsyncIterator[str]:
    """A loopback WebSocket server that answers from ``rec``; yields its ``ws://`` URL."""
    from websockets.asyncio.server import ServerConnection, serve

    records = list(rec.wire())

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            for record in records:
                if record.source == "server":
                    await ws.send(rec.wire_text(record))
                else:
                    await ws.recv()  # the client's next message: then the recorded answer
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def replay(
    recording: Recording | str | os.PathLike[str],
    *,
    server: Any = "recording",
    speed: float = 1.0,
    timeout: float = 10.0,
) -> ReplayResult:
    """Run the recorded client side again against ``server`` ("recording" or a provider).

    Client messages keep their recorded spacing divided by ``speed`` (``speed=0`` sends as soon
    as the server is where it was); each waits at most ``timeout`` seconds for the server
    messages that preceded it.
    """
    rec = recording if isinstance(recording, Recording) else load(recording)
    dialect = get_dialect(rec.header.get("dialect", "ga"))
    recorded_server = [r for r in rec.wire("server")]
    result = ReplayResult(
        [_event_type(dialect, json.loads(rec.wire_text(r))) for r in recorded_server], []
    )
    from realtalk.transports.websocket import connect_websocket

    async with contextlib.AsyncExitStack() as stack:
        if server == "recording":
            url = await stack.enter_async_context(scripted_server(rec))
            headers: dict[str, str] = {}
        else:
            opener = getattr(server, "open", None)
            if opener is not None:
                await opener()
                stack.push_async_callback(server.aclose)
            url, headers = await server.handshake()
        transport = await connect_websocket(url, headers, ())
        stack.push_async_callback(transport.close)
        await _drive(rec, transport, dialect, recorded_server, result, speed, timeout)
    return result


async def _drive(
    rec: Recording,
    transport: Any,
    dialect: Any,
    recorded_server: list[Record],
    result: ReplayResult,
    speed: float,
    timeout: float,
) -> None:
    ids = _Ids()
    seen: Counter[str] = Counter()
    by_type: dict[str, list[Record]] = {}
    for record in recorded_server:
        by_type.setdefault(record.type, []).append(record)
    arrived = asyncio.Event()

    async def read() -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                message = json.loads(await transport.recv())
                kind = str(message.get("type"))
                earlier = by_type.get(kind, [])
                if seen[kind] < len(earlier):
                    ids.learn(earlier[seen[kind]].msg, message)
                seen[kind] += 1
                result.messages.append(message)
                result.replayed.append(_event_type(dialect, message))
                arrived.set()

    reader = asyncio.create_task(read(), name="realtalk-replay-reader")
    try:
        loop = asyncio.get_running_loop()
        started, first_t = loop.time(), None
        for record, needed in _steps(rec):
            deadline = loop.time() + timeout
            while any(seen[k] < n for k, n in needed.items()) and not reader.done():
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), max(0.0, deadline - loop.time()))
                if loop.time() >= deadline:
                    break
            first_t = record.t if first_t is None else first_t
            if speed > 0:
                wait = started + (record.t - first_t) / speed - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            if reader.done():
                break
            message = ids.apply(json.loads(rec.wire_text(record)))
            await transport.send(json.dumps(message, separators=(",", ":")))
        # The answers to the last client message (deltas not counted: a live server may cut
        # the same audio into more or fewer of them).
        final = Counter(r.type for r in recorded_server if not r.type.endswith(".delta"))
        deadline = loop.time() + timeout
        while (
            any(seen[k] < n for k, n in final.items())
            and not reader.done()
            and loop.time() < deadline
        ):
            arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), max(0.0, deadline - loop.time()))
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
