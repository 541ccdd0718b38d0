"""The asyncio front of the local Realtime server: sockets, routes, auth, limits, timing.

Everything protocol-shaped happens in :class:`~realtalk.server.core.session.ServerSession`; this
module only moves text, runs engine work off the loop and keeps time. Routes (protocol.md §1):

===========================================  =========  =========================================
path                                         dialect    auth
===========================================  =========  =========================================
``/v1/realtime?model=M``                     GA         ``Authorization: Bearer`` (key or ``ek_``)
  + ``OpenAI-Beta: realtime=v1``             beta       same (or ``beta_api_shape_disabled`` +
                                                        close 4000 with ``retire_beta``)
``/openai/v1/realtime?model=D``              GA/Azure   ``api-key`` header/query or bearer;
                                                        an ``api-version`` query -> HTTP 401
``/openai/realtime?api-version=V&deployment=D``  beta/Azure  same as Azure GA
``POST /v1/realtime/client_secrets``         --         mints ``ek_`` keys (also under /openai)
``POST /openai/realtimeapi/sessions?api-v..``  beta      Azure preview's key route (1 min keys)
===========================================  =========  =========================================

Every route takes ``intent=transcription`` (then no model is needed): a transcription session,
``session.created`` with ``type: "transcription"`` on GA, ``transcription_session.created`` on
beta; so does a client secret minted for a transcription session.

Browsers authenticate with the subprotocol ``openai-insecure-api-key.<key>``. websockets only
parses GET requests, so the connection class peeks at the request line and answers the one POST
route itself (a small HTTP/1.1 exchange, then close).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import ipaddress
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.server.core.options import MAX_APPEND_BYTES, ServerOptions
from realtalk.server.core.secrets import (
    DEFAULT_TTL_S,
    MAX_TTL_S,
    MIN_TTL_S,
    ClientSecretStore,
)
from realtalk.server.core.session import ServerSession, SessionType
from realtalk.server.core.work import (
    CancelWork,
    Close,
    Send,
    Synthesize,
    Think,
    Transcribe,
    TurnTimings,
    WorkResult,
)
from realtalk.server.engines.registry import Engines, EngineSpec, load_engines
from realtalk.server.front.worker import run_work
from realtalk.server.wire import errors
from realtalk.server.wire.session import (
    apply_session_update,
    default_session,
    validate_session_update,
)

__all__ = [
    "API_KEY_ENV",
    "RealtimeServer",
    "ServerConfig",
    "ServerHandle",
    "serve",
]

logger = logging.getLogger("realtalk.server")

API_KEY_ENV = "REALTALK_SERVER_API_KEY"
_INSECURE_KEY_PREFIX = "openai-insecure-api-key."
# One append carries up to 15 MiB of audio: as base64 plus its envelope that is ~20 MiB of text.
DEFAULT_MAX_MESSAGE_BYTES = MAX_APPEND_BYTES * 4 // 3 + 64 * 1024
_MAX_HTTP_BODY = 1024 * 1024
TIMINGS_KEPT = 1000
"""How many :class:`TurnTimings` records ``ServerHandle.timings`` keeps (the newest)."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How the server listens and what it allows."""

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    no_auth: bool = False
    retire_beta: bool = False
    max_sessions: int = 64
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    idle_timeout_s: float = 600.0
    """Close a connection that sends nothing for this long (1000, "idle timeout")."""
    session: ServerOptions = field(default_factory=ServerOptions)


