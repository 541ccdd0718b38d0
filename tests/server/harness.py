"""A synchronous driver for ServerSession: runs work requests inline with deterministic engines.

Every event the session sends is checked against the official openai union for its dialect
(``tests.oracle``), so each test also proves wire validity.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from realtalk.server.core.config import ServerConfig
from realtalk.server.core.session import ServerSession
from realtalk.server.core.work import (
    BrainDone,
    BrainStep,
    CancelWork,
    Close,
    JudgeTurn,
    Send,
    Synthesize,
    Think,
    Transcribe,
    TurnTimings,
    Work,
    WorkResult,
)
from realtalk.server.engines import EngineSpec, load_engines
from realtalk.server.engines.registry import Engines
from realtalk.server.front.worker import judge_blocking, synthesis_results, transcribe_blocking
from tests.oracle import assert_valid_server_event

_ENGINES: Engines | None = None


def tone_engines() -> Engines:
    global _ENGINES
    if _ENGINES is None:
        _ENGINES = load_engines(
            EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")
        )
    return _ENGINES


def run_brain(engines: Engines, work: Think) -> list[WorkResult]:
    async def collect() -> list[WorkResult]:
        out: list[WorkResult] = [
            BrainStep(work.work_id, action) async for action in engines.brain.respond(work.request)
        ]
        out.append(BrainDone(work.work_id))
        return out

    return asyncio.run(collect())


class Harness:
    def __init__(
        self,
        dialect: str = "ga",
        flavor: str = "openai",
        *,
        engines: Engines | None = None,
        config: ServerConfig | None = None,
        session: dict[str, Any] | None = None,
        auto_work: bool = True,
        session_type: str | None = None,
    ) -> None:
        self.dialect = dialect
        self.engines = engines or tone_engines()
        self.session = ServerSession(
            dialect=dialect,  # type: ignore[arg-type]
            flavor=flavor,  # type: ignore[arg-type]
            vad=self.engines.new_vad(),
            config=config,
            session=session,
            session_type=session_type,  # type: ignore[arg-type]
        )
        self.now = 0.0
        self.events: list[dict[str, Any]] = []
        self.closes: list[Close] = []
        self.cancelled: list[str] = []
        self.pending: list[Work] = []
        self.timings: list[TurnTimings] = []
        self.auto_work = auto_work
        self.session.start(self.now)
        self.pump()

    def send(self, event: dict[str, Any] | str | bytes) -> list[dict[str, Any]]:
        """Send one client event; return the server events it caused (work run inline)."""
        mark = len(self.events)
        text = json.dumps(event) if isinstance(event, dict) else event
        self.session.receive(text, self.now)
        self.pump()
        return self.events[mark:]

    def append_audio(self, audio: bytes, chunk: int = 4800) -> list[dict[str, Any]]:
        mark = len(self.events)
        for offset in range(0, len(audio), chunk):
            piece = base64.b64encode(audio[offset : offset + chunk]).decode()
            self.send({"type": "input_audio_buffer.append", "audio": piece})
        return self.events[mark:]

    def run_work(self, work: Work) -> None:
        if isinstance(work, Transcribe):
            self.session.feed(transcribe_blocking(work, self.engines), self.now)
        elif isinstance(work, Synthesize):
            for result in synthesis_results(work, self.engines):
                self.session.feed(result, self.now)
        elif isinstance(work, JudgeTurn):
            self.session.feed(judge_blocking(work, self.engines), self.now)
        else:
            for result in run_brain(self.engines, work):
                self.session.feed(result, self.now)

    def pump(self) -> None:
        while True:
            outs = self.session.outgoing()
            if not outs:
                return
            for out in outs:
                if isinstance(out, Send):
                    self.events.append(assert_valid_server_event(self.dialect, out.text))
                elif isinstance(out, Close):
                    self.closes.append(out)
                elif isinstance(out, TurnTimings):
                    self.timings.append(out)
                elif isinstance(out, CancelWork):
                    self.cancelled.append(out.work_id)
                    self.pending = [w for w in self.pending if w.work_id != out.work_id]
                elif self.auto_work:
                    self.run_work(out)
                else:
                    self.pending.append(out)

    def run_next(self, after_ms: float = 0.0) -> Work:
        """Advance the clock by ``after_ms``, then run the oldest pending work to its end."""
        self.now += after_ms
        work = self.pending.pop(0)
        self.run_work(work)
        self.pump()
        return work

    def feed(self, result: WorkResult, after_ms: float = 0.0) -> list[dict[str, Any]]:
        """Advance the clock by ``after_ms``, then hand the session one work result."""
        mark = len(self.events)
        self.now += after_ms
        self.session.feed(result, self.now)
        self.pump()
        return self.events[mark:]

    def run_pending(self) -> None:
        while self.pending:
            work = self.pending.pop(0)
            self.run_work(work)
            self.pump()

    def advance(self, ms: float) -> list[dict[str, Any]]:
        """Move the clock forward, ticking at every deadline on the way."""
        mark = len(self.events)
        end = self.now + ms
        while True:
            deadline = self.session.next_deadline()
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
            self.session.tick(self.now)
            self.pump()
            if self.closes:
                break
        self.now = end
        self.session.tick(self.now)
        self.pump()
        return self.events[mark:]

    def types(self, events: list[dict[str, Any]] | None = None) -> list[str]:
        return [e["type"] for e in (self.events if events is None else events)]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def user_text(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
        **extra,
    }
