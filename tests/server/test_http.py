"""The HTTP front over real loopback sockets: requests the old hand parser got wrong, health
routes, JSON error bodies, and no record left behind by aborted upgrades."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import time
from typing import Any

import pytest

from realtalk.errors import ConfigError
from realtalk.server import serve
from tests.server.harness import tone_engines

URL = "/v1/realtime?model=gpt-realtime"


def upgrade_request(path: str, *headers: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def exchange(port: int, *chunks: bytes) -> tuple[int, dict[str, str], bytes]:
    """Write ``chunks`` as separate TCP writes; the status, headers and body read back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0.05)  # a separate segment, not coalesced with the next
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        body = b""
        if "content-length" in headers:
            body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
        return status, headers, body
    finally:
        writer.close()


def error_of(body: bytes) -> dict[str, Any]:
    payload = json.loads(body)
    assert set(payload) == {"error"}
    error: dict[str, Any] = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


async def test_two_authorization_headers_are_a_401_with_a_json_body() -> None:
    async with serve(engines=tone_engines(), api_key="sk-one") as h:
        status, headers, body = await exchange(
            h.port,
            upgrade_request(URL, "Authorization: Bearer sk-one", "Authorization: Bearer sk-two"),
        )
        assert status == 401
        assert headers["content-type"].startswith("application/json")
        error = error_of(body)
        assert error["code"] == "invalid_api_key"
        assert "2 Authorization headers" in error["message"]
        assert "sk-one" not in body.decode()
        assert "sk-two" not in body.decode()


async def test_an_upgrade_split_across_writes_succeeds() -> None:
    async with serve(engines=tone_engines(), api_key="sk-split") as h:
        request = upgrade_request(URL, "Authorization: Bearer sk-split")
        status, headers, _ = await exchange(h.port, request[:1], request[1:40], request[40:])
        assert status == 101
        assert headers["upgrade"].lower() == "websocket"


async def test_double_slash_path_is_a_404_that_names_the_path_as_sent() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        status, _, body = await exchange(h.port, upgrade_request("//v1/realtime?model=m"))
        assert status == 404
        error = error_of(body)
        assert error["message"] == "Invalid URL (GET //v1/realtime)"
        assert error["type"] == "invalid_request_error"


async def test_unknown_paths_and_methods_get_the_services_404() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        for request, message in (
            (b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n", "Invalid URL (GET /v1/nothing)"),
            (
                b"GET /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n\r\n",
                "Invalid URL (GET /v1/realtime/client_secrets)",
            ),
            (
                b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                "Invalid URL (DELETE /healthz)",
            ),
        ):
            status, _, body = await exchange(h.port, request)
            assert (status, error_of(body)["message"]) == (404, message)


async def test_plain_get_on_the_websocket_route_asks_for_an_upgrade() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        status, _, body = await exchange(h.port, f"GET {URL} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status == 426
        assert error_of(body)["code"] == "upgrade_required"


async def test_oversized_body_is_a_413_json_error() -> None:
    async with serve(engines=tone_engines(), api_key="k") as h:
        big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
        head = (
            "POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n"
        ).encode()
        status, _, body = await exchange(h.port, head + big)
        assert status == 413
        assert error_of(body)["code"] == "request_too_large"


async def test_health_and_readiness() -> None:
    from websockets.asyncio.client import connect

    async with serve(engines=tone_engines(), no_auth=True, max_sessions=1) as h:
        get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        status, _, body = await exchange(h.port, get)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        ready = b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
        status, _, body = await exchange(h.port, ready)
        assert status == 200
        me = os.getpid()  # which worker answered
        assert json.loads(body) == {
            "status": "ready",
            "sessions": 0,
            "max_sessions": 1,
            "pid": me,
            "device": "cpu",
        }
        async with connect(f"ws://127.0.0.1:{h.port}{URL}") as ws:
            await ws.recv()
            status, _, body = await exchange(h.port, ready)
            assert status == 503
            assert json.loads(body) == {
                "status": "full",
                "sessions": 1,
                "max_sessions": 1,
                "pid": me,
                "device": "cpu",
                "reason": "at its limit of 1 concurrent sessions (--max-sessions); "
                "ready again when one ends",
            }
        # The session ended: ready again (the slot is freed as the connection winds down).

        async def ready_again() -> bool:
            status, _, body = await exchange(h.port, ready)
            return status == 200 and json.loads(body)["status"] == "ready"

        assert await settle(ready_again)


async def settle(predicate: Any, seconds: float = 10.0) -> bool:
    """Whether ``predicate()`` (a plain or an async callable) turns true within ``seconds``."""

    async def holds() -> bool:
        result = predicate()
        return bool(await result if inspect.isawaitable(result) else result)

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await holds():
            return True
        await asyncio.sleep(0.02)
    return await holds()


async def test_a_thousand_aborted_upgrades_leave_no_record() -> None:
    async with serve(engines=tone_engines(), api_key="sk-abort", max_sessions=2000) as h:
        request = upgrade_request(URL, "Authorization: Bearer sk-abort")
        seen = 0

        async def abort_one(after_answer: bool) -> None:
            nonlocal seen
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(request)
            await writer.drain()
            if after_answer:  # the session has started: the 101 came
                assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 101")
            writer.transport.abort()  # gone without a close frame
            seen += 1

        for batch in range(10):
            await asyncio.gather(*(abort_one(batch % 2 == 1) for _ in range(100)))
        assert seen == 1000
        assert h.server.sessions_started >= 500
        assert await settle(lambda: not h.server.connections), len(h.server.connections)
        # The server still serves: the aborted ones did not use up its sessions.
        status, _, _ = await exchange(h.port, request)
        assert status == 101


async def test_unknown_serve_setting_is_named_without_its_value() -> None:
    with pytest.raises(ConfigError) as info:
        async with serve(engines=tone_engines(), api_kyes=("sk-secret-value",)):
            pass
    assert "api_kyes" in str(info.value)
    assert "sk-secret-value" not in str(info.value)


async def test_concurrent_handshakes_cannot_overshoot_max_sessions() -> None:
    async with serve(engines=tone_engines(), api_key="sk-cap", max_sessions=2) as h:
        request = upgrade_request(URL, "Authorization: Bearer sk-cap")
        streams = [await asyncio.open_connection("127.0.0.1", h.port) for _ in range(12)]
        try:
            for _, writer in streams:
                writer.write(request)  # all at once, before any answer
            await asyncio.gather(*(writer.drain() for _, writer in streams))
            lines = await asyncio.gather(
                *(asyncio.wait_for(reader.readline(), 5) for reader, _ in streams)
            )
        finally:
            for _, writer in streams:
                writer.close()
        statuses = sorted(int(line.split()[1]) for line in lines)
        assert statuses == [101, 101] + [503] * 10


async def test_azure_preview_routes_need_an_api_version() -> None:
    async with serve(engines=tone_engines(), api_key="k") as h:
        socket = upgrade_request("/openai/realtime?deployment=dep", "api-key: k")
        sessions = (
            b"POST /openai/realtimeapi/sessions HTTP/1.1\r\nHost: x\r\napi-key: k\r\n"
            b"Content-Type: application/json\r\nContent-Length: 15\r\n\r\n"
            b'{"model":"dep"}'
        )
        for request in (socket, sessions):
            status, _, body = await exchange(h.port, request)
            assert status == 400
            error = error_of(body)
            assert error["message"] == "Missing required query parameter: 'api-version'."
            assert (error["code"], error["param"]) == ("missing_required_parameter", "api-version")
