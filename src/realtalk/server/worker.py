"""Runs the session's work requests with the engines, off the event loop where it blocks.

Transcription and synthesis are blocking and CPU-bound: they run in a worker thread
(``asyncio.to_thread``). The brain is an async iterator and runs as a task. Engine failures
become error results (a failed transcription or a failed response), never an exception that
ends the connection; the message given to the client is the engine's own safe text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from realtalk.server.codec import decode_to_pcm16, encode_from_pcm16, format_rate, resample_pcm16
from realtalk.server.engines.base import EngineError
from realtalk.server.engines.registry import Engines
from realtalk.server.work import (
    BrainDone,
    BrainStep,
    SynthesisResult,
    Synthesize,
    Think,
    Transcribe,
    TranscriptionResult,
    Work,
    WorkResult,
)

__all__ = ["run_work", "synthesize_blocking", "transcribe_blocking"]

logger = logging.getLogger("realtalk.server")


def transcribe_blocking(work: Transcribe, engines: Engines) -> TranscriptionResult:
    transcriber = engines.transcriber
    pcm = resample_pcm16(
        decode_to_pcm16(work.audio, work.audio_format),
        format_rate(work.audio_format),
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


def synthesize_blocking(work: Synthesize, engines: Engines) -> SynthesisResult:
    synthesizer = engines.synthesizer
    try:
        pcm = b"".join(synthesizer.synthesize(work.text, voice=work.voice, speed=work.speed))
    except EngineError as exc:
        return SynthesisResult(work.work_id, error=str(exc))
    return SynthesisResult(
        work.work_id, audio=encode_from_pcm16(pcm, synthesizer.sample_rate, work.audio_format)
    )


async def run_work(work: Work, engines: Engines, feed: Callable[[WorkResult], None]) -> None:
    """Do one work request, feeding its results (one or several) through ``feed``."""
    try:
        if isinstance(work, Transcribe):
            feed(await asyncio.to_thread(transcribe_blocking, work, engines))
        elif isinstance(work, Synthesize):
            feed(await asyncio.to_thread(synthesize_blocking, work, engines))
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
        else:
            feed(BrainDone(work.work_id, error=message))


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
