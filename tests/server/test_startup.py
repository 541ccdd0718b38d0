"""Start-up refusals and warnings, and the one log line per connection of ``serve -v``."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys

import pytest
from websockets.asyncio.client import connect

from realtalk.errors import ConfigError
from realtalk.server import serve
from tests.server.harness import tone_engines

SERVE = [sys.executable, "-m", "realtalk", "serve"]
TONE = ["--vad", "energy", "--transcriber", "tone", "--synthesizer", "tone"]


def test_no_auth_off_loopback_is_refused_with_one_clear_line() -> None:
    done = subprocess.run(
        [*SERVE, "--host", "0.0.0.0", "--no-auth", *TONE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("realtalk serve: error: no_auth: authentication can only be")
    assert "'0.0.0.0'" in lines[0]
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SERVE, "--port", str(port), *TONE], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("realtalk serve: error: port: cannot listen there")
    assert f"127.0.0.1:{port}" in lines[0]
    assert "pick another port" in lines[0]


async def test_a_key_protected_server_on_a_non_loopback_address_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 192.0.2.1 is TEST-NET-1: never this machine's, so the bind fails and nothing listens
    # off loopback; the warning comes before the bind.
    caplog.set_level(logging.WARNING, "realtalk.server")
    with pytest.raises(ConfigError, match="cannot listen there"):
        async with serve(engines=tone_engines(), host="192.0.2.1", api_key="sk-warn"):
            pass
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "192.0.2.1, which is not a loopback address" in warnings[0].getMessage()
    assert "sk-warn" not in caplog.text


async def test_no_warning_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "realtalk.server")
    async with serve(engines=tone_engines(), api_key="sk-quiet"):
        pass
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_one_structured_line_per_connection_never_a_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(engines=tone_engines(), api_key="sk-logged-never") as h:
        url = f"ws://127.0.0.1:{h.port}/openai/v1/realtime?model=dep&api-key=sk-logged-never"
        async with connect(url) as ws:
            session_id = json.loads(await ws.recv())["session"]["id"]
        for _ in range(100):
            lines = [r.getMessage() for r in caplog.records if "connection path=" in r.getMessage()]
            if lines:
                break
            await asyncio.sleep(0.02)
    assert lines == [
        f"connection path=/openai/v1/realtime dialect=ga flavor=azure type=realtime "
        f"session={session_id} close=1000 seconds={lines[0].rsplit('=', 1)[1]}"
    ]
    # Everything the server side logged (the test's own websockets client logs its request).
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert server_side
    assert not [m for m in server_side if "sk-logged-never" in m]


def test_serve_verbose_prints_the_connection_line() -> None:
    proc = subprocess.Popen(
        [*SERVE, "--port", "0", "--no-auth", "-v", *TONE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = proc.stdout.readline()
        assert line.startswith("realtalk server listening on ws://127.0.0.1:"), line
        url = line.split()[4] + "?model=gpt-realtime"

        async def one_session() -> None:
            async with connect(url) as ws:
                await ws.recv()

        asyncio.run(one_session())
        logged = proc.stderr.readline()
        assert "INFO connection path=/v1/realtime dialect=ga flavor=openai" in logged
        assert "close=1000" in logged
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
