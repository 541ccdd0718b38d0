"""``realtalk serve --workers N`` (processes sharing the port) and the drain on SIGTERM, over
loopback with the real CLI in a subprocess."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtalk.server import serve
from tests.server.harness import tone_engines
from tests.server.served import SERVE, TONE, Served

PATH = "/v1/realtime?model=gpt-realtime"


def test_two_workers_share_the_port_and_both_serve(served: list[Served]) -> None:
    server = Served("--workers", "2")
    served.append(server)
    assert len(server.workers) == 2
    # The banner says what the workers run, and where (this machine: the CPU).
    assert (
        "2 workers, vad=energy transcriber=tone synthesizer=tone brain=echo device=cpu"
        in (server.lines[0])
    )
    # SO_REUSEPORT hashes each new connection (its source port) to one listener: 40 fresh
    # connections all landing on one of two workers would be 1 in 2**39.
    answered = set()
    for _ in range(40):
        status, body = server.readyz()
        assert status == 200
        assert body["status"] == "ready"
        assert body["device"] == "cpu"
        answered.add(body["pid"])
    assert answered == server.workers

    async def one_session() -> str:
        async with connect(f"ws://127.0.0.1:{server.port}{PATH}") as ws:
            created = json.loads(await ws.recv())
            return str(created["type"])

    assert asyncio.run(one_session()) == "session.created"
    assert server.stop() == 0
    # The workers went with the parent.
    for pid in server.workers:
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_stops_accepting_lets_sessions_go_on_then_closes_them_with_1001(
    served: list[Served],
) -> None:
    server = Served("--drain-seconds", "3")
    served.append(server)

    async def scenario() -> tuple[bool, int | None, float, float]:
        async with connect(f"ws://127.0.0.1:{server.port}{PATH}") as ws:
            await ws.recv()  # session.created
            signalled = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            # Not listening any more: a new connection is refused (the other workers or the
            # load balancer's other replicas take it).
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.close()
                refused = False
            except ConnectionRefusedError:
                refused = True
            # The live session still works during the drain.
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
            while json.loads(await ws.recv())["type"] != "session.updated":
                pass
            answered = time.monotonic() - signalled
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed:
                pass
            closed = time.monotonic() - signalled
            code = ws.close_code
        return refused, code, answered, closed

    refused, code, answered, closed = asyncio.run(scenario())
    assert refused
    assert answered < 3.0  # answered inside the drain window
    assert code == 1001
    assert closed >= 2.5  # not before the deadline (3 s)
    assert server.proc.wait(timeout=30) == 0


def test_sigterm_exits_as_soon_as_the_last_session_ends(served: list[Served]) -> None:
    server = Served("--drain-seconds", "120")
    served.append(server)

    async def scenario() -> None:
        async with connect(f"ws://127.0.0.1:{server.port}{PATH}") as ws:
            await ws.recv()
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            assert server.proc.poll() is None  # still draining: a session is live
        # the client hung up: nothing left to drain

    asyncio.run(scenario())
    # Well before the 120 s deadline.
    assert server.proc.wait(timeout=30) == 0


async def test_readiness_says_draining_during_a_drain_that_keeps_listening() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True) as h,
        connect(f"ws://127.0.0.1:{h.port}{PATH}") as ws,
    ):
        await ws.recv()
        drain = asyncio.create_task(h.server.drain(0.5))
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
        writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = (await reader.read()).decode()
        writer.close()
        assert answer.startswith("HTTP/1.1 503")
        assert '"status": "draining"' in answer
        # a new session is refused while draining
        with pytest.raises(Exception, match="503"):
            async with connect(f"ws://127.0.0.1:{h.port}{PATH}"):
                pass
        await drain
        await _until_closed(ws)
        assert ws.close_code == 1001


async def _until_closed(ws: ClientConnection) -> None:
    try:
        while True:
            await ws.recv()
    except ConnectionClosed:
        return


def test_a_phone_line_is_refused_with_more_than_one_worker() -> None:
    # A simulated call lives in the worker holding the caller's line; the app's accept/hangup
    # requests would land on any worker. Refused at start-up, before any worker starts.
    done = subprocess.run(
        [*SERVE, "--no-auth", *TONE, "--workers", "2", "--sip-webhook", "http://127.0.0.1:9/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # no banner: nothing listened
    assert done.stderr.startswith("realtalk serve: error: sip_webhook: the simulated phone line")
    assert "--workers 1" in done.stderr


def test_each_worker_says_when_it_is_full(served: list[Served]) -> None:
    server = Served("--workers", "2", "--max-sessions", "1")
    served.append(server)

    async def scenario() -> dict[int, tuple[int, dict[str, object]]]:
        async with connect(f"ws://127.0.0.1:{server.port}{PATH}") as ws:
            await ws.recv()  # session.created: one worker now holds its one session
            answers: dict[int, tuple[int, dict[str, object]]] = {}
            for _ in range(40):
                status, body = await asyncio.to_thread(server.readyz)
                answers[int(body["pid"])] = (status, body)  # type: ignore[call-overload]
            return answers

    answers = asyncio.run(scenario())
    assert set(answers) == server.workers
    statuses = sorted(status for status, _ in answers.values())
    assert statuses == [200, 503]  # the worker holding the session is full, the other ready
    full = next(body for status, body in answers.values() if status == 503)
    assert full["status"] == "full"
    assert full["sessions"] == 1
    assert "at its limit of 1 concurrent sessions" in str(full["reason"])
    # The session ended: both ready again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if {server.readyz()[0] for _ in range(20)} == {200}:
            break
        time.sleep(0.05)
    assert {server.readyz()[0] for _ in range(20)} == {200}
    assert server.stop() == 0
