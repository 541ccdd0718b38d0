"""The asyncio front of the local Realtime server: the HTTP + WebSocket app and ``serve()``.

The stack is aiohttp.web (see docs/architecture.md for why): its C HTTP parser reads every
request, upgrades to WebSocket included, so nothing here parses HTTP. The routes are one table,
:data:`~realtalk.server.front.routes.ROUTES`; each live session is a
:class:`~realtalk.server.front.connection.Connection`. Everything protocol-shaped happens in
:class:`~realtalk.server.core.session.ServerSession`; this layer moves text, runs engine work
off the loop and keeps time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.redact import install_log_redaction, remember_secret
from realtalk.server.core.config import ServerConfig, is_loopback
from realtalk.server.core.secrets import ClientSecretSigner, signing_keys
from realtalk.server.core.work import TurnTimings
from realtalk.server.engines.registry import Engines, EngineSpec, load_engines
from realtalk.server.front.connection import Connection
from realtalk.server.front.http import json_errors
from realtalk.server.front.routes import ROUTES, Handler, Route

__all__ = [
    "API_KEY_ENV",
    "TIMINGS_KEPT",
    "RealtimeServer",
    "ServerConfig",
    "ServerHandle",
    "build_app",
    "serve",
]

logger = logging.getLogger("realtalk.server")

API_KEY_ENV = "REALTALK_SERVER_API_KEY"
TIMINGS_KEPT = 1000
"""How many :class:`TurnTimings` records ``ServerHandle.timings`` keeps (the newest)."""
_MAX_HTTP_BODY = 1024 * 1024
_MAX_HEADER_FIELD = 32 * 1024  # a client secret carries its session config (core/secrets.py)
_SHUTDOWN_TIMEOUT_S = 5.0


class RealtimeServer:
    """The server's shared state: config, engines, client secrets, live connections.

    A route handler gets it as its first argument: ``server.config``, ``server.engines``,
    ``server.secrets``, ``server.clock()`` (Unix seconds; tests may replace it).
    """

    def __init__(
        self,
        config: ServerConfig,
        engines: Engines,
        *,
        on_timings: Callable[[TurnTimings], None] | None = None,
    ) -> None:
        self.config = config
        self.engines = engines
        self.secrets = ClientSecretSigner(signing_keys(config.secret_key, config.api_keys))
        self.connections: set[Connection] = set()
        """The live sessions; a connection leaves it when it ends, however it ends."""
        self.sessions_started = 0
        self._slots = 0
        self.draining = False
        self.clock: Callable[[], float] = time.time
        self.timings: deque[TurnTimings] = deque(maxlen=TIMINGS_KEPT)
        """The latency breakdown of the last responses of every session, oldest first."""
        self.on_timings = on_timings

    @property
    def accepting(self) -> bool:
        """Whether a new session would be accepted now."""
        return not self.draining and self._slots < self.config.max_sessions

    @contextlib.contextmanager
    def session_slot(self) -> Iterator[None]:
        """Hold one of ``max_sessions`` from the handshake to the session's end. Take it right
        after checking :attr:`accepting`, with no ``await`` between, so concurrent handshakes
        cannot overshoot the limit."""
        self._slots += 1
        try:
            yield
        finally:
            self._slots -= 1

    def record_timings(self, timings: TurnTimings) -> None:
        self.timings.append(timings)
        if self.on_timings is not None:
            try:
                self.on_timings(timings)
            except Exception:  # an observer's bug must not end a session
                logger.exception("on_timings callback failed")

    async def drain(
        self,
        timeout_s: float | None = None,
        *,
        stop_listening: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Graceful stop: refuse new sessions (``/readyz`` answers 503 "draining"), let the
        live ones go on for up to ``timeout_s`` (default ``config.drain_timeout_s``), then close
        what is left with 1001. ``stop_listening`` (an awaitable callable) closes the listening
        socket first, so a load balancer or the other workers get the new connections."""
        self.draining = True
        if stop_listening is not None:
            await stop_listening()
        deadline = self.config.drain_timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        # A 50 ms poll for the few seconds of a drain, rather than an event every connection
        # (in connection.py) would have to set when it leaves.
        while self.connections and loop.time() < end:  # noqa: ASYNC110
            await asyncio.sleep(min(0.05, max(0.0, end - loop.time())))
        await self.close_sessions()

    async def close_sessions(self) -> None:
        """Stop accepting and close every live session with 1001 (going away)."""
        self.draining = True
        for connection in list(self.connections):
            await connection.shutdown()


def _bound(handler: Handler, server: RealtimeServer) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler(server, request)

    return handle


