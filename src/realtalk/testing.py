"""Test helpers for realtalk users: the ones realtalk's own tests use.

::

    from realtalk import testing

    async def test_weather_tool():
        provider = testing.local({"rules": [{"when": "weather in (?P<city>\\\\w+)",
                                             "call": "get_weather", "arguments": {"city": "{city}"},
                                             "then_say": "It is {output}."}]})
        async with rt.Runner(agent, provider=provider).connect() as session:
            turn = await testing.run_turn(session, "What's the weather in Paris?")
            assert "Paris" in turn.transcript

Everything runs against the built-in local server on loopback with deterministic engines: an
energy VAD, "tone speech" (text encoded as tones, decoded back exactly) for synthesis and
transcription, and a scripted brain. No API key, no network, no model downloads.

:class:`FaultProxy` (from :mod:`realtalk.fault_proxy`) sits between a session and a server and
cuts (RST or FIN), stalls or delays the connection, now or at a given time, byte count or
WebSocket message, so an agent's recovery is tested over real sockets.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from realtalk.events import (
    AudioDelta,
    AudioTranscriptDone,
    Event,
    InputTranscriptCompleted,
    OutputItemAdded,
    SessionIdle,
    TextDone,
    ToolCallFailed,
    ToolCallFinished,
)
from realtalk.fault_proxy import FaultProxy, FaultRecord, ScheduledFault
from realtalk.providers import Local
from realtalk.session import Session

__all__ = [
    "FaultProxy",
    "FaultRecord",
    "ScheduledFault",
    "Turn",
    "collect",
    "local",
    "run_turn",
    "silence",
    "speak",
    "word_error_rate",
    "word_errors",
    "words",
]


def local(
    scenario: Mapping[str, Any] | str | None = None,
    *,
    brain: Literal["script", "echo"] | None = None,
    flavor: Literal["openai", "azure", "azure-preview"] = "openai",
    speech: bool = False,
    **server_options: Any,
) -> Local:
    """A :class:`~realtalk.providers.Local` provider with deterministic engines.

    ``scenario`` is a scripted-brain scenario (a mapping, or a YAML/JSON file path); without
    one the brain echoes the user. ``speech=True`` uses the real speech engines instead (needs
    the ``realtalk[speech]`` extra).
    """
    from realtalk.server.engines import EngineSpec

    chosen = brain or ("script" if scenario is not None else "echo")
    if speech:
        spec = EngineSpec(brain=chosen, scenario=scenario)
    else:
        spec = EngineSpec(
            vad="energy", transcriber="tone", synthesizer="tone", brain=chosen, scenario=scenario
        )
    return Local(flavor=flavor, engines=spec, **server_options)


def speak(text: str, rate: int = 24000) -> bytes:
    """PCM16 mono "speech" for ``text`` that the deterministic local server hears exactly."""
    from realtalk.server.engines.synthesize import ToneSynthesizer

    return b"".join(ToneSynthesizer(rate).synthesize(text))


def silence(ms: float, rate: int = 24000) -> bytes:
    """``ms`` milliseconds of PCM16 mono silence."""
    return b"\0\0" * int(rate * ms / 1000)


async def collect(
    session: Session,
    until: type | Callable[[Event], bool],
    *,
    timeout: float = 10.0,
    limit: int = 100_000,
) -> list[Event]:
    """Events from ``session`` up to and including the first that matches ``until`` (a type or
    a predicate). Raises :class:`TimeoutError` naming what was seen when it does not come."""
    match: Callable[[Event], bool] = (
        (lambda e: isinstance(e, until)) if isinstance(until, type) else until
    )
    seen: list[Event] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(seen) < limit:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            event = await session.next_event(timeout=max(0.0, remaining))
        except TimeoutError:
            kinds = [type(e).__name__ for e in seen[-20:]]
            raise TimeoutError(
                f"no matching event within {timeout:g}s; last seen: {kinds}"
            ) from None
        seen.append(event)
        if match(event):
            return seen
    raise AssertionError(f"no matching event in {limit} events")


@dataclass
class Turn:
    """What one turn produced, as the app saw it."""

    events: list[Event] = field(default_factory=list)
    transcript: str = ""
    """The assistant's transcript (or text) of its last message: the answer. A response may
    hold several messages (gpt-realtime-2 preambles): see :attr:`preambles`."""
    preambles: list[str] = field(default_factory=list)
    """Transcripts of the messages with phase ``"commentary"`` (said before the answer)."""
    user_transcript: str | None = None
    audio: bytes = b""
    """Every assistant audio byte of the turn, in the session's output format."""
    tool_outputs: dict[str, str] = field(default_factory=dict)
    tool_errors: dict[str, str] = field(default_factory=dict)

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def __repr__(self) -> str:
        # Short: the audio as its duration, the events counted (the dataclass repr printed
        # every audio byte, ~500 kB for one spoken answer).
        from realtalk._reprs import show_audio, show_value

        return (
            f"Turn(transcript={show_value(self.transcript)}, "
            f"user_transcript={show_value(self.user_transcript)}, audio={show_audio(self.audio)}, "
            f"tool_outputs={show_value(self.tool_outputs)}, "
            f"tool_errors={show_value(self.tool_errors)}, events=<{len(self.events)} events>)"
        )


async def run_turn(
    session: Session, text: str | None = None, *, audio: bytes | None = None, timeout: float = 10.0
) -> Turn:
    """Say ``text`` (or send ``audio`` and commit it) and wait until the session is idle again,
    tool calls and their follow-up responses included."""
    if text is not None:
        await session.send_text(text)
    elif audio is not None:
        await session.send_audio(audio)
        await session.commit_audio(respond=True)
    events = await collect(session, SessionIdle, timeout=timeout)
    turn = Turn(events)
    audio_parts: list[bytes] = []
    phases: dict[str, str | None] = {}
    for event in events:
        match event:
            case OutputItemAdded(item=item) if item.id is not None:
                phases[item.id] = event.phase
            case AudioDelta(audio=chunk):
                audio_parts.append(chunk)
            case (
                AudioTranscriptDone(item_id=item_id, transcript=t)
                | TextDone(item_id=item_id, text=t)
            ):
                if phases.get(item_id) == "commentary":
                    turn.preambles.append(t)
                else:
                    turn.transcript = t
            case InputTranscriptCompleted(transcript=t):
                turn.user_transcript = t
            case ToolCallFinished(name=name, output=output):
                turn.tool_outputs[name] = output
            case ToolCallFailed(name=name, error=error):
                turn.tool_errors[name] = error
    turn.audio = b"".join(audio_parts)
    return turn


async def replay(
    recording: Any, *, server: Any = "recording", speed: float = 0.0, timeout: float = 10.0
) -> Any:
    """Run a recording's client side again (see :mod:`realtalk.replay`); a
    :class:`~realtalk.replay.ReplayResult`. A bug report becomes a test::

        result = await testing.replay("bug-recording/")            # scripted from the recording
        result = await testing.replay("bug-recording/", server=testing.local(scenario))
        assert result.same_types, result.diff()

    ``speed=0`` (the default here) sends each client message as soon as the server is where it
    was in the recording, ignoring the recorded pauses.
    """
    from realtalk.replay import replay as run

    return await run(recording, server=server, speed=speed, timeout=timeout)


def words(text: str) -> list[str]:
    """Lower-cased words; punctuation other than apostrophes separates them."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length): the two parts of a word error rate, so
    several utterances can be summed before dividing."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` (say, a transcript of the agent's speech) against
    ``reference``: word substitutions, insertions and deletions over the reference's words."""
    errors, total = word_errors(reference, hypothesis)
    return errors / max(1, total)
