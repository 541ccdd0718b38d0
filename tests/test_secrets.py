"""No credential in any log record, repr, str, exception message or ``explain`` output.

Every provider (OpenAI, Azure with a key and with an Entra token, Compatible with a header, a
query key, userinfo and a bearer key, Local) connects over real loopback sockets with DEBUG
logging on: to a scripted ``websockets.serve`` server that accepts, to the same server refusing
the handshake with a body that echoes the request's headers and path, and to the local server.
Everything a person or a log could read is collected and searched for every secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

import realtalk as rt
from realtalk import cli
from realtalk.providers import AzureOpenAI, Compatible, Local, OpenAI, Provider
from realtalk.redact import (
    RedactingFilter,
    redact_text,
    redact_url,
    remember_secret,
)

from .e2e.scripted_server import ScriptedServer

EXAMPLE = Path(__file__).parent.parent / "examples" / "config" / "concierge.toml"
OPENAI_KEY = "sk-openai-SECRET-0001"
AZURE_KEY = "azure-key-SECRET-0002"
ENTRA_TOKEN = "eyJ0eXAi.entra-SECRET-0003"
HEADER_SECRET = "gw-header-SECRET-0004"
QUERY_SECRET = "qs-query-SECRET-0005"
USER_PASSWORD = "pw-userinfo-SECRET-0006"
BEARER_SECRET = "cmp-bearer-SECRET-0007"
WRONG_LOCAL_KEY = "wrong-local-SECRET-0008"
SECRETS = [
    OPENAI_KEY,
    AZURE_KEY,
    ENTRA_TOKEN,
    HEADER_SECRET,
    QUERY_SECRET,
    USER_PASSWORD,
    BEARER_SECRET,
    WRONG_LOCAL_KEY,
]


class Collector(logging.Handler):
    """Everything a log handler can see: the formatted line, traceback and raw fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.names.add(record.name)
        self.texts.append(self.format(record))
        self.texts.append(f"{record.msg!r} {record.args!r} {record.exc_text!r}")


@pytest.fixture
def logs() -> Iterator[Collector]:
    collector = Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)


def leaks(texts: list[str], secrets: list[str]) -> list[tuple[str, str]]:
    return [(s, t[:300]) for t in texts for s in secrets if s and s in t]


