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

Real human speech (``benchmarks/_speech_corpus.py``: LibriVox and CMU Sphinx recordings from the
pocketsphinx sdist on PyPI, provenance there): phrase groups with inner pauses of 0.4-0.9 s,
streamed in real time in 20 ms chunks and followed by live background noise; the end of speech
is taken from the audio's energy. For each turn-detection mode (``server_vad`` with its 500 ms
rule, ``semantic_vad`` per eagerness) the table gives the median and spread from the end of
speech to the first assistant audio delta at the client, per stage, and the *cut-offs*: groups
in which a response started (``response.created`` at the client) before the speaker finished,
i.e. during an inner pause.
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
        end_of_turn=inner.end_of_turn,
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


HUMAN_MODES: tuple[tuple[str, Any], ...] = (
    ("server_vad 500 ms", {"type": "server_vad", "silence_duration_ms": 500}),
    ("semantic_vad low", {"type": "semantic_vad", "eagerness": "low"}),
    ("semantic_vad medium (auto)", {"type": "semantic_vad", "eagerness": "medium"}),
    ("semantic_vad high", {"type": "semantic_vad", "eagerness": "high"}),
)


@dataclass
class HumanTurn:
    """What the client saw of one phrase group."""

    speech_end: float = float("nan")
    stopped: list[float] = field(default_factory=list)
    created: dict[str, float] = field(default_factory=dict)
    first_audio: dict[str, float] = field(default_factory=dict)


