"""Reconnect and recycle, the pure part: the options, the backoff, which failures are worth a
new connection, and the plan that restores a conversation on a fresh session.

The session (asyncio) decides *when*; this module decides *what*. Given the history the client
holds, the user audio it kept, and what it sent that the server never confirmed, it returns the
neutral commands that rebuild the conversation on a new server session, in order, and lists
what cannot be rebuilt. Pure core: standard library only, no clock (time comes in as
arguments), no randomness of its own (the jitter source is passed in).

What the service accepts decides the shapes (protocol.md §6.6): a client may create user
messages (``input_text``, ``input_audio``, ``input_image``), system messages, assistant
messages with ``output_text`` only (no assistant audio), function calls and their outputs.
So assistant audio is replayed as its transcript, and user audio as ``input_audio`` when its
bytes were kept and fit in one event, else as its transcript in ``input_text``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from realtalk.commands import ClientCommand, CreateItem, CreateResponse
from realtalk.errors import ConfigError, ConfigProblem
from realtalk.items import (
    Content,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputImage,
    InputText,
    Item,
    MessageItem,
    OtherItem,
    OutputAudio,
    OutputText,
)

__all__ = [
    "MAX_ITEM_ID",
    "MAX_REPLAY_AUDIO_BYTES",
    "SESSION_CAPS",
    "Lost",
    "Outbox",
    "Reconnect",
    "ReplayPlan",
    "ReplayStep",
    "UserAudio",
    "Verdict",
    "classify_close",
    "classify_error",
    "plan_replay",
]

# Maximum session length per provider name, in seconds (protocol.md §1: OpenAI closes with
# session_expired after 60 minutes; users report about 30 minutes on Azure, landscape.md).
SESSION_CAPS: Mapping[str, float] = {
    "openai": 3600.0,
    "azure": 1800.0,
    "azure-preview": 1800.0,
}

MAX_ITEM_ID = 32
"""Client item ids longer than this are refused (protocol.md §6.6)."""

# The service documents a 15 MiB limit for one input_audio_buffer.append (protocol.md §1) and
# none for an input_audio content part; the safe choice is to keep one replayed audio part
# within the same limit once base64-encoded (4 characters per 3 bytes).
MAX_REPLAY_AUDIO_BYTES = 15 * 1024 * 1024 * 3 // 4

# Close codes after which a new connection is worth trying: an abnormal closure (1006, also a
# lost TCP connection or a keepalive timeout), going away (1001: session_expired, a server
# restart), an internal error (1011), service restart (1012), try again later (1013), a bad
# gateway (1014). Everything else (1000 normal, 1008 policy, 4000 beta_api_shape_disabled...)
# is the server's decision to end the session, not an accident.
_RETRYABLE_CLOSES = frozenset({None, 1001, 1006, 1011, 1012, 1013, 1014})

# Server error codes that end a session for good (no new connection helps), and the one that
# ends it but invites a new one.
_FATAL_ERRORS = frozenset(
    {"invalid_api_key", "insufficient_quota", "beta_api_shape_disabled", "account_deactivated"}
)
_RECYCLE_ERRORS = frozenset({"session_expired"})


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How a session survives a lost connection and the provider's session cap.

    On a lost connection, a keepalive timeout, a close 1011 or ``session_expired`` the session
    opens a new connection (up to ``max_attempts`` tries, waiting ``initial_delay`` seconds,
    then ``multiplier`` times longer each time up to ``max_delay``, each wait shortened by up to
    ``jitter`` of itself at random so many clients do not retry in step), restores the
    configuration and the conversation, and re-sends what the server never confirmed.

    ``recycle_after``: seconds after which the session moves to a fresh connection at the next
    turn boundary, before the provider closes it. ``None`` (the default) takes the provider's
    known cap less a quarter of it, at most 5 minutes (OpenAI: 55 min, Azure: 25 min);
    ``0`` never recycles.

    ``replay_audio``: replay user audio as audio (the session keeps the bytes of each user
    turn, at most ``max_audio_bytes`` in all, oldest dropped first); ``False`` replays user
    turns as their transcripts.
    """

    max_attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.5
    recycle_after: float | None = None
    replay_audio: bool = True
    max_audio_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        problems: list[ConfigProblem] = []

        def need(ok: bool, path: str, value: object, rule: str, fix: str) -> None:
            if not ok:
                problems.append(ConfigProblem(f"Reconnect.{path}", value, rule, fix))

        need(
            isinstance(self.max_attempts, int) and self.max_attempts >= 1,
            "max_attempts",
            self.max_attempts,
            "must be an integer of at least 1",
            "pass SessionOptions(reconnect=None) to turn reconnecting off",
        )
        for name in ("initial_delay", "max_delay"):
            value = getattr(self, name)
            need(
                isinstance(value, int | float) and value >= 0,
                name,
                value,
                "must be a number of seconds >= 0",
                "",
            )
        need(
            isinstance(self.multiplier, int | float) and self.multiplier >= 1,
            "multiplier",
            self.multiplier,
            "must be >= 1",
            "use 1 for a constant delay",
        )
        need(
            isinstance(self.jitter, int | float) and 0 <= self.jitter <= 1,
            "jitter",
            self.jitter,
            "must be between 0 and 1 (a fraction of each delay)",
            "",
        )
        need(
            self.recycle_after is None
            or (isinstance(self.recycle_after, int | float) and self.recycle_after >= 0),
            "recycle_after",
            self.recycle_after,
            "must be seconds >= 0, or None for the provider's cap",
            "use 0 to never recycle",
        )
        need(
            isinstance(self.max_audio_bytes, int) and self.max_audio_bytes >= 0,
            "max_audio_bytes",
            self.max_audio_bytes,
            "must be an integer >= 0",
            "",
        )
        if problems:
            raise ConfigError(problems, target="Reconnect")

    def delay(self, attempt: int, random: Callable[[], float]) -> float:
        """Seconds to wait before try number ``attempt`` (1-based); ``random()`` in [0, 1)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * random())

    def recycle_seconds(self, provider: str, cap: float | None = None) -> float | None:
        """When to recycle a session on ``provider`` (a provider name), or None for never.

        ``cap`` is a known session cap in seconds that overrides the table (e.g. a local
        server started with a shorter one).
        """
        if self.recycle_after is not None:
            return self.recycle_after or None
        known = cap if cap is not None else SESSION_CAPS.get(provider)
        if known is None:
            return None
        return known - min(known / 4, 300.0)


Verdict = Literal["retry", "recycle", "fatal"]


def classify_close(code: int | None) -> Verdict:
    """Whether a connection that ended with ``code`` is worth a new connection."""
    return "retry" if code in _RETRYABLE_CLOSES else "fatal"


def classify_error(code: str | None, error_type: str | None = None) -> Verdict | None:
    """What a server ``error`` means for the connection: ``None`` when it does not end it."""
    if code in _FATAL_ERRORS:
        return "fatal"
    if code in _RECYCLE_ERRORS:
        return "recycle"
    return None


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One command of a restore; ``source_id`` is the history item it rebuilds, if any."""

    command: ClientCommand
    source_id: str | None = None
    as_text: bool = False
    """True when user audio goes back as its transcript."""


