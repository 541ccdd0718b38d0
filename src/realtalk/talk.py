"""``realtalk talk``: a conversation with an agent from the terminal, on any provider.

Type a line to say it; the assistant's transcript streams back. ``--mic`` adds the microphone
and the speaker (the optional ``realtalk[devices]`` extra, sounddevice). Commands: ``/quit``,
``/interrupt``, ``/voice NAME``, ``/vad on|off``. Ctrl-D or ``/quit`` ends after the current
answer; Ctrl-C ends at once.

On the local server (the default) the brain is ``echo`` unless ``--brain`` says otherwise, and
the banner says so: an echo proves the pipes work, not that an agent answers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from typing import Any

import realtalk as rt
from realtalk import events as ev

__all__ = ["add_talk_arguments", "banner", "main", "make_provider"]

COMMANDS = "/interrupt, /voice NAME, /vad on|off, /quit"


def add_talk_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        choices=["local", "openai", "azure", "azure-preview", "compatible"],
        default="local",
        help="local: the built-in offline server (default); openai, azure, azure-preview: the "
        "real service (keys from the environment); compatible: --url",
    )
    parser.add_argument("--url", help="WebSocket URL for --provider compatible")
    parser.add_argument("--dialect", choices=["ga", "beta"], default="ga")
    parser.add_argument("--model", default="gpt-realtime")
    parser.add_argument("--instructions", default="You are a helpful, concise assistant.")
    parser.add_argument("--voice", default=None)
    parser.add_argument("--mic", action="store_true", help="use the microphone and speaker")
    parser.add_argument(
        "--trace", action="store_true", help="print the event timeline on stderr (short reprs)"
    )
    local = parser.add_argument_group(
        "the local server's brain (--provider local)",
        "By default the local assistant is an echo: it says back what you type. For real "
        "answers give it a scenario, or any OpenAI-compatible chat server (llama.cpp, vLLM, "
        "Ollama...).",
    )
    local.add_argument("--brain", choices=["echo", "script", "openai-chat"], default="echo")
    local.add_argument("--scenario", help="a YAML/JSON scenario file for --brain script")
    local.add_argument(
        "--chat-base-url", help="e.g. http://127.0.0.1:8080/v1 (--brain openai-chat)"
    )
    local.add_argument("--chat-model", help="the chat server's model name (--brain openai-chat)")


def make_provider(args: argparse.Namespace) -> Any:
    """The provider named on the command line (keys from the environment)."""
    if args.provider == "openai":
        return rt.providers.OpenAI(model=args.model)
    if args.provider in ("azure", "azure-preview"):
        version = "2025-04-01-preview" if args.provider == "azure-preview" else None
        return rt.providers.AzureOpenAI.from_env(deployment=args.model, api_version=version)
    if args.provider == "compatible":
        if not args.url:
            raise rt.ConfigError([rt.ConfigProblem("--url", None, "is required", "pass --url")])
        return rt.providers.Compatible(args.url, dialect=args.dialect)
    from realtalk.server.engines import EngineSpec, load_engines

    # Typing needs no ears: without --mic the deterministic engines start at once and no
    # speech model is loaded; with --mic the real ones (when installed) listen and speak.
    spec = EngineSpec(
        vad="auto" if args.mic else "energy",
        transcriber="auto" if args.mic else "none",
        synthesizer="auto" if args.mic else "tone",
        brain=args.brain,
        scenario=args.scenario,
        chat_base_url=args.chat_base_url,
        chat_model=args.chat_model,
    )
    return rt.providers.Local(engines=load_engines(spec))


def banner(args: argparse.Namespace, provider: Any) -> str:
    """What the user is talking to, and how to talk."""
    lines = [f"realtalk talk: provider={provider.name}"]
    if args.provider == "local":
        from realtalk.server.engines import EchoBrain

        lines[0] += f" (the built-in server, offline) {provider.engines.describe()}"
        if args.brain == "echo":
            lines.append(f"  {EchoBrain.HINT}")
    else:
        lines[0] += f" model={args.model}"
    ways = "speak, or type" if args.mic else "type"
    lines.append(
        f"  {ways} a message and press Enter; Ctrl-D or /quit ends, Ctrl-C ends at once; "
        f"commands: {COMMANDS}"
    )
    return "\n".join(lines) + "\n"


async def _printer(
    session: rt.Session, speaker: Any, idle: asyncio.Event, trace: bool = False
) -> None:
    try:
        await _print_events(session, speaker, idle, trace)
    except rt.RealtalkError:
        pass  # the fatal SessionError was printed; the session has ended
    finally:
        idle.set()  # nothing more will come: the prompt loop must not wait for it


async def _print_events(
    session: rt.Session, speaker: Any, idle: asyncio.Event, trace: bool = False
) -> None:
    from realtalk.trace import Tracer

    tracer = Tracer() if trace else None
    open_line = False
    async for event in session:
        if tracer is not None:
            tracer.event(event)
        match event:
            case ev.AudioTranscriptDelta(delta=delta) | ev.TextDelta(delta=delta):
                if not open_line:
                    sys.stdout.write("assistant: ")
                    open_line = True
                sys.stdout.write(delta)
                sys.stdout.flush()
            case ev.AudioDelta(audio=audio) if speaker is not None:
                speaker.write(audio)
            case ev.ResponseDone():
                if open_line:
                    sys.stdout.write("\n")
                    open_line = False
            case ev.InputTranscriptCompleted(transcript=text):
                sys.stdout.write(f"you (heard): {text}\n")
            case ev.SessionError(message=message):
                sys.stdout.write(f"[error] {message}\n")
            case ev.SessionWarning(message=message):
                sys.stdout.write(f"[warning] {message}\n")
            case ev.SessionIdle():
                idle.set()


def _read_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Feed stdin to the loop from a daemon thread: a blocked read never holds up Ctrl-C."""

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=reader, name="realtalk-talk-stdin", daemon=True).start()


