"""Per-response bookkeeping of the client: one record per response, from creation to retirement.

Pure core (standard library only). :class:`~realtalk.protocol.ClientProtocol` owns a
:class:`ResponseBook`; the session reads and annotates its records instead of keeping parallel
sets of its own. A record lives from ``response.created`` until the response is *over*: the
server said ``response.done``, every tool call it made was answered or dropped, its follow-up
(if any) was asked for, and the final guardrail verdict is in. Then it is retired (pruned), so
a long session keeps nothing per finished response.

Phases move only along :data:`RESPONSE_TRANSITIONS`; any other move raises
:class:`~realtalk.errors.InvalidState` (the protocol turns one caused by the server into a
:class:`~realtalk.events.ProtocolViolation`).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from realtalk.commands import CreateResponse
from realtalk.errors import InvalidState
from realtalk.events import TurnMetrics
from realtalk.items import Usage

__all__ = [
    "RESPONSE_TRANSITIONS",
    "ResponseBook",
    "ResponsePhase",
    "ResponseRecord",
    "turn_metrics",
]


class ResponsePhase(enum.Enum):
    """Where one response stands."""

    ACTIVE = "active"
    """``response.created`` seen; the server is producing it."""
    DONE = "done"
    """``response.done`` seen; tool calls, the follow-up or a guardrail verdict may be open."""
    RETIRED = "retired"
    """Over; the record has left the book."""


RESPONSE_TRANSITIONS: dict[ResponsePhase, frozenset[ResponsePhase]] = {
    ResponsePhase.ACTIVE: frozenset({ResponsePhase.DONE}),
    ResponsePhase.DONE: frozenset({ResponsePhase.RETIRED}),
    ResponsePhase.RETIRED: frozenset(),
}


@dataclass(slots=True, eq=False)
class ResponseRecord:
    """Everything the client tracks about one response."""

    response_id: str
    phase: ResponsePhase = ResponsePhase.ACTIVE
    request: CreateResponse | None = None
    """The command that asked for it, options included (None: the server started it, e.g. VAD)."""
    event_id: str | None = None
    """The client ``event_id`` of that ``response.create``."""
    stopped: bool = False
    """Interrupted, barged in on or tripped: its later events are not delivered."""
    cancel_sent: bool = False
    tool_calls: set[str] = field(default_factory=set)
    """Call ids whose output has not been sent yet."""
    outputs_sent: int = 0
    follow_up: bool = False
    """Tool outputs were sent and the follow-up response is still to be asked for."""
    verdict_pending: bool = False
    """The final output-guardrail check is running."""
    first_audio_at: float | None = None
    first_text_at: float | None = None
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        if len(self.text_parts) > 1:
            self.text_parts[:] = ["".join(self.text_parts)]
        return self.text_parts[0] if self.text_parts else ""

    @property
    def over(self) -> bool:
        return (
            self.phase is ResponsePhase.DONE
            and not self.tool_calls
            and not self.follow_up
            and not self.verdict_pending
        )

    @property
    def follow_up_due(self) -> bool:
        """Done, every tool answered, outputs sent: the model may go on."""
        return self.follow_up and self.phase is ResponsePhase.DONE and not self.tool_calls

    def move(self, to: ResponsePhase) -> None:
        if to not in RESPONSE_TRANSITIONS[self.phase]:
            raise InvalidState(
                f"response {self.response_id} cannot go from {self.phase.value} to {to.value}"
            )
        self.phase = to


class ResponseBook:
    """The records of the responses not yet over, keyed by response id."""

    __slots__ = ("_calls", "_recent", "_records", "retired")

    def __init__(self) -> None:
        self._records: dict[str, ResponseRecord] = {}
        # The last few retired records: a response.done may retire its record before the layer
        # above has handled the event (metrics, text); bounded, so nothing grows.
        self._recent: deque[ResponseRecord] = deque(maxlen=4)
        self._calls: dict[str, str] = {}  # call id -> response id, for outputs sent later
        self.retired = 0
        """How many records were retired (for tests and metrics)."""

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ResponseRecord]:
        return iter(list(self._records.values()))

    def get(self, response_id: str | None) -> ResponseRecord | None:
        return self._records.get(response_id) if response_id is not None else None

    def lookup(self, response_id: str | None) -> ResponseRecord | None:
        """Like :meth:`get`, but also finds a record retired a moment ago."""
        record = self.get(response_id)
        if record is None and response_id is not None:
            for old in self._recent:
                if old.response_id == response_id:
                    return old
        return record

    def created(
        self, response_id: str, request: CreateResponse | None, event_id: str | None
    ) -> ResponseRecord:
        """A ``response.created``. A second one for a known id is an undefined move."""
        record = self._records.get(response_id)
        if record is not None:
            raise InvalidState(f"response {response_id} was created twice")
        record = self._records[response_id] = ResponseRecord(response_id, request=request)
        record.event_id = event_id
        return record

    def done(self, response_id: str) -> ResponseRecord:
        """A ``response.done``; a response never seen created gets a record on the spot."""
        record = self._records.get(response_id)
        if record is None:
            record = self._records[response_id] = ResponseRecord(response_id)
        record.move(ResponsePhase.DONE)
        self.retire_if_over(record)
        return record

    def call_started(self, response_id: str | None, call_id: str) -> None:
        record = self.get(response_id)
        if record is not None and not record.stopped:
            record.tool_calls.add(call_id)
            self._calls[call_id] = record.response_id

    def output_sent(self, call_id: str) -> ResponseRecord | None:
        """The output of ``call_id`` went out; returns the record it belonged to."""
        record = self.get(self._calls.pop(call_id, None))
        if record is None or call_id not in record.tool_calls:
            return None
        record.tool_calls.discard(call_id)
        record.outputs_sent += 1
        record.follow_up = not record.stopped
        return record

    def stop(self, record: ResponseRecord) -> list[str]:
        """Stop a response: its open tool calls are dropped (returned) and no follow-up comes."""
        record.stopped = True
        record.follow_up = False
        dropped = sorted(record.tool_calls)
        for call_id in dropped:
            self._calls.pop(call_id, None)
        record.tool_calls.clear()
        return dropped

    def retire_if_over(self, record: ResponseRecord) -> bool:
        if not record.over or self._records.get(record.response_id) is not record:
            return False
        record.move(ResponsePhase.RETIRED)
        del self._records[record.response_id]
        self._recent.append(record)
        self.retired += 1
        return True

    def clear(self) -> None:
        self._records.clear()
        self._recent.clear()
        self._calls.clear()


def turn_metrics(
    response_id: str,
    record: ResponseRecord | None,
    started: float,
    now: float,
    usage: Usage | None,
) -> TurnMetrics:
    """The timings of a finished response, in ms from ``started`` (the end of the user's turn)."""
    first_audio = record.first_audio_at if record else None
    first_text = record.first_text_at if record else None
    return TurnMetrics(
        response_id,
        (first_audio - started) * 1000.0 if first_audio else None,
        (first_text - started) * 1000.0 if first_text else None,
        (now - started) * 1000.0,
        usage,
    )
