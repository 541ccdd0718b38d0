"""Conversation items and responses in realtalk's dialect-neutral form.

Both wire shapes (GA and beta) decode to these; the dialects encode them back. Audio is kept
as raw bytes in the session's format, never as base64 text. Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from realtalk._namespace import public_dir
from realtalk._reprs import install as _install_short_reprs

__all__ = [
    "Content",
    "ErrorInfo",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputAudio",
    "InputImage",
    "InputText",
    "Item",
    "ItemReference",
    "MessageItem",
    "OtherItem",
    "OutputAudio",
    "OutputText",
    "RateLimit",
    "Response",
    "Usage",
]

ItemStatus = Literal["completed", "incomplete", "in_progress"]


@dataclass(frozen=True, slots=True)
class InputText:
    text: str


@dataclass(frozen=True, slots=True)
class InputAudio:
    audio: bytes | None = None
    transcript: str | None = None


@dataclass(frozen=True, slots=True)
class InputImage:
    image_url: str
    detail: Literal["auto", "low", "high"] | None = None


@dataclass(frozen=True, slots=True)
class OutputText:
    text: str


@dataclass(frozen=True, slots=True)
class OutputAudio:
    audio: bytes | None = None
    transcript: str | None = None


Content: TypeAlias = InputText | InputAudio | InputImage | OutputText | OutputAudio


@dataclass(frozen=True, slots=True)
class MessageItem:
    """A message from the user, the assistant or the system."""

    role: Literal["user", "assistant", "system"]
    content: tuple[Content, ...] = ()
    id: str | None = None
    status: ItemStatus | None = None
    phase: str | None = None
    """gpt-realtime-2's message phase: ``"commentary"`` (a preamble said while the model
    works) or ``"final_answer"``; None from models without phases. Passed through as the
    server sent it (protocol.md 11.1): one response may hold several messages."""

    @property
    def text(self) -> str:
        """All text and transcripts of the message, joined."""
        parts: list[str] = []
        for part in self.content:
            if isinstance(part, InputText | OutputText):
                parts.append(part.text)
            elif isinstance(part, InputAudio | OutputAudio) and part.transcript:
                parts.append(part.transcript)
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class FunctionCallItem:
    """The model calls a function; ``arguments`` is a JSON string."""

    name: str
    arguments: str
    call_id: str | None = None
    id: str | None = None
    status: ItemStatus | None = None


@dataclass(frozen=True, slots=True)
class FunctionCallOutputItem:
    """The result of a function call, sent back to the model."""

    call_id: str
    output: str
    id: str | None = None
    status: ItemStatus | None = None


@dataclass(frozen=True, slots=True)
class OtherItem:
    """An item type realtalk does not model (MCP calls, listings, approvals...), kept verbatim."""

    type: str
    payload: Mapping[str, Any]
    id: str | None = None


Item: TypeAlias = MessageItem | FunctionCallItem | FunctionCallOutputItem | OtherItem


@dataclass(frozen=True, slots=True)
class ItemReference:
    """A reference to an existing item, for ``response.create`` input."""

    id: str


@dataclass(frozen=True, slots=True)
class Usage:
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The body of a server ``error`` (or a failed response / transcription)."""

    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    event_id: str | None = None

    def __post_init__(self) -> None:
        # A server may echo the request's credential in its message: never keep it.
        from realtalk.redact import redact_text

        object.__setattr__(self, "message", redact_text(self.message))


@dataclass(frozen=True, slots=True)
class Response:
    """A model response as reported by ``response.created`` / ``response.done``."""

    id: str
    status: Literal["in_progress", "completed", "cancelled", "failed", "incomplete"] | str
    output: tuple[Item, ...] = ()
    usage: Usage | None = None
    status_reason: str | None = None
    error: ErrorInfo | None = None
    conversation_id: str | None = None
    output_modalities: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str
    limit: int
    remaining: int
    reset_seconds: float


# Short reprs: audio as its duration, long text cut.
_install_short_reprs(globals()[_name] for _name in __all__)


__dir__ = public_dir(__all__)
