"""``realtalk demo``: a spoken question to a concierge agent, end to end, offline by default.

The question is synthesized speech, streamed into the built-in local server, where voice
activity detection ends the turn, Whisper transcribes it, a scripted brain calls the agent's
weather tool, and Piper speaks the answer. The terminal shows a live transcript with timings;
the reply is written to a WAV file. ``--provider openai`` / ``azure`` run the same agent against
the real service (keys from the environment).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import realtalk as rt
from realtalk import events as ev
from realtalk.audio import write_wav
from realtalk.config import AudioFormat

__all__ = ["SCENARIO", "add_demo_arguments", "build_agents", "run_demo"]

SCENARIO: dict[str, Any] = {
    "default": "I can tell you the weather, or pass you to billing.",
    "rules": [
        {
            "when": r"weather (?:in|for|like in) (?P<city>[a-z][a-z ]*[a-z])",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "{output.summary} Anything else?",
        },
        {
            "keywords": ["bill", "billing", "invoice"],
            "call": "transfer_to_billing",
            "then_say": "You are through to billing. What would you like to know about your bill?",
        },
    ],
}
HANDOFF_TRIGGER = "mention a bill, billing or an invoice"
"""What makes the demo's scripted brain hand the conversation to billing (said in --help)."""

_FORECASTS = {
    "paris": ("sunny", 21),
    "london": ("light rain", 14),
    "tokyo": ("clear", 18),
    "new york": ("windy", 12),
}


@rt.function_tool
def get_weather(city: str) -> dict[str, Any]:
    """Current weather for a city.

    Args:
        city: The city to look up.
    """
    sky, degrees = _FORECASTS.get(city.strip().lower(), ("mild", 17))
    name = city.strip().title()
    return {
        "city": name,
        "sky": sky,
        "celsius": degrees,
        "summary": f"In {name} it is {sky} and {degrees} degrees.",
    }


def build_agents() -> rt.Agent:
    """The demo's concierge, with a weather tool and a handoff to billing."""
    billing = rt.Agent(
        "billing",
        instructions="You handle invoices and payments. Be brief.",
        handoff_description="Questions about bills, invoices and payments.",
    )
    return rt.Agent(
        "concierge",
        instructions="You are a concise hotel concierge. Use get_weather for weather questions.",
        tools=[get_weather],
        handoffs=[billing],
        config=rt.SessionConfig(voice="marin"),
    )


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        choices=["local", "openai", "azure"],
        default="local",
        help="local: the built-in offline server (default); openai/azure: the real service, "
        "keys from OPENAI_API_KEY or AZURE_OPENAI_API_KEY/AZURE_OPENAI_ENDPOINT/"
        "AZURE_OPENAI_DEPLOYMENT",
    )
    parser.add_argument(
        "--question",
        default="What's the weather in Paris?",
        help="what the user says. On the local server a scripted brain plays the model: ask "
        "about the weather in a city (Paris, London, Tokyo, New York) for the weather tool, or "
        f"{HANDOFF_TRIGGER} for the handoff to the billing agent",
    )
    parser.add_argument(
        "--input",
        type=Path,
        help="a WAV file to use as the user's speech instead of --question (any rate, mono)",
    )
    parser.add_argument("--out", type=Path, default=Path("realtalk-demo-reply.wav"))
    parser.add_argument(
        "--engines",
        choices=["auto", "deterministic"],
        default="auto",
        help="auto: real speech engines when installed (realtalk[speech]); deterministic: "
        "tone speech, no models",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="stream the question in real time, as a microphone would (latency is then the "
        "time a listener waits)",
    )
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--trace", action="store_true", help="print the event timeline on stderr (short reprs)"
    )


class _Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def stamp(self) -> str:
        return f"[{(time.perf_counter() - self.start) * 1000:7.0f} ms]"


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _question_audio(args: argparse.Namespace, real_speech: bool) -> tuple[bytes, int]:
    """The user's question as PCM16: from --input, Piper, or tone speech."""
    if args.input is not None:
        from realtalk.audio import read_wav

        return read_wav(args.input)
    if real_speech:
        from realtalk.server.engines import PiperSynthesizer

        piper = PiperSynthesizer()
        return b"".join(piper.synthesize(args.question)), piper.sample_rate
    from realtalk import testing

    return testing.speak(args.question, 16000), 16000


def _summary(output: str) -> str:
    try:
        data = json.loads(output)
    except ValueError:
        return output
    return str(data.get("summary", output)) if isinstance(data, dict) else output


def _provider(args: argparse.Namespace, real_speech: bool) -> Any:
    if args.provider == "openai":
        return rt.providers.OpenAI()
    if args.provider == "azure":
        return rt.providers.AzureOpenAI.from_env()
    from realtalk.server.engines import EngineSpec, load_engines

    if real_speech:
        spec = EngineSpec(brain="script", scenario=SCENARIO)
    else:
        spec = EngineSpec(
            vad="energy", transcriber="tone", synthesizer="tone", brain="script", scenario=SCENARIO
        )
    # Engines loaded here, so the banner can name them before the first session opens.
    return rt.providers.Local(engines=load_engines(spec), realtime_pacing=False)


