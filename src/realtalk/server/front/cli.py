"""``realtalk serve``: the local Realtime server from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from realtalk.errors import ConfigError
from realtalk.server.core.config import ServerConfig
from realtalk.server.engines.registry import EngineSpec, load_engines
from realtalk.server.front.app import API_KEY_ENV, ServerHandle, serve

SECRET_KEY_ENV = "REALTALK_SERVER_SECRET_KEY"

__all__ = [
    "add_playground_arguments",
    "add_serve_arguments",
    "config_from_args",
    "playground_main",
    "playground_url",
    "print_banner",
    "run",
    "run_from_args",
    "serve_main",
]


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``realtalk serve``."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"accepted API key (repeatable; default: ${API_KEY_ENV}, else a random one)",
    )
    parser.add_argument("--no-auth", action="store_true", help="accept any client (loopback only)")
    parser.add_argument(
        "--secret-key",
        default=None,
        metavar="K",
        help=f"signs the ek_ client secrets; give every replica the same one (default: "
        f"${SECRET_KEY_ENV}, else derived from the first API key)",
    )
    parser.add_argument(
        "--retire-beta",
        action="store_true",
        help="answer OpenAI-Beta: realtime=v1 with beta_api_shape_disabled, as OpenAI does now",
    )
    parser.add_argument("--realtime-pacing", action="store_true", help="send audio in real time")
    parser.add_argument(
        "--no-speculation",
        action="store_true",
        help="do not prepare the answer during the user's pauses (each speculation is one more "
        "brain request: with --brain openai-chat, one more chat call)",
    )
    parser.add_argument(
        "--sip-webhook",
        default=None,
        metavar="URL",
        help="take simulated phone calls (realtalk call) and post realtime.call.incoming here",
    )
    parser.add_argument(
        "--webhook-secret",
        default=None,
        metavar="S",
        help="whsec_... secret that signs the webhooks (default: $REALTALK_WEBHOOK_SECRET)",
    )
    parser.add_argument("--max-sessions", type=int, default=64, help="per worker")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT), one per core you give it",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=30.0,
        help="on SIGTERM: stop accepting, let sessions go on this long, then close them (1001)",
    )
    parser.add_argument("--max-session-minutes", type=float, default=60.0)
    parser.add_argument("--idle-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--vad", default="auto", help="silero | energy | auto")
    parser.add_argument(
        "--transcriber", default="auto", help="whisper | tone | scripted | none | auto"
    )
    parser.add_argument("--synthesizer", default="auto", help="piper | tone | auto")
    parser.add_argument("--brain", default="echo", help="script | echo | openai-chat")
    parser.add_argument(
        "--device",
        default="auto",
        help="auto | cpu | cuda: where Whisper, Silero and Piper run (auto: CUDA where the "
        "runtime has it, else the CPU; cuda: fail at start-up if it cannot)",
    )
    parser.add_argument("--scenario", default=None, help="scenario file for --brain script")
    parser.add_argument("--chat-base-url", default=None)
    parser.add_argument("--chat-model", default=None)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log one line per connection (route, dialect, session id, close code) and one "
        "per turn (response, status, latency stages)",
    )
    parser.add_argument(
        "--record",
        metavar="DIR",
        default=None,
        help="record every session (wire events both ways, audio) into a folder under DIR; "
        "look at one with `realtalk report`",
    )


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The server config the command line asks for (raises ConfigError, e.g. ``--no-auth``
    off loopback)."""
    keys = list(args.api_key)
    if not keys and os.environ.get(API_KEY_ENV):
        keys.append(os.environ[API_KEY_ENV])
    return ServerConfig(
        host=args.host,
        port=args.port,
        api_keys=tuple(keys),
        no_auth=args.no_auth,
        secret_key=args.secret_key or os.environ.get(SECRET_KEY_ENV) or None,
        retire_beta=args.retire_beta,
        max_sessions=args.max_sessions,
        drain_timeout_s=args.drain_seconds,
        idle_timeout_s=args.idle_timeout,
        realtime_pacing=args.realtime_pacing,
        speculative_responses=not args.no_speculation,
        max_session_s=args.max_session_minutes * 60,
        record=args.record,
        sip_webhook=args.sip_webhook,
        webhook_secret=args.webhook_secret or os.environ.get("REALTALK_WEBHOOK_SECRET"),
    )