@dataclass(frozen=True, slots=True)
class _Route:
    dialect: Literal["ga", "beta"]
    flavor: Literal["openai", "azure"]
    model: str
    session: dict[str, Any] | None = None
    retired: bool = False
    session_type: SessionType | None = None
    """From ``intent``; None: the client secret's session type, else realtime."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json_response(status: int, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def _http_error(status: int, message: str, code: str | None, param: str | None = None) -> Response:
    return _json_response(
        status,
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        },
    )


def _bearer(headers: Headers) -> str | None:
    value = headers.get("Authorization")
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


class RealtimeServer:
    """The server's shared state: config, engines, client secrets, live connections."""

    def __init__(
        self,
        config: ServerConfig,
        engines: Engines,
        *,
        on_timings: Callable[[TurnTimings], None] | None = None,
    ) -> None:
        if config.no_auth and not _is_loopback(config.host):
            raise ConfigError(
                [
                    ConfigProblem(
                        "no_auth",
                        True,
                        "authentication can only be turned off on a loopback address",
                        f"listen on 127.0.0.1 or set an API key (host is {config.host!r})",
                    )
                ],
                target="realtalk serve",
            )
        self.config = config
        self.engines = engines
        self.secrets = ClientSecretStore()
        self._routes: dict[ServerConnection, _Route] = {}
        self.active_sessions = 0
        self.timings: deque[TurnTimings] = deque(maxlen=TIMINGS_KEPT)
        """The latency breakdown of the last responses of every session, oldest first."""
        self.on_timings = on_timings

    def record_timings(self, timings: TurnTimings) -> None:
        self.timings.append(timings)
        if self.on_timings is not None:
            try:
                self.on_timings(timings)
            except Exception:  # a observer's bug must not end a session
                logger.exception("on_timings callback failed")

    # --- auth ------------------------------------------------------------------------------

    def _key_ok(self, key: str | None) -> bool:
        if key is None:
            return False
        ok = False
        for known in self.config.api_keys:
            ok |= hmac.compare_digest(known.encode(), key.encode())
        return ok

    def _credentials(self, request: Request, query: dict[str, list[str]], azure: bool) -> list[str]:
        found = []
        bearer = _bearer(request.headers)
        if bearer:
            found.append(bearer)
        if azure:
            if request.headers.get("api-key"):
                found.append(request.headers["api-key"])
            found.extend(query.get("api-key", []))
        for protocol in request.headers.get_all("Sec-WebSocket-Protocol"):
            for offered in protocol.split(","):
                offered = offered.strip()
                if offered.startswith(_INSECURE_KEY_PREFIX):
                    found.append(offered[len(_INSECURE_KEY_PREFIX) :])
        return found

    def _authenticate(
        self, request: Request, query: dict[str, list[str]], azure: bool, *, allow_secret: bool
    ) -> tuple[bool, dict[str, Any] | None]:
        """(authenticated, the session config of the client secret used, if any)."""
        if self.config.no_auth:
            return True, None
        for key in self._credentials(request, query, azure):
            if self._key_ok(key):
                return True, None
            if allow_secret and key.startswith("ek_"):
                secret = self.secrets.lookup(key, time.time())
                if secret is not None:
                    return True, secret.session
        return False, None

    # --- websocket handshake ----------------------------------------------------------------

    def select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        return Subprotocol("realtime") if "realtime" in subprotocols else None

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        intents = query.get("intent")
        intent = intents[0] if intents else None
        if intent not in (None, "realtime", "transcription"):
            # Our wording, in the style of the service's invalid_value messages.
            return _http_error(
                400,
                f"Invalid value: '{intent}'. Supported values are: 'realtime' and 'transcription'.",
                "invalid_value",
                "intent",
            )
        if path == "/v1/realtime":
            beta = "realtime=v1" in (request.headers.get("OpenAI-Beta") or "") or any(
                "openai-beta.realtime-v1" in p
                for p in request.headers.get_all("Sec-WebSocket-Protocol")
            )
            route = _Route(
                dialect="beta" if beta else "ga",
                flavor="openai",
                model=(query.get("model") or [""])[0],
                retired=beta and self.config.retire_beta,
            )
            azure = False
        elif path == "/openai/v1/realtime":
            if "api-version" in query:
                # protocol.md §1d: "The api-version query parameter is no longer supported in GA
                # endpoint URLs" -> 401 at the handshake.
                return _http_error(
                    401,
                    "The api-version query parameter is not supported on the GA endpoint "
                    "/openai/v1/realtime; remove it.",
                    "unauthorized",
                )
            route = _Route("ga", "azure", (query.get("model") or [""])[0])
            azure = True
        elif path == "/openai/realtime":
            if "api-version" not in query:
                return _http_error(
                    400,
                    "Missing required query parameter: 'api-version'.",
                    "missing_required_parameter",
                    "api-version",
                )
            route = _Route("beta", "azure", (query.get("deployment") or [""])[0])
            azure = True
        else:
            return _http_error(404, f"Invalid URL (GET {parts.path})", "not_found")
        ok, session = self._authenticate(request, query, azure, allow_secret=True)
        if not ok:
            return _http_error(
                401,
                "Incorrect API key provided. You can find your API key in your realtalk server's "
                "start-up output or its configuration.",
                "invalid_api_key",
            )
        # Transcription sessions need no model: intent=transcription, or a client secret minted
        # for one when the intent is left out (protocol.md §1a, §2.2).
        transcribing = intent == "transcription" or (
            intent is None and session is not None and session.get("type") == "transcription"
        )
        if not route.model and not transcribing:
            name = "deployment" if path == "/openai/realtime" else "model"
            return _http_error(
                400, f"Missing required parameter: '{name}'.", "missing_required_parameter", name
            )
        if self.active_sessions >= self.config.max_sessions:
            return _http_error(
                503,
                f"The server is at its limit of {self.config.max_sessions} concurrent sessions; "
                "retry later.",
                "too_many_sessions",
            )
        session_type: SessionType | None = (
            "transcription" if intent == "transcription" else "realtime" if intent else None
        )
        self._routes[connection] = replace(route, session=session, session_type=session_type)
        return None

    # --- POST /v1/realtime/client_secrets ---------------------------------------------------

    def handle_http(self, method: str, target: str, headers: Headers, body: bytes) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        preview = path == "/openai/realtimeapi/sessions"  # Azure preview's key route
        if not preview and path not in (
            "/v1/realtime/client_secrets",
            "/openai/v1/realtime/client_secrets",
        ):
            return _http_error(404, f"Invalid URL ({method} {parts.path})", "not_found")
        if method != "POST":
            return _http_error(
                405, f"Method not allowed ({method} {parts.path})", "method_not_allowed"
            )
        azure = path.startswith("/openai/")
        request = Request(target, headers)
        query = parse_qs(parts.query)
        if preview and "api-version" not in query:
            return _http_error(
                400,
                "Missing required query parameter: 'api-version'.",
                "missing_required_parameter",
                "api-version",
            )
        ok, _ = self._authenticate(request, query, azure, allow_secret=False)
        if not ok:
            return _http_error(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _http_error(
                400, "We could not parse the JSON body of your request.", "invalid_json"
            )
        if preview:
            from realtalk.server.core.preview_sessions import mint_preview_session

            return _json_response(*mint_preview_session(self.secrets, payload, time.time()))
        if not isinstance(payload, dict):
            return _http_error(400, "The request body must be a JSON object.", "invalid_type")
        for key in payload:
            if key not in ("expires_after", "session"):
                return _http_error(400, f"Unknown parameter: '{key}'.", "unknown_parameter", key)
        ttl = DEFAULT_TTL_S
        expires_after = payload.get("expires_after")
        if expires_after is not None:
            seconds = expires_after.get("seconds") if isinstance(expires_after, dict) else None
            anchor = (
                expires_after.get("anchor", "created_at")
                if isinstance(expires_after, dict)
                else None
            )
            if anchor != "created_at":
                return _http_error(
                    400,
                    f"Invalid value: '{anchor}'. Supported values are: 'created_at'.",
                    "invalid_value",
                    "expires_after.anchor",
                )
            if seconds is not None:
                if not isinstance(seconds, int) or isinstance(seconds, bool):
                    return _http_error(
                        400,
                        "Invalid type for 'expires_after.seconds': expected an integer.",
                        "invalid_type",
                        "expires_after.seconds",
                    )
                if not MIN_TTL_S <= seconds <= MAX_TTL_S:
                    code = (
                        "integer_below_min_value"
                        if seconds < MIN_TTL_S
                        else "integer_above_max_value"
                    )
                    return _http_error(
                        400,
                        f"Invalid 'expires_after.seconds': expected a value between {MIN_TTL_S} "
                        f"and {MAX_TTL_S}, but got {seconds} instead.",
                        code,
                        "expires_after.seconds",
                    )
                ttl = seconds
        session_cfg = payload.get("session") or {"type": "realtime"}
        now = time.time()
        flavor: Literal["openai", "azure"] = "azure" if azure else "openai"
        model = (
            str(session_cfg.get("model") or "gpt-realtime") if isinstance(session_cfg, dict) else ""
        )
        base = default_session(
            "ga",
            flavor,
            model,
            session_id="sess_" + secrets.token_hex(10),
            now_s=int(now),
            session_type="transcription"
            if isinstance(session_cfg, dict) and session_cfg.get("type") == "transcription"
            else "realtime",
        )
        error = validate_session_update(
            "ga", flavor, session_cfg, base, assistant_audio_present=False
        )
        if error is not None:
            return _json_response(400, {"error": error})
        full = apply_session_update("ga", base, session_cfg)
        secret = self.secrets.mint(now, ttl, dict(session_cfg))
        full["expires_at"] = secret.expires_at
        return _json_response(
            200, {"value": secret.value, "expires_at": secret.expires_at, "session": full}
        )

    # --- a live session ---------------------------------------------------------------------

    async def handler(self, connection: ServerConnection) -> None:
        route = self._routes.pop(connection, None)
        if route is None:  # pragma: no cover - process_request always records one
            await connection.close(1011, "no route")
            return
        if route.retired:
            error = errors.error_event(
                errors.beta_api_shape_disabled(), "event_" + secrets.token_hex(10), None
            )
            with contextlib.suppress(ConnectionClosed):
                await connection.send(json.dumps(error))
                await connection.close(4000, "beta api shape disabled")
            return
        self.active_sessions += 1
        try:
            await _Connection(self, connection, route).run()
        finally:
            self.active_sessions -= 1


class _Connection:
    """Drives one ServerSession over one WebSocket."""

    def __init__(self, server: RealtimeServer, ws: ServerConnection, route: _Route) -> None:
        self.server = server
        self.ws = ws
        self.loop = asyncio.get_running_loop()
        self.session = ServerSession(
            dialect=route.dialect,
            flavor=route.flavor,
            model=route.model,
            vad=server.engines.new_vad(),
            options=server.config.session,
            session=route.session,
            session_type=route.session_type,
            early_transcription=server.engines.transcriber.early_transcription,
        )
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self._pending_pumps: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        return self.loop.time() * 1000.0

    async def run(self) -> None:
        self.session.start(self.now())
        await self._pump()
        timer = asyncio.create_task(self._timer())
        try:
            await self._read()
        finally:
            timer.cancel()
            for task in list(self._tasks.values()):
                task.cancel()
            await asyncio.gather(timer, *self._tasks.values(), return_exceptions=True)

    async def _read(self) -> None:
        idle = self.server.config.idle_timeout_s
        while not self._closing:
            try:
                async with asyncio.timeout(idle):
                    message = await self.ws.recv()
            except TimeoutError:
                await self.ws.close(1000, "idle timeout")
                return
            except ConnectionClosed:
                return
            self.session.receive(message, self.now())
            self._wake.set()
            await self._pump()

    async def _timer(self) -> None:
        while True:
            self._wake.clear()
            deadline = self.session.next_deadline()
            timeout = None if deadline is None else max(0.0, (deadline - self.now()) / 1000.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self.session.tick(self.now())
            await self._pump()

    def _feed(self, result: WorkResult) -> None:
        self.session.feed(result, self.now())
        self._wake.set()
        task = asyncio.create_task(self._pump())
        self._pending_pumps.add(task)
        task.add_done_callback(self._pending_pumps.discard)

    async def _run_work(self, work: Transcribe | Think | Synthesize) -> None:
        try:
            await run_work(work, self.server.engines, self._feed)
        finally:
            self._tasks.pop(work.work_id, None)

    async def _pump(self) -> None:
        async with self._lock:
            for out in self.session.outgoing():
                if isinstance(out, Send):
                    if self._closing:
                        continue
                    try:
                        await self.ws.send(out.text)
                    except ConnectionClosed:
                        self._closing = True
                elif isinstance(out, Close):
                    self._closing = True
                    with contextlib.suppress(ConnectionClosed):
                        await self.ws.close(out.code, out.reason)
                elif isinstance(out, TurnTimings):
                    self.server.record_timings(out)
                elif isinstance(out, CancelWork):
                    task = self._tasks.pop(out.work_id, None)
                    if task is not None:
                        task.cancel()
                else:
                    self._tasks[out.work_id] = asyncio.create_task(self._run_work(out))


class _HTTPAwareConnection(ServerConnection):
    """A connection that answers plain HTTP POSTs itself; everything else is a WebSocket."""

    _http_buffer: bytearray | None = None
    realtime_server: RealtimeServer

    @classmethod
    def bound_to(cls, server: RealtimeServer) -> type[_HTTPAwareConnection]:
        return type("RealtalkConnection", (cls,), {"realtime_server": server})

    def data_received(self, data: bytes) -> None:
        if self._http_buffer is None and self.request is None and not data.startswith(b"GET "):
            self._http_buffer = bytearray()
        if self._http_buffer is None:
            super().data_received(data)
            return
        self._http_buffer.extend(data)
        head_end = self._http_buffer.find(b"\r\n\r\n")
        if head_end < 0:
            if len(self._http_buffer) > 64 * 1024:
                self._write_http(_http_error(431, "Request header fields too large.", None))
            return
        head = bytes(self._http_buffer[:head_end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            self._write_http(_http_error(400, "Malformed request line.", None))
            return
        headers = Headers()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        try:
            length = int(headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_HTTP_BODY:
            self._write_http(_http_error(413, "Request body too large.", None))
            return
        body = bytes(self._http_buffer[head_end + 4 :])
        if len(body) < length:
            return
        self._write_http(self.realtime_server.handle_http(method, target, headers, body[:length]))

    def _write_http(self, response: Response) -> None:
        status = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
        head = status + "".join(f"{k}: {v}\r\n" for k, v in response.headers.raw_items()) + "\r\n"
        self.transport.write(head.encode("latin-1") + bytes(response.body))
        self.transport.close()
        self._http_buffer = bytearray()


@dataclass(frozen=True, slots=True)
class ServerHandle:
    """A running server: where it listens and the key to use (None when auth is off)."""

    host: str
    port: int
    api_key: str | None = field(repr=False)
    server: RealtimeServer = field(repr=False)
    ws_server: Server = field(repr=False)

    @property
    def timings(self) -> deque[TurnTimings]:
        """Where the time of each finished response went (newest last, the last
        :data:`TIMINGS_KEPT`); see :class:`~realtalk.server.core.timings.TurnTimings`."""
        return self.server.timings

    @property
    def url(self) -> str:
        """The WebSocket base URL for the openai client (``websocket_base_url``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v1"

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    api_key: str | None = None,
    api_keys: Sequence[str] = (),
    no_auth: bool = False,
    retire_beta: bool = False,
    engines: Engines | EngineSpec | None = None,
    options: ServerOptions | None = None,
    realtime_pacing: bool | None = None,
    max_sessions: int = 64,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    idle_timeout_s: float = 600.0,
    on_timings: Callable[[TurnTimings], None] | None = None,
) -> AsyncIterator[ServerHandle]:
    """Run the local Realtime server for the body of an ``async with``.

    Without keys and without ``no_auth`` a random key is generated: read it from
    ``handle.api_key``. ``port=0`` picks a free port (``handle.port``). ``on_timings`` is
    called on the event loop with each response's :class:`TurnTimings` as it ends (they are
    also kept in ``handle.timings``).
    """
    keys = tuple(api_keys) + ((api_key,) if api_key else ())
    if not keys and not no_auth:
        keys = ("sk-realtalk-" + secrets.token_urlsafe(18),)
    session_options = options or ServerOptions()
    if realtime_pacing is not None:
        session_options = replace(session_options, realtime_pacing=realtime_pacing)
    config = ServerConfig(
        host=host,
        port=port,
        api_keys=keys,
        no_auth=no_auth,
        retire_beta=retire_beta,
        max_sessions=max_sessions,
        max_message_bytes=max_message_bytes,
        idle_timeout_s=idle_timeout_s,
        session=session_options,
    )
    loaded = engines if isinstance(engines, Engines) else load_engines(engines)
    server = RealtimeServer(config, loaded, on_timings=on_timings)
    async with ws_serve(
        server.handler,
        host,
        port,
        process_request=server.process_request,
        select_subprotocol=server.select_subprotocol,
        create_connection=_HTTPAwareConnection.bound_to(server),
        max_size=config.max_message_bytes,
        compression=None,
    ) as ws_server:
        sockname = ws_server.sockets[0].getsockname()
        handle = ServerHandle(
            host=host,
            port=int(sockname[1]),
            api_key=None if no_auth else keys[0],
            server=server,
            ws_server=ws_server,
        )
        try:
            yield handle
        finally:
            if not isinstance(engines, Engines):
                await loaded.aclose()
