"""Client secrets scoped like the service's (protocol.md §1a, §1e): session type, route and
dialect of the mint, expiry, and the minted session config applied to the sessions they open;
stateless (signed), so other workers and replicas with the same signing key accept them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from realtalk.server import ServerHandle, serve
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines
from tests.server.served import Served


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


# --- stateless: any replica that shares the signing key accepts the secret -----------------------

LIGHTHOUSE = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "Speak like a lighthouse keeper.",
    "audio": {"output": {"voice": "cedar"}},
}


def mint_on(port: int, key: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = post(
        f"http://127.0.0.1:{port}/v1/realtime/client_secrets",
        body,
        {"Authorization": f"Bearer {key}"},
    )
    assert status == 200, answer
    return answer


async def created_with_openai_client(port: int, secret: str) -> dict[str, Any]:
    """session.created as the official openai client receives it, connecting with ``secret``."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=secret, websocket_base_url=f"ws://127.0.0.1:{port}/v1")
    async with client.realtime.connect(model="gpt-realtime") as conn:
        event = await asyncio.wait_for(conn.recv(), 10)
    assert event.type == "session.created", event
    return assert_valid_server_event("ga", event.model_dump_json())


def test_a_secret_minted_on_one_replica_opens_sessions_on_another(served: list[Served]) -> None:
    a = Served("--api-key", "sk-shared-across-replicas")
    served.append(a)
    b = Served("--api-key", "sk-shared-across-replicas")
    served.append(b)
    minted = mint_on(a.port, "sk-shared-across-replicas", {"session": LIGHTHOUSE})
    session = asyncio.run(created_with_openai_client(b.port, minted["value"]))["session"]
    assert session["instructions"] == "Speak like a lighthouse keeper."
    assert session["audio"]["output"]["voice"] == "cedar"
    # ...and the replica that minted it, too.
    session = asyncio.run(created_with_openai_client(a.port, minted["value"]))["session"]
    assert session["instructions"] == "Speak like a lighthouse keeper."


def test_a_shared_secret_key_lets_replicas_with_other_api_keys_agree(
    served: list[Served],
) -> None:
    signing = "a-signing-key-every-replica-shares"
    a = Served("--api-key", "sk-replica-a", "--secret-key", signing)
    served.append(a)
    b = Served("--api-key", "sk-replica-b", env={"REALTALK_SERVER_SECRET_KEY": signing})
    served.append(b)
    other = Served("--api-key", "sk-replica-a")  # same API key as a, but not the signing key
    served.append(other)
    minted = mint_on(a.port, "sk-replica-a", {"session": LIGHTHOUSE})
    session = asyncio.run(created_with_openai_client(b.port, minted["value"]))["session"]
    assert session["instructions"] == "Speak like a lighthouse keeper."
    # A replica with another signing key refuses it as it refuses any unknown key.
    error = asyncio.run(refused_on(other.port, "/v1/realtime?model=gpt-realtime", minted["value"]))
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith("Incorrect API key provided.")
    for one in (a, b, other):
        assert one.stop() == 0
        assert minted["value"] not in one.proc.stdout.read() + one.proc.stderr.read()  # type: ignore[operator, union-attr]
        assert signing not in "".join(one.lines)


async def refused_on(port: int, path: str, secret: str) -> dict[str, Any]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(
            f"ws://127.0.0.1:{port}{path}", additional_headers={"Authorization": f"Bearer {secret}"}
        ):
            pass
    assert info.value.response.status_code == 401
    error: dict[str, Any] = json.loads(info.value.response.body)["error"]
    return error


def test_every_worker_accepts_a_secret_minted_by_one(served: list[Served]) -> None:
    server = Served("--api-key", "sk-workers", "--workers", "2")
    served.append(server)
    minted = mint_on(server.port, "sk-workers", {"session": LIGHTHOUSE})

    async def hold_sessions(n: int) -> dict[int, int]:
        """Open ``n`` fresh sessions with the secret, and while all are open, ask /readyz (any
        worker answers each time) how many each worker holds."""
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(n):
                ws = await stack.enter_async_context(
                    connect(
                        f"ws://127.0.0.1:{server.port}/v1/realtime",
                        additional_headers={"Authorization": f"Bearer {minted['value']}"},
                    )
                )
                created = assert_valid_server_event("ga", await asyncio.wait_for(ws.recv(), 10))
                assert created["session"]["instructions"] == "Speak like a lighthouse keeper."
            held: dict[int, int] = {}
            for _ in range(40):
                status, body = await asyncio.to_thread(server.readyz)
                assert status == 200, body
                held[int(body["pid"])] = int(body["sessions"])  # type: ignore[call-overload]
            return held

    held = asyncio.run(hold_sessions(24))
    # Both workers took sessions opened with the one secret (24 connections on one worker of
    # two would be 1 in 2**23; 40 readiness answers all from one worker 1 in 2**39).
    assert set(held) == server.workers
    assert all(count > 0 for count in held.values())
    assert sum(held.values()) == 24
    assert server.stop() == 0


async def test_an_altered_or_foreign_secret_is_an_incorrect_key() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, {"session": LIGHTHOUSE})
        flipped = secret[:-5] + ("A" if secret[-5] != "A" else "B") + secret[-4:]
        for bad in (flipped, secret[:-1], secret + "A", "ek_" + secret[10:], "ek_"):
            error = await refused(h, "/v1/realtime?model=gpt-realtime", bad)
            assert error["message"].startswith("Incorrect API key provided.")
    async with serve(engines=tone_engines(), api_key="sk-another") as other:
        error = await refused(other, "/v1/realtime?model=gpt-realtime", secret)
        assert error["code"] == "invalid_api_key"


async def test_a_secret_carries_a_long_config_and_refuses_one_too_long() -> None:
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        # Random words barely compress: a secret longer than aiohttp's default 8 KiB header.
        words = " ".join(secrets.token_urlsafe(6) for _ in range(1500))
        secret = await mint(h, {"session": {"type": "realtime", "instructions": words}})
        assert 8 * 1024 < len(secret) < 24 * 1024
        session = (await first(h, "/v1/realtime?model=gpt-realtime", secret))["session"]
        assert session["instructions"] == words
        too_long = " ".join(secrets.token_urlsafe(6) for _ in range(4000))
        status, answer = await asyncio.to_thread(
            post,
            f"http://127.0.0.1:{h.port}/v1/realtime/client_secrets",
            {"session": {"type": "realtime", "instructions": too_long}},
            {"Authorization": "Bearer sk-main"},
        )
        assert status == 400
        assert answer["error"]["code"] == "secret_too_large"
        assert "session.update" in answer["error"]["message"]


async def test_a_secret_never_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(engines=tone_engines(), api_key="sk-main") as h:
        secret = await mint(h, {"session": LIGHTHOUSE})
        await first(h, "/v1/realtime?model=gpt-realtime", secret)
        await refused(h, "/v1/realtime?model=gpt-realtime&intent=transcription", secret)
        real_clock = h.server.clock
        h.server.clock = lambda: real_clock() + 3600
        await refused(h, "/v1/realtime?model=gpt-realtime", secret)
        assert secret not in repr(h.server.secrets.lookup(secret, real_clock()))
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records  # the handshakes were logged at DEBUG...
    assert secret not in logged  # ...without the secret
    assert secret[3:40] not in logged