@dataclass(frozen=True, slots=True)
class Lost:
    """Something the new session will not have, and why."""

    what: str
    """An item id, or a description of an unconfirmed command."""
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """The commands that rebuild a conversation, in the order they must be sent."""

    steps: tuple[ReplayStep, ...] = ()
    lost: tuple[Lost, ...] = ()

    @property
    def items(self) -> tuple[ReplayStep, ...]:
        """The steps that rebuild history items."""
        return tuple(s for s in self.steps if s.source_id is not None)

    @property
    def resent(self) -> tuple[ReplayStep, ...]:
        """The steps that re-send unconfirmed commands."""
        return tuple(s for s in self.steps if s.source_id is None)

    @property
    def commands(self) -> list[ClientCommand]:
        return [s.command for s in self.steps]


def plan_replay(
    history: Sequence[Item],
    *,
    transcripts: Mapping[str, str] | None = None,
    user_audio: Mapping[str, bytes] | None = None,
    drop: Collection[str] = (),
    unconfirmed: Sequence[ClientCommand] = (),
    accepts_input_audio: bool = True,
    max_audio_bytes: int = MAX_REPLAY_AUDIO_BYTES,
) -> ReplayPlan:
    """Plan the restore of ``history`` (items in server order) on a fresh session.

    ``transcripts``: item id -> the transcript or text the client assembled from deltas, used
    when an item's own content has none. ``user_audio``: item id -> the user audio the client
    kept for that item. ``drop``: item ids left out on purpose (the output of a response that
    was cut and will be asked for again). ``unconfirmed``: commands sent on the old connection
    that the server never confirmed (a ``CreateItem`` without its ``item.added``, a
    ``CreateResponse`` without ``response.created``), re-sent after the history in their
    order. ``accepts_input_audio``: the provider takes ``input_audio`` content in created items;
    ``max_audio_bytes``: the largest audio part one event may carry.

    Each rebuilt item keeps its id (so the history stays continuous) when it is a valid client
    id; the caller maps any id the server changes.
    """
    said = transcripts or {}
    kept = user_audio or {}
    steps: list[ReplayStep] = []
    lost: list[Lost] = []
    replayed_calls: set[str] = set()
    for item in history:
        item_id = item.id
        if item_id is None or item_id in drop:
            continue
        built, as_text, reason = _rebuild(
            item, said.get(item_id), kept.get(item_id), accepts_input_audio, max_audio_bytes
        )
        if built is None:
            lost.append(Lost(item_id, reason))
            continue
        if isinstance(built, FunctionCallItem) and built.call_id:
            replayed_calls.add(built.call_id)
        if isinstance(built, FunctionCallOutputItem) and built.call_id not in replayed_calls:
            # A function_call_output must follow its function_call (checked by beta servers).
            lost.append(Lost(item_id, "its function call is not in the conversation"))
            continue
        steps.append(ReplayStep(CreateItem(_with_id(built, item_id)), item_id, as_text))
    response_resent = False
    for command in unconfirmed:
        if isinstance(command, CreateResponse):
            if response_resent:
                lost.append(Lost("response.create", "only one response is re-sent"))
                continue
            response_resent = True
        steps.append(ReplayStep(command))
    return ReplayPlan(tuple(steps), tuple(lost))


