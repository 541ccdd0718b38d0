"""Benchmark 2: client CPU per outbound audio frame (20 ms of user audio).

realtalk's ``send_audio(frame, rate=16000)`` resamples to the session's 24 kHz, encodes and
sends. The floors do the least the wire needs: ``websockets`` send of a JSON ``append`` with
base64 audio that was resampled beforehand (and, second floor, resampled per frame with soxr
directly). The server (another process) reads and drops everything.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from benchmarks import _targets
from benchmarks._clients import _agents_quiet
from benchmarks._harness import LoopbackServer, PeerMissing, child_main, run_child
from benchmarks._loopback import noise_pcm
from benchmarks._machine import has_module
from benchmarks._stats import Table, fmt_ratio, median, paired_ratio, spread
from realtalk.audio import Quality, Resampler, resample
from realtalk.input_audio import QUALITY as SEND_QUALITY
from realtalk.testing import word_errors

__all__ = ["run"]

FRAME_MS = 20
DISTINCT = 50  # distinct frames, cycled


@dataclass(frozen=True)
class Audio:
    at16k: list[bytes]
    at24k: list[bytes]


def make_audio() -> Audio:
    at16k = [noise_pcm(FRAME_MS, i, rate=16000) for i in range(DISTINCT)]
    # The same audio at 24 kHz, cut into whole 20 ms frames (480 samples): a streaming resampler
    # returns uneven pieces, one in three of them empty, which would make the 24 kHz rows send
    # a third fewer (or empty) messages than frames.
    whole = np.frombuffer(b"".join(at16k), dtype=np.int16)
    pcm = soxr.resample(whole, 16000, 24000, quality="HQ").astype("<i2").tobytes()
    size = 24 * FRAME_MS * 2
    at24k = [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]
    return Audio(at16k, at24k)


class Clock:
    def __init__(self) -> None:
        self.start = 0.0

    def begin(self) -> None:
        self.start = time.process_time()

    def per_frame(self, n: int) -> float:
        return (time.process_time() - self.start) / n * 1e6


def _append(audio: bytes) -> str:
    return json.dumps(
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()}
    )


async def floor_presampled(url: str, audio: Audio, n: int) -> float:
    from websockets.asyncio.client import connect

    clock = Clock()
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.recv()
        clock.begin()
        for k in range(n):
            await ws.send(_append(audio.at24k[k % DISTINCT]))
        return clock.per_frame(n)


async def floor_soxr(url: str, audio: Audio, n: int) -> float:
    from websockets.asyncio.client import connect

    clock = Clock()
    # The recipe send_audio uses, so the two rows resample alike (see quality_table for others).
    stream = soxr.ResampleStream(16000, 24000, 1, dtype="int16", quality=SEND_QUALITY)
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.recv()
        clock.begin()
        for k in range(n):
            pcm = np.frombuffer(audio.at16k[k % DISTINCT], dtype=np.int16)
            out = stream.resample_chunk(pcm).tobytes()
            if out:  # like realtalk, never send an empty append (see the note on bursts)
                await ws.send(_append(out))
        return clock.per_frame(n)


async def _realtalk(url: str, audio: Audio, n: int, rate: int, reconnect: bool = True) -> float:
    import realtalk as rt

    clock = Clock()
    frames = audio.at16k if rate == 16000 else audio.at24k
    options = rt.SessionOptions() if reconnect else rt.SessionOptions(reconnect=None)
    runner = rt.Runner(
        rt.Agent(name="bench"), provider=rt.providers.Compatible(url), options=options
    )
    async with runner.connect() as session:
        clock.begin()
        for k in range(n):
            await session.send_audio(frames[k % DISTINCT], rate=rate)
        return clock.per_frame(n)


async def realtalk_16k(url: str, audio: Audio, n: int) -> float:
    return await _realtalk(url, audio, n, 16000)


async def realtalk_16k_no_reconnect(url: str, audio: Audio, n: int) -> float:
    return await _realtalk(url, audio, n, 16000, reconnect=False)


async def realtalk_24k(url: str, audio: Audio, n: int) -> float:
    return await _realtalk(url, audio, n, 24000)


async def agents_24k(url: str, audio: Audio, n: int) -> float:
    if not has_module("agents.realtime"):
        raise PeerMissing("openai-agents is not installed (pip install -e '.[bench]')")
    _agents_quiet()
    from agents.realtime import RealtimeAgent, RealtimeRunner

    clock = Clock()
    runner = RealtimeRunner(RealtimeAgent(name="bench", instructions=""))
    session = await runner.run(
        model_config={
            "url": url,
            "headers": {"Authorization": "Bearer bench"},
            "initial_model_settings": {"tracing": None},
        }
    )
    async with session:
        clock.begin()
        for k in range(n):
            await session.send_audio(audio.at24k[k % DISTINCT])
        return clock.per_frame(n)


Client = Callable[[str, Audio, int], Coroutine[Any, Any, float]]
FLOOR = "floor: websockets, pre-resampled"
CLIENTS: dict[str, Client] = {
    FLOOR: floor_presampled,
    "floor: websockets + soxr per frame": floor_soxr,
    "realtalk send_audio(rate=16000)": realtalk_16k,
    "realtalk send_audio(rate=16000), reconnect=None": realtalk_16k_no_reconnect,
    "realtalk send_audio(24 kHz, no resampling)": realtalk_24k,
    "openai-agents send_audio(24 kHz; it cannot resample)": agents_24k,
}


def run_in_own_process(name: str, url: str, n: int) -> float:
    """One run of client ``name`` in a fresh interpreter (``python -m benchmarks.outbound``)."""
    return float(run_child("benchmarks.outbound", name, url, str(n)))


def run(quick: bool = False) -> list[Table]:
    rounds, n = (2, 50) if quick else (7, 3000)
    samples: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    names = list(CLIENTS)
    with LoopbackServer() as server:
        url = server.url(mode="sink")
        for round_no in range(rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                if name in skipped:
                    continue
                try:
                    samples.setdefault(name, []).append(run_in_own_process(name, url, n))
                except PeerMissing as exc:
                    skipped[name] = str(exc)
    table = Table(
        "Outbound audio: client CPU per 20 ms frame sent (us)",
        ["client", "median", "p10", "p90", "vs floor", "runs"],
    )
    floor = median(samples.get(FLOOR, []))
    for name in names:
        values = samples.get(name)
        if not values:
            continue
        p10, p90 = spread(values)
        mid = median(values)
        table.add(
            name,
            mid,
            p10,
            p90,
            fmt_ratio(mid, floor) if not math.isnan(floor) else "-",
            len(values),
        )
    for name, why in skipped.items():
        table.note(f"{name}: skipped, {why}")
    table.note(
        f"{rounds} runs of {n} frames each, every run in a fresh process of its own "
        "(16 kHz PCM16 in; 24 kHz on the wire)"
    )
    table.note(
        f"the 16 kHz rows (soxr {SEND_QUALITY}, send_audio's recipe): the streaming resampler "
        "gives audio for about two frames in three (it works in blocks and holds some back), so "
        "they send ~2 appends per 3 frames; "
        "the 24 kHz rows send one per frame; the figure divides by frames given"
    )
    table.note(
        "reconnect=None: the same session without reconnects, so without keeping the turn's "
        "audio for a reconnect to replay (a reference to each append's bytes, not a copy; this "
        "server's sessions have no turn detection: a manual turn, kept whole until it is "
        "committed, so the kept audio grows and each new page of it is faulted in once)"
    )
    ours_runs = samples.get("realtalk send_audio(rate=16000)", [])
    bare_runs = samples.get("floor: websockets + soxr per frame", [])
    ours, bare = median(ours_runs), median(bare_runs)
    table.target(
        _targets.at_most("send_audio(rate=16000) / bare resample-and-send", ours / bare, 1.10)
    )
    paired = paired_ratio(ours_runs, bare_runs)
    if not math.isnan(paired):
        # Shown, not judged: the goal's statistic stays the ratio of the medians.
        table.note(
            f"send_audio(rate=16000) / bare resample-and-send, median of the rounds' own "
            f"ratios (the two runs of a round are a few seconds apart): {paired:.2f}x"
        )
    return [table, quality_table(quick)]


# Read sentences for the quality check: everyday words, no digits (Whisper writes numbers as
# digits, which a word error rate would count against the resampler).
SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Could you book me a table for two at the Italian place tonight?",
    "Please remind me to call my sister when I get home from work.",
    "What is the weather going to be like in Paris tomorrow morning?",
    "I would like to change my flight to the later one on Friday.",
    "Turn off the lights in the kitchen and lock the front door.",
    "How long does it take to drive from Boston to New York City?",
    "She sells sea shells by the sea shore every summer afternoon.",
)
QUALITIES: tuple[Quality, ...] = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def _held_back_ms(quality: Quality) -> float:
    """How much audio a streaming 16 -> 24 kHz resampler still holds after a second of 20 ms
    frames: the latency it adds to everything the user says."""
    stream = Resampler(16000, 24000, quality=quality)
    given = noise_pcm(1000, 7, rate=16000)
    out = sum(len(stream.process(given[i : i + 640])) for i in range(0, len(given), 640))
    return (48000 - out) / 2 / 24


def _cpu_per_frame(quality: Quality, frames: list[bytes], n: int) -> float:
    stream = Resampler(16000, 24000, quality=quality)
    start = time.process_time()
    for k in range(n):
        stream.process(frames[k % len(frames)])
    return (time.process_time() - start) / n * 1e6


def _through_the_wire(pcm16k: bytes, quality: Quality) -> bytes:
    """What a 16 kHz microphone sent with send_audio reaches Whisper as: 20 ms frames through the
    client's streaming resampler at ``quality`` to 24 kHz, then the server's own (HQ) to 16 kHz."""
    stream = Resampler(16000, 24000, quality=quality)
    sent = [stream.process(pcm16k[i : i + 640]) for i in range(0, len(pcm16k), 640)]
    return resample(b"".join(sent) + stream.flush(), 24000, 16000)


def quality_table(quick: bool) -> Table:
    table = Table(
        "send_audio's resampler quality (16 -> 24 kHz, soxr): CPU, latency, transcription",
        ["quality", "CPU per 20 ms frame (us)", "held back (ms)", "WER %", "words"],
    )
    frames = [noise_pcm(FRAME_MS, i, rate=16000) for i in range(DISTINCT)]
    n = 200 if quick else 5000
    wer: dict[str, tuple[int, int]] = {}
    why_no_wer = ""
    try:
        from realtalk.server.engines.synthesize import PiperSynthesizer
        from realtalk.server.engines.transcribe import WhisperTranscriber

        voice, whisper = PiperSynthesizer(), WhisperTranscriber()
    except Exception as exc:  # the speech extra is optional for the benchmarks
        why_no_wer = f"WER skipped: {exc}"
    else:
        spoken = [
            resample(b"".join(voice.synthesize(text)), voice.sample_rate, 16000)
            for text in SENTENCES[: 2 if quick else None]
        ]
        for quality in QUALITIES:
            errors = total = 0
            for text, pcm in zip(SENTENCES, spoken, strict=False):
                heard = whisper.transcribe(_through_the_wire(pcm, quality)).text
                e, t = word_errors(text, heard)
                errors, total = errors + e, total + t
            wer[quality] = (errors, total)
    for quality in QUALITIES:
        cpu = median([_cpu_per_frame(quality, frames, n) for _ in range(3)])
        errors, total = wer.get(quality, (0, 0))
        shown = 100 * errors / total if total else math.nan
        table.add(quality, cpu, _held_back_ms(quality), shown, total or "-")
    table.note(
        f"CPU: median of 3 loops of {n} frames through realtalk.audio.Resampler (soxr); held back:"
        " what a second of 20 ms frames has not yet given out"
    )
    table.note(
        "WER: Piper's voice saying the sentences in benchmarks/outbound.py, at 16 kHz as a "
        "microphone gives it, through send_audio's resampler and the server's (HQ) to Whisper "
        "tiny.en" + (f"; {why_no_wer}" if why_no_wer else "")
    )
    return table


def _main(argv: list[str]) -> int:
    name, url, n = argv[0], argv[1], int(argv[2])
    return child_main(lambda: str(asyncio.run(CLIENTS[name](url, make_audio(), n))))


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
