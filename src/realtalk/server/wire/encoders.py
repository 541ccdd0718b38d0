"""Server events the session builds that are neither errors nor part of a response run."""

from __future__ import annotations

from typing import Any

__all__ = ["rate_limits_event"]


def rate_limits_event(requests_limit: int, tokens_limit: int, input_tokens: int) -> dict[str, Any]:
    """``rate_limits.updated`` at the start of a response (protocol.md §6.9, §9.18)."""
    return {
        "type": "rate_limits.updated",
        "rate_limits": [
            {
                "name": "requests",
                "limit": requests_limit,
                "remaining": requests_limit - 1,
                "reset_seconds": 0.006,
            },
            {
                "name": "tokens",
                "limit": tokens_limit,
                "remaining": max(0, tokens_limit - input_tokens),
                "reset_seconds": 0.6,
            },
        ],
    }