def seen(exc: BaseException) -> list[str]:
    """What an app or a traceback shows of an exception."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))] + [
        str(getattr(exc, name, "")) for name in ("body", "problems")
    ]


@contextlib.asynccontextmanager
async def gatekeeper() -> AsyncIterator[str]:
    """A scripted GA server; a path containing ``reject`` is refused with HTTP 401 and a body
    echoing the request line and every header (as some gateways do)."""
    script = ScriptedServer()

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if "reject" not in request.path:
            return None
        echoed = {"path": request.path, "headers": dict(request.headers.raw_items())}
        body = ("GET " + request.path + "\n" + str(request.headers) + json.dumps(echoed)).encode()
        return Response(401, "Unauthorized", Headers({"Content-Type": "text/plain"}), body)

    async with serve(script.handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"127.0.0.1:{port}"


def providers_for(host: str, route: str) -> list[Provider]:
    async def entra() -> str:
        await asyncio.sleep(0)
        return ENTRA_TOKEN

    return [
        OpenAI(api_key=OPENAI_KEY, base_url=f"http://{host}/{route}/v1"),
        AzureOpenAI(f"http://{host}", f"{route}-dep", api_key=AZURE_KEY),
        AzureOpenAI(f"http://{host}", f"{route}-dep", token_provider=entra),
        AzureOpenAI(f"http://{host}", route, api_key=AZURE_KEY, api_version="2025-04-01-preview"),
        Compatible(f"ws://{host}/{route}/v1/realtime", headers={"X-Gateway-Auth": HEADER_SECRET}),
        Compatible(f"ws://{host}/{route}/v1/realtime?api_key={QUERY_SECRET}&model=m"),
        Compatible(f"ws://user:{USER_PASSWORD}@{host}/{route}/v1/realtime"),
        Compatible(f"ws://{host}/{route}/v1/realtime", api_key=BEARER_SECRET),
    ]


async def talk(provider: Provider, shown: list[str]) -> None:
    runner = rt.Runner(rt.Agent("helper", instructions="Be brief."), provider=provider)
    shown += [repr(provider), str(provider), repr(runner), str(runner)]
    shown.append(str(runner.explain()))
    async with runner.connect() as session:
        shown += [repr(session), str(session)]
        await session.send_text("hello")
        for _ in range(200):
            event = await session.next_event(timeout=5)
            shown.append(repr(event))
            if isinstance(event, rt.events.ResponseDone):
                break


async def test_no_secret_anywhere_across_providers_and_error_paths(logs: Collector) -> None:
    shown: list[str] = []
    errors: list[BaseException] = []
    async with gatekeeper() as host:
        for provider in providers_for(host, "ok"):
            await talk(provider, shown)
        for provider in providers_for(host, "reject"):
            with pytest.raises(rt.HandshakeError) as refused:
                await talk(provider, shown)
            assert refused.value.status == 401
            errors.append(refused.value)
    # the echoing body was really there (redacted, not dropped)
    assert any("<redacted>" in e.body for e in errors if isinstance(e, rt.HandshakeError))

    # the local server: the client's and the server's loggers both see its key
    local = Local()
    async with local:
        key = local.running.api_key
        await talk(local, shown)
        wrong = Compatible(local.url, api_key=WRONG_LOCAL_KEY)
        with pytest.raises(rt.RealtalkError) as refused_local:
            await talk(wrong, shown)
        errors.append(refused_local.value)
    secrets = [*SECRETS, key]

    # URL and port mistakes at construction, and a connection refused
    for bad in (
        f"ws://user:{USER_PASSWORD}@127.0.0.1:99999/x?api_key={QUERY_SECRET}",
        f"ws://user:{USER_PASSWORD}@[::1/x?token={QUERY_SECRET}",
        f"ftp://user:{USER_PASSWORD}@host/x?api_key={QUERY_SECRET}",
        f"ws://user:{USER_PASSWORD}@/x?api_key={QUERY_SECRET}",
    ):
        with pytest.raises(rt.ConfigError) as bad_url:
            Compatible(bad)
        errors.append(bad_url.value)
    with pytest.raises(rt.ConfigError) as two_credentials:
        Compatible(f"ws://user:{USER_PASSWORD}@127.0.0.1/x", api_key=BEARER_SECRET)
    errors.append(two_credentials.value)
    with pytest.raises(rt.ConfigError) as portal:
        AzureOpenAI(f"https://res.openai.azure.com/openai/realtime?api-key={AZURE_KEY}", "d")
    errors.append(portal.value)
    with pytest.raises(rt.TransportError) as unreachable:
        await talk(Compatible(f"ws://user:{USER_PASSWORD}@127.0.0.1:1/x?key={QUERY_SECRET}"), shown)
    errors.append(unreachable.value)

    # explain, as the command line prints it (text and JSON)
    for url in (
        f"wss://gw.example/rt?api_key={QUERY_SECRET}",
        f"wss://user:{USER_PASSWORD}@gw.example/rt",
    ):
        for extra in ([], ["--json"]):
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = cli.main(
                    ["explain", "--provider", "compatible-ga", "--url", url, *extra, str(EXAMPLE)]
                )
            assert code == 0, out.getvalue()
            shown.append(out.getvalue())

    for exc in errors:
        shown += seen(exc)
    assert {"websockets.client", "websockets.server"} <= logs.names  # DEBUG really was on
    assert any("Authorization: <redacted>" in t for t in logs.texts)
    assert leaks(shown, secrets) == []
    assert leaks(logs.texts, secrets) == []


def test_reprs_hide_every_credential() -> None:
    host = "gw.example"
    for provider in providers_for(host, "x"):
        runner = rt.Runner(rt.Agent("a"), provider=provider)
        for text in (repr(provider), str(provider), repr(runner), provider.display_url):
            assert leaks([text], SECRETS) == []
    assert "user" not in redact_url(f"ws://user:{USER_PASSWORD}@h/x")


def test_redact_url_keeps_what_is_not_secret() -> None:
    url = "wss://u:p@gw.example:8443/v1/realtime?model=gpt&api_key=abc&sig=zz&api-version=1"
    assert redact_url(url) == (
        "wss://<redacted>@gw.example:8443/v1/realtime"
        "?model=gpt&api_key=<redacted>&sig=<redacted>&api-version=1"
    )


def test_redact_text_hides_headers_and_remembered_secrets() -> None:
    remember_secret("Bearer remembered-secret-xyz")
    text = (
        "> Authorization: Bearer abc\n< api-key: def\n"
        "{'X-Custom-Token': 'ghi', \"password\": \"jkl\"}\n"
        "the key remembered-secret-xyz appears in prose\n"
        "api_key: no API key (a ConfigError message stays readable)"
    )
    out = redact_text(text)
    for secret in ("abc", "def", "ghi", "jkl", "remembered-secret-xyz"):
        assert secret not in out, out
    assert "api_key: no API key" in out


def test_filter_redacts_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "websockets.client",
        logging.DEBUG,
        __file__,
        1,
        "> %s: %s",
        ("Authorization", "Bearer tok-123456"),
        None,
    )
    try:
        raise ValueError("failed for wss://h/x?token=tok-abcdef")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "> Authorization: <redacted>"
    assert record.exc_info is None
    assert record.exc_text is not None
    assert "tok-abcdef" not in record.exc_text
    assert "ValueError" in record.exc_text


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("ws://127.0.0.1:99999/v1/realtime", "fix the number after the host's ':'"),
        ("ws://127.0.0.1:port/v1/realtime", "fix the number after the host's ':'"),
        ("ws://[::1/v1/realtime", "write an IPv6 host in brackets"),
        ("ftp://gw.example/v1/realtime", "start it with wss://"),
        ("ws:///v1/realtime", "write it as wss://<host>/<path>"),
        ("ws://gw.example:0/v1", "give the server's real port"),
        ("ws://gw.example/v1 realtime", "percent-encode it as %20"),
    ],
)
def test_a_bad_url_is_a_config_error_at_construction_that_names_the_fix(url: str, fix: str) -> None:
    for build in (
        lambda: Compatible(url),
        lambda: OpenAI(api_key="k", base_url=url),
        lambda: AzureOpenAI(url, "d", api_key="k"),
    ):
        with pytest.raises(rt.ConfigError) as caught:
            build()
        assert fix in str(caught.value)


def test_a_url_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a URL string"):
        Compatible(8080)  # type: ignore[arg-type]


STANDALONE = r"""
import asyncio, logging, sys
import aiohttp
from realtalk.server import serve

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