async def _run_forever(
    args: argparse.Namespace,
    config: ServerConfig,
    on_ready: Callable[[ServerHandle], None] | None = None,
) -> None:
    """Serve until SIGTERM (then drain) or Ctrl-C. ``on_ready`` (a worker of ``--workers``):
    called once listening, instead of printing the banner (the parent prints it once)."""
    spec = EngineSpec(
        vad=args.vad,
        transcriber=args.transcriber,
        synthesizer=args.synthesizer,
        brain=args.brain,
        scenario=args.scenario,
        chat_base_url=args.chat_base_url,
        chat_model=args.chat_model,
        device=args.device,
    )
    engines = load_engines(spec)
    try:
        async with serve(config, engines=engines) as handle:
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            if on_ready is not None:
                on_ready(handle)
            else:
                print_banner(args, handle, f"{engines.describe()} device={engines.device}", config)
            await stop.wait()
            # SIGTERM (Kubernetes, systemd, a load balancer's rollout): drain, then exit.
            await handle.drain()
    finally:
        await engines.aclose()


def print_banner(args: argparse.Namespace, handle: Any, engines: str, config: ServerConfig) -> None:
    """What ``realtalk serve`` prints once it listens (the key only when it was generated)."""
    print(
        f"realtalk server listening on {handle.url}/realtime ({engines})",
        flush=True,
    )
    if args.brain == "echo":
        from realtalk.server.engines.brain import EchoBrain

        print(EchoBrain.HINT, flush=True)
    if handle.api_key and not config.api_keys:
        # Printed once on the console so a local user can connect; never logged.
        print(f"API key: {handle.api_key}", flush=True)
    page = playground_url(handle, with_key=not config.api_keys)
    print(f"playground: {page}", flush=True)
    if getattr(args, "open", False):
        import webbrowser

        webbrowser.open(page)


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("realtalk.server")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def run_from_args(args: argparse.Namespace) -> int:
    """Run until interrupted; the exit code for the CLI (2: the options were refused, e.g.
    ``--no-auth`` off loopback or a port already taken)."""
    try:
        config = config_from_args(args)
        _setup_logging(args.verbose)
        # serve() warns (one log line) when a key-protected server binds a non-loopback address.
        if args.workers > 1:
            from realtalk.server.front.processes import CliParts, run_workers

            return run_workers(args, config, CliParts(_run_forever, _setup_logging, print_banner))
        asyncio.run(_run_forever(args, config))
    except ConfigError as exc:
        # One clear line, no traceback: the options are wrong, not the program.
        reasons = "; ".join(str(problem) for problem in exc.problems)
        print(f"realtalk serve: error: {reasons}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def playground_url(handle: Any, *, with_key: bool) -> str:
    """The playground page of a running server; the generated key rides in the fragment
    (``#key=...``), which the browser keeps to itself: it is in no request and no log."""
    host = handle.host if ":" not in handle.host else f"[{handle.host}]"
    page = f"http://{host}:{handle.port}/playground"
    return f"{page}#key={handle.api_key}" if with_key and handle.api_key else page


def playground_main(argv: Sequence[str] | None = None) -> int:
    """``realtalk playground``: the local server, and the URL of its browser page."""
    parser = argparse.ArgumentParser(
        prog="realtalk playground",
        description="Start the local Realtime server and print (or --open) the URL of its "
        "browser playground: talk with the microphone, see the live transcript, the event "
        "timeline, the effective config and per-turn latency.",
    )
    add_playground_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def add_playground_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``realtalk playground``: serve's, and ``--open``."""
    add_serve_arguments(parser)
    parser.add_argument("--open", action="store_true", help="open the page in a browser")


def run(argv: Sequence[str] | None = None) -> int:
    """Blocking entry point: parse ``argv`` as ``realtalk serve`` does and run."""
    return serve_main(argv)


def serve_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="realtalk serve", description="Run the local Realtime server."
    )
    add_serve_arguments(parser)
    return run_from_args(parser.parse_args(argv))
