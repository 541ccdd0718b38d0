"""Where the listener is in the assistant's audio: the number that makes truncation right.

The server sends audio faster than real time, so "received" is not "heard". The app reports
what it actually played (``session.playback.played(ms=...)`` or ``bytes=...``); when it never
does, realtalk estimates from the wall clock since the item's first audio, as if played in real
time, and clamps to what was received.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from realtalk.config import AudioFormat

if TYPE_CHECKING:
    from realtalk.conversation import Conversation

__all__ = ["PlaybackTracker"]


_KEPT_ITEMS = 8
"""Assistant items whose playback is tracked at once (the newest ones)."""


@dataclass(slots=True)
class _ItemPlayback:
    started_at: float
    received_bytes: int = 0
    reported_ms: float | None = None


class PlaybackTracker:
    """Tracks playback per assistant item. ``clock`` returns seconds (the event loop's time)."""

    def __init__(self, clock: Callable[[], float], output_format: AudioFormat | None = None):
        self._clock = clock
        self.output_format = output_format or AudioFormat.pcm16()
        self._items: dict[str, _ItemPlayback] = {}
        self.current_item_id: str | None = None
        """The assistant item whose audio arrived last."""

    def on_audio(self, item_id: str, n_bytes: int) -> None:
        """Called by the session for every audio delta it delivers."""
        entry = self._items.get(item_id)
        if entry is None:
            entry = self._items[item_id] = _ItemPlayback(self._clock())
            if len(self._items) > _KEPT_ITEMS:
                # Only recent items can still be playing or reported: forget the oldest, so a
                # long session keeps nothing per finished item.
                del self._items[next(iter(self._items))]
        entry.received_bytes += n_bytes
        self.current_item_id = item_id

    def played(
        self, *, ms: float | None = None, bytes: int | None = None, item_id: str | None = None
    ) -> None:
        """Report the playback position of ``item_id`` (default: the current item).

        ``ms`` or ``bytes`` is the total played so far for that item, not an increment.
        """
        target = item_id or self.current_item_id
        if target is None or target not in self._items:
            return
        if bytes is not None:
            ms = self.output_format.duration_ms(bytes)
        if ms is not None:
            self._items[target].reported_ms = max(0.0, ms)

    def received_ms(self, item_id: str) -> float:
        entry = self._items.get(item_id)
        return self.output_format.duration_ms(entry.received_bytes) if entry else 0.0

    def position_ms(self, item_id: str | None = None) -> float:
        """Milliseconds of ``item_id`` heard so far, never more than were received."""
        target = item_id or self.current_item_id
        if target is None or target not in self._items:
            return 0.0
        entry = self._items[target]
        if entry.reported_ms is not None:
            heard = entry.reported_ms
        else:
            heard = (self._clock() - entry.started_at) * 1000.0
        return max(0.0, min(heard, self.received_ms(target)))

    def is_playing(self, item_id: str | None = None) -> bool:
        """True while the item has audio received but (by our estimate) not yet heard."""
        target = item_id or self.current_item_id
        if target is None or target not in self._items:
            return False
        return self.position_ms(target) < self.received_ms(target) - 1e-6

    def cut_point(self, conversation: Conversation) -> tuple[str | None, int | None]:
        """Where to truncate the current item when the assistant is stopped now: its id and the
        ``audio_end_ms`` (None when nothing needs cutting: already truncated, or all heard).
        Marks the conversation entry as truncated there."""
        item_id = self.current_item_id
        if item_id is None:
            return None, None
        entry = conversation.get(item_id)
        if entry is None or entry.truncated_at_ms is not None:
            return item_id, None
        end_ms = conversation.clamp_played_ms(item_id, self.position_ms(item_id))
        if end_ms >= int(conversation.audio_ms(item_id)) and not self.is_playing(item_id):
            return item_id, None  # everything was heard: nothing to cut
        entry.truncated_at_ms = end_ms
        return item_id, end_ms

    def forget(self, item_id: str) -> None:
        self._items.pop(item_id, None)
        if self.current_item_id == item_id:
            self.current_item_id = None
