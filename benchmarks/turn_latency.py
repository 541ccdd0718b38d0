"""Benchmark 5: end of user speech to first assistant audio on the local server, by stage.

The local server (``realtalk.server.serve``) runs in this process with its own engines, each
wrapped in a thin timing proxy (the engines are the server's, not copies). A realtalk Session
streams a recorded question (tests/fixtures/speech_16k.wav) in real time in 20 ms frames, then
silence, with server VAD on; the stages are:

* VAD: end of speech in the audio -> ``speech_stopped`` at the client (includes the session's
  ``silence_duration_ms``, the wait that defines the end of a turn);
* transcription: the transcriber's run that produced the turn's transcript (server side); with
  early transcription (Whisper) it starts at the last pause in the speech, during the silence
  rule, so only what is *left* of it at ``speech_stopped`` adds to the turn (its own row);
* brain: brain asked -> its first piece of text;
* synthesis: the first spoken piece's synthesis (its first clause when it has one, else its
  first sentence; the server sends a piece's audio once the synthesizer has it);
* other: everything between (queues, thread hand-offs, encoding, the socket).

With the speech extra installed the default engines run (Silero VAD, Whisper, Piper); without
it, deterministic engines (energy VAD, scripted transcriber, tone synthesizer), labelled so.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._harness import ROOT
from benchmarks._stats import Table, median, spread

__all__ = ["run"]

FIXTURE = ROOT / "tests" / "fixtures" / "speech_16k.wav"
FRAME_MS = 20


@dataclass
class Log:
    """Monotonic times (s) of what the engines did, newest last."""

    transcribe: list[tuple[float, float]] = field(default_factory=list)
    brain: list[tuple[float, float | None]] = field(default_factory=list)
    synth: list[tuple[float, float]] = field(default_factory=list)
    vad_calls: int = 0
    vad_seconds: float = 0.0


def timed_engines(spec: Any, log: Log) -> Any:
    """The server's engines for ``spec``, each wrapped so the log sees when it ran."""
    from realtalk.server.engines.base import VAD, Brain, Synthesizer, Transcriber
    from realtalk.server.engines.registry import Engines, load_engines

    inner = load_engines(spec)

    class TimedVAD(VAD):
        def __init__(self, vad: VAD) -> None:
            self._vad = vad
            self.sample_rate = vad.sample_rate
            self.frame_samples = vad.frame_samples

        def process(self, pcm16: bytes) -> list[float]:
            start = time.monotonic()
            try:
                return self._vad.process(pcm16)
            finally:
                log.vad_calls += 1
                log.vad_seconds += time.monotonic() - start

        def reset(self) -> None:
            self._vad.reset()

    class TimedTranscriber(Transcriber):
        sample_rate = inner.transcriber.sample_rate
        early_transcription = getattr(inner.transcriber, "early_transcription", False)

        def transcribe(self, pcm16: bytes, **kw: Any) -> Any:
            start = time.monotonic()
            result = inner.transcriber.transcribe(pcm16, **kw)
            log.transcribe.append((start, time.monotonic()))
            return result

        def transcribe_deltas(self, pcm16: bytes, **kw: Any) -> Iterator[str]:
            start = time.monotonic()
            yield from inner.transcriber.transcribe_deltas(pcm16, **kw)
            log.transcribe.append((start, time.monotonic()))

    class TimedSynthesizer(Synthesizer):
        sample_rate = inner.synthesizer.sample_rate
        voices = inner.synthesizer.voices

        def synthesize(self, text: str, **kw: Any) -> Iterator[bytes]:
            start = time.monotonic()
            yield from inner.synthesizer.synthesize(text, **kw)
            log.synth.append((start, time.monotonic()))

    class TimedBrain(Brain):
        async def respond(self, request: Any) -> AsyncIterator[Any]:
            start, first = time.monotonic(), None
            async for action in inner.brain.respond(request):
                if first is None:
                    first = time.monotonic()
                    log.brain.append((start, first))
                yield action
            if first is None:
                log.brain.append((start, None))

        async def aclose(self) -> None:
            await inner.brain.aclose()

    return Engines(
        vad_factory=lambda: TimedVAD(inner.new_vad()),
        transcriber=TimedTranscriber(),
        synthesizer=TimedSynthesizer(),
        brain=TimedBrain(),
        names=dict(inner.names),
    )


