"""Dialect-neutral client intents: what the application (or the runtime) asks the protocol to do.

Each command maps to one client event on the wire; the dialect decides its name and shape.
Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from realtalk.config import UNSET, AudioFormat, FunctionChoice, SessionConfig, ToolSpec, UnsetType
from realtalk.items import Item, ItemReference

__all__ = [
    "AppendAudio",
    "CancelResponse",
    "ClearAudio",
    "ClearOutputAudio",
    "ClientCommand",
    "CommitAudio",
    "CreateItem",
    "CreateResponse",
    "DeleteItem",
    "ResponseOptions",
    "RetrieveItem",
    "TruncateItem",
    "UpdateSession",
]


@dataclass(frozen=True, slots=True)
class UpdateSession:
    """``session.update`` with exactly the fields ``config`` sets.

    ``transcription_only`` targets a transcription session (GA ``session.type:
    "transcription"``; beta ``transcription_session.update``).
    """

    config: SessionConfig
    transcription_only: bool = False


@dataclass(frozen=True, slots=True)
class AppendAudio:
    """Raw audio bytes in the session's input format (at most 15 MiB per append)."""

    audio: bytes


@dataclass(frozen=True, slots=True)
class CommitAudio:
    """Commit the input buffer as a user message (manual turns)."""


@dataclass(frozen=True, slots=True)
class ClearAudio:
    """Drop the uncommitted input audio."""


@dataclass(frozen=True, slots=True)
class ClearOutputAudio:
    """WebRTC/SIP only: stop the server's playback. Send after :class:`CancelResponse`."""


@dataclass(frozen=True, slots=True)
class CreateItem:
    item: Item
    previous_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteItem:
    item_id: str


@dataclass(frozen=True, slots=True)
class RetrieveItem:
    item_id: str


@dataclass(frozen=True, slots=True)
class TruncateItem:
    """Cut an assistant item's audio at ``audio_end_ms`` (what was actually played)."""

    item_id: str
    audio_end_ms: int
    content_index: int = 0


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """Per-response overrides of the session (``response.create``'s ``response`` object)."""

    instructions: str | UnsetType = UNSET
    output_modalities: tuple[Literal["audio", "text"], ...] | UnsetType = UNSET
    voice: str | UnsetType = UNSET
    output_format: AudioFormat | UnsetType = UNSET
    tools: tuple[ToolSpec, ...] | UnsetType = UNSET
    tool_choice: Literal["auto", "none", "required"] | FunctionChoice | UnsetType = UNSET
    max_output_tokens: int | Literal["inf"] | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    conversation: Literal["auto", "none"] | UnsetType = UNSET
    input: tuple[Item | ItemReference, ...] | UnsetType = UNSET
    metadata: Mapping[str, str] | UnsetType = UNSET

    def __post_init__(self) -> None:
        mods: object = self.output_modalities
        if isinstance(mods, list | tuple) and set(mods) == {"audio", "text"}:
            object.__setattr__(self, "output_modalities", ("audio",))
        elif isinstance(mods, list):
            object.__setattr__(self, "output_modalities", tuple(mods))


@dataclass(frozen=True, slots=True)
class CreateResponse:
    """Ask the model to respond. The protocol queues it while another response is active."""

    options: ResponseOptions | None = None


@dataclass(frozen=True, slots=True)
class CancelResponse:
    response_id: str | None = None


ClientCommand: TypeAlias = (
    UpdateSession
    | AppendAudio
    | CommitAudio
    | ClearAudio
    | ClearOutputAudio
    | CreateItem
    | DeleteItem
    | RetrieveItem
    | TruncateItem
    | CreateResponse
    | CancelResponse
)
