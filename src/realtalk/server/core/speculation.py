"""The speculative response: the brain and the first clause's synthesis run during a pause.

When a pause in the speech has been transcribed (a draft, :class:`~realtalk.server.core.turns.
Drafts`), the session asks the brain for the response it *would* give if the turn ended there,
and the synthesizer for that response's first spoken clause, while the turn is still undecided.
Nothing of it reaches the wire: the work's results are held here. When the turn is decided, the
session commits it and starts its response exactly as without speculation; the response's own
work requests are then *claimed*: a request equal to a speculative one (the same brain request,
items and config included; the same sentence, voice, speed and format) is not sent again; the
held results are fed to the response instead (:meth:`Speculations.claim`), and later results of
that work are re-addressed to the response's work id (:meth:`Speculations.route`). A request that
differs in anything (the committed transcript, the conversation, the session's instructions,
tools or voice) claims nothing and goes out as usual, so a speculation can make a response
sooner but never different. A speculation that speech overtakes, or that the client makes moot,
is *discarded*: its running work is cancelled, its late results are dropped, and since it never
sent an event or added an item, it leaves no trace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from realtalk.server.core.codec import WireFormat
from realtalk.server.core.work import (
    BrainDone,
    BrainStep,
    SynthesisResult,
    Synthesize,
    Think,
    WorkResult,
)
from realtalk.server.engines.base import CallTool, Say
from realtalk.server.engines.synthesize import SentenceBuffer

__all__ = ["Claimable", "Speculation", "Speculations"]

Claimable = Think | Synthesize


@dataclass(slots=True)
class Speculation:
    """One speculative response: its brain work, then its first clause's synthesis."""

    think: Think
    voice: str
    speed: float
    audio_out: bool
    audio_format: WireFormat
    response_id: str | None = None
    """Set when the turn is decided: the response this speculation may serve."""
    synth: Synthesize | None = None
    held: dict[str, list[WorkResult]] = field(default_factory=dict)
    """Results of unclaimed work, by speculative work id, in arrival order."""
    running: set[str] = field(default_factory=set)
    """Unclaimed work ids still running (cancelled on discard)."""
    first_clause_known: bool = False
    """The brain's first spoken piece (or a tool call / the end) has been seen: no synthesis
    is guessed after it."""
    _sentences: SentenceBuffer = field(default_factory=lambda: SentenceBuffer(first_clause=True))
    _say_phase: str | None = None


