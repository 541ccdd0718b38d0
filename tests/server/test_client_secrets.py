"""Client secrets scoped like the service's (protocol.md §1a, §1e): session type, route and
dialect of the mint, expiry, and the minted session config applied to the sessions they open."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from realtalk.server import ServerHandle, serve
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines


def post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def mint(h: ServerHandle, body: dict[str, Any], *, azure: bool = False) -> str:
    path = "/openai/v1/realtime/client_secrets" if azure else "/v1/realtime/client_secrets"
    headers = {"api-key": "sk-main"} if azure else {"Authorization": "Bearer sk-main"}
    status, answer = await asyncio.to_thread(
        post, f"http://127.0.0.1:{h.port}{path}", body, headers
    )
    assert status == 200, answer
    value: str = answer["value"]
    return value


async def refused(h: ServerHandle, path: str, secret: str, **headers: str) -> dict[str, Any]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(
            f"ws://127.0.0.1:{h.port}{path}",
            additional_headers={"Authorization": f"Bearer {secret}", **headers},
        ):
            pass
    assert info.value.response.status_code == 401
    error: dict[str, Any] = json.loads(info.value.response.body)["error"]
    return error


async def first(h: ServerHandle, path: str, secret: str, dialect: str = "ga") -> dict[str, Any]:
    async with connect(
        f"ws://127.0.0.1:{h.port}{path}", additional_headers={"Authorization": f"Bearer {secret}"}
    ) as ws:
        return assert_valid_server_event(dialect, await asyncio.wait_for(ws.recv(), 5))


TRANSCRIPTION = {"session": {"type": "transcription"}}


async def test_a_transcription_secret_cannot_open_a_realtime_session() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, TRANSCRIPTION)
        error = await refused(h, "/v1/realtime?model=gpt-realtime&intent=realtime", secret)
        assert "minted for a transcription session" in error["message"]
        assert secret not in json.dumps(error)
        # Without an intent the secret's own type applies: a transcription session.
        created = await first(h, "/v1/realtime", secret)
        assert created["session"]["type"] == "transcription"
        # A realtime secret cannot open a transcription session either.
        realtime = await mint(h, {"session": {"type": "realtime"}})
        error = await refused(h, "/v1/realtime?intent=transcription", realtime)
        assert "minted for a realtime session" in error["message"]


async def test_an_openai_route_secret_cannot_open_azure_or_beta_routes() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, {})
        for path in (
            "/openai/v1/realtime?model=dep",
            "/openai/realtime?api-version=2025-04-01-preview&deployment=dep",
        ):
            error = await refused(h, path, secret)
            assert "minted on the OpenAI GA endpoint" in error["message"]
        error = await refused(
            h, "/v1/realtime?model=gpt-realtime", secret, **{"OpenAI-Beta": "realtime=v1"}
        )
        assert "OpenAI GA endpoint" in error["message"]
        assert (await first(h, "/v1/realtime?model=gpt-realtime", secret))["type"] == (
            "session.created"
        )


async def test_an_azure_secret_opens_only_azure_ga() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, {"session": {"type": "realtime", "model": "dep"}}, azure=True)
        error = await refused(h, "/v1/realtime?model=gpt-realtime", secret)
        assert "Azure OpenAI GA endpoint" in error["message"]
        created = await first(h, "/openai/v1/realtime?model=dep", secret)
        assert created["session"]["type"] == "realtime"


async def test_expires_after_is_honoured() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, {"expires_after": {"anchor": "created_at", "seconds": 10}})
        assert (await first(h, "/v1/realtime?model=gpt-realtime", secret))["type"] == (
            "session.created"
        )
        real_clock = h.server.clock
        h.server.clock = lambda: real_clock() + 11
        error = await refused(h, "/v1/realtime?model=gpt-realtime", secret)
        assert error["code"] == "invalid_api_key"


async def test_the_minted_session_config_applies_to_the_sessions_it_opens() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        config = {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "Speak like a lighthouse keeper.",
            "audio": {"output": {"voice": "cedar"}},
        }
        secret = await mint(h, {"session": config})
        # The model comes from the secret when the URL has none.
        for path in ("/v1/realtime", "/v1/realtime?model=gpt-realtime"):
            session = (await first(h, path, secret))["session"]
            assert session["instructions"] == "Speak like a lighthouse keeper."
            assert session["audio"]["output"]["voice"] == "cedar"
        transcription = await mint(
            h,
            {
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"model": "whisper-1", "language": "de"}}},
                }
            },
        )
        session = (await first(h, "/v1/realtime?intent=transcription", transcription))["session"]
        assert session["audio"]["input"]["transcription"]["language"] == "de"


async def test_an_azure_preview_key_opens_only_the_preview_route() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        url = (
            f"http://127.0.0.1:{h.port}/openai/realtimeapi/sessions?api-version=2025-04-01-preview"
        )
        status, body = await asyncio.to_thread(
            post, url, {"model": "dep", "voice": "verse"}, {"api-key": "sk-main"}
        )
        assert status == 200, body
        key = body["client_secret"]["value"]
        preview = "/openai/realtime?api-version=2025-04-01-preview&deployment=dep"
        assert (await first(h, preview, key, "beta"))["session"]["voice"] == "verse"
        error = await refused(h, "/openai/v1/realtime?model=dep", key)
        assert "minted on the Azure OpenAI preview endpoint" in error["message"]
