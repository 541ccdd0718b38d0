"""Small pure helpers of the session: reading client events and response overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from realtalk.server.core.config import ServerConfig
from realtalk.server.core.conversation import StoredItem
from realtalk.server.wire import errors

__all__ = [
    "BETA_FALLBACK_MODEL",
    "BETA_MODELS",
    "client_event_id",
    "no_responses_in_transcription",
    "overlay_response_params",
    "rate_limits_event",
    "text_of",
    "wrong_update_event",
]

Dialect = Literal["ga", "beta"]

# The beta session's ``model`` is a closed list in the SDK; an Azure deployment name is not a
# model id, and Azure's own session.created reports the underlying model (protocol.md §2.4).
BETA_MODELS = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-realtime-preview-2025-06-03",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
)
BETA_FALLBACK_MODEL = "gpt-4o-realtime-preview"


def rate_limits_event(config: ServerConfig, input_tokens: int) -> dict[str, Any]:
    """``rate_limits.updated`` at the start of a response (protocol.md §6.9, §9.18)."""
    return {
        "type": "rate_limits.updated",
        "rate_limits": [
            {
                "name": "requests",
                "limit": config.rate_limit_requests,
                "remaining": config.rate_limit_requests - 1,
                "reset_seconds": 0.006,
            },
            {
                "name": "tokens",
                "limit": config.rate_limit_tokens,
                "remaining": max(0, config.rate_limit_tokens - input_tokens),
                "reset_seconds": 0.6,
            },
        ],
    }


def client_event_id(event: Any) -> str | None:
    if isinstance(event, dict) and isinstance(event.get("event_id"), str):
        return str(event["event_id"])
    return None


def text_of(item: StoredItem) -> str:
    data = item.data
    if data.get("type") == "function_call":
        return str(data.get("arguments", ""))
    if data.get("type") == "function_call_output":
        return str(data.get("output", ""))
    parts = []
    for part in data.get("content", []):
        parts.append(str(part.get("text") or part.get("transcript") or ""))
    return "".join(parts)


def overlay_response_params(
    dialect: Dialect, session: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The session with a ``response.create``'s overrides applied (for this response only)."""
    merged = dict(session)
    if dialect == "ga":
        for key in (
            "output_modalities",
            "instructions",
            "tools",
            "tool_choice",
            "max_output_tokens",
        ):
            if key in params:
                merged[key] = params[key]
        output = (
            (params.get("audio") or {}).get("output")
            if isinstance(params.get("audio"), Mapping)
            else None
        )
        if isinstance(output, Mapping):
            audio = dict(merged.get("audio") or {})
            audio["output"] = {**dict(audio.get("output") or {}), **dict(output)}
            merged["audio"] = audio
    else:
        for key in (
            "modalities",
            "instructions",
            "voice",
            "output_audio_format",
            "tools",
            "tool_choice",
            "temperature",
            "max_response_output_tokens",
        ):
            if key in params:
                merged[key] = params[key]
    return merged


# The service's answers to these two are not observed: the wording is ours, in its style.


def wrong_update_event(sent: str, expected: str) -> dict[str, Any]:
    """A beta session got the other kind's update event (session vs transcription session)."""
    return errors.make_error(
        "invalid_value",
        f"Invalid value: '{sent}'. This session expects '{expected}' "
        "(transcription sessions start with intent=transcription).",
        "type",
    )


def no_responses_in_transcription() -> dict[str, Any]:
    return errors.make_error(
        "invalid_value",
        "Invalid value: 'response.create'. A transcription session does not create responses.",
        "type",
    )
