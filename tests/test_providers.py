"""Providers: handshake URLs and headers, validation before encoding, on_send, secret-free reprs."""

from __future__ import annotations

from typing import Any

import pytest

from realtalk.commands import CommitAudio
from realtalk.config import NoiseReduction, SemanticVAD, ServerVAD, SessionConfig, ToolSpec
from realtalk.errors import ConfigError
from realtalk.providers import AzureOpenAI, Compatible, OpenAI, Provider
from tests.oracle import validate_client_event

SECRET = "sk-test-SECRET-123"


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)


def keys(obj: Any) -> set[str]:
    """Every key anywhere in a JSON-like value."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in keys(v)}
    return set()


# -- OpenAI ----------------------------------------------------------------------------------


async def test_openai_handshake() -> None:
    provider = OpenAI(
        api_key=SECRET, organization="org_1", project="proj_1", headers={"X-Trace": "t"}
    )
    url, headers = await provider.handshake()
    assert url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert headers == {
        "X-Trace": "t",
        "OpenAI-Organization": "org_1",
        "OpenAI-Project": "proj_1",
        "Authorization": f"Bearer {SECRET}",
    }
    assert not any(h.lower() == "openai-beta" for h in headers)
    assert provider.handshake_sync() == (url, headers)


async def test_openai_key_from_environment_at_handshake(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = OpenAI(model="gpt-realtime-mini", base_url="http://localhost:8000/v1/")
    with pytest.raises(ConfigError) as info:
        await provider.handshake()
    assert "OPENAI_API_KEY" in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    url, headers = await provider.handshake()
    assert url == "ws://localhost:8000/v1/realtime?model=gpt-realtime-mini"
    assert headers["Authorization"] == "Bearer from-env"


def test_extra_headers_cannot_replace_auth_or_add_openai_beta_on_ga() -> None:
    with pytest.raises(ConfigError) as info:
        OpenAI(
            api_key=SECRET, headers={"authorization": "Bearer other", "OpenAI-Beta": "realtime=v1"}
        )
    assert len(info.value.problems) == 2
    assert SECRET not in str(info.value)
    assert "Bearer other" not in str(info.value)
    with pytest.raises(ConfigError):
        AzureOpenAI("https://r.openai.azure.com", "d", api_key="k", headers={"API-Key": "x"})
    with pytest.raises(ConfigError):
        Compatible("wss://gw/v1/realtime", headers={"OpenAI-Beta": "realtime=v1"})
    # A beta-shape gateway may want it; nothing of ours conflicts with it there.
    Compatible("wss://gw/v1/realtime", dialect="beta", headers={"OpenAI-Beta": "realtime=v1"})


def test_text_and_audio_with_semantic_vad_gives_a_payload_ga_accepts() -> None:
    config = SessionConfig(
        output_modalities=["text", "audio"],  # type: ignore[arg-type]
        turn_detection=SemanticVAD(eagerness="low"),
        instructions="Be brief.",
    )
    event = OpenAI(api_key=SECRET).session_update(config, event_id="evt_1")
    assert event is not None
    validate_client_event("ga", event)
    session = event["session"]
    assert session["type"] == "realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
    }
    assert event["event_id"] == "evt_1"


def test_session_update_validates_before_encoding_or_on_send() -> None:
    seen: list[dict[str, Any]] = []

    def hook(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return event

    provider = OpenAI(api_key=SECRET, on_send=hook)
    with pytest.raises(ConfigError) as info:
        provider.session_update(SessionConfig(temperature=0.8, speed=9.0))
    assert info.value.paths == ("session.audio.output.speed", "session.temperature")
    assert seen == []


# -- Azure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://res.openai.azure.com",
        "https://res.openai.azure.com/",
        "res.openai.azure.com",
        "https://res.openai.azure.com/openai/v1/",
    ],
)
async def test_azure_ga_handshake_never_has_api_version(endpoint: str) -> None:
    provider = AzureOpenAI(endpoint, "my realtime", api_key=SECRET)
    url, headers = await provider.handshake()
    assert url == "wss://res.openai.azure.com/openai/v1/realtime?model=my%20realtime"
    assert "api-version" not in url
    assert headers == {"api-key": SECRET}
    assert provider.name == "azure"
    assert provider.dialect.name == "ga"


async def test_azure_preview_handshake_and_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = AzureOpenAI("https://res.openai.azure.com", "dep", api_version="2025-04-01-preview")
    with pytest.raises(ConfigError) as info:
        await provider.handshake()
    assert "AZURE_OPENAI_API_KEY" in str(info.value)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    url, headers = await provider.handshake()
    assert url == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=dep"
    )
    assert headers == {"api-key": "env-key"}
    assert provider.name == "azure-preview"
    assert provider.dialect.name == "beta"


async def test_sync_token_provider_is_called_at_each_handshake() -> None:
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return f"tok{len(calls)}"

    provider = AzureOpenAI("https://res.openai.azure.com", "dep", token_provider=token)
    assert calls == []
    _, first = await provider.handshake()
    _, second = provider.handshake_sync()
    assert first == {"Authorization": "Bearer tok1"}
    assert second == {"Authorization": "Bearer tok2"}


async def test_async_token_provider_is_awaited_at_each_handshake() -> None:
    calls: list[int] = []

    async def token() -> str:
        calls.append(1)
        return f"entra{len(calls)}"

    provider = AzureOpenAI(
        "https://res.openai.azure.com",
        "dep",
        token_provider=token,
        api_version="2025-04-01-preview",
    )
    assert (await provider.handshake())[1] == {"Authorization": "Bearer entra1"}
    assert (await provider.handshake())[1] == {"Authorization": "Bearer entra2"}
    with pytest.raises(TypeError, match=r"await provider\.handshake"):
        provider.handshake_sync()


async def test_token_provider_must_return_a_token() -> None:
    provider = AzureOpenAI("https://r.openai.azure.com", "d", token_provider=lambda: "")
    with pytest.raises(ConfigError, match="non-empty string token"):
        await provider.handshake()


def test_azure_takes_a_key_or_a_token_provider_not_both() -> None:
    with pytest.raises(ConfigError, match="pass one"):
        AzureOpenAI("https://r.openai.azure.com", "d", api_key="k", token_provider=lambda: "t")


def test_azure_preview_payload_has_no_ga_keys_and_matches_the_beta_type() -> None:
    config = SessionConfig(
        output_modalities=("audio",),
        instructions="Hi",
        voice="alloy",
        turn_detection=ServerVAD(threshold=0.6, silence_duration_ms=400),
        noise_reduction=NoiseReduction("near_field"),
        tools=(ToolSpec("get_time", "Current time"),),
        temperature=0.8,
        max_output_tokens=512,
    )
    provider = AzureOpenAI("https://r.openai.azure.com", "d", api_version="2025-04-01-preview")
    event = provider.session_update(config)
    assert event is not None
    assert not set(event["session"]) & {"type", "output_modalities", "audio"}
    assert "output_modalities" not in keys(event)
    assert event["session"]["modalities"] == ["audio", "text"]
    validate_client_event("beta", event)


def test_azure_preview_rejects_what_it_does_not_document() -> None:
    provider = AzureOpenAI("https://r.openai.azure.com", "d", api_version="2025-04-01-preview")
    with pytest.raises(ConfigError) as info:
        provider.session_update(SessionConfig(speed=1.2, tracing="auto"))
    assert info.value.paths == ("session.speed", "session.tracing")
    assert info.value.target == "Azure OpenAI preview"


def test_azure_ga_payload_is_ga() -> None:
    provider = AzureOpenAI("https://r.openai.azure.com", "d", api_key="k")
    event = provider.session_update(SessionConfig(instructions="x", output_modalities=("text",)))
    assert event == {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "x", "output_modalities": ["text"]},
    }


# -- Compatible ------------------------------------------------------------------------------


async def test_compatible_gateway() -> None:
    ga = Compatible(
        "https://gw.example/v1/realtime?model=m", api_key=SECRET, headers={"X-Team": "a"}
    )
    assert await ga.handshake() == (
        "wss://gw.example/v1/realtime?model=m",
        {"X-Team": "a", "Authorization": f"Bearer {SECRET}"},
    )
    beta = Compatible(
        "ws://localhost:9000/rt", dialect="beta", headers={"Authorization": "Bearer gw"}
    )
    assert await beta.handshake() == ("ws://localhost:9000/rt", {"Authorization": "Bearer gw"})
    assert beta.name == "compatible-beta"
    event = beta.session_update(SessionConfig(output_modalities=("text",)))
    assert event == {"type": "session.update", "session": {"modalities": ["text"]}}
    with pytest.raises(ConfigError):
        Compatible("ftp://gw")


# -- on_send ---------------------------------------------------------------------------------


def test_on_send_rewrites_the_event() -> None:
    def add_voice(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "session.update":
            event["session"]["custom_field"] = 1
        return event

    provider = OpenAI(api_key=SECRET, on_send=add_voice)
    event = provider.session_update(SessionConfig(instructions="x"))
    assert event is not None
    assert event["session"]["custom_field"] == 1
    assert provider.encode(CommitAudio()) == {"type": "input_audio_buffer.commit"}


def test_on_send_drops_the_event() -> None:
    def drop_updates(event: dict[str, Any]) -> dict[str, Any] | None:
        return None if event["type"] == "session.update" else event

    provider = Compatible("wss://gw/rt", dialect="beta", on_send=drop_updates)
    assert provider.session_update(SessionConfig(instructions="x")) is None
    assert provider.encode(CommitAudio(), "e1") == {
        "type": "input_audio_buffer.commit",
        "event_id": "e1",
    }


def test_on_send_must_return_a_dict_or_none() -> None:
    provider = OpenAI(api_key=SECRET, on_send=lambda e: "nope")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="on_send must return"):
        provider.encode(CommitAudio())


# -- secrets ---------------------------------------------------------------------------------


def test_reprs_never_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    providers: list[Provider] = [
        OpenAI(api_key=SECRET, headers={"X-Api-Key": SECRET}),
        OpenAI(),
        AzureOpenAI("https://r.openai.azure.com", "d", api_key=SECRET),
        AzureOpenAI("https://r.openai.azure.com", "d", token_provider=lambda: SECRET),
        Compatible("wss://gw/rt", api_key=SECRET),
        Compatible(
            "wss://gw/rt?api-key=" + SECRET, headers={"Authorization": SECRET, "api-key": SECRET}
        ),
    ]
    for provider in providers:
        assert SECRET not in repr(provider)
        assert SECRET not in str(provider.redacted_headers())
    assert repr(providers[0]) == (
        "OpenAI(model='gpt-realtime', base_url='https://api.openai.com/v1', api_key=<set>, "
        "headers=['X-Api-Key'])"
    )
    assert "api_key=<from $OPENAI_API_KEY>" in repr(providers[1])
    assert "token_provider=<set>" in repr(providers[3])
    assert providers[2].redacted_headers() == {"api-key": "<redacted>"}
    assert providers[3].redacted_headers() == {"Authorization": "<redacted>"}