def _with_id(item: Item, item_id: str) -> Item:
    return replace(item, id=item_id if len(item_id) <= MAX_ITEM_ID else None)


def _rebuild(
    item: Item,
    transcript: str | None,
    audio: bytes | None,
    accepts_input_audio: bool,
    max_audio_bytes: int,
) -> tuple[Item | None, bool, str]:
    """The item as a client may create it, whether audio became text, or why it cannot be."""
    if isinstance(item, FunctionCallItem):
        return replace(item, status=None), False, ""
    if isinstance(item, FunctionCallOutputItem):
        return replace(item, status=None), False, ""
    if isinstance(item, OtherItem):
        return None, False, f"a {item.type} item cannot be created by a client"
    if item.role == "assistant":
        text = "".join(
            part.text if isinstance(part, OutputText) else part.transcript or ""
            for part in item.content
            if isinstance(part, OutputText | OutputAudio)
        )
        text = text or transcript or ""
        if not text:
            return None, False, "an assistant reply with no text or transcript"
        return MessageItem("assistant", (OutputText(text),)), False, ""
    content: list[Content] = []
    as_text = False
    for part in item.content:
        if isinstance(part, InputText | InputImage):
            content.append(part)
        elif isinstance(part, InputAudio):
            bytes_ = part.audio or audio
            words = part.transcript or transcript
            if (
                bytes_
                and accepts_input_audio
                and len(bytes_) <= max_audio_bytes
                and item.role == "user"
            ):
                content.append(InputAudio(bytes_, words))
            elif words:
                content.append(InputText(words))
                as_text = True
            else:
                why = "its audio was not kept" if not bytes_ else "its audio cannot be sent"
                return None, False, f"user audio with no transcript ({why})"
        elif isinstance(part, OutputText):
            content.append(InputText(part.text))
        elif isinstance(part, OutputAudio) and part.transcript:
            content.append(InputText(part.transcript))
    if not content:
        return None, False, f"a {item.role} message with no content to send"
    return MessageItem(item.role, tuple(content)), as_text, ""


