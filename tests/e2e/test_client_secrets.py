"""Client secrets minted by realtalk against the local server over loopback, then used by the
official ``openai`` client the way a browser app would use them."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI
from openai.types.realtime import RealtimeSessionCreateRequest

from realtalk import Agent, ClientSecret, Runner, SessionConfig, function_tool
from realtalk.errors import ConfigError, HandshakeError, ServerError, TransportError
from realtalk.providers import AzureOpenAI, Compatible, Local, OpenAI
from realtalk.rest import client_secret_body
from realtalk.server.engines import EngineSpec
from tests.oracle import assert_valid_server_event

TONE = EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


AGENT = Agent(name="Weather", instructions="Answer about the weather.", tools=[get_weather])


@pytest.fixture
async def local() -> AsyncIterator[Local]:
    async with Local(engines=TONE) as provider:
        yield provider


async def first_event(api_key: str, ws_base: str, model: str) -> dict[str, Any]:
    client = AsyncOpenAI(api_key=api_key, websocket_base_url=ws_base)
    async with client.realtime.connect(model=model) as conn:
        created: dict[str, Any] = json.loads((await conn.recv_bytes()).decode())
    return created


async def test_runner_secret_carries_agent_to_openai_client(local: Local) -> None:
    runner = Runner(AGENT, provider=local, config=SessionConfig(voice="marin"))
    secret = await runner.create_client_secret(expires_after=60)
    assert isinstance(secret, ClientSecret)
    assert secret.value.startswith("ek_")
    assert secret.value not in repr(secret)
    assert secret.session.instructions == "Answer about the weather."
    handle = local.running
    created = await first_event(secret.value, handle.url, "gpt-realtime")
    assert created["type"] == "session.created"
    session = created["session"]
    assert session["instructions"] == "Answer about the weather."
    assert [t["name"] for t in session["tools"]] == ["get_weather"]
    assert session["audio"]["output"]["voice"] == "marin"


async def test_azure_ga_route_secret() -> None:
    async with Local(flavor="azure", model="my-deployment", engines=TONE) as local:
        runner = Runner(AGENT, provider=local)
        secret = await runner.create_client_secret()
        handle = local.running
        created = await first_event(
            secret.value, f"ws://127.0.0.1:{handle.port}/openai/v1", "my-deployment"
        )
    assert created["session"]["model"] == "my-deployment"
    assert created["session"]["instructions"] == "Answer about the weather."
    assert [t["name"] for t in created["session"]["tools"]] == ["get_weather"]


async def test_provider_secret_with_config(local: Local) -> None:
    secret = await local.create_client_secret(
        config=SessionConfig(instructions="Be brief.", output_modalities=("text",)),
        expires_after=120,
    )
    assert secret.session.instructions == "Be brief."
    assert secret.session.output_modalities == ("text",)
    assert secret.session_id is not None
    assert secret.session_id.startswith("sess_")
    created = await first_event(secret.value, local.running.url, "gpt-realtime")
    assert created["session"]["output_modalities"] == ["text"]


async def test_invalid_config_fails_before_any_request(local: Local) -> None:
    store = local.running.server.secrets
    with pytest.raises(ConfigError) as info:
        await local.create_client_secret(config=SessionConfig(temperature=0.7))
    assert "temperature" in str(info.value)
    with pytest.raises(ConfigError, match="expires_after"):
        await local.create_client_secret(expires_after=5)
    with pytest.raises(ConfigError, match="expires_after"):
        await local.create_client_secret(expires_after=7201)
    assert store.minted == 0  # nothing reached the server


async def test_service_error_becomes_server_error(local: Local) -> None:
    handle = local.running
    wrong = OpenAI(api_key="sk-wrong-key-123", base_url=handle.http_url)
    with pytest.raises(ServerError) as info:
        await wrong.create_client_secret()
    assert info.value.code == "invalid_api_key"
    assert "Incorrect API key" in info.value.message
    assert "sk-wrong-key-123" not in str(info.value)


async def test_compatible_with_configured_path(local: Local) -> None:
    handle = local.running
    gateway = Compatible(
        url=f"ws://127.0.0.1:{handle.port}/v1/realtime?model=gpt-realtime",
        api_key=handle.api_key,
        rest_base=f"http://127.0.0.1:{handle.port}/openai/v1",
        client_secrets_path="/realtime/client_secrets",
    )
    secret = await gateway.create_client_secret(config=SessionConfig(instructions="Hi."))
    assert secret.session.instructions == "Hi."
    with pytest.raises(ConfigError, match="REST"):
        await Compatible(url="ws://127.0.0.1:1/v1/realtime").create_client_secret()


async def test_unreachable_service_is_a_transport_error() -> None:
    provider = OpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(TransportError):
        await provider.create_client_secret(timeout=2)


async def test_no_secret_in_any_log(local: Local, caplog: pytest.LogCaptureFixture) -> None:
    handle = local.running
    caplog.set_level(logging.DEBUG)  # root: httpx2, httpcore2, realtalk and the server alike
    for name in ("httpx2", "httpcore2", "realtalk", "websockets"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        secret = await Runner(AGENT, provider=local).create_client_secret()
        with pytest.raises(ServerError):
            await OpenAI(api_key="sk-leak-check", base_url=handle.http_url).create_client_secret()
    finally:
        for name in ("httpx2", "httpcore2", "realtalk", "websockets"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert any(r.name.startswith("httpcore2") for r in caplog.records), "DEBUG logs were on"
    assert handle.api_key is not None
    for leaked in (handle.api_key, secret.value, "sk-leak-check"):
        assert leaked not in text


# -- request shapes, checked against the official package's types ----------------------------


def test_openai_body_is_a_valid_ga_request() -> None:
    body = client_secret_body(
        OpenAI(api_key="sk-x", model="gpt-realtime"),
        SessionConfig(instructions="Hi.", voice="marin"),
        300,
    )
    assert body["expires_after"] == {"anchor": "created_at", "seconds": 300}
    assert body["session"]["type"] == "realtime"
    assert body["session"]["model"] == "gpt-realtime"
    RealtimeSessionCreateRequest.model_validate(body["session"])


def test_azure_ga_body_uses_the_deployment_as_model() -> None:
    azure = AzureOpenAI(endpoint="https://res.openai.azure.com", deployment="dep", api_key="k")
    body = client_secret_body(azure, SessionConfig(instructions="Hi."), None)
    assert body == {"session": {"type": "realtime", "instructions": "Hi.", "model": "dep"}}
    assert azure.rest_surface().client_secrets_url == (
        "https://res.openai.azure.com/openai/v1/realtime/client_secrets"
    )
    with pytest.raises(ConfigError, match="deployment"):
        client_secret_body(azure, SessionConfig(model="gpt-realtime"), None)


def test_azure_preview_body_is_the_flat_session() -> None:
    azure = AzureOpenAI(
        endpoint="https://res.openai.azure.com",
        deployment="dep",
        api_key="k",
        api_version="2025-04-01-preview",
    )
    body = client_secret_body(azure, SessionConfig(voice="verse", instructions="Hi."), None)
    assert body == {"model": "dep", "voice": "verse", "instructions": "Hi."}
    assert azure.rest_surface().client_secrets_url == (
        "https://res.openai.azure.com/openai/realtimeapi/sessions?api-version=2025-04-01-preview"
    )
    with pytest.raises(ConfigError, match="one minute"):
        client_secret_body(azure, SessionConfig(), 60)


async def test_azure_preview_route_secret() -> None:
    async with Local(flavor="azure-preview", model="my-deployment", engines=TONE) as local:
        runner = Runner(AGENT, provider=local, config=SessionConfig(voice="verse"))
        secret = await runner.create_client_secret()
        assert secret.session.voice == "verse"
        assert secret.session.instructions == "Answer about the weather."
        assert 50 <= secret.expires_at - time.time() <= 61  # "valid for one minute"
        handle = local.running
        # The browser's part, with the official client: the beta-shaped preview route,
        # authenticated by the ek_ key alone.
        client = AsyncAzureOpenAI(
            api_key=secret.value,
            api_version="2025-04-01-preview",
            azure_endpoint=f"http://127.0.0.1:{handle.port}",
            websocket_base_url=f"ws://127.0.0.1:{handle.port}/openai",
        )
        async with client.beta.realtime.connect(model="my-deployment") as conn:
            created = assert_valid_server_event("beta", (await conn.recv_bytes()).decode())
    assert created["type"] == "session.created"
    assert created["session"]["instructions"] == "Answer about the weather."
    assert created["session"]["voice"] == "verse"
    assert [t["name"] for t in created["session"]["tools"]] == ["get_weather"]


async def test_expired_secret_is_refused(local: Local) -> None:
    from openai import APIStatusError
    from websockets.exceptions import InvalidStatus

    secret = await local.create_client_secret(expires_after=10)  # the shortest lifetime allowed
    await asyncio.sleep(max(0.0, secret.expires_at - time.time()) + 0.2)  # a real clock
    with pytest.raises((InvalidStatus, APIStatusError)) as info:
        await first_event(secret.value, local.running.url, "gpt-realtime")
    assert "401" in str(info.value)


async def test_wrong_scope_secret_is_refused() -> None:
    from websockets.exceptions import InvalidStatus

    from realtalk.transports.websocket import connect_websocket

    async with Local(flavor="azure-preview", model="dep", engines=TONE) as preview:
        handle = preview.running
        preview_secret = await preview.create_client_secret()
        # A preview (beta-shaped) secret does not open a GA session on the same server ...
        with pytest.raises(InvalidStatus) as info:
            await first_event(preview_secret.value, handle.url, "gpt-realtime")
        assert info.value.response.status_code == 401
        # ... and a GA secret does not open the preview route.
        ga_secret = await OpenAI(
            api_key=handle.api_key, base_url=handle.http_url
        ).create_client_secret()
        with pytest.raises(HandshakeError) as refused:
            await connect_websocket(
                f"ws://127.0.0.1:{handle.port}/openai/realtime"
                "?api-version=2025-04-01-preview&deployment=dep",
                {"api-key": ga_secret.value},
            )
        assert refused.value.status == 401
        assert "minted on the OpenAI GA endpoint" in str(refused.value)
