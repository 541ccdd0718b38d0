"""``realtalk serve --workers N``: N server processes sharing one port.

Sessions are independent of each other, so more cores are more processes, each a whole server
(its own engines, its own ``max_sessions``), all listening on the same address with
``SO_REUSEPORT``: the kernel spreads new connections over them. The parent only starts them,
forwards SIGTERM/SIGINT to them and waits; it serves nothing itself. A worker that dies on its
own ends the whole group (exit 1), so the supervisor above (systemd, Kubernetes) restarts it
whole instead of running with a hidden hole: there is no home-made cluster here.

The API key is chosen once, in the parent (a generated one would otherwise differ per worker),
and reaches the workers through the process pipe, never argv; the client secrets' signing key
follows from it (or from ``--secret-key``), so a secret minted by one worker opens sessions on
every worker. A simulated phone line (``--sip-webhook``) is refused with more than one worker:
see :data:`~realtalk.server.front.sip.ONE_WORKER_ONLY`. Port 0 is resolved in the parent
too: it binds a ``SO_REUSEPORT`` socket (not listening, so it takes no connections) to learn a
free port and holds it until every worker listens there.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import FrameType
from typing import Any

from realtalk.errors import ConfigError
from realtalk.server.core.config import ServerConfig

__all__ = ["CliParts", "run_workers"]

_START_TIMEOUT_S = 300.0  # engines load in every worker (Whisper, Piper): minutes on a slow disk
_EXIT_GRACE_S = 15.0


def _worker(args: argparse.Namespace, config: ServerConfig, pipe: Any, cli: Any) -> None:
    cli.setup_logging(args.verbose)

    def ready(handle: Any) -> None:
        engines = handle.server.engines
        pipe.send(("ready", f"{engines.describe()} device={engines.device}"))

    try:
        asyncio.run(cli.serve_forever(args, config, on_ready=ready))
    except ConfigError as exc:
        pipe.send(("error", "; ".join(str(problem) for problem in exc.problems)))
    except KeyboardInterrupt:
        pass


def _reserve_port(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return holder


@dataclass(frozen=True)
class CliParts:
    """What a worker runs and what the parent prints, from ``cli.py`` (given, not imported
    here, so the two modules do not import each other; top-level functions pickle by name)."""

    serve_forever: Callable[..., Coroutine[Any, Any, None]]
    setup_logging: Callable[[bool], None]
    print_banner: Callable[..., None]


def run_workers(args: argparse.Namespace, config: ServerConfig, cli: CliParts) -> int:
    """Start ``args.workers`` processes on ``config``'s address; the CLI's exit code."""
    if config.sip_webhook is not None:
        from realtalk.server.front.sip import ONE_WORKER_ONLY

        raise ConfigError([ONE_WORKER_ONLY], target="realtalk serve")
    shown = config
    keys = config.api_keys
    if not keys and not config.no_auth:
        keys = ("sk-realtalk-" + secrets.token_urlsafe(18),)
    config = config.with_fields(api_keys=keys, reuse_port=True)
    holder = None
    if config.port == 0:
        holder = _reserve_port(config.host)
        config = config.with_fields(port=holder.getsockname()[1])

    context = multiprocessing.get_context("spawn")  # no inherited event loop or threads
    workers = []
    pipes = []
    for _ in range(args.workers):
        mine, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(args, config, theirs, cli), daemon=False)
        process.start()
        theirs.close()
        workers.append(process)
        pipes.append(mine)

    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        problem, engines = _wait_ready(workers, pipes)
        if holder is not None:
            holder.close()
        if problem is not None:
            print(f"realtalk serve: error: {problem}", file=sys.stderr)
            forward(signal.SIGTERM, None)
            return 2
        handle = _Shown(config.host, config.port, keys[0] if not config.no_auth else None)
        cli.print_banner(args, handle, f"{args.workers} workers, {engines}", shown)
        print(f"workers: {' '.join(str(p.pid) for p in workers)}", flush=True)
        sentinels = [p.sentinel for p in workers]
        while not stopping:
            if multiprocessing.connection.wait(sentinels, timeout=0.5) and not stopping:
                dead = [p for p in workers if not p.is_alive()]
                print(
                    f"realtalk serve: worker {dead[0].pid} exited ({dead[0].exitcode}); "
                    "stopping the others",
                    file=sys.stderr,
                )
                forward(signal.SIGTERM, None)
                _join(workers, config.drain_timeout_s + _EXIT_GRACE_S)
                return 1
        _join(workers, config.drain_timeout_s + _EXIT_GRACE_S)
        return 0
    finally:
        if holder is not None:
            holder.close()
        for process in workers:
            if process.is_alive():
                process.kill()
                process.join()


def _wait_ready(workers: list[Any], pipes: list[Any]) -> tuple[str | None, str]:
    """(None, the engines a worker runs) once every worker listens; else (the first worker's
    reason, "")."""
    waiting = list(pipes)
    engines = ""
    while waiting:
        ready = multiprocessing.connection.wait(waiting, timeout=_START_TIMEOUT_S)
        if not ready:
            return "the workers did not start in time", ""
        for pipe in ready:
            assert isinstance(pipe, multiprocessing.connection.Connection)
            try:
                kind, value = pipe.recv()
            except EOFError:
                return "a worker exited while starting", ""
            if kind == "error":
                return str(value), ""
            engines = str(value)
            waiting.remove(pipe)
    return None, engines


def _join(workers: list[Any], timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    for process in workers:
        process.join(max(0.0, end - time.monotonic()))


class _Shown:
    """What the banner needs of a handle (the parent has no server of its own)."""

    def __init__(self, host: str, port: int, api_key: str | None) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v1"