async def _run(args: argparse.Namespace) -> int:
    config = rt.SessionConfig(voice=args.voice) if args.voice else rt.SessionConfig()
    agent = rt.Agent("assistant", instructions=args.instructions)
    provider = make_provider(args)
    devices = _Devices() if args.mic else None
    sys.stdout.write(banner(args, provider))
    sys.stdout.flush()
    prompt = sys.stdin.isatty()
    runner = rt.Runner(agent, provider=provider, config=config)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    try:
        async with runner.connect() as session:
            idle = asyncio.Event()
            printer = asyncio.create_task(
                _printer(session, devices, idle, getattr(args, "trace", False))
            )
            if devices is not None:
                devices.start(session, loop)
            _read_lines(loop, lines)
            try:
                while True:
                    if prompt:
                        sys.stdout.write("you: ")
                        sys.stdout.flush()
                    line = await lines.get()
                    if line is None:
                        break
                    text = line.strip()
                    if text in ("/quit", "/exit"):
                        break
                    if text == "/interrupt":
                        await session.interrupt()
                    elif text.startswith("/voice "):
                        await session.update(voice=text.split(" ", 1)[1])
                    elif text in ("/vad off", "/vad on"):
                        await session.update(
                            turn_detection=None if text.endswith("off") else rt.ServerVAD()
                        )
                    elif text:
                        idle.clear()
                        await session.send_text(text)
                        # Answer before the next prompt, so piped input reads like a talk.
                        await asyncio.wait_for(idle.wait(), 120)
                        if printer.done():
                            break  # the session ended (its error was printed)
            finally:
                if devices is not None:
                    devices.stop()
                printer.cancel()
    finally:
        engines = getattr(provider, "engines", None)
        if engines is not None and hasattr(engines, "aclose"):
            await engines.aclose()
    return 0


class _Devices:
    """Microphone in, speaker out, through sounddevice (the ``devices`` extra)."""

    def __init__(self) -> None:
        try:
            import sounddevice
        except ImportError as exc:
            raise rt.EngineUnavailable(
                "--mic needs sounddevice: pip install 'realtalk[devices]'"
            ) from exc
        except OSError as exc:  # sounddevice is there, the PortAudio library is not
            raise rt.EngineUnavailable(
                f"--mic needs the PortAudio library ({_first_line(exc)}): on Debian or Ubuntu "
                "apt-get install libportaudio2"
            ) from exc
        self._sd = sounddevice
        self._in: Any = None
        self._out: Any = None

    def start(self, session: rt.Session, loop: asyncio.AbstractEventLoop) -> None:
        def on_audio(data: Any, frames: int, time: Any, status: Any) -> None:
            chunk = bytes(data)
            loop.call_soon_threadsafe(
                lambda: asyncio.ensure_future(session.send_audio(chunk, rate=24000))
            )

        try:
            self._in = self._sd.RawInputStream(
                samplerate=24000, channels=1, dtype="int16", blocksize=480, callback=on_audio
            )
            self._out = self._sd.RawOutputStream(samplerate=24000, channels=1, dtype="int16")
            self._in.start()
            self._out.start()
        except Exception as exc:  # PortAudioError, or ValueError for a missing device
            self.stop()
            raise rt.EngineUnavailable(
                f"cannot open the microphone or speaker: {_first_line(exc)}; "
                "`python -m sounddevice` lists the devices, or run without --mic"
            ) from exc

    def write(self, audio: bytes) -> None:
        if self._out is not None:
            self._out.write(audio)

    def stop(self) -> None:
        for stream in (self._in, self._out):
            if stream is not None:
                stream.stop()
                stream.close()
        self._in = self._out = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except rt.ConfigError as exc:
        print(f"realtalk talk: {exc}", file=sys.stderr)
        return 2
    except rt.RealtalkError as exc:
        print(f"realtalk talk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