def _banner(args: argparse.Namespace, provider: Any, real_speech: bool) -> str:
    if args.provider != "local":
        return f"provider={provider.name} (keys from the environment)\n"
    lines = [
        f"provider=local (the built-in server, offline) {provider.engines.describe()}",
        "  the brain is a script playing the model: ask about the weather in a city for the "
        f"weather tool, or {HANDOFF_TRIGGER} for the handoff to billing (--question)",
    ]
    if not real_speech and args.engines == "auto":
        lines.append(
            "  deterministic speech engines; for real ones: pip install 'realtalk[speech]'"
        )
    return "".join(f"           {line}\n" if i else f"{line}\n" for i, line in enumerate(lines))


async def _stream(session: rt.Session, audio: bytes, rate: int, realtime: bool) -> None:
    """Send the question in 20 ms frames (in real time with --realtime)."""
    frame = rate // 50 * 2
    for start in range(0, len(audio), frame):
        await session.send_audio(audio[start : start + frame], rate=rate)
        if realtime:
            await asyncio.sleep(0.02)


async def run_demo(args: argparse.Namespace) -> int:
    from realtalk.server.engines.registry import speech_extra_installed

    real_speech = args.engines == "auto" and speech_extra_installed()
    clock = _Clock()
    provider = _provider(args, real_speech)
    try:
        _say(f"{clock.stamp()} {_banner(args, provider, real_speech)}")
        return await _converse(args, provider, real_speech, clock)
    finally:
        engines = getattr(provider, "engines", None)
        if engines is not None:
            await engines.aclose()


async def _converse(
    args: argparse.Namespace, provider: Any, real_speech: bool, clock: _Clock
) -> int:
    pcm, rate = _question_audio(args, real_speech)
    runner = rt.Runner(
        build_agents(),
        provider=provider,
        config=rt.SessionConfig(
            turn_detection=rt.ServerVAD(silence_duration_ms=500),
            transcription=rt.Transcription(model="whisper-1", language="en"),
            output_format=AudioFormat.pcm16(),
        ),
    )
    reply = bytearray()
    first_audio_at: float | None = None
    speech_end_at: float | None = None
    assistant_open = False
    async with runner.connect() as session:
        if args.input is not None:
            what = f"the audio in {args.input} ({len(pcm) / 2 / rate:.1f} s at {rate} Hz)"
        else:
            what = repr(args.question)
        _say(f"{clock.stamp()} connected ({session.session_id}); speaking: {what}\n")
        audio = b"\0\0" * (rate // 5) + pcm + b"\0\0" * rate  # lead-in, speech, 1 s of silence
        # Events are read while the audio streams, so each is stamped when it arrives.
        sender = asyncio.create_task(_stream(session, audio, rate, args.realtime))
        from realtalk.trace import Tracer

        tracer = Tracer() if getattr(args, "trace", False) else None
        try:
            deadline = asyncio.get_running_loop().time() + args.timeout
            saw_reply = False
            while True:
                if sender.done() and sender.exception() is not None:
                    raise sender.exception()  # type: ignore[misc]
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    _say(f"\n{clock.stamp()} timed out waiting for the reply\n")
                    return 1
                event = await session.next_event(timeout=remaining)
                if tracer is not None:
                    tracer.event(event)
                match event:
                    case ev.SpeechStarted(audio_start_ms=ms):
                        _say(f"{clock.stamp()} VAD: speech started at {ms} ms of input audio\n")
                    case ev.SpeechStopped(audio_end_ms=ms):
                        speech_end_at = time.perf_counter()
                        _say(f"{clock.stamp()} VAD: speech stopped at {ms} ms\n")
                    case ev.InputTranscriptCompleted(transcript=text):
                        _say(f"{clock.stamp()} you said: {text.strip()}\n")
                    case ev.ToolCallStarted(name=name, arguments=arguments):
                        _say(f"{clock.stamp()} tool call: {name}({arguments})\n")
                    case ev.ToolCallFinished(name=name, output=output) if not name.startswith(
                        "transfer_to_"
                    ):
                        _say(f"{clock.stamp()} tool result: {_summary(output)}\n")
                    case ev.Handoff(to_agent=agent):
                        _say(f"{clock.stamp()} handoff to {agent}\n")
                    case ev.AudioTranscriptDelta(delta=delta):
                        if not assistant_open:
                            _say(f"{clock.stamp()} assistant: ")
                            assistant_open = True
                        _say(delta)
                    case ev.AudioDelta(audio=chunk):
                        saw_reply = True
                        if first_audio_at is None:
                            first_audio_at = time.perf_counter()
                        reply += chunk
                    case ev.ResponseDone():
                        if assistant_open:
                            _say("\n")
                            assistant_open = False
                    case ev.SessionError(message=message, fatal=fatal):
                        _say(f"{clock.stamp()} error: {message}\n")
                        if fatal:
                            return 1
                    case ev.SessionIdle() if saw_reply:
                        break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    write_wav(args.out, bytes(reply), 24000)
    seconds = len(reply) / 48000
    _say(f"{clock.stamp()} reply: {seconds:.2f} s of audio written to {args.out}\n")
    if first_audio_at is not None and speech_end_at is not None:
        latency = (first_audio_at - speech_end_at) * 1000
        pace = "streamed in real time" if args.realtime else "streamed faster than real time"
        _say(
            f"           latency, VAD end of speech to first reply audio: {latency:.0f} ms "
            f"(question {pace})\n"
        )
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_demo(args))
    except rt.ConfigError as exc:
        print(f"realtalk demo: {exc}", file=sys.stderr)
        return 2
    except rt.RealtalkError as exc:
        print(f"realtalk demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