class Speculations:
    """The speculative responses of one session (pure bookkeeping; the session sends the work).

    At most one speculation is current. Claimed work stays addressed to its response (through
    :meth:`route` and :meth:`front_id`) after the speculation itself is over.
    """

    def __init__(self) -> None:
        self.current: Speculation | None = None
        self._alias: dict[str, str] = {}  # speculative work id -> the response's work id
        self._front: dict[str, str] = {}  # the response's work id -> speculative work id
        self.started = 0
        self.claimed = 0
        self.discarded = 0
        """Speculations dropped without a claim (their engine time was spent for nothing)."""

    def begin(
        self, think: Think, *, audio_out: bool, voice: str, speed: float, fmt: WireFormat
    ) -> Think:
        """A new speculation whose brain work is ``think`` (the caller sends it)."""
        self.current = Speculation(think, voice, speed, audio_out, fmt, running={think.work_id})
        self.current.held[think.work_id] = []
        self.started += 1
        return think

    @property
    def undecided(self) -> bool:
        return self.current is not None and self.current.response_id is None

    def decide(self, response_id: str | None) -> list[str]:
        """The turn is decided and ``response_id`` answers it (None: no response, e.g.
        ``create_response`` off or a response already active): returns work ids to cancel."""
        if self.current is None:
            return []
        if response_id is None:
            return self.discard()
        self.current.response_id = response_id
        return []

    def drop_undecided(self) -> list[str]:
        """Speech resumed, or something changed the answer before the decision."""
        return self.discard() if self.undecided else []

    def release(self, response_id: str) -> list[str]:
        """The response was cancelled or has ended: what it did not claim is dropped."""
        if self.current is not None and self.current.response_id == response_id:
            return self.discard()
        return []

    def discard(self) -> list[str]:
        """Drop the current speculation; returns its running work ids, to cancel."""
        spec, self.current = self.current, None
        if spec is None:
            return []
        if spec.think.work_id in spec.held:  # nothing of it was claimed
            self.discarded += 1
        return sorted(spec.running)

    def holds(self, work_id: str) -> bool:
        return self.current is not None and work_id in self.current.held

    def hold(self, result: WorkResult, new_id: Callable[[], str]) -> Synthesize | None:
        """Keep a result of unclaimed speculative work; returns the first clause's synthesis to
        request now, once the brain has said enough for it."""
        spec = self.current
        assert spec is not None
        spec.held[result.work_id].append(result)
        if isinstance(result, (BrainDone, SynthesisResult)):
            spec.running.discard(result.work_id)
        if result.work_id != spec.think.work_id or spec.first_clause_known or not spec.audio_out:
            return None
        sentence = self._first_clause(spec, result)
        if sentence is None:
            return None
        spec.first_clause_known = True
        work_id = new_id()
        spec.synth = Synthesize(
            work_id=work_id,
            response_id="",
            text=sentence,
            voice=spec.voice,
            speed=spec.speed,
            audio_format=spec.audio_format,
        )
        spec.held[work_id] = []
        spec.running.add(work_id)
        return spec.synth

    @staticmethod
    def _first_clause(spec: Speculation, result: WorkResult) -> str | None:
        # What ResponseRun would synthesise first (its SentenceBuffer and phase rule).
        if isinstance(result, BrainStep) and isinstance(result.action, Say):
            action = result.action
            if not action.text:
                return None
            if action.phase != spec._say_phase:
                rest = spec._sentences.flush()
                if rest:
                    return rest
                spec._say_phase = action.phase
            pieces = spec._sentences.push(action.text)
            return pieces[0] if pieces else None
        if isinstance(result, BrainStep) and isinstance(result.action, CallTool):
            spec.first_clause_known = True  # a tool call first: nothing to speak early
            return spec._sentences.flush()
        if isinstance(result, BrainDone):
            spec.first_clause_known = True
            return spec._sentences.flush() if result.error is None else None
        return None

    def claim(self, work: Claimable) -> tuple[list[WorkResult] | None, list[str]]:
        """The decided turn's response asks for ``work``: ``(held, cancel)``. If the current
        speculation did the same work, ``held`` are its results so far (re-addressed to
        ``work``'s id) to feed instead of sending ``work``; else ``held`` is None and, when
        ``work`` is the decided response's, the speculation is over (``cancel``: its work)."""
        spec = self.current
        if spec is None or spec.response_id is None or work.response_id != spec.response_id:
            return None, []
        mine: Claimable | None
        if isinstance(work, Think):
            mine = spec.think if spec.think.work_id in spec.held else None
            same = mine is not None and mine.request == work.request
        else:
            mine = spec.synth
            same = mine is not None and _same_synthesis(mine, work)
        if not same or mine is None:
            return None, self.discard()  # the response differs: nothing more to serve
        held = spec.held.pop(mine.work_id)
        if mine.work_id in spec.running:
            spec.running.discard(mine.work_id)
            self._alias[mine.work_id] = work.work_id
            self._front[work.work_id] = mine.work_id
        if isinstance(work, Think):
            self.claimed += 1
            if not spec.audio_out or (spec.first_clause_known and spec.synth is None):
                self.current = None  # nothing more to claim
        else:
            self.current = None
        return [dataclasses.replace(r, work_id=work.work_id) for r in held], []

    def route(self, result: WorkResult) -> WorkResult:
        """A result of claimed work, addressed to its response's work id."""
        target = self._alias.get(result.work_id)
        if target is None:
            return result
        if isinstance(result, (BrainDone, SynthesisResult)):
            del self._alias[result.work_id]
            self._front.pop(target, None)
        return dataclasses.replace(result, work_id=target)

    def front_id(self, work_id: str) -> str:
        """The id the front knows a (possibly claimed) work by, for a cancel."""
        return self._front.get(work_id, work_id)

    def forget(self, work_ids: Iterable[str]) -> None:
        """A response cancelled these works: their late results go nowhere."""
        for work_id in work_ids:
            front = self._front.pop(work_id, None)
            if front is not None:
                self._alias.pop(front, None)


def _same_synthesis(a: Synthesize, b: Synthesize) -> bool:
    return (a.text, a.voice, a.speed, a.audio_format) == (b.text, b.voice, b.speed, b.audio_format)
