"""Conversation bookkeeping: item order, transcripts, and how much audio each item carries.

The server orders items with ``previous_item_id``; audio durations come from the byte counts of
audio deltas in the session's output format, which is what makes exact truncation possible.
Pure core: standard library only; time values come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from realtalk.config import AudioFormat
from realtalk.events import (
    AudioDelta,
    AudioTranscriptDelta,
    AudioTranscriptDone,
    FunctionCallArgumentsDone,
    InputAudioCommitted,
    InputTranscriptCompleted,
    InputTranscriptDelta,
    ItemAdded,
    ItemDeleted,
    ItemDone,
    ItemRetrieved,
    ItemTruncated,
    OutputItemAdded,
    OutputItemDone,
    ServerEvent,
    TextDelta,
    TextDone,
)
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    Item,
    MessageItem,
    OutputAudio,
    OutputText,
)

__all__ = ["Conversation", "Entry"]


@dataclass(slots=True)
class Entry:
    """What realtalk knows of one conversation item."""

    item_id: str
    item: Item | None = None
    transcript: str = ""
    """User transcript (input transcription) or assistant audio transcript."""
    text: str = ""
    """Assistant text output (text modality)."""
    transcript_final: bool = False
    audio_bytes: int = 0
    """Assistant audio received for this item, in the output format."""
    audio: bytearray | None = None
    """The audio itself, when the conversation retains audio."""
    truncated_at_ms: int | None = None
    function_output: str | None = None

    @property
    def role(self) -> str | None:
        if isinstance(self.item, MessageItem):
            return self.item.role
        return None


@dataclass(slots=True)
class Conversation:
    """Items in server order, with transcripts and per-item audio byte counts.

    Feed it every server event with :meth:`apply`. ``output_format`` is the session's output
    audio format; it converts received bytes to milliseconds.
    """

    output_format: AudioFormat = field(default_factory=AudioFormat.pcm16)
    retain_audio: bool = False
    _order: list[str] = field(default_factory=list)
    _entries: dict[str, Entry] = field(default_factory=dict)

    # -- queries ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def entries(self) -> list[Entry]:
        """Entries in server order."""
        return [self._entries[i] for i in self._order]

    def get(self, item_id: str) -> Entry | None:
        return self._entries.get(item_id)

    def function_name(self, item_id: str) -> str:
        """The name of the function call item ``item_id`` ("" when unknown)."""
        entry = self._entries.get(item_id)
        return entry.item.name if entry and isinstance(entry.item, FunctionCallItem) else ""

    @property
    def last_item_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def audio_ms(self, item_id: str) -> float:
        """Milliseconds of assistant audio received for ``item_id``."""
        entry = self._entries.get(item_id)
        return self.output_format.duration_ms(entry.audio_bytes) if entry else 0.0

    def clamp_played_ms(self, item_id: str, played_ms: float) -> int:
        """The ``audio_end_ms`` to truncate at: what was played, never more than was received.

        The server rejects an ``audio_end_ms`` beyond the item's audio, and the client can only
        have played what it received, so the played position is clamped to the received total.
        """
        received = self.audio_ms(item_id)
        return int(max(0.0, min(played_ms, received)))

    # -- updates ------------------------------------------------------------------------------

    def _entry(self, item_id: str) -> Entry:
        entry = self._entries.get(item_id)
        if entry is None:
            entry = Entry(item_id)
            self._entries[item_id] = entry
            self._order.append(item_id)
        return entry

    def _place(self, item_id: str, previous_item_id: str | None) -> None:
        """Move ``item_id`` right after ``previous_item_id`` when the server names a known one."""
        if previous_item_id is None or previous_item_id not in self._entries:
            return
        if item_id == previous_item_id:
            return
        order = self._order
        # The common case, O(1): the item already sits right after its predecessor (a new item
        # is appended, and its predecessor is the previous last one).
        if len(order) >= 2 and order[-1] == item_id and order[-2] == previous_item_id:
            return
        self._order.remove(item_id)
        self._order.insert(self._order.index(previous_item_id) + 1, item_id)

    def _set_item(self, item: Item, previous_item_id: str | None) -> Entry | None:
        if item.id is None:
            return None
        entry = self._entry(item.id)
        entry.item = item
        self._place(item.id, previous_item_id)
        if isinstance(item, MessageItem):
            for part in item.content:
                if isinstance(part, InputAudio | OutputAudio) and part.transcript:
                    entry.transcript = part.transcript
                elif isinstance(part, OutputText) and part.text:
                    entry.text = part.text
        elif isinstance(item, FunctionCallOutputItem):
            entry.function_output = item.output
        return entry

    def add_audio(self, item_id: str, audio: bytes) -> None:
        """Count (and, when retaining, keep) assistant audio received for ``item_id``."""
        try:
            entry = self._entries[item_id]  # a subscript costs less than .get, per delta
        except KeyError:
            entry = self._entry(item_id)
        entry.audio_bytes += len(audio)
        if self.retain_audio:
            if entry.audio is None:
                entry.audio = bytearray()
            entry.audio += audio

    def apply(self, event: ServerEvent) -> bool:
        """Update from one server event. Returns True when the history changed."""
        match event:
            case (
                ItemAdded(item=item, previous_item_id=prev)
                | ItemDone(item=item, previous_item_id=prev)
            ):
                return self._set_item(item, prev) is not None
            case ItemRetrieved(item=item):
                return self._set_item(item, None) is not None
            case OutputItemAdded(item=item) | OutputItemDone(item=item):
                return self._set_item(item, None) is not None
            case InputAudioCommitted(item_id=item_id, previous_item_id=prev):
                self._entry(item_id)
                self._place(item_id, prev)
                return True
            case ItemDeleted(item_id=item_id):
                if item_id in self._entries:
                    del self._entries[item_id]
                    self._order.remove(item_id)
                    return True
                return False
            case ItemTruncated(item_id=item_id, audio_end_ms=end_ms):
                entry = self._entries.get(item_id)
                if entry is None:
                    return False
                entry.truncated_at_ms = end_ms
                # The server drops the transcript of a truncated item: keep ours, but mark it.
                entry.transcript_final = True
                return True
            case InputTranscriptDelta(item_id=item_id, delta=delta):
                self._entry(item_id).transcript += delta
                return True
            case InputTranscriptCompleted(item_id=item_id, transcript=transcript):
                entry = self._entry(item_id)
                entry.transcript = transcript
                entry.transcript_final = True
                return True
            case AudioDelta(item_id=item_id, audio=audio):
                self.add_audio(item_id, audio)
                return False
            case AudioTranscriptDelta(item_id=item_id, delta=delta):
                self._entry(item_id).transcript += delta
                return False
            case AudioTranscriptDone(item_id=item_id, transcript=transcript):
                entry = self._entry(item_id)
                entry.transcript = transcript
                entry.transcript_final = True
                return True
            case TextDelta(item_id=item_id, delta=delta):
                self._entry(item_id).text += delta
                return False
            case TextDone(item_id=item_id, text=text):
                self._entry(item_id).text = text
                return True
            case FunctionCallArgumentsDone(
                item_id=item_id, call_id=call_id, arguments=args, name=n
            ):
                entry = self._entry(item_id)
                if isinstance(entry.item, FunctionCallItem):
                    entry.item = replace(entry.item, arguments=args)
                elif entry.item is None:
                    entry.item = FunctionCallItem(n or "", args, call_id=call_id, id=item_id)
                return True
            case _:
                return False