def build_app(server: RealtimeServer, routes: Iterable[Route] = ROUTES) -> web.Application:
    """The aiohttp application serving ``routes`` (default: every route) for ``server``."""
    app = web.Application(middlewares=[json_errors], client_max_size=_MAX_HTTP_BODY)
    for route in routes:
        handle = _bound(route.handler, server)
        app.router.add_route(route.method, route.path, handle)
        app.router.add_route(route.method, route.path + "/", handle)

    async def on_shutdown(_: web.Application) -> None:
        await server.close_sessions()

    app.on_shutdown.append(on_shutdown)
    return app


def _cannot_listen(config: ServerConfig, exc: OSError) -> ConfigError:
    where = "host" if exc.errno == errno.EADDRNOTAVAIL else "port"
    fix = (
        "use an address of this machine (127.0.0.1 for local use)"
        if where == "host"
        else "pick another port, or 0 for a free one"
    )
    return ConfigError(
        [
            ConfigProblem(
                where,
                f"{config.host}:{config.port}",
                f"cannot listen there ({exc.strerror or exc})",
                fix,
            )
        ],
        target="realtalk serve",
    )


@dataclass(frozen=True, slots=True)
class ServerHandle:
    """A running server: where it listens and the key to use (None when auth is off)."""

    host: str
    port: int
    api_key: str | None = field(repr=False)
    server: RealtimeServer = field(repr=False)
    _site: web.BaseSite | None = field(default=None, repr=False)

    async def drain(self, timeout_s: float | None = None) -> None:
        """Stop listening, let live sessions finish for up to ``timeout_s`` (default
        ``config.drain_timeout_s``), then close the rest with 1001 (what SIGTERM does to
        ``realtalk serve``)."""
        site = self._site
        await self.server.drain(timeout_s, stop_listening=site.stop if site else None)

    @property
    def config(self) -> ServerConfig:
        return self.server.config

    @property
    def timings(self) -> deque[TurnTimings]:
        """Where the time of each finished response went (newest last, the last
        :data:`TIMINGS_KEPT`); see :class:`~realtalk.server.core.timings.TurnTimings`."""
        return self.server.timings

    @property
    def url(self) -> str:
        """The WebSocket base URL for the openai client (``websocket_base_url``)."""
        return f"ws://{self._netloc}/v1"

    @property
    def http_url(self) -> str:
        return f"http://{self._netloc}/v1"

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@contextlib.asynccontextmanager
async def serve(
    config: ServerConfig | None = None,
    *,
    engines: Engines | EngineSpec | None = None,
    on_timings: Callable[[TurnTimings], None] | None = None,
    api_key: str | None = None,
    **fields: Any,
) -> AsyncIterator[ServerHandle]:
    """Run the local Realtime server for the body of an ``async with``.

    ``config`` and ``fields`` (any :class:`ServerConfig` field, e.g. ``no_auth=True``,
    ``realtime_pacing=True``) say how; ``api_key`` adds one key to ``api_keys``. Without keys
    and without ``no_auth`` a random key is generated: read it from ``handle.api_key``.
    ``port=0`` picks a free port (``handle.port``). ``on_timings`` is called on the event loop
    with each response's :class:`TurnTimings` as it ends (also kept in ``handle.timings``).
    """
    config = (config or ServerConfig()).with_fields(**fields)
    keys = config.api_keys + ((api_key,) if api_key else ())
    if not keys and not config.no_auth:
        keys = ("sk-realtalk-" + secrets.token_urlsafe(18),)
    config = config.with_fields(api_keys=keys)
    # Its keys never reach a log record (any level, aiohttp's and realtalk's loggers included).
    for key in (*keys, config.webhook_secret, config.secret_key):
        remember_secret(key)
    install_log_redaction()
    if not config.no_auth and not is_loopback(config.host):
        logger.warning(
            "listening on %s, which is not a loopback address: anyone who can reach it and "
            "has a key can use this server's engines",
            config.host,
        )
    loaded = engines if isinstance(engines, Engines) else load_engines(engines)
    try:
        server = RealtimeServer(config, loaded, on_timings=on_timings)
        runner = web.AppRunner(
            build_app(server),
            access_log=None,  # a query string may carry an api-key: no access log, ever
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            max_field_size=_MAX_HEADER_FIELD,
        )
        await runner.setup()
        try:
            # reuse_port: ``serve --workers N`` runs N processes on one port (SO_REUSEPORT).
            site = web.TCPSite(
                runner, config.host, config.port, reuse_port=config.reuse_port or None
            )
            try:
                await site.start()
            except OSError as exc:
                raise _cannot_listen(config, exc) from None
            port = int(runner.addresses[0][1])
            yield ServerHandle(
                host=config.host,
                port=port,
                api_key=None if config.no_auth else keys[0],
                server=server,
                _site=site,
            )
        finally:
            await runner.cleanup()
    finally:
        if not isinstance(engines, Engines):
            await loaded.aclose()
