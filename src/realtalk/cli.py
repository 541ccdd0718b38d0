"""The ``realtalk`` command line: one small function per subcommand, argparse subparsers.

Subcommands register themselves in :func:`build_parser` (``_add_<name>``) and run through a
``_cmd_<name>(args) -> int`` function, so new ones (``demo``, ``serve``, ``talk``) slot in without
touching the others. Exit codes: 0 success, 2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realtalk.errors import ConfigError

__all__ = ["build_parser", "main", "parse_args"]

EXIT_OK = 0
EXIT_CONFIG = 2


# -- explain ---------------------------------------------------------------------------------


def _add_explain(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from realtalk.explain import PROVIDER_NAMES

    parser = subparsers.add_parser(
        "explain",
        help="show the effective session config, where each field came from, and the exact "
        "session.update per provider",
        description="Merge config layers and show, per provider, the exact session.update it "
        "would send, or every configuration problem. Never connects; needs no credentials.",
    )
    parser.add_argument(
        "config",
        help="a .toml/.json/.yaml file (one config, or named layers as top-level tables), or a "
        "Python object: package.module:attr or path/to/file.py:attr naming a Runner (explained "
        "for its own provider unless --provider is given), an Agent or a SessionConfig",
    )
    parser.add_argument(
        "--provider",
        "-p",
        action="append",
        choices=[*PROVIDER_NAMES, "all"],
        help="provider to explain for (repeatable; default: a Runner's own provider, else openai)",
    )
    parser.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="NAME=CONFIG",
        help="add a layer on top (repeatable, lowest first), e.g. --layer agent=agent.toml",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument("--model", default=None, help="OpenAI model (default: config's model)")
    parser.add_argument("--azure-endpoint", default=None, help="Azure resource endpoint")
    parser.add_argument("--azure-deployment", default=None, help="Azure deployment name")
    parser.add_argument(
        "--api-version",
        default=None,
        help="api-version for azure-preview (default: 2025-04-01-preview)",
    )
    parser.add_argument("--url", default=None, help="WebSocket URL for the compatible-* providers")
    parser.set_defaults(handler=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    from realtalk.explain import (
        DEFAULT_PREVIEW_VERSION,
        PLACEHOLDER_AZURE,
        PLACEHOLDER_GATEWAY,
        PROVIDER_NAMES,
        build_provider,
        explain,
        load_layers,
        load_target,
        render_json,
        render_text,
    )

    try:
        layers, app_provider = load_target(args.config)
        for item in args.layer:
            name, sep, spec = item.partition("=")
            if not sep or not name or not spec:
                print(f"realtalk explain: --layer takes NAME=CONFIG, not {item!r}", file=sys.stderr)
                return EXIT_CONFIG
            layers += load_layers(spec, name=name)
    except ConfigError as exc:
        print(f"realtalk explain: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    wanted = args.provider or ["openai"]
    names = list(PROVIDER_NAMES) if "all" in wanted else list(dict.fromkeys(wanted))
    model = args.model
    if model is None:
        for layer in layers:
            if isinstance(layer.config.model, str):
                model = layer.config.model
    providers = [] if app_provider is None or args.provider else [app_provider]
    providers += [
        build_provider(
            name,
            model=model or "gpt-realtime",
            azure_endpoint=args.azure_endpoint or PLACEHOLDER_AZURE,
            azure_deployment=args.azure_deployment,
            api_version=args.api_version or DEFAULT_PREVIEW_VERSION,
            url=args.url or PLACEHOLDER_GATEWAY,
        )
        for name in (names if not providers else [])
    ]
    report = explain(layers, providers)
    if args.json:
        print(json.dumps(render_json(report), indent=2))
    else:
        sys.stdout.write(render_text(report))
    return EXIT_OK if report.ok else EXIT_CONFIG


# -- demo, serve, talk ------------------------------------------------------------------------


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from realtalk.demo import add_demo_arguments

    parser = subparsers.add_parser(
        "demo",
        help="a spoken question to a concierge agent, end to end on the local server",
        description="Speak a question to a concierge agent (weather tool, handoff to billing) "
        "through the built-in local Realtime server: VAD, transcription, tool call, spoken "
        "reply written to a WAV file. Offline; no API key. On the local server a scripted "
        "brain plays the model: a question about the weather in a city calls the weather "
        "tool; one that mentions a bill, billing or an invoice hands over to billing.",
    )
    add_demo_arguments(parser)
    parser.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from realtalk.demo import main as demo_main

    return demo_main(args)


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Listed here for `realtalk --help`; its own options live with the server and are parsed
    # there (see main), so other subcommands never import the server.
    subparsers.add_parser(
        "serve",
        help="run the local Realtime server (OpenAI GA, Azure GA and Azure preview routes)",
        add_help=False,
    )


def _add_playground(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Parsed by the server like serve (the same options plus --open).
    subparsers.add_parser(
        "playground",
        help="start the local server and print (or --open) its browser playground's URL",
        add_help=False,
    )


def _add_talk(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from realtalk.talk import add_talk_arguments

    parser = subparsers.add_parser(
        "talk",
        help="a text (or microphone) conversation with an agent on any provider",
        description="Type to the model and read (or hear) its answers.",
    )
    add_talk_arguments(parser)
    parser.set_defaults(handler=_cmd_talk)


def _cmd_talk(args: argparse.Namespace) -> int:
    from realtalk.talk import main as talk_main

    return talk_main(args)


# -- report, replay (issue 11: look at a recorded session, or run it again) ------------------


def _add_report(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="turn a recording into one self-contained HTML page (timeline, waveforms, latency)",
        description="Draw a recorded session (SessionOptions(record=...) or serve --record) as "
        "one HTML file: turns, tool calls, interruptions, both sides' waveforms (playable), "
        "per-turn latency, the effective config and errors. The file needs no network.",
    )
    parser.add_argument("recording", help="a recording folder, or a folder of them (newest)")
    parser.add_argument("-o", "--output", default="report.html", help="default: report.html")
    parser.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from realtalk import recording, report

    try:
        rec = recording.load(args.recording)
    except (FileNotFoundError, ValueError) as exc:
        print(f"realtalk report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    Path(args.output).write_text(report.render(rec), encoding="utf-8")
    print(f"{args.output}: report of {rec.path} ({len(rec.records)} records)")
    return EXIT_OK


def _add_replay(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="send a recording's client side again and compare what the server says",
        description="Replay the client messages of a recording, each once the server is where "
        "it was, against a server scripted from the recording (default) or the local server "
        "(--against local, deterministic engines and --scenario). Exit 0 when the server's "
        "event types are the recorded ones, 1 when they differ.",
    )
    parser.add_argument("recording", help="a recording folder, or a folder of them (newest)")
    parser.add_argument("--against", choices=["recording", "local"], default="recording")
    parser.add_argument(
        "--scenario", default=None, help="scripted-brain scenario for --against local"
    )
    parser.add_argument(
        "--flavor",
        choices=["openai", "azure", "azure-preview"],
        default=None,
        help="local server route (default: from the recording's wire shape)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="1 keeps the recorded pauses, 0 sends at once"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per step")
    parser.set_defaults(handler=_cmd_replay)


def _cmd_replay(args: argparse.Namespace) -> int:
    import asyncio

    from realtalk import recording, testing
    from realtalk.replay import replay

    try:
        rec = recording.load(args.recording)
    except (FileNotFoundError, ValueError) as exc:
        print(f"realtalk replay: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    server: object = "recording"
    if args.against == "local":
        beta = rec.header.get("dialect") == "beta"
        flavor: Any = args.flavor or ("azure-preview" if beta else "openai")
        server = testing.local(args.scenario, flavor=flavor, realtime_pacing=args.speed > 0)
    result = asyncio.run(replay(rec, server=server, speed=args.speed, timeout=args.timeout))
    print(f"replayed {rec.path} against {args.against}: {len(result.replayed)} server messages")
    if result.same_types:
        print("same sequence of event types as recorded")
        return EXIT_OK
    if args.against == "local" and result.same_events:
        # A live server's independent streams (transcription, truncation) may interleave anew.
        print(f"same events as recorded, in another interleaving ({result.diff()})")
        return EXIT_OK
    print(f"the event types differ: {result.diff()}")
    return 1


# -- entry point -----------------------------------------------------------------------------


def _add_call(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "call",
        help="place a simulated phone call to a local server started with --sip-webhook",
        description="Dial the local server's phone line as a caller would: G.711 mu-law at "
        "8 kHz, DTMF key presses, a recording of what the caller hears.",
    )
    parser.add_argument("server_url", metavar="SERVER_URL", help="e.g. http://127.0.0.1:8765")
    said = parser.add_mutually_exclusive_group()
    said.add_argument("--audio", type=Path, metavar="FILE", help="a WAV file the caller plays")
    said.add_argument("--say", metavar="TEXT", help="text the caller speaks (Piper, or --tones)")
    parser.add_argument("--record", type=Path, metavar="OUT.wav", help="record what is heard")
    parser.add_argument("--dtmf", default="", metavar="DIGITS", help="keys to press, e.g. 42#")
    parser.add_argument("--tones", action="store_true", help="speak with the tone voice")
    parser.add_argument("--api-key", default=None, help="default: $REALTALK_SERVER_API_KEY")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.set_defaults(handler=_cmd_call)


def _cmd_call(args: argparse.Namespace) -> int:
    import asyncio

    from realtalk.caller import place_call
    from realtalk.errors import RealtalkError

    try:
        result = asyncio.run(
            place_call(
                args.server_url,
                api_key=args.api_key,
                audio=args.audio,
                say=args.say,
                dtmf=args.dtmf,
                record=args.record,
                tones=args.tones,
                max_s=args.max_seconds,
            )
        )
    except RealtalkError as exc:
        print(f"realtalk call: {exc}", file=sys.stderr)
        return 1
    detail = " ".join(f"{k}={v}" for k, v in result.detail.items())
    print(f"call {result.call_id}: {result.outcome} {detail}".rstrip())
    seconds = len(result.heard) / 8000
    print(f"heard {seconds:.1f} s" + (f", recorded to {args.record}" if args.record else ""))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``realtalk`` parser with every subcommand."""
    from realtalk import __version__

    parser = argparse.ArgumentParser(
        prog="realtalk", description="Realtime speech-to-speech voice agents."
    )
    parser.add_argument("--version", action="version", version=f"realtalk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_explain(subparsers)
    _add_demo(subparsers)
    _add_serve(subparsers)
    _add_playground(subparsers)
    _add_talk(subparsers)
    _add_report(subparsers)
    _add_replay(subparsers)
    _add_call(subparsers)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a ``realtalk`` command line as :func:`main` would, without running it.

    The docs' tests check every command they show this way; a bad option exits with status 2,
    as argparse does.
    """
    argv = list(argv)
    if argv[:1] in (["serve"], ["playground"]):
        from realtalk.server.front.cli import add_playground_arguments, add_serve_arguments

        parser = argparse.ArgumentParser(prog=f"realtalk {argv[0]}")
        add = add_serve_arguments if argv[0] == "serve" else add_playground_arguments
        add(parser)
        return parser.parse_args(argv[1:])
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from realtalk.server.front.cli import serve_main

        return serve_main(argv[1:])
    if argv[:1] == ["playground"]:
        from realtalk.server.front.cli import playground_main

        return playground_main(argv[1:])
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
