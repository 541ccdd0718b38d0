"""What the pure :class:`~realtalk.server.core.session.ServerSession` asks of its front, and
the answers.

The session never blocks and never reads the clock. Everything slow (speech recognition, the
brain, speech synthesis) leaves it as a *work request* in :meth:`ServerSession.outgoing`; the
front runs it (in a thread, or as a task for the async brain) and feeds the results back with
:meth:`ServerSession.feed`. Every request carries a ``work_id``; results for a work the session
no longer wants (a cancelled response) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from realtalk.server.core.codec import WireFormat
from realtalk.server.core.timings import TurnTimings
from realtalk.server.engines.base import Action, BrainRequest

__all__ = [
    "BrainDone",
    "BrainStep",
    "CancelWork",
    "Close",
    "JudgeTurn",
    "Outgoing",
    "Send",
    "SynthesisChunk",
    "SynthesisResult",
    "Synthesize",
    "Think",
    "Transcribe",
    "TranscriptionResult",
    "TurnJudgement",
    "TurnTimings",
    "Work",
    "WorkResult",
]


# --- session -> front ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send this JSON text to the client now."""

    text: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with this close code and reason, after the sends before it."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Transcribe:
    """Run the transcriber on a committed user utterance (``audio`` in ``audio_format``)."""

    work_id: str
    item_id: str
    audio: bytes
    audio_format: WireFormat
    language: str | None = None
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeTurn:
    """Ask the end-of-turn model whether the turn's audio so far (``audio`` in ``audio_format``,
    ending at a pause) sounds complete; answer with one :class:`TurnJudgement`."""

    work_id: str
    audio: bytes
    audio_format: WireFormat


@dataclass(frozen=True, slots=True)
class Think:
    """Ask the brain for a response.

    Feed each action back as a :class:`BrainStep`, then one :class:`BrainDone`.
    """

    work_id: str
    response_id: str
    request: BrainRequest


@dataclass(frozen=True, slots=True)
class Synthesize:
    """Synthesise one sentence: feed each piece of wire audio (in ``audio_format``) as a
    :class:`SynthesisChunk` as soon as it exists, then one :class:`SynthesisResult`."""

    work_id: str
    response_id: str
    text: str
    voice: str
    speed: float
    audio_format: WireFormat


@dataclass(frozen=True, slots=True)
class CancelWork:
    """The session no longer wants this work (its response was cancelled): stop it if you can."""

    work_id: str


Work: TypeAlias = Transcribe | Think | Synthesize | JudgeTurn
Outgoing: TypeAlias = (
    Send | Close | Transcribe | Think | Synthesize | JudgeTurn | CancelWork | TurnTimings
)
""":class:`TurnTimings` is a report, not a request: a response ended and this is where its
time went (see :mod:`realtalk.server.core.timings`)."""


# --- front -> session ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    work_id: str
    deltas: tuple[str, ...] = ()
    text: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TurnJudgement:
    """P(the turn is complete) for a :class:`JudgeTurn`; with ``error``, the model failed
    (the turn then ends by its silence rule)."""

    work_id: str
    probability: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BrainStep:
    work_id: str
    action: Action


@dataclass(frozen=True, slots=True)
class BrainDone:
    work_id: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SynthesisChunk:
    """The next piece of a synthesis's audio (wire bytes, whole samples)."""

    work_id: str
    audio: bytes


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    """The end of a synthesis; ``audio`` is a last piece, if any."""

    work_id: str
    audio: bytes = b""
    error: str | None = None


WorkResult: TypeAlias = (
    TranscriptionResult | BrainStep | BrainDone | SynthesisChunk | SynthesisResult | TurnJudgement
)