@dataclass
class Turn:
    speech_end: float
    speech_stopped: float | None = None
    transcript: float | None = None
    first_audio: float | None = None
    text: str = ""


async def one_turn(session: Any, speech: bytes, speech_end_ms: float, silence_s: float) -> Turn:
    """Stream the question in real time, then silence until the reply's first audio."""
    from realtalk.events import (
        AudioDelta,
        InputTranscriptCompleted,
        ResponseDone,
        SpeechStopped,
    )

    frame_bytes = 16000 * 2 * FRAME_MS // 1000
    silence = bytes(frame_bytes)
    frames = [speech[i : i + frame_bytes] for i in range(0, len(speech), frame_bytes)]
    end_frame = int(speech_end_ms // FRAME_MS)
    turn = Turn(speech_end=float("nan"))
    done = asyncio.Event()

    async def listen() -> None:
        async for event in session:
            now = time.monotonic()
            match event:
                case SpeechStopped() if turn.speech_stopped is None:
                    turn.speech_stopped = now
                case InputTranscriptCompleted(transcript=text):
                    turn.transcript, turn.text = now, text
                case AudioDelta() if turn.first_audio is None:
                    turn.first_audio = now
                case ResponseDone():
                    done.set()
                    return

    listener = asyncio.create_task(listen())
    start = time.monotonic()
    k = 0
    try:
        while not done.is_set() and time.monotonic() - start < len(frames) * 0.02 + silence_s:
            due = start + k * FRAME_MS / 1000
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await session.send_audio(frames[k] if k < len(frames) else silence, rate=16000)
            if k == end_frame:
                # The frame holding the last speech sample has just left.
                turn.speech_end = time.monotonic()
            k += 1
        await asyncio.wait_for(done.wait(), 20)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return turn


def _after(times: list[tuple[float, Any]], t: float) -> tuple[float, Any] | None:
    return next((pair for pair in times if pair[0] >= t), None)


async def measure(turns: int, deterministic: bool) -> tuple[list[dict[str, float]], str, int]:
    import realtalk as rt
    from realtalk.audio import read_wav
    from realtalk.server import serve
    from realtalk.server.engines.registry import EngineSpec, speech_extra_installed

    meta = json.loads(FIXTURE.with_suffix(".json").read_text())
    if deterministic or not speech_extra_installed():
        spec = EngineSpec(
            vad="energy",
            transcriber="scripted",
            synthesizer="tone",
            brain="echo",
            scripted_texts=(meta["text"],) * (turns + 1),
        )
        label = "deterministic engines"
    else:
        spec = EngineSpec(brain="echo")
        label = "default speech engines"
    log = Log()
    engines = timed_engines(spec, log)
    label += f" ({engines.describe()})"
    speech = _pcm16(read_wav(Path(FIXTURE)))
    rows: list[dict[str, float]] = []
    # The recording has a 390 ms pause mid-sentence; OpenAI's default 500 ms rule keeps it one
    # turn (the local server's own default, 200 ms, would answer half a question).
    silence_ms = 500
    try:
        async with serve(engines=engines) as handle:
            provider = rt.providers.Compatible(
                f"{handle.url}/realtime?model=gpt-realtime", api_key=handle.api_key
            )
            config = rt.SessionConfig(
                transcription=rt.Transcription(model="whisper-1"),
                turn_detection=rt.ServerVAD(silence_duration_ms=silence_ms),
            )
            runner = rt.Runner(rt.Agent(name="bench"), provider=provider, config=config)
            async with runner.connect() as session:
                for _ in range(turns):
                    try:
                        turn = await one_turn(session, speech, meta["speech_end_ms"], 5.0)
                    except TimeoutError:
                        turn = Turn(speech_end=float("nan"))  # no reply: counted as missing
                    rows.append(_stages(turn, log))
    finally:
        await engines.aclose()
    return rows, label, silence_ms


def _pcm16(wav: Any) -> bytes:
    # read_wav returns (pcm16 bytes, rate) or an object with .data; accept both.
    if isinstance(wav, tuple):
        return bytes(wav[0])
    return bytes(getattr(wav, "data", wav))


def _stages(turn: Turn, log: Log) -> dict[str, float]:
    nan = float("nan")
    keys = ("vad", "transcribe", "transcribe_left", "brain", "synth", "other", "total", "after_vad")
    out = {k: nan for k in keys}
    if turn.first_audio is None or turn.speech_end != turn.speech_end:
        return out  # no reply, or the reply came before the question ended
    total = turn.first_audio - turn.speech_end
    out["total"] = total * 1000
    if turn.speech_stopped is not None:
        out["after_vad"] = (turn.first_audio - turn.speech_stopped) * 1000
    known = 0.0
    if turn.speech_stopped is not None:
        out["vad"] = (turn.speech_stopped - turn.speech_end) * 1000
        known += out["vad"]
    transcribe = _after(log.transcribe, turn.speech_end)
    if transcribe is not None:
        out["transcribe"] = (transcribe[1] - transcribe[0]) * 1000
        # Only the part of the run after speech_stopped is on the turn's critical path.
        begin = transcribe[0] if turn.speech_stopped is None else turn.speech_stopped
        out["transcribe_left"] = max(0.0, transcribe[1] - max(begin, transcribe[0])) * 1000
        known += out["transcribe_left"]
    brain = _after(log.brain, turn.speech_end)
    if brain is not None and brain[1] is not None:
        out["brain"] = (brain[1] - brain[0]) * 1000
        known += out["brain"]
    synth = _after(log.synth, turn.speech_end)
    if synth is not None:
        out["synth"] = (synth[1] - synth[0]) * 1000
        known += out["synth"]
    out["other"] = total * 1000 - known
    return out


def run(quick: bool = False) -> list[Table]:
    turns = 1 if quick else 5
    tables = []
    variants = [True] if quick else [False, True]
    seen: set[str] = set()
    for deterministic in variants:
        rows, label, silence_ms = asyncio.run(measure(turns, deterministic))
        if label in seen:
            continue
        seen.add(label)
        table = Table(
            f"Turn latency on the local server, {label} (ms)",
            ["stage", "median", "p10", "p90", "turns"],
        )
        names = {
            "vad": f"VAD (end of speech -> speech_stopped; {silence_ms} ms silence rule)",
            "transcribe": "transcription (engine run)",
            "transcribe_left": "transcription still running at speech_stopped",
            "brain": "brain (echo) to first text",
            "synth": "synthesis of the first piece (clause or sentence)",
            "other": "other (queues, threads, encoding, socket)",
            "total": "end of speech -> first audio at the app",
            "after_vad": "speech_stopped -> first audio (without the silence rule)",
        }
        for key, name in names.items():
            values = [r[key] for r in rows if r[key] == r[key]]
            p10, p90 = spread(values)
            table.add(name, median(values), p10, p90, len(values))
        if len([r for r in rows if r["total"] == r["total"]]) < len(rows):
            table.note("turns without a valid reply were left out (see 'turns')")
        table.note(
            "'other' is the total minus VAD, the transcription left at speech_stopped, brain "
            "and synthesis; a transcription drafted at the last pause runs during the silence "
            "rule, so its full engine run is shown but not added"
        )
        table.note(
            "the question is the 2.75 s recording in tests/fixtures/speech_16k.wav, sent in real "
            "time; server and client share this process, as with providers.Local()"
        )
        tables.append(table)
    return tables
