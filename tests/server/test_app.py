"""The asyncio front over real loopback sockets: routes, auth, client secrets, limits."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtalk.errors import ConfigError
from realtalk.server import serve
from realtalk.server.core.config import ServerConfig
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines


def ws_url(port: int, path: str) -> str:
    return f"ws://127.0.0.1:{port}{path}"


async def first_event(ws: Any, dialect: str = "ga") -> dict[str, Any]:
    return assert_valid_server_event(dialect, await asyncio.wait_for(ws.recv(), 5))


def post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_bearer_auth_required_and_checked() -> None:
    async with serve(engines=tone_engines(), api_key="sk-test-1") as h:
        with pytest.raises(InvalidStatus) as info:
            async with connect(ws_url(h.port, "/v1/realtime?model=gpt-realtime")):
                pass
        assert info.value.response.status_code == 401
        assert json.loads(info.value.response.body)["error"]["code"] == "invalid_api_key"
        with pytest.raises(InvalidStatus):
            async with connect(
                ws_url(h.port, "/v1/realtime?model=gpt-realtime"),
                additional_headers={"Authorization": "Bearer sk-test-2"},
            ):
                pass
        async with connect(
            ws_url(h.port, "/v1/realtime?model=gpt-realtime"),
            additional_headers={"Authorization": "Bearer sk-test-1"},
        ) as ws:
            assert (await first_event(ws))["type"] == "session.created"


async def test_browser_subprotocol_auth() -> None:
    async with (
        serve(engines=tone_engines(), api_key="sk-browser") as h,
        connect(
            ws_url(h.port, "/v1/realtime?model=gpt-realtime"),
            subprotocols=["realtime", "openai-insecure-api-key.sk-browser"],  # type: ignore[list-item]
        ) as ws,
    ):
        assert ws.subprotocol == "realtime"
        assert (await first_event(ws))["type"] == "session.created"


async def test_azure_routes_auth_and_api_version_rule() -> None:
    async with serve(engines=tone_engines(), api_key="az-key") as h:
        async with connect(
            ws_url(h.port, "/openai/v1/realtime?model=dep"),
            additional_headers={"api-key": "az-key"},
        ) as ws:
            assert (await first_event(ws))["session"]["type"] == "realtime"
        with pytest.raises(InvalidStatus) as info:
            async with connect(
                ws_url(h.port, "/openai/v1/realtime?model=dep&api-version=2025-04-01-preview"),
                additional_headers={"api-key": "az-key"},
            ):
                pass
        assert info.value.response.status_code == 401
        async with connect(
            ws_url(
                h.port,
                "/openai/realtime?api-version=2025-04-01-preview&deployment=dep&api-key=az-key",
            )
        ) as ws:
            session = (await first_event(ws, "beta"))["session"]
            assert session["modalities"] == ["audio", "text"]
            assert "speed" not in session


async def test_beta_header_gets_beta_shape_or_retired_error() -> None:
    headers = {"Authorization": "Bearer k", "OpenAI-Beta": "realtime=v1"}
    async with (
        serve(engines=tone_engines(), api_key="k") as h,
        connect(
            ws_url(h.port, "/v1/realtime?model=gpt-realtime"), additional_headers=headers
        ) as ws,
    ):
        assert "modalities" in (await first_event(ws, "beta"))["session"]
    async with (
        serve(engines=tone_engines(), api_key="k", retire_beta=True) as h,
        connect(
            ws_url(h.port, "/v1/realtime?model=gpt-realtime"), additional_headers=headers
        ) as ws,
    ):
        event = await first_event(ws)
        assert event["error"]["code"] == "beta_api_shape_disabled"
        assert event["error"]["message"] == (
            "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
        )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4000


async def test_unknown_path_and_missing_model() -> None:
    async with serve(engines=tone_engines(), no_auth=True) as h:
        for path, status in (("/v2/nothing", 404), ("/v1/realtime", 400)):
            with pytest.raises(InvalidStatus) as info:
                async with connect(ws_url(h.port, path)):
                    pass
            assert info.value.response.status_code == status


async def test_client_secret_ttl_limits_and_auth() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        url = f"http://127.0.0.1:{h.port}/v1/realtime/client_secrets"
        auth = {"Authorization": "Bearer sk-main"}
        status, body = await asyncio.to_thread(post, url, {}, auth)
        assert status == 200
        assert body["value"].startswith("ek_")
        assert body["session"]["object"] == "realtime.session"
        for seconds in (9, 7201):
            status, body = await asyncio.to_thread(
                post, url, {"expires_after": {"anchor": "created_at", "seconds": seconds}}, auth
            )
            assert status == 400
            assert body["error"]["param"] == "expires_after.seconds"
        status, body = await asyncio.to_thread(
            post, url, {"session": {"type": "realtime", "temperature": 0.8}}, auth
        )
        assert status == 400
        assert body["error"]["code"] == "unknown_parameter"
        status, _ = await asyncio.to_thread(post, url, {}, {"Authorization": "Bearer wrong"})
        assert status == 401
        status, body = await asyncio.to_thread(post, url, {}, auth)
        ek = body["value"]
        # An ephemeral key cannot mint more keys, but opens sessions.
        status, _ = await asyncio.to_thread(post, url, {}, {"Authorization": f"Bearer {ek}"})
        assert status == 401
        async with connect(
            ws_url(h.port, "/v1/realtime?model=gpt-realtime"),
            additional_headers={"Authorization": f"Bearer {ek}"},
        ) as ws:
            assert (await first_event(ws))["type"] == "session.created"


async def drain_until_closed(ws: Any) -> None:
    """Read until the server closes the connection (bounded: 5 s per message)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed:
        return


URL = "/v1/realtime?model=gpt-realtime"


async def test_max_sessions_gives_503() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True, max_sessions=1) as h,
        connect(ws_url(h.port, URL)) as ws,
    ):
        await first_event(ws)
        with pytest.raises(InvalidStatus) as info:
            await connect(ws_url(h.port, URL))
        assert info.value.response.status_code == 503


async def test_oversized_message_closes_cleanly_with_1009() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True, max_message_bytes=10_000) as h,
        connect(ws_url(h.port, URL), max_size=None) as ws,
    ):
        await first_event(ws)
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 20_000}))
        await drain_until_closed(ws)
        assert ws.close_code == 1009


async def test_idle_connection_is_closed_with_reason() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True, idle_timeout_s=0.2) as h,
        connect(ws_url(h.port, URL)) as ws,
    ):
        await drain_until_closed(ws)
        assert (ws.close_code, ws.close_reason) == (1000, "idle timeout")


async def test_bad_client_event_is_an_error_not_a_crash() -> None:
    async with (
        serve(engines=tone_engines(), no_auth=True) as h,
        connect(ws_url(h.port, URL)) as ws,
    ):
        await first_event(ws)
        await first_event(ws)
        await ws.send("not json at all")
        event = await first_event(ws)
        assert event["error"]["code"] == "invalid_event"
        await ws.send(b"\xff\xfe")
        assert (await first_event(ws))["error"]["code"] == "invalid_event"


def test_no_auth_refused_off_loopback() -> None:
    with pytest.raises(ConfigError):
        ServerConfig(host="0.0.0.0", no_auth=True)