async def main():
    async with serve(api_key="sk-serve-SECRET-0009") as handle:
        url = f"http://127.0.0.1:{handle.port}/v1/realtime?model=gpt-realtime"
        async with aiohttp.ClientSession() as http:
            for key in ("sk-serve-SECRET-0009", "wrong-serve-SECRET-0010"):
                try:
                    auth = {"Authorization": f"Bearer {key}"}
                    async with http.ws_connect(url, headers=auth) as ws:
                        print("opened", (await ws.receive_json())["type"], flush=True)
                except aiohttp.WSServerHandshakeError as exc:
                    print("refused", exc.status, flush=True)
        await asyncio.sleep(0.2)


asyncio.run(main())
"""


def test_the_local_server_alone_logs_no_key_at_debug(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "serve_debug.py"
    script.write_text(STANDALONE)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "opened session.created" in done.stdout
    assert "refused 401" in done.stdout
    assert "DEBUG" in done.stderr  # logging really was on
    for secret in ("sk-serve-SECRET-0009", "wrong-serve-SECRET-0010"):
        assert secret not in done.stdout + done.stderr


async def test_server_errors_and_close_reasons_that_echo_the_key_are_redacted(
    logs: Collector,
) -> None:
    """A server that puts the request's credential in an ``error`` message and in its close
    reason: the ServerError raised at the call and the close seen after it hide it."""
    from .samples import ga_session

    async def handler(ws: ServerConnection) -> None:
        auth = ws.request.headers.get("Authorization", "") if ws.request else ""
        await ws.send(json.dumps({"type": "session.created", "session": ga_session()}))
        async for text in ws:
            event = json.loads(text)
            if event["type"] != "session.update":
                continue
            if "voice" not in json.dumps(event):
                session = ga_session()
                await ws.send(json.dumps({"type": "session.updated", "session": session}))
                continue
            error = {
                "type": "invalid_request_error",
                "code": "invalid_value",
                "message": f"bad voice for request with {auth}",
                "param": "session.voice",
                "event_id": event.get("event_id"),
            }
            await ws.send(json.dumps({"type": "error", "error": error}))
            await ws.close(4000, f"closing {auth}"[:120])

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        provider = Compatible(f"ws://127.0.0.1:{port}/v1/realtime", api_key=BEARER_SECRET)
        shown: list[str] = []
        async with rt.Runner(rt.Agent("a"), provider=provider).connect() as session:
            with pytest.raises(rt.ServerError) as rejected:
                await session.update(voice="cedar")
            shown += seen(rejected.value)
            assert "bad voice for request with" in str(rejected.value)
            with contextlib.suppress(rt.RealtalkError, TimeoutError):
                for _ in range(50):
                    shown.append(repr(await session.next_event(timeout=2)))
        shown += [str(rt.ConnectionClosed(4000, f"closing Bearer {BEARER_SECRET}"))]
    assert leaks(shown, [BEARER_SECRET]) == []
    assert leaks(logs.texts, [BEARER_SECRET]) == []
