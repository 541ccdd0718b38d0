"""Input audio transcription results: where the transcript goes and what the client is told.

The brain always hears a user audio item (its transcript is stored for it), but the client sees
the transcript, and the ``conversation.item.input_audio_transcription.*`` events, only when the
session asks for input transcription (or is a transcription session), as with the service:
with transcription off an item's ``transcript`` stays ``null`` (protocol.md §6.6, §6.9).
"""

from __future__ import annotations

from typing import Any

from realtalk.server.core.conversation import StoredItem
from realtalk.server.core.work import TranscriptionResult

__all__ = ["record_transcript"]


def record_transcript(
    item: StoredItem, result: TranscriptionResult, *, emit: bool
) -> list[dict[str, Any]]:
    """Store ``result`` in the item's first input audio part; return the client's events."""
    index = next(
        (
            i
            for i, part in enumerate(item.data.get("content", []))
            if part.get("type") == "input_audio"
        ),
        None,
    )
    if index is None:
        return []
    heard = result.text if result.error is None else ""
    if not emit:
        item.heard[index] = heard
        return []
    item.data["content"][index]["transcript"] = heard
    ids = {"item_id": item.id, "content_index": index}
    if result.error is not None:
        return [
            {
                "type": "conversation.item.input_audio_transcription.failed",
                **ids,
                "error": {
                    "type": "server_error",
                    "code": "transcription_failed",
                    "message": result.error,
                    "param": None,
                },
            }
        ]
    events: list[dict[str, Any]] = [
        {"type": "conversation.item.input_audio_transcription.delta", **ids, "delta": delta}
        for delta in result.deltas
    ]
    seconds = round(item.audio_ms(index) / 1000.0, 3)
    events.append(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            **ids,
            "transcript": result.text,
            "usage": {"type": "duration", "seconds": seconds},
        }
    )
    return events
