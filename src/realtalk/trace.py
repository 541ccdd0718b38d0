"""``--trace`` for ``realtalk talk`` and ``realtalk demo``: the event timeline, one line an event.

Each line is the time since the session opened and the event's short repr (audio as its
duration); a run of audio or transcript deltas is one line with a count, written when the run
ends. Lines go to stderr, so the conversation on stdout reads as before.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from realtalk.events import (
    AudioDelta,
    AudioTranscriptDelta,
    HistoryUpdated,
    InputTranscriptDelta,
    TextDelta,
)

__all__ = ["Tracer"]

_COUNTED = (AudioDelta, AudioTranscriptDelta, TextDelta, InputTranscriptDelta)
LINE_LIMIT = 400
"""Characters of one trace line (the short repr, cut)."""


class Tracer:
    """Call :meth:`event` with every event the app reads; :meth:`close` at the end."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.start = time.monotonic()
        self._run: tuple[type, int, float, Any] | None = None  # kind, count, first time, first

    def _stamp(self, at: float) -> str:
        return f"[trace {at - self.start:8.3f}s]"

    def event(self, event: Any) -> None:
        now = time.monotonic()
        kind = type(event)
        if kind is HistoryUpdated:
            return  # derived from the events around it, and long
        if self._run is not None and self._run[0] is kind and kind in _COUNTED:
            self._run = (kind, self._run[1] + 1, self._run[2], self._run[3])
            return
        self._flush()
        if kind in _COUNTED:
            self._run = (kind, 1, now, event)
            return
        self.out.write(f"{self._stamp(now)} {_cut(repr(event))}\n")
        self.out.flush()

    def _flush(self) -> None:
        if self._run is None:
            return
        kind, count, at, first = self._run
        self._run = None
        more = f" (+{count - 1} more {kind.__name__})" if count > 1 else ""
        self.out.write(f"{self._stamp(at)} {_cut(repr(first))}{more}\n")
        self.out.flush()

    def close(self) -> None:
        self._flush()


def _cut(text: str) -> str:
    return text if len(text) <= LINE_LIMIT else text[: LINE_LIMIT - 3] + "..."
