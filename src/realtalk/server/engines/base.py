"""The four engine interfaces of the local server: VAD, Transcriber, Synthesizer, Brain.

The server's state machine and asyncio front only talk to these small interfaces, so a real
engine (Silero, Whisper, Piper, a chat LLM) and a deterministic one (energy VAD, tone codec,
scripted brain) are interchangeable. Threading contract:

* ``VAD`` is cheap and stateful: one instance per session, called on the event loop.
* ``Transcriber.transcribe`` and ``Synthesizer.synthesize`` are blocking and CPU-bound: the
  front runs them in a worker thread (``asyncio.to_thread``). One instance is shared by every
  session; the real engines serialise model calls with a lock.
* ``Brain.respond`` is an async generator, because a chat brain waits on the network.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from realtalk.config import ToolSpec
from realtalk.errors import EngineUnavailable, RealtalkError
from realtalk.items import Item

__all__ = [
    "VAD",
    "Action",
    "Brain",
    "BrainRequest",
    "CallTool",
    "EngineError",
    "EngineMissing",
    "Say",
    "Synthesizer",
    "Transcriber",
    "Transcript",
]


class EngineError(RealtalkError):
    """An engine failed while working (a chat endpoint answered 500, a model crashed).

    The server turns it into a failed response or a failed transcription, never a crash.
    The message is safe to show a client: it never carries a secret.
    """


class EngineMissing(EngineUnavailable, EngineError):
    """Raised at work time by a stand-in for an engine that is not installed.

    It is both an :class:`EngineError` (so the server fails the one turn with this message, as
    for any engine failure) and an :class:`~realtalk.errors.EngineUnavailable` (it names the
    extra to install).
    """


# --------------------------------------------------------------------------------------------
# Voice activity detection


class VAD(abc.ABC):
    """A streaming voice activity detector over PCM16 mono audio at :attr:`sample_rate`.

    Feed audio in pieces of any size; every complete frame of :attr:`frame_samples` samples
    gives one speech probability in [0, 1]. The caller owns the turn logic (threshold,
    prefix padding, silence duration): frame ``k`` since the last :meth:`reset` covers the
    audio from ``k * frame_ms`` to ``(k + 1) * frame_ms``.
    """

    sample_rate: int = 16000
    frame_samples: int = 512

    @property
    def frame_ms(self) -> float:
        return self.frame_samples * 1000.0 / self.sample_rate

    @abc.abstractmethod
    def process(self, pcm16: bytes) -> list[float]:
        """Consume audio; return one probability per frame completed by it (maybe none)."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all audio and model state (a cleared buffer or a new turn)."""


# --------------------------------------------------------------------------------------------
# Transcription


@dataclass(frozen=True, slots=True)
class Transcript:
    """What a transcriber heard. ``text`` is stripped; ``""`` means nothing was said."""

    text: str
    language: str | None = None
    duration_ms: float = 0.0
    # Per-segment texts in order, for engines that produce them; joined they give ``text``.
    segments: tuple[str, ...] = field(default=())


class Transcriber(abc.ABC):
    """Speech to text over a whole utterance of PCM16 mono audio at :attr:`sample_rate`."""

    sample_rate: int = 16000
    early_transcription: bool = False
    """Worth running on a draft at a pause inside speech (slow engines), so that the turn's
    transcript is ready, or nearly, when the silence rule ends the turn."""

    @abc.abstractmethod
    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        """Blocking. ``language`` is an ISO-639-1 hint, ``prompt`` biases the vocabulary."""

    def transcribe_deltas(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Iterator[str]:
        """Blocking iterator of text pieces that concatenate to the final text.

        Engines that decode segment by segment override this so
        ``conversation.item.input_audio_transcription.delta`` events come early.
        """
        text = self.transcribe(pcm16, language=language, prompt=prompt).text
        if text:
            yield text


# --------------------------------------------------------------------------------------------
# Speech synthesis


class Synthesizer(abc.ABC):
    """Text to PCM16 mono audio at :attr:`sample_rate`, streamed in chunks."""

    sample_rate: int = 24000
    voices: tuple[str, ...] = ()

    @abc.abstractmethod
    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        """Blocking iterator of PCM16 chunks (each an even number of bytes).

        Long text is synthesised sentence by sentence so the first chunk comes early; ``speed``
        follows the Realtime ``speed`` field (0.25 to 1.5, 1.0 normal). An unknown ``voice`` is
        not an error: engines with one voice ignore it.
        """


# --------------------------------------------------------------------------------------------
# The brain


@dataclass(frozen=True, slots=True)
class Say:
    """A piece of the assistant's reply text (pieces concatenate to the full reply).

    ``phase`` marks gpt-realtime-2's message phases (protocol.md 11.1): ``"commentary"`` for a
    preamble said while the model works, ``"final_answer"`` for the answer. A change of phase
    starts a new assistant message in the same response; None (older models) adds no phase.
    """

    text: str
    phase: Literal["commentary", "final_answer"] | None = None


@dataclass(frozen=True, slots=True)
class CallTool:
    """The assistant calls a function tool; ``arguments`` is a JSON object as text."""

    name: str
    arguments: str
    call_id: str | None = None


Action: TypeAlias = Say | CallTool


@dataclass(frozen=True, slots=True)
class BrainRequest:
    """Everything a brain sees when asked for a response."""

    items: tuple[Item, ...]
    instructions: str = ""
    tools: tuple[ToolSpec, ...] = ()
    # "auto" | "none" | "required" | the name of one function that must be called.
    tool_choice: str = "auto"
    max_output_tokens: int | Literal["inf"] = "inf"
    temperature: float | None = None


class Brain(abc.ABC):
    """Decides what the assistant says, or which tools it calls, for one response."""

    @abc.abstractmethod
    def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        """Async iterator of actions: text pieces and tool calls, in output order.

        Raises :class:`EngineError` when the brain cannot answer. Cancelling the consumer
        (``aclose`` or task cancellation) stops the work.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, default is a no-op
        """Release network clients or models."""