async def human_turn(session: Any, group: Any, silence_s: float = 9.0) -> HumanTurn:
    """Stream one phrase group in real time, then live background until its reply is done
    (9 s at most: past the low eagerness' 8 s maximum wait)."""
    from benchmarks._speech_corpus import background_fill
    from realtalk.events import AudioDelta, ResponseCreated, ResponseDone, SpeechStopped

    frame_bytes = 16000 * 2 * FRAME_MS // 1000
    audio = group.pcm16 + background_fill(group, silence_s * 1000)
    frames = [audio[i : i + frame_bytes] for i in range(0, len(audio), frame_bytes)]
    end_frame = int(group.speech_end_ms // FRAME_MS)
    seen = HumanTurn()
    done = asyncio.Event()

    async def listen() -> None:
        async for event in session:
            now = time.monotonic()
            match event:
                case SpeechStopped():
                    seen.stopped.append(now)
                case ResponseCreated(response=response):
                    seen.created[response.id] = now
                case AudioDelta(response_id=rid) if rid not in seen.first_audio:
                    seen.first_audio[rid] = now
                case ResponseDone(response=response) if seen.speech_end == seen.speech_end:
                    if seen.created.get(response.id, 0.0) >= seen.speech_end:
                        done.set()
                        return

    listener = asyncio.create_task(listen())
    start = time.monotonic()
    try:
        for k, frame in enumerate(frames):
            if done.is_set():
                break
            await asyncio.sleep(max(0.0, start + k * FRAME_MS / 1000 - time.monotonic()))
            await session.send_audio(frame, rate=16000)
            if k == end_frame:
                seen.speech_end = time.monotonic()
        await asyncio.wait_for(done.wait(), 20)
    except TimeoutError:
        pass  # no reply after the speech: counted as missing
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return seen


def _human_row(seen: HumanTurn, log: Log, timings: dict[str, Any]) -> dict[str, float]:
    nan = float("nan")
    end = seen.speech_end
    keys = ("vad", "draft_start", "transcript_ready", "transcribe_left", "brain", "synth", "total")
    row = {k: nan for k in keys}
    row["cutoffs"] = float(sum(1 for t in seen.created.values() if t < end))
    # The server's own record of each response (TurnTimings): served by a speculation, and
    # how many speculations speech overtook before it.
    records = [timings[rid] for rid in seen.created if rid in timings]
    row["discarded"] = float(sum(r.speculations_discarded for r in records))
    row["speculative"] = nan
    final = [(t, rid) for rid, t in seen.created.items() if t >= end]
    if not final:
        return row
    _, rid = min(final)
    if rid in timings:
        row["speculative"] = float(timings[rid].speculative)
    first = seen.first_audio.get(rid)
    if first is None:
        return row
    row["total"] = (first - end) * 1000
    stopped = next((t for t in seen.stopped if t >= end), None)
    if stopped is not None:
        row["vad"] = (stopped - end) * 1000
    brain = _after(log.brain, end)
    if brain is not None and brain[1] is not None:
        row["brain"] = (brain[1] - brain[0]) * 1000
        # The transcription the brain waited for: the last run started before it.
        runs = [pair for pair in log.transcribe if pair[0] <= brain[0]]
        if runs:
            begin, finish = runs[-1]
            row["draft_start"] = (begin - end) * 1000
            row["transcript_ready"] = (finish - end) * 1000
            if stopped is not None:
                row["transcribe_left"] = max(0.0, finish - max(begin, stopped)) * 1000
        synth = _after(log.synth, brain[0])
        if synth is not None:
            row["synth"] = (synth[1] - synth[0]) * 1000
    return row


async def measure_human(
    modes: tuple[tuple[str, Any], ...], *, speculative: bool = True
) -> tuple[dict[str, list[Any]], str]:
    """Every phrase group through every mode, one session per mode, on one server
    (``speculative``: its ServerConfig.speculative_responses)."""
    import realtalk as rt
    from benchmarks._speech_corpus import load_groups
    from realtalk.server import serve
    from realtalk.server.engines.registry import EngineSpec

    groups = load_groups()
    log = Log()
    engines = timed_engines(EngineSpec(brain="echo"), log)
    label = f"default speech engines ({engines.describe()})"
    out: dict[str, list[Any]] = {}
    timings: dict[str, Any] = {}

    def record(t: Any) -> None:
        timings[t.response_id] = t

    try:
        async with serve(
            engines=engines, on_timings=record, speculative_responses=speculative
        ) as handle:
            provider = rt.providers.Compatible(
                f"{handle.url}/realtime?model=gpt-realtime", api_key=handle.api_key
            )
            for name, detection in modes:
                turn_detection: Any = (
                    rt.ServerVAD(silence_duration_ms=detection["silence_duration_ms"])
                    if detection["type"] == "server_vad"
                    else rt.SemanticVAD(eagerness=detection["eagerness"])
                )
                config = rt.SessionConfig(
                    transcription=rt.Transcription(model="whisper-1"),
                    turn_detection=turn_detection,
                )
                runner = rt.Runner(rt.Agent(name="bench"), provider=provider, config=config)
                rows = out[name] = []
                async with runner.connect() as session:
                    for group in groups:
                        seen = await human_turn(session, group)
                        await asyncio.sleep(0.5)  # the reply's tail settles before the next
                        rows.append((group, _human_row(seen, log, timings)))
    finally:
        await engines.aclose()
    return out, label


nan = float("nan")


def decision_table() -> Table:
    """Where each mode's decision falls in *audio* time on the phrase groups: no clock, no load.

    The server's own detector (Silero, the session's rule) runs over each group and its live
    silence; for ``semantic_vad`` every judged pause goes to the end-of-turn model (smart-turn),
    so the table shows, per eagerness, how many groups a decision would cut off at an inner pause
    and how long after the end of speech the turn would end, before any engine time; the model's
    own cost per judgement is measured beside it (this process, one thread).
    """
    from benchmarks._speech_corpus import background_fill, load_groups
    from realtalk.audio import convert
    from realtalk.server.core.settings import (
        END_OF_TURN_THRESHOLD,
        SEMANTIC_MAX_WAIT_MS,
        TurnSettings,
    )
    from realtalk.server.core.turns import DRAFT_PAUSE_MS, JUDGE_PAUSE_MS, REJUDGE_MS, TurnDetector
    from realtalk.server.engines.turn import SmartTurn
    from realtalk.server.engines.vad import SileroVAD

    groups = load_groups()
    model = SmartTurn()
    table = Table(
        "Turn decisions on real human speech, in audio time (no engines after the decision)",
        ["mode", "cut-offs", "median after end (ms)", "max after end (ms)", "judgements"],
    )
    server = TurnSettings(kind="server_vad", silence_duration_ms=500)
    judged = TurnSettings(kind="semantic_vad", silence_duration_ms=8000)
    server_rows: list[tuple[bool, float]] = []
    pauses: dict[str, list[tuple[float, float]]] = {}  # group -> (at - end, P(complete))
    costs: list[float] = []
    for group in groups:
        pcm = group.pcm16 + background_fill(group, 3000)
        audio = convert(pcm, 16000, 24000)
        for rule in (server, judged):
            detector = TurnDetector(SileroVAD.shared(), "pcm16")
            detector.reset(0.0)
            onset: float | None = None
            stops: list[float] = []
            seen = pauses.setdefault(group.name, []) if rule is judged else []
            for offset in range(0, len(audio), 960):
                piece = audio[offset : offset + 960]
                # as the session does: the pause for drafts, the model asked at the checks
                events = detector.feed(piece, rule, DRAFT_PAUSE_MS, REJUDGE_MS, JUDGE_PAUSE_MS)
                for event in events:
                    if event.kind == "started" and onset is None:
                        onset = event.at_ms
                    elif event.kind == "stopped":
                        stops.append(event.at_ms)
                    elif event.kind == "silent" and rule is judged:
                        begin = max(0.0, (onset or 0.0) - 300)
                        start = time.perf_counter()
                        p = model.probability(pcm[int(begin) * 32 : int(event.at_ms) * 32])
                        costs.append((time.perf_counter() - start) * 1000)
                        seen.append((event.at_ms - group.speech_end_ms, p))
            if rule is server:
                # The decision fires at the end of the frame that completes the rule.
                decided = [t for t in stops if t >= group.speech_end_ms]
                cut = any(t < group.speech_end_ms for t in stops)
                server_rows.append((cut, decided[0] - group.speech_end_ms if decided else nan))
    table.add(
        "server_vad 500 ms",
        f"{sum(c for c, _ in server_rows)}/{len(groups)}",
        median([a for c, a in server_rows if not c and a == a]),
        max((a for c, a in server_rows if not c and a == a), default=nan),
        "-",
    )
    for eagerness in ("low", "medium", "high"):
        threshold = END_OF_TURN_THRESHOLD[eagerness]
        cap = SEMANTIC_MAX_WAIT_MS[eagerness]
        cuts, after = 0, []
        for seen in pauses.values():
            if any(at < 0 and p >= threshold for at, p in seen):
                cuts += 1
                continue
            hits = [at for at, p in seen if at >= 0 and p >= threshold]
            after.append(hits[0] if hits else float(cap))
        table.add(
            f"semantic_vad {eagerness} (P >= {threshold}, cap {cap // 1000} s)",
            f"{cuts}/{len(groups)}",
            median(after),
            max(after, default=nan),
            len(costs),
        )
    table.note(
        f"smart-turn cost per judgement here: median {median(costs):.0f} ms (p90 "
        f"{spread(costs)[1]:.0f} ms); a judged pause is first asked at {JUDGE_PAUSE_MS:.0f} ms "
        f"of silence, again every {REJUDGE_MS:.0f} ms; 'after end' counts audio from the "
        "energy end of speech to the decision point (a turn judged incomplete to the end "
        "counts its cap); the model's cost and the engines come on top"
    )
    return table


def vad_decision_table(rules_ms: tuple[int, ...] = (200, 500, 1000)) -> Table:
    """When the ``server_vad`` decision fires on the human groups, in audio time (no clock):
    the end of the last word by the sdist's forced alignment (beside the energy end) -> the
    VAD's end of speech (its lag) -> the audio position of the 20 ms chunk whose arrival made
    the decision. What is over the rule is the VAD's lag and framing (whole 32 ms frames, the
    chunk that completes the frame)."""
    from benchmarks._speech_corpus import background_fill, load_groups
    from realtalk.audio import convert
    from realtalk.server.core.settings import TurnSettings
    from realtalk.server.core.turns import TurnDetector
    from realtalk.server.engines.vad import SileroVAD

    groups = load_groups()
    table = Table(
        "server_vad decision point on real human speech, in audio time (ms after the end of "
        "speech)",
        ["rule", "VAD end - aligned", "decision - aligned", "decision - energy end", "over rule"],
    )
    for rule_ms in rules_ms:
        rule = TurnSettings(kind="server_vad", silence_duration_ms=float(rule_ms))
        lag, aligned, energy = [], [], []
        for group in groups:
            audio = convert(group.pcm16 + background_fill(group, rule_ms + 1000), 16000, 24000)
            detector = TurnDetector(SileroVAD.shared(), "pcm16")
            detector.reset(0.0)
            final: tuple[float, float] | None = None
            for offset in range(0, len(audio), 960):
                for event in detector.feed(audio[offset : offset + 960], rule):
                    late = event.kind == "stopped" and event.at_ms >= group.speech_end_ms
                    if late and final is None:
                        final = (event.at_ms - rule_ms, (offset + 960) / 48)
            if final is None:
                continue
            vad_end, decided = final
            energy.append(decided - group.speech_end_ms)
            if group.aligned_end_ms is not None:
                lag.append(vad_end - group.aligned_end_ms)
                aligned.append(decided - group.aligned_end_ms)
        table.add(
            f"{rule_ms} ms",
            median(lag),
            median(aligned),
            median(energy),
            median(aligned) - rule_ms,
        )
    table.note(
        "medians over the groups' final end of speech (LibriVox groups for the aligned columns, "
        "all for the energy one); the VAD's end of speech is audio_end_ms minus the rule; a "
        "frame the VAD still calls speech at the room's floor right after the voice is its lag, "
        "not speech (server/core/turns.py), and the VAD hears the 24 kHz stream through soxr QQ"
    )
    return table


@dataclass
class _FinalDraft:
    """The draft a turn adopts, in audio time (ms after the energy end of speech)."""

    started: float  # when the engine took it (a stale draft in flight may hold it back)
    decided: float  # the 500 ms rule's decision
    drafts: int  # drafts the group asked for in all (the stale ones are engine time wasted)
    body: bytes  # its audio (16 kHz) up to the pause
    pad_ms: float  # digital silence after it, to the rule's end (server_vad)
    committed: bytes  # the turn's committed audio, up to the rule's end


def _final_draft(group: Any, pause_ms: float, engine_ms: float) -> _FinalDraft | None:
    """Replay a group through the detector (Silero, the 500 ms rule, 20 ms chunks) with the
    session's own draft bookkeeping (:class:`Drafts`: one in flight, each ``engine_ms`` long)."""
    from itertools import count

    from benchmarks._speech_corpus import background_fill
    from realtalk.audio import convert
    from realtalk.server.core.settings import TurnSettings
    from realtalk.server.core.turns import Drafts, TurnDetector
    from realtalk.server.core.work import TranscriptionResult
    from realtalk.server.engines.vad import SileroVAD

    pcm = group.pcm16 + background_fill(group, 3000)
    audio = convert(pcm, 16000, 24000)
    rule = TurnSettings(kind="server_vad", silence_duration_ms=500)
    detector = TurnDetector(SileroVAD.shared(), "pcm16")
    detector.reset(0.0)
    drafts, ids = Drafts(), count()
    started: dict[str, float] = {}
    running: list[tuple[float, str]] = []  # (finish, work id), in order
    start_ms, asked, last_pause = 0.0, 0, None

    def new_id() -> str:
        return f"draft{next(ids)}"

    for offset in range(0, len(audio), 960):
        now = (offset + 960) / 48  # the arrival of this chunk, in audio ms
        while running and running[0][0] <= now:
            finish, work_id = running.pop(0)
            if drafts.owns(work_id):
                waiting = drafts.finished(TranscriptionResult(work_id, text="-"), new_id)
                if waiting is not None:
                    started[waiting.work_id] = finish
                    running.append((finish + engine_ms, waiting.work_id))
        for event in detector.feed(audio[offset : offset + 960], rule, pause_ms):
            if event.kind == "started":
                start_ms = max(0.0, event.at_ms - rule.prefix_padding_ms)
            elif event.kind == "resumed":
                drafts.reset()
            elif event.kind == "paused":
                asked += 1
                last_pause = event
                draft = drafts.pause(start_ms, event, new_id)
                if draft is not None:
                    started[draft.work_id] = now
                    running.append((now + engine_ms, draft.work_id))
            elif event.kind == "stopped" and event.at_ms >= group.speech_end_ms:
                adopted = drafts.adopt(start_ms)
                if adopted is None or last_pause is None:
                    return None
                end = group.speech_end_ms
                return _FinalDraft(
                    started=started[adopted.work_id] - end,
                    decided=now - end,
                    drafts=asked,
                    body=pcm[int(start_ms) * 32 : int(last_pause.at_ms) * 32],
                    pad_ms=last_pause.turn_end_ms - last_pause.at_ms,
                    committed=pcm[int(start_ms) * 32 : int(event.at_ms) * 32],
                )
    return None


def draft_table(pauses_ms: tuple[float, ...] = (64.0, 96.0, 160.0)) -> Table:
    """When the turn's transcript can be ready, per draft pause, in audio time: the final
    draft's start after the end of speech (the session's own draft bookkeeping over Silero's
    events), plus Whisper's run on that very audio measured here, against the 500 ms rule's
    decision; and whether the draft's words are those of the committed audio (Whisper on the
    turn as committed), for the padded draft (server_vad) and the unpadded one (semantic_vad,
    whose turn ends at a judged pause)."""
    from benchmarks._speech_corpus import load_groups
    from realtalk.server.core.turns import DRAFT_PAUSE_MS
    from realtalk.server.engines.transcribe import WhisperTranscriber

    groups = load_groups()
    whisper = WhisperTranscriber()
    whisper.transcribe(groups[0].pcm16)  # warm
    reference: dict[str, str] = {}
    table = Table(
        "Draft transcripts on real human speech: when the turn's transcript is ready, in audio "
        "time (ms after the end of speech), by the pause that starts a draft",
        [
            "draft pause",
            "drafts",
            "final draft starts",
            "Whisper run",
            "transcript ready",
            "ready at the 500 ms decision",
            "words = committed (padded / unpadded)",
        ],
    )
    for pause_ms in pauses_ms:
        starts, runs, ready, before, asked, same_padded, same_bare = [], [], [], 0, 0, 0, 0
        for group in groups:
            final = _final_draft(group, pause_ms, 0.0)
            if final is None:
                continue
            if group.name not in reference:
                reference[group.name] = whisper.transcribe(final.committed).text
            begin = time.perf_counter()
            padded = whisper.transcribe(final.body + bytes(int(final.pad_ms) * 32)).text
            run_ms = (time.perf_counter() - begin) * 1000
            bare = whisper.transcribe(final.body).text
            # again, with the engine's own run: a stale draft in flight holds the next back
            final = _final_draft(group, pause_ms, run_ms) or final
            starts.append(final.started)
            runs.append(run_ms)
            ready.append(final.started + run_ms)
            before += final.started + run_ms <= final.decided
            asked += final.drafts
            same_padded += padded == reference[group.name]
            same_bare += bare == reference[group.name]
        n = len(starts)
        table.add(
            f"{pause_ms:.0f} ms" + (" (now)" if pause_ms == DRAFT_PAUSE_MS else ""),
            asked,
            median(starts),
            median(runs),
            median(ready),
            f"{before}/{n}",
            f"{same_padded}/{n} / {same_bare}/{n}",
        )
    table.note(
        "drafts = drafts asked for over all groups (one per pause of that length; those speech "
        "overtakes are engine time for nothing); the final draft starts at its pause after "
        "Silero's own end of speech (its ~44 ms lag), in the chunk that completes the frame; "
        "Whisper run = tiny.en on that draft's audio in this process (load-dependent: the "
        "only clock in the table); the rule decides at ~540 ms: a transcript ready by then "
        "lets the speculative response run inside the rule"
    )
    table.note(
        "words = committed: the draft's transcript equals Whisper's on the committed turn "
        "(speech + the rule's 500 ms of room); Whisper tiny.en's words move with ~100 ms of "
        "trailing room noise, so no draft pause matches it always"
    )
    return table


def floor_table(
    pauses_ms: tuple[float, ...] = (64.0, 20.0, 0.0),
) -> tuple[Table, dict[str, float]]:
    """The earliest first audio the engines allow, per human group, without any contention:
    the turn's transcript cannot start before its final draft does (audio time, the session's
    own draft bookkeeping over Silero's events), it takes Whisper's run on that very audio,
    measured here alone; the reply's first spoken piece (what the echo brain says first, cut
    as the server cuts it) takes Piper's run on it, measured alone; and under ``server_vad``
    no audio leaves before the rule's decision. ``semantic_vad`` cannot skip its own
    judgement: the end-of-turn model is asked once at JUDGE_PAUSE_MS, on the same cores while
    Whisper runs, so its floor runs Whisper again with that one judgement beside it, started
    when the session would start it. Nothing else of a live session runs meanwhile (no client,
    no other engine, no loop), so a live median can only be above these. Returns the table
    and, for the session's own draft pause, the medians of the two floors ("bound": the
    0 ms row's chain, when it is run)."""
    from benchmarks._speech_corpus import load_groups
    from realtalk.errors import EngineUnavailable
    from realtalk.server.core.turns import DRAFT_PAUSE_MS, JUDGE_PAUSE_MS
    from realtalk.server.engines.brain import EchoBrain
    from realtalk.server.engines.synthesize import PiperSynthesizer, SentenceBuffer
    from realtalk.server.engines.transcribe import WhisperTranscriber
    from realtalk.server.engines.turn import SmartTurn

    groups = load_groups()
    whisper, piper = WhisperTranscriber(), PiperSynthesizer()
    try:
        judge: SmartTurn | None = SmartTurn()
    except EngineUnavailable:
        judge = None  # the turn extra is missing: no judged floor
    if judge is not None:
        judge.probability(groups[0].pcm16)  # warm
    whisper.transcribe(groups[0].pcm16)  # warm both
    list(piper.synthesize("Warm up."))
    echo = EchoBrain()
    table = Table(
        "Turn latency floor on real human speech: the engines alone, in order (ms after the "
        "end of speech, medians over the groups)",
        [
            "draft pause",
            "draft starts",
            "Whisper",
            "first piece",
            "words",
            "chain",
            "server_vad floor",
            "groups over 600 ms",
            "Whisper, judged beside",
            "judgement ends",
            "semantic_vad floor",
        ],
    )
    now: dict[str, float] = {}
    for pause_ms in pauses_ms:
        starts, runs, synths, words, chains, floors = [], [], [], [], [], []
        judged_runs: list[float] = []
        judge_ends: list[float] = []
        judged_floors: list[float] = []
        for group in groups:
            final = _final_draft(group, pause_ms, 0.0)
            if final is None:
                continue
            draft_audio = final.body + bytes(int(final.pad_ms) * 32)
            text = whisper.transcribe(draft_audio).text
            # alone and (below) judged beside, interleaved, the median of FLOOR_RUNS each:
            # one run moves by tens of ms on this machine, more than the judgement costs
            run_ms = median([_wall_ms(whisper.transcribe, draft_audio) for _ in range(FLOOR_RUNS)])
            final = _final_draft(group, pause_ms, run_ms) or final
            buffer = SentenceBuffer(first_clause=True)
            reply = echo.prefix + text.strip() if text.strip() else echo.empty
            first = (buffer.push(reply) or [buffer.flush() or ""])[0]
            begin = time.perf_counter()
            list(piper.synthesize(first))
            synth_ms = (time.perf_counter() - begin) * 1000
            chain = final.started + run_ms + synth_ms
            starts.append(final.started)
            runs.append(run_ms)
            synths.append(synth_ms)
            words.append(float(len(first.split())))
            chains.append(chain)
            floors.append(max(chain, final.decided))
            if judge is not None and pause_ms > 0:
                # (the bound has no judgement to run beside Whisper)
                # the session asks the model JUDGE_PAUSE_MS into the pause, on the audio so far
                offset_ms = JUDGE_PAUSE_MS - pause_ms
                heard = final.committed[: len(final.body) + int(offset_ms) * 32]
                beside = [
                    _judged_beside(whisper, judge, draft_audio, heard, offset_ms)
                    for _ in range(FLOOR_RUNS)
                ]
                whisper_ms = median([w for w, _ in beside])
                judged_ms = median([j for _, j in beside])
                judged_runs.append(whisper_ms)
                judge_ends.append(judged_ms)
                judged_floors.append(final.started + max(whisper_ms + synth_ms, judged_ms))
        table.add(
            f"{pause_ms:.0f} ms"
            + (" (now)" if pause_ms == DRAFT_PAUSE_MS else "")
            + (" (bound)" if pause_ms == 0 else ""),
            median(starts),
            median(runs),
            median(synths),
            median(words),
            median(chains),
            median(floors),
            f"{sum(f > 600 for f in floors)}/{len(floors)}",
            *(
                (median(judged_runs), median(judge_ends), median(judged_floors))
                if judged_floors
                else ("-", "-", "-")
            ),
        )
        if pause_ms == DRAFT_PAUSE_MS:
            semantic = median(judged_floors) if judged_floors else median(chains)
            now.update({"server_vad": median(floors), "semantic_vad": semantic})
        if pause_ms == 0:
            now["bound"] = median(chains)
    table.note(
        "chain = draft starts + Whisper + first piece (the brain, echo, takes < 0.1 ms); "
        "server_vad floor = the chain, or the 500 ms rule's decision (~540 ms) if later: "
        "the earliest the first audio can leave; the client, the socket and the loop come on "
        "top"
    )
    table.note(
        "Whisper, judged beside = the same Whisper run with the turn's one smart-turn judgement "
        "on another thread, started JUDGE_PAUSE_MS - draft pause into it (when the session asks "
        "it); judgement ends = its end, from the draft's start; semantic_vad floor = draft "
        "starts + the later of (Whisper judged beside + first piece) and the judgement's end: "
        "its decision can come at the pause, but its judgement shares the two cores with "
        "Whisper (a pause judged incomplete is judged again 320 ms later, after this floor)"
    )
    table.note(
        "0 ms (bound): the draft at Silero's first silent frame, as if the turn's end were "
        "known the moment the detector hears silence: its chain (Silero's lag + Whisper alone "
        "+ the first piece) is the earliest first audio any end-of-turn rule or model gets from "
        "these engines on this machine, whatever it decides and however fast"
    )
    table.note(
        "first piece = the echo reply's first clause (to a comma) or else its first sentence, "
        "as SentenceBuffer(first_clause=True) cuts it; words = its length"
    )
    return table, now


FLOOR_RUNS = 3
"""Engine runs per group and row in the floor table (the median is taken)."""


def _wall_ms(call: Any, *args: Any) -> float:
    begin = time.perf_counter()
    call(*args)
    return (time.perf_counter() - begin) * 1000


def _judged_beside(
    whisper: Any, judge: Any, audio: bytes, heard: bytes, offset_ms: float
) -> tuple[float, float]:
    """Whisper on ``audio`` with one judgement of ``heard`` started ``offset_ms`` into it on
    another thread: (Whisper's wall ms, the judgement's end in ms from Whisper's start)."""
    import threading

    begin = time.perf_counter()
    ended: list[float] = []

    def later() -> None:
        time.sleep(max(0.0, offset_ms / 1000 - (time.perf_counter() - begin)))
        judge.probability(heard)
        ended.append((time.perf_counter() - begin) * 1000)

    other = threading.Thread(target=later, daemon=True)
    other.start()
    whisper.transcribe(audio)
    whisper_ms = (time.perf_counter() - begin) * 1000
    other.join()
    return whisper_ms, ended[0]


def _whisper_stages(
    threads: int, decode_threads: int, audios: list[bytes], beside: Any = None
) -> dict[str, float]:
    """Median ms per draft of Whisper's stages (faster-whisper's own calls, timed in place),
    encoding on ``threads`` CPU threads and decoding on ``decode_threads``; ``beside``: a
    blocking call run in a loop on another thread meanwhile (another engine on the same
    cores)."""
    import threading

    from realtalk.server.engines.transcribe import WhisperTranscriber

    whisper = WhisperTranscriber(cpu_threads=threads, decode_threads=decode_threads)
    model = whisper._model
    spent: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + (time.perf_counter() - begin) * 1000

        return run

    extractor = model.feature_extractor

    class Features:
        def __getattr__(self, name: str) -> Any:
            return getattr(extractor, name)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return timed("features", extractor)(*args, **kwargs)

    model.feature_extractor = Features()
    model.encode = timed("encoder", model.encode)
    model.generate_with_fallback = timed("decoder", model.generate_with_fallback)
    whisper.transcribe(audios[0])  # warm
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            beside()

    other = threading.Thread(target=loop, daemon=True) if beside is not None else None
    if other is not None:
        other.start()
    rows: dict[str, list[float]] = {}
    try:
        for audio in audios:
            spent.clear()
            begin, cpu = time.perf_counter(), time.process_time()
            whisper.transcribe(audio)
            spent["total"] = (time.perf_counter() - begin) * 1000
            spent["cpu"] = (time.process_time() - cpu) * 1000
            for key, value in spent.items():
                rows.setdefault(key, []).append(value)
    finally:
        stop.set()
        if other is not None:
            other.join()
    return {key: median(values) for key, values in rows.items()}


def stage_table() -> Table:
    """Where one turn's engine time goes on this CPU: Whisper tiny.en's log-mel features, its
    encoder (always Whisper's 30 s window) and its decoder, on 1 and 2 threads, alone and with
    smart-turn judging beside it; smart-turn's judgement and Silero's frame."""
    import onnxruntime as ort

    from benchmarks._speech_corpus import background_fill, load_groups
    from realtalk.server.engines.turn import SmartTurn, smart_turn_model_path
    from realtalk.server.engines.vad import SileroVAD

    groups = load_groups()
    # each group's final draft: the speech, 160 ms of room, digital silence to a 500 ms rule
    audios = [
        (g.pcm16 + background_fill(g, 1000))[: int(g.speech_end_ms + 160) * 32] + bytes(340 * 32)
        for g in groups
    ]
    judge = SmartTurn()
    table = Table(
        "Where a turn's engine time goes, per call (ms; the final draft of each human group)",
        ["engine (threads)", "features", "encoder", "decoder", "total", "CPU"],
    )
    # (encoder threads, decoder threads): the server's default splits them (2, 1).
    for threads, decode_threads in ((2, 1), (2, 2), (1, 1)):
        for beside, label in (
            (None, ""),
            (lambda: judge.probability(groups[0].pcm16), ", smart-turn beside"),
        ):
            stages = _whisper_stages(threads, decode_threads, audios, beside)
            name = (
                f"{threads}"
                if threads == decode_threads
                else f"{threads}, decoder {decode_threads}"
            )
            table.add(
                f"Whisper tiny.en ({name}){label}",
                stages.get("features", nan),
                stages.get("encoder", nan),
                stages.get("decoder", nan),
                stages["total"],
                stages["cpu"] if beside is None else "-",
            )
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.log_severity_level = 3
        model = SmartTurn()
        model._session = ort.InferenceSession(
            str(smart_turn_model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        costs = []
        for g in groups:
            begin, cpu = time.perf_counter(), time.process_time()
            model.probability(g.pcm16)
            costs.append(((time.perf_counter() - begin) * 1000, (time.process_time() - cpu) * 1000))
        table.add(
            f"smart-turn v3.2 ({threads})",
            "-",
            "-",
            "-",
            median([c[0] for c in costs]),
            median([c[1] for c in costs]),
        )
    vad = SileroVAD.shared()
    pcm = groups[0].pcm16
    begin, cpu = time.perf_counter(), time.process_time()
    frames = 0
    for offset in range(0, len(pcm), 640):
        frames += len(vad.process(pcm[offset : offset + 640]))
    table.add(
        "Silero VAD v6 (1), per 32 ms frame",
        "-",
        "-",
        "-",
        (time.perf_counter() - begin) * 1000 / frames,
        (time.process_time() - cpu) * 1000 / frames,
    )
    table.note(
        "medians over the 8 human groups' final drafts (3.2-8.8 s of speech); the encoder "
        "runs on Whisper's 30 s window whatever the length, the decoder grows with the words; "
        "CPU = the process's CPU time per call (threads summed), closer to load-independent "
        "than the wall time; 'smart-turn beside' runs judgements in a loop on another thread "
        "meanwhile, as a semantic_vad pause does; (2, decoder 1) is the server's default: "
        "the encoder on 2 threads, the decoder on 1 (WhisperTranscriber(decode_threads=1))"
    )
    return table


def _figures(rows: list[Any]) -> tuple[float, float]:
    """One run of a mode: its median latency over the groups, and its groups cut off."""
    values = [r for _, r in rows]
    totals = [r["total"] for r in values if r["total"] == r["total"]]
    return median(totals), float(sum(1 for r in values if r["cutoffs"] > 0))


def _targets(table: Table, runs: list[dict[str, list[Any]]]) -> None:
    """Issue 13's turn goals: server_vad within its rule + 100 ms; semantic_vad within 350 ms
    with no more cut-offs than server_vad. Each figure is the median over the runs."""
    from benchmarks._targets import at_most

    def figures(name: str) -> tuple[float, float]:
        each = [_figures(results[name]) for results in runs if name in results]
        return median([m for m, _ in each]), median([c for _, c in each])

    present = set(runs[0]) if runs else set()
    server_name = HUMAN_MODES[0][0]
    if server_name in present:
        server_median, server_cuts = figures(server_name)
        table.target(at_most(f"turn latency, {server_name}: median", server_median, 600, "ms"))
    else:
        server_cuts = float("nan")
    for name, _ in HUMAN_MODES[1:]:
        if name not in present:
            continue
        med, cuts = figures(name)
        table.target(at_most(f"turn latency, {name}: median", med, 350, "ms"))
        table.target(at_most(f"{name}: cut-offs (server_vad's)", cuts, server_cuts, ""))


HUMAN_ROUNDS = 3
"""Runs of the live human-speech part in a full run: one run's 8-group median moves by
~30-70 ms between runs (docs/performance.md), more than the 600 ms goal's margin."""


def human_tables(
    modes: tuple[tuple[str, Any], ...] = HUMAN_MODES, rounds: int = HUMAN_ROUNDS
) -> list[Table]:
    from benchmarks._speech_corpus import PROVENANCE, CorpusUnavailable

    try:
        decisions = decision_table()
        vad = vad_decision_table()
        draft = draft_table()
        stages = stage_table()
        floor, floor_ms = floor_table()
        runs: list[dict[str, list[Any]]] = []
        for _ in range(rounds):  # each round a fresh server: rounds are independent runs
            results, label = asyncio.run(measure_human(modes))
            runs.append(results)
        plain, _ = asyncio.run(measure_human(modes[:1], speculative=False))
        runs[0].update({f"{name}, no speculation": rows for name, rows in plain.items()})
    except CorpusUnavailable as exc:
        table = Table("Turn latency with real human speech (ms)", ["mode", "note"])
        table.add("-", f"not measured: {exc}")
        return [table]
    table = Table(
        f"Turn latency with real human speech, {label} (ms from the end of speech)",
        [
            "mode",
            "median",
            "runs",
            "p10",
            "p90",
            "VAD",
            "transcr. starts",
            "transcr. ready",
            "transcr. left",
            "brain",
            "synth",
            "cut-offs",
            "speculative",
            "discarded",
        ],
    )
    for name in runs[0]:
        per_run = [results[name] for results in runs if name in results]
        rows = [row for run_rows in per_run for row in run_rows]  # every run's groups
        values = [r for _, r in rows]
        totals = [r["total"] for r in values if r["total"] == r["total"]]
        p10, p90 = spread(totals)

        def med(key: str, values: list[dict[str, float]] = values) -> float:
            return median([r[key] for r in values if r[key] == r[key]])

        medians = [_figures(run_rows)[0] for run_rows in per_run]
        cutoffs = sum(1 for r in values if r["cutoffs"] > 0)
        missing = len(values) - len(totals)
        cut = f"{cutoffs}/{len(values)}" + (f" ({missing} no reply)" if missing else "")
        served = [r["speculative"] for r in values if r["speculative"] == r["speculative"]]
        table.add(
            name,
            median(medians),
            ", ".join(f"{m:.0f}" for m in medians),
            p10,
            p90,
            med("vad"),
            med("draft_start"),
            med("transcript_ready"),
            med("transcribe_left"),
            med("brain"),
            med("synth"),
            cut,
            f"{int(sum(served))}/{len(served)}",
            int(sum(r["discarded"] for r in values)),
        )
    _targets(table, runs)
    if floor_ms:
        table.note(
            "the engines' floor on these groups (table above, engines alone, in order): "
            f"server_vad {floor_ms['server_vad']:.0f} ms, semantic_vad "
            f"{floor_ms['semantic_vad']:.0f} ms; a goal below it needs faster engines"
            + (
                f" (no end-of-turn decision, however early, gets first audio from them before "
                f"the 0 ms bound's {floor_ms['bound']:.0f} ms)"
                if "bound" in floor_ms
                else ""
            )
        )
    groups = next(iter(runs[0].values()))
    table.note(
        f"{len(runs)} runs of the speculative modes (each a fresh server), one of the 'no "
        "speculation' row: median = the median of the runs' medians over the groups (runs = "
        "each run's); p10, p90, the stages and the cut-offs pool every run's groups"
    )
    table.note(
        "groups: "
        + "; ".join(f"{g.name} (pauses {', '.join(map(str, g.pauses_ms))} ms)" for g, _ in groups)
    )
    table.note(
        "a cut-off is a group in which a response started before the speaker finished (during "
        "an inner pause); the latency is that of the response started after the end of speech"
    )
    table.note(
        "stages are medians over the groups: VAD = end of speech -> speech_stopped at the "
        "client; transcr. starts / ready = the turn's transcription (its draft at the last "
        "pause, or the committed audio's) started / finished, after the end of speech; "
        "transcr. left = transcription still running at speech_stopped; brain (echo) "
        "to first text; synth = the first spoken piece"
    )
    table.note(
        "speculative = responses served by the speculative response started at the last "
        "pause (brain + first clause ready before the decision, see docs/local-server.md); "
        "discarded = speculations speech overtook (engine time spent for nothing); the 'no "
        "speculation' row runs the same groups on a server with speculative_responses=False"
    )
    table.note(PROVENANCE)
    return [stages, decisions, vad, draft, floor, table]


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
    if not quick:
        from realtalk.server.engines.registry import speech_extra_installed

        if speech_extra_installed():
            tables.extend(human_tables())
    return tables
