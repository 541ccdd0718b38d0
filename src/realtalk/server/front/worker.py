"""Runs the session's work requests with the engines, off the event loop where it blocks.

Transcription and synthesis are blocking and CPU-bound: they run in a worker thread
(``asyncio.to_thread``). Synthesis streams: every piece of audio the synthesizer yields is fed
back to the session as it appears (a long sentence that the engine cuts further starts playing
before it is fully synthesised). The brain is an async iterator and runs as a task. Engine
failures become error results (a failed transcription or a failed response), never an
exception that ends the connection; the message given to the client is the engine's own safe
text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from realtalk.audio import convert
from realtalk.server.core.codec import audio_format, whole_samples
from realtalk.server.core.work import (
    BrainDone,
    BrainStep,
    JudgeTurn,
    SynthesisChunk,
    SynthesisResult,
    Synthesize,
    Think,
    Transcribe,
    TranscriptionResult,
    TurnJudgement,
    Work,
    WorkResult,
)
from realtalk.server.engines.base import EngineError
from realtalk.server.engines.registry import Engines
from realtalk.server.engines.synthesize import synthesize_as

__all__ = ["judge_blocking", "run_work", "synthesis_results", "transcribe_blocking"]

logger = logging.getLogger("realtalk.server")


def transcribe_blocking(work: Transcribe, engines: Engines) -> TranscriptionResult:
    transcriber = engines.transcriber
    pcm = convert(
        whole_samples(work.audio, work.audio_format),
        audio_format(work.audio_format),
        transcriber.sample_rate,
    )
    try:
        deltas = tuple(
            d
            for d in transcriber.transcribe_deltas(pcm, language=work.language, prompt=work.prompt)
            if d
        )
    except EngineError as exc:
        return TranscriptionResult(work.work_id, error=str(exc))
    return TranscriptionResult(work.work_id, deltas=deltas, text="".join(deltas).strip())


def judge_blocking(work: JudgeTurn, engines: Engines) -> TurnJudgement:
    model = engines.end_of_turn
    if model is None:
        return TurnJudgement(work.work_id, error="no end-of-turn model")
    pcm = convert(
        whole_samples(work.audio, work.audio_format),
        audio_format(work.audio_format),
        model.sample_rate,
    )
    try:
        return TurnJudgement(work.work_id, probability=model.probability(pcm))
    except EngineError as exc:
        return TurnJudgement(work.work_id, error=str(exc))


def synthesis_results(
    work: Synthesize, engines: Engines, stop: threading.Event | None = None
) -> Iterator[SynthesisChunk | SynthesisResult]:
    """Blocking: the results of one synthesis, each as soon as the engine has it.

    Chunks, then exactly one :class:`SynthesisResult` (unless ``stop`` is set, which ends the
    iteration at the next chunk: the session no longer wants this audio).
    """
    chunks = synthesize_as(
        engines.synthesizer,
        work.text,
        audio_format(work.audio_format),
        voice=work.voice,
        speed=work.speed,
    )
    try:
        for chunk in chunks:
            if stop is not None and stop.is_set():
                return
            yield SynthesisChunk(work.work_id, chunk)
    except EngineError as exc:
        yield SynthesisResult(work.work_id, error=str(exc))
        return
    yield SynthesisResult(work.work_id)


async def run_work(work: Work, engines: Engines, feed: Callable[[WorkResult], None]) -> None:
    """Do one work request, feeding its results (one or several) through ``feed``."""
    try:
        if isinstance(work, Transcribe):
            feed(await asyncio.to_thread(transcribe_blocking, work, engines))
        elif isinstance(work, Synthesize):
            await _synthesize(work, engines, feed)
        elif isinstance(work, JudgeTurn):
            feed(await asyncio.to_thread(judge_blocking, work, engines))
        else:
            await _think(work, engines, feed)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an engine bug must fail one turn, not the connection
        logger.exception("engine failed on %s", type(work).__name__)
        message = f"The {type(work).__name__.lower()} engine failed: {type(exc).__name__}"
        if isinstance(work, Transcribe):
            feed(TranscriptionResult(work.work_id, error=message))
        elif isinstance(work, Synthesize):
            feed(SynthesisResult(work.work_id, error=message))
        elif isinstance(work, JudgeTurn):
            feed(TurnJudgement(work.work_id, error=message))
        else:
            feed(BrainDone(work.work_id, error=message))


async def _synthesize(
    work: Synthesize, engines: Engines, feed: Callable[[WorkResult], None]
) -> None:
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def post(result: WorkResult) -> None:
        # The loop may be gone when a cancelled synthesis finishes its chunk.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(feed, result)

    def produce() -> None:
        for result in synthesis_results(work, engines, stop):
            post(result)

    try:
        # The chunks' callbacks are queued on the loop before this await returns, so they
        # reach the session in order and before anything the caller does next.
        await asyncio.to_thread(produce)
    finally:
        stop.set()


async def _think(work: Think, engines: Engines, feed: Callable[[WorkResult], None]) -> None:
    stream = engines.brain.respond(work.request)
    try:
        async for action in stream:
            feed(BrainStep(work.work_id, action))
    except EngineError as exc:
        feed(BrainDone(work.work_id, error=str(exc)))
        return
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    feed(BrainDone(work.work_id))
