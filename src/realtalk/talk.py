"""``realtalk talk``: a conversation with an agent from the terminal, on any provider.

Type a line to say it; the assistant's transcript streams back. ``--mic`` adds the microphone
and the speaker (the optional ``realtalk[devices]`` extra, sounddevice). Commands: ``/quit``,
``/interrupt``, ``/voice NAME``, ``/vad on|off``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import realtalk as rt
from realtalk import events as ev

__all__ = ["add_talk_arguments", "main", "make_provider"]


def add_talk_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        choices=["local", "openai", "azure", "azure-preview", "compatible"],
        default="local",
    )
    parser.add_argument("--url", help="WebSocket URL for --provider compatible")
    parser.add_argument("--dialect", choices=["ga", "beta"], default="ga")
    parser.add_argument("--model", default="gpt-realtime")
    parser.add_argument("--instructions", default="You are a helpful, concise assistant.")
    parser.add_argument("--voice", default=None)
    parser.add_argument("--mic", action="store_true", help="use the microphone and speaker")


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
    from realtalk.server.engines import EngineSpec

    return rt.providers.Local(engines=EngineSpec(brain="echo"))


async def _printer(session: rt.Session, speaker: Any, idle: asyncio.Event) -> None:
    open_line = False
    async for event in session:
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


async def _run(args: argparse.Namespace) -> int:
    config = rt.SessionConfig(voice=args.voice) if args.voice else rt.SessionConfig()
    agent = rt.Agent("assistant", instructions=args.instructions)
    runner = rt.Runner(agent, provider=make_provider(args), config=config)
    devices = _Devices() if args.mic else None
    async with runner.connect() as session:
        idle = asyncio.Event()
        printer = asyncio.create_task(_printer(session, devices, idle))
        if devices is not None:
            devices.start(session, asyncio.get_running_loop())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
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
                    # Answer before the next prompt, so piped input reads like a conversation.
                    await asyncio.wait_for(idle.wait(), 120)
        finally:
            if devices is not None:
                devices.stop()
            printer.cancel()
    return 0


class _Devices:
    """Microphone in, speaker out, through sounddevice (the ``devices`` extra)."""

    def __init__(self) -> None:
        try:
            import sounddevice
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise rt.EngineUnavailable(
                "--mic needs sounddevice: pip install 'realtalk[devices]'"
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

        self._in = self._sd.RawInputStream(
            samplerate=24000, channels=1, dtype="int16", blocksize=480, callback=on_audio
        )
        self._out = self._sd.RawOutputStream(samplerate=24000, channels=1, dtype="int16")
        self._in.start()
        self._out.start()

    def write(self, audio: bytes) -> None:
        if self._out is not None:
            self._out.write(audio)

    def stop(self) -> None:
        for stream in (self._in, self._out):
            if stream is not None:
                stream.stop()
                stream.close()


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
        return 0
