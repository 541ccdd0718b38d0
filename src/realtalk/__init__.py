"""realtalk: realtime speech-to-speech voice agents on the OpenAI Realtime protocol.

Re-exports only. Events live in :mod:`realtalk.events` (``rt.events.AudioDelta``), providers in
:mod:`realtalk.providers` (``rt.providers.OpenAI()``).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from realtalk import commands, events, items
from realtalk.config import (
    UNSET,
    AudioFormat,
    FunctionChoice,
    Layer,
    NoiseReduction,
    Prompt,
    Reasoning,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    ToolSpec,
    Tracing,
    Transcription,
    diff,
    merge,
)
from realtalk.errors import (
    ConfigError,
    ConfigProblem,
    ConnectionClosed,
    EngineUnavailable,
    HandshakeError,
    InvalidState,
    ProtocolError,
    RealtalkError,
    RemoteProtocolError,
    ServerError,
    SessionFailed,
    ToolError,
    TransportError,
    WebhookError,
)
from realtalk.reconnect import Reconnect

__version__ = "0.1.0"

if _TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from realtalk import providers
    from realtalk.agent import Agent
    from realtalk.guardrails import OutputGuardrail, output_guardrail
    from realtalk.playback import PlaybackTracker
    from realtalk.protocol import ClientProtocol
    from realtalk.rest import ClientSecret
    from realtalk.runner import Runner
    from realtalk.session import Session, SessionOptions
    from realtalk.tools import FunctionTool, function_tool
    from realtalk.transcription import (
        Transcriber,
        TranscriptionConfig,
        TranscriptionEvent,
        transcribe,
    )

# The asyncio layer loads on first use, so importing the pure core (and `import realtalk`
# itself) stays cheap and free of asyncio/websockets.
_LAZY = {
    "Agent": "realtalk.agent",
    "ClientSecret": "realtalk.rest",
    "ClientProtocol": "realtalk.protocol",
    "FunctionTool": "realtalk.tools",
    "OutputGuardrail": "realtalk.guardrails",
    "PlaybackTracker": "realtalk.playback",
    "Runner": "realtalk.runner",
    "Session": "realtalk.session",
    "SessionOptions": "realtalk.session",
    "function_tool": "realtalk.tools",
    "output_guardrail": "realtalk.guardrails",
    "Transcriber": "realtalk.transcription",
    "TranscriptionConfig": "realtalk.transcription",
    "TranscriptionEvent": "realtalk.transcription",
    "transcribe": "realtalk.transcription",
}
_LAZY_MODULES = {"providers", "server", "testing", "audio", "dialects", "protocol"}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _LAZY_MODULES:
        module = importlib.import_module(f"realtalk.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'realtalk' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The API (and the lazily loaded sub-modules), not the helpers this file imports.
    return sorted({*__all__, *_LAZY_MODULES})


__all__ = [
    "UNSET",
    "Agent",
    "AudioFormat",
    "ClientProtocol",
    "ClientSecret",
    "ConfigError",
    "ConfigProblem",
    "ConnectionClosed",
    "EngineUnavailable",
    "FunctionChoice",
    "FunctionTool",
    "HandshakeError",
    "InvalidState",
    "Layer",
    "NoiseReduction",
    "OutputGuardrail",
    "PlaybackTracker",
    "Prompt",
    "ProtocolError",
    "RealtalkError",
    "Reasoning",
    "Reconnect",
    "RemoteProtocolError",
    "RetentionRatio",
    "Runner",
    "SemanticVAD",
    "ServerError",
    "ServerVAD",
    "Session",
    "SessionConfig",
    "SessionFailed",
    "SessionOptions",
    "ToolError",
    "ToolSpec",
    "Tracing",
    "Transcriber",
    "Transcription",
    "TranscriptionConfig",
    "TranscriptionEvent",
    "TransportError",
    "WebhookError",
    "__version__",
    "commands",
    "diff",
    "events",
    "function_tool",
    "items",
    "merge",
    "output_guardrail",
    "providers",
    "transcribe",
]