class UserAudio:
    """The audio of each committed user turn, kept so a restore can replay it as audio.

    Feed it what the session sends and hears: :meth:`appended` for every input audio chunk
    sent, :meth:`speech_started` / :meth:`speech_stopped` for the server VAD's marks (ms on
    the connection's input timeline), :meth:`committed` when an item takes the buffer,
    :meth:`cleared` when the buffer is dropped, :meth:`new_connection` when a new server
    session starts (its timeline starts again at 0). With server VAD an item gets the audio
    between its marks; with manual commits, everything since the last commit.

    At most ``budget`` bytes are kept over all items; the oldest items lose their audio first
    (they are then replayed as transcripts). The turn not yet committed is bounded too: with
    VAD on (the session's turn detection, :meth:`vad_configured`, or a VAD mark seen) only
    the last ``lead_ms`` of audio is held until speech starts, enough for the server's prefix
    padding (300 ms by default, protocol.md 3), so a long stream with no speech holds 2 s;
    and a turn never holds more than its last ``max_pending`` bytes (15 MiB: what one
    ``input_audio_buffer.append`` may carry, protocol.md 1a, which is how a restore sends it
    again). What that drops of a turn is counted in :attr:`pending_dropped` until the turn
    ends (committed or cleared), so a restore can say it was not replayed.

    The turn under way is held as the chunks sent (a reference each: ``bytes`` cannot change)
    and joined only when a commit or a restore needs it. One growing buffer instead would copy
    every append and, at its bound, dropping from its front while appending at its end makes
    CPython's bytearray move the whole turn to a fresh allocation every eighth of the bound
    (a 15 MiB copy into pages faulted in again).
    """

    def __init__(
        self,
        bytes_per_ms: float,
        budget: int,
        *,
        lead_ms: float = 2000.0,
        max_pending: int = 15 * 1024 * 1024,
    ) -> None:
        if bytes_per_ms <= 0:
            raise ValueError("bytes_per_ms must be positive")
        if max_pending <= 0:
            raise ValueError("max_pending must be positive")
        self._per_ms = bytes_per_ms
        self._sample = 2  # bytes per sample: PCM16 until the confirmed format says otherwise
        self._budget = budget
        self._lead_ms = lead_ms
        self._lead = int(lead_ms * bytes_per_ms)
        self._max_pending = max_pending - max_pending % 2
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._kept = 0
        self._vad_on = False  # the session's turn detection, known before any VAD mark
        self.new_connection()

    def new_connection(self) -> None:
        self._reset_pending()
        self._pending_start = 0  # byte offset of the first held byte on this connection
        self._vad = self._vad_on
        self._start: int | None = None
        self._end: int | None = None
        self.pending_dropped = 0
        """Bytes of the turn under way that were not kept (its start, past ``max_pending``)."""
        self._bound()

    def _reset_pending(self) -> None:
        self._chunks: deque[bytes] = deque()  # the turn under way, as sent
        self._head = 0  # bytes at the start of _chunks[0] no longer held
        self._held = 0  # bytes held: the chunks' lengths less _head

    def _bound(self) -> None:
        """The length past which :meth:`appended` must look at dropping: the lead while VAD
        waits for speech (or the turn's bound when smaller), else the turn's bound."""
        if self._vad and self._start is None:
            self._limit = min(self._lead, self._max_pending)
        else:
            self._limit = self._max_pending

    def set_rate(self, bytes_per_ms: float, sample_bytes: int) -> None:
        """The input format the server confirmed: its bytes per millisecond and per sample.
        Held bytes stay as they are: a format changes between turns, not inside one
        (protocol.md says nothing of a change mid-turn; keeping the bytes loses nothing)."""
        if bytes_per_ms <= 0 or sample_bytes <= 0:
            raise ValueError("bytes_per_ms and sample_bytes must be positive")
        self._per_ms = bytes_per_ms
        self._sample = sample_bytes
        self._lead = int(self._lead_ms * bytes_per_ms)
        self._bound()

    def vad_configured(self, on: bool) -> None:
        """The session's turn detection as confirmed: VAD on (server or semantic) or manual."""
        self._vad_on = on
        self._vad = on or (self._vad and (self._start is not None or self._end is not None))
        self._bound()

    def _offset(self, ms: float) -> int:
        at = int(ms * self._per_ms)
        return at - at % self._sample  # whole samples

    def appended(self, audio: bytes) -> None:
        if type(audio) is not bytes:
            audio = bytes(audio)  # a bytearray or memoryview its owner may still change
        self._chunks.append(audio)
        self._held = held = self._held + len(audio)
        if held <= self._limit:
            return
        if self._vad and self._start is None and held > self._lead:
            drop = held - self._lead
            drop -= drop % 2
            self._drop(drop)  # silence before speech: no part of a turn
        elif held > self._max_pending:
            # A turn longer than one append can carry (manual turns never committed, or VAD
            # that never hears the end): its start is not kept for a restore.
            drop = held - self._max_pending
            drop -= drop % 2
            self._drop(drop)
            self.pending_dropped += drop

    def _drop(self, count: int) -> None:
        """No longer hold the first ``count`` bytes: whole chunks leave the front, and a
        chunk cut in two keeps its tail by an offset."""
        chunks = self._chunks
        head = self._head + count
        while head and head >= len(chunks[0]):
            head -= len(chunks.popleft())
        if head and head * 2 >= len(chunks[0]) > 65536:
            # A big chunk (one large append, a joined turn) mostly gone: copy its tail out so
            # what is held stays near the bound; each such copy halves the chunk at least.
            chunks[0] = chunks[0][head:]
            head = 0
        self._head = head
        self._held -= count
        self._pending_start += count

    def _joined(self) -> bytes:
        """The bytes held, kept as one chunk from now on (a second call copies nothing)."""
        chunks = self._chunks
        if not chunks:
            return b""
        if len(chunks) == 1 and not self._head:
            return chunks[0]
        first = memoryview(chunks.popleft())[self._head :]
        whole = b"".join([first, *chunks])
        self._chunks = deque((whole,))
        self._head = 0
        return whole

    def speech_started(self, audio_start_ms: float) -> None:
        self._vad = True
        self._start = self._offset(audio_start_ms)
        self._end = None
        self._bound()

    def speech_stopped(self, audio_end_ms: float) -> None:
        self._vad = True
        self._end = self._offset(audio_end_ms)
        self._bound()

    def cleared(self) -> None:
        self._pending_start += self._held
        self._reset_pending()
        self._start = self._end = None
        self.pending_dropped = 0
        self._bound()

    def committed(self, item_id: str) -> None:
        if self._start is not None and self._end is not None:
            begin = max(0, self._start - self._pending_start)
            end = min(self._held, max(begin, self._end - self._pending_start))
            held = self._joined()
            audio = held[begin:end]
            if end:
                self._drop(end)
        else:
            audio = self._joined()
            self.cleared()
        self._start = self._end = None
        self.pending_dropped = 0
        self._bound()
        if audio:
            self._keep(item_id, audio)

    def _keep(self, item_id: str, audio: bytes) -> None:
        self._items[item_id] = audio
        self._kept += len(audio)
        while self._kept > self._budget and self._items:
            _, old = self._items.popitem(last=False)
            self._kept -= len(old)

    def pending_turn(self) -> bytes:
        """The audio of a user turn sent but not committed: from the speech start under server
        VAD (the held lead when no speech is marked), everything since the last commit
        otherwise."""
        if self._vad and self._start is not None:
            begin = max(0, self._start - self._pending_start)
            end = self._held if self._end is None else self._end - self._pending_start
            return self._joined()[begin : max(begin, end)]
        # Manual turns; or VAD before a speech start, when speech may have begun that the
        # server had not marked yet: the held lead (silence otherwise, which the new
        # session's VAD ignores).
        return self._joined()

    @property
    def bytes_per_ms(self) -> float:
        return self._per_ms

    @property
    def pending_bytes(self) -> int:
        """Audio held for the turn under way (what a restore would send again, or more)."""
        return self._held

    def get(self, item_id: str) -> bytes | None:
        return self._items.get(item_id)

    def items(self) -> Mapping[str, bytes]:
        """Item id -> kept audio, oldest first."""
        return dict(self._items)

    @property
    def kept_bytes(self) -> int:
        return self._kept


class Outbox:
    """Items the client created that the server has not shown back yet.

    :meth:`sent` for each ``CreateItem`` written to the connection, :meth:`seen` for each item
    the server reports (``conversation.item.added`` / ``done``). What is still here when the
    connection drops was never confirmed and is re-sent after the restore. A tool output is
    matched by its ``call_id``, a message by its role and text, anything else by equality
    (ids and status aside, since the server assigns them).
    """

    def __init__(self) -> None:
        self._waiting: list[CreateItem] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def sent(self, command: CreateItem) -> None:
        self._waiting.append(command)

    def seen(self, item: Item) -> None:
        key = _identity(item)
        for index, command in enumerate(self._waiting):
            if _identity(command.item) == key:
                del self._waiting[index]
                return

    def unconfirmed(self) -> list[CreateItem]:
        return list(self._waiting)

    def clear(self) -> None:
        self._waiting.clear()


def _identity(item: Item) -> object:
    if isinstance(item, FunctionCallOutputItem):
        return ("output", item.call_id)
    if isinstance(item, MessageItem):
        return ("message", item.role, item.text)
    if isinstance(item, FunctionCallItem):
        return ("call", item.call_id, item.name)
    return ("other", item.type, repr(sorted(item.payload)))
