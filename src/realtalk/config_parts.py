"""The parts a :class:`~realtalk.config.SessionConfig` is made of, and :data:`UNSET`.

Value types only (turn detection, noise reduction, transcription, audio formats, tools...).
They live below ``realtalk.config`` so that the readers that build them from dicts
(``realtalk.config_reader``) need not import the module whose ``SessionConfig.from_dict``
calls them. Import them from :mod:`realtalk.config`, which re-exports every one.

Pure core: standard library only, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Final, Literal, TypeAlias, TypeVar

__all__ = [
    "UNSET",
    "AudioFormat",
    "FunctionChoice",
    "Modality",
    "NoiseReduction",
    "Part",
    "Prompt",
    "Reasoning",
    "RetentionRatio",
    "SemanticVAD",
    "ServerVAD",
    "ToolSpec",
    "Tracing",
    "Transcription",
    "TurnDetection",
    "UnsetType",
    "is_set",
]


class UnsetType(enum.Enum):
    """The type of :data:`UNSET`: "this layer does not say". Not ``None``, which sends null."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = UnsetType.UNSET


def is_set(value: object) -> bool:
    """True unless ``value`` is :data:`UNSET` (``None`` counts as set: it means "send null")."""
    return value is not UNSET


# --------------------------------------------------------------------------------------------
# Parts


class Part:
    """Common behaviour of the config parts: key-wise overlay of set sub-fields."""

    def set_fields(self) -> dict[str, Any]:
        me: Any = self  # every concrete part is a dataclass
        return {f.name: getattr(me, f.name) for f in fields(me) if is_set(getattr(me, f.name))}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.set_fields().items())
        return f"{type(self).__name__}({inner})"

    def overlay(self: _P, top: _P) -> _P:
        """``top``'s set sub-fields over this part's (same part type only)."""
        return replace(self, **top.set_fields())  # type: ignore[type-var]


_P = TypeVar("_P", bound=Part)


@dataclass(frozen=True, slots=True, repr=False)
class ServerVAD(Part):
    """Server voice activity detection: volume threshold plus silence duration ends a turn."""

    threshold: float | UnsetType = UNSET
    prefix_padding_ms: int | UnsetType = UNSET
    silence_duration_ms: int | UnsetType = UNSET
    idle_timeout_ms: int | UnsetType | None = UNSET
    create_response: bool | UnsetType = UNSET
    interrupt_response: bool | UnsetType = UNSET

    type: ClassVar[Literal["server_vad"]] = "server_vad"


@dataclass(frozen=True, slots=True, repr=False)
class SemanticVAD(Part):
    """Semantic turn detection: a model judges whether the user has finished speaking.

    Takes no ``threshold``, ``prefix_padding_ms`` or ``silence_duration_ms``: those belong to
    :class:`ServerVAD`, and the server rejects the whole update if they are sent here.
    """

    eagerness: Literal["low", "medium", "high", "auto"] | UnsetType = UNSET
    create_response: bool | UnsetType = UNSET
    interrupt_response: bool | UnsetType = UNSET

    type: ClassVar[Literal["semantic_vad"]] = "semantic_vad"


TurnDetection: TypeAlias = ServerVAD | SemanticVAD


@dataclass(frozen=True, slots=True, repr=False)
class NoiseReduction(Part):
    """Input noise reduction. ``strength`` is GA only (newer than the beta shape)."""

    type: Literal["near_field", "far_field"] | UnsetType = UNSET
    strength: float | UnsetType = UNSET


@dataclass(frozen=True, slots=True, repr=False)
class Transcription(Part):
    """Transcription of the user's audio (what produces user transcripts)."""

    model: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    prompt: str | UnsetType = UNSET
    languages: tuple[str, ...] | UnsetType = UNSET
    keywords: tuple[str, ...] | UnsetType = UNSET
    delay: str | UnsetType = UNSET


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """An audio format on the wire. Build with :meth:`pcm16`, :meth:`pcmu` or :meth:`pcma`."""

    encoding: Literal["pcm16", "pcmu", "pcma"]
    rate: int

    @classmethod
    def pcm16(cls, rate: int = 24000) -> AudioFormat:
        """16-bit little-endian mono PCM. The Realtime services take 24 kHz only."""
        return cls("pcm16", rate)

    @classmethod
    def pcmu(cls) -> AudioFormat:
        """G.711 mu-law, 8 kHz mono (telephony)."""
        return cls("pcmu", 8000)

    @classmethod
    def pcma(cls) -> AudioFormat:
        """G.711 A-law, 8 kHz mono (telephony)."""
        return cls("pcma", 8000)

    @property
    def bytes_per_second(self) -> int:
        return self.rate * (2 if self.encoding == "pcm16" else 1)

    def duration_ms(self, n_bytes: int) -> float:
        """Playback time of ``n_bytes`` of this format, in milliseconds."""
        return n_bytes * 1000.0 / self.bytes_per_second


@dataclass(frozen=True, slots=True)
class FunctionChoice:
    """``tool_choice`` forcing one function by name."""

    name: str


@dataclass(frozen=True, slots=True, repr=False)
class Tracing(Part):
    """Tracing settings (GA). ``tracing="auto"`` uses the service's defaults."""

    workflow_name: str | UnsetType = UNSET
    group_id: str | UnsetType = UNSET
    metadata: Mapping[str, Any] | UnsetType = UNSET


@dataclass(frozen=True, slots=True)
class RetentionRatio:
    """``truncation`` keeping this fraction of the context when it overflows."""

    retention_ratio: float
    post_instructions_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """A stored prompt template (GA)."""

    id: str
    version: str | None = None
    variables: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Reasoning effort for reasoning Realtime models (GA)."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function tool as the model sees it: name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


Modality = Literal["audio", "text"]
