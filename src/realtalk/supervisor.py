"""The session's connection state and the supervisor of every task it owns.

Two small pieces the :class:`~realtalk.session.Session` is built on:

* :class:`Link` and :data:`LINK_TRANSITIONS`: the one connection state of a session, as an enum
  plus a transition table. :class:`Lifecycle` moves along it and raises
  :class:`~realtalk.errors.InvalidState` on a transition the table does not list, so a state
  can never be reached by accident. Reconnecting is a state of the same machine
  (``connected -> reconnecting -> restoring -> connected``), not a second code path.
* :class:`Supervisor`: every task of a session (the reader, tool calls, guardrail checks, the
  follow-up after tools, watchdogs) is spawned through it. A task that ends with an exception
  other than cancellation is reported once to ``on_failure`` (which makes it a fatal
  ``SessionError``); no task's exception is ever "never retrieved", and :meth:`Supervisor.aclose`
  cancels and awaits whatever is still running.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from realtalk.errors import InvalidState

__all__ = ["LINK_TRANSITIONS", "Lifecycle", "Link", "Supervisor"]

T = TypeVar("T")


class Link(enum.Enum):
    """Where a session's connection stands."""

    NEW = "new"
    """Built, not yet connecting."""
    CONNECTING = "connecting"
    """Handshake done or under way; waiting for ``session.created`` and the first update."""
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    """The connection was lost; a new one is being opened (backoff between attempts)."""
    RESTORING = "restoring"
    """A new connection is open; the config and the conversation are being replayed."""
    CLOSING = "closing"
    """Teardown under way: tasks cancelled, transport closing."""
    CLOSED = "closed"


LINK_TRANSITIONS: dict[Link, frozenset[Link]] = {
    Link.NEW: frozenset({Link.CONNECTING, Link.CLOSING}),
    Link.CONNECTING: frozenset({Link.CONNECTED, Link.CLOSING}),
    Link.CONNECTED: frozenset({Link.RECONNECTING, Link.CLOSING}),
    Link.RECONNECTING: frozenset({Link.RESTORING, Link.RECONNECTING, Link.CLOSING}),
    Link.RESTORING: frozenset({Link.CONNECTED, Link.RECONNECTING, Link.CLOSING}),
    Link.CLOSING: frozenset({Link.CLOSED}),
    Link.CLOSED: frozenset(),
}
"""Every allowed move; anything else raises :class:`InvalidState`."""

_CLOSING, _CLOSED = Link.CLOSING, Link.CLOSED


class Lifecycle:
    """The connection state of one session, moved only along :data:`LINK_TRANSITIONS`."""

    __slots__ = ("_on_change", "ending", "state")

    def __init__(self, on_change: Callable[[Link, Link], None] | None = None) -> None:
        self.state = Link.NEW
        self.ending = False
        """True once teardown has begun (closing or closed). A plain attribute, set by
        :meth:`move`: every send asks, and a property is a Python call per ask."""
        self._on_change = on_change

    def __repr__(self) -> str:
        return f"Lifecycle({self.state.value})"

    def can_move(self, to: Link) -> bool:
        return to in LINK_TRANSITIONS[self.state]

    def move(self, to: Link) -> None:
        """Go to ``to``; raises :class:`InvalidState` when the table has no such move."""
        if to not in LINK_TRANSITIONS[self.state]:
            raise InvalidState(f"a session cannot go from {self.state.value} to {to.value}")
        before, self.state = self.state, to
        self.ending = to is _CLOSING or to is _CLOSED
        if self._on_change is not None:
            self._on_change(before, to)


class Supervisor:
    """Owns a set of tasks; reports the first unexpected failure of each to ``on_failure``.

    ``on_failure(exc, task_name)`` is called from the task's done callback, so it must not
    block: it records the failure and schedules whatever follows (the session emits a fatal
    error and starts its teardown).
    """

    def __init__(self, on_failure: Callable[[BaseException, str], None]) -> None:
        self._on_failure = on_failure
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run ``coro`` as a supervised task. Refused (the coroutine is closed) after aclose."""
        if self._closed:
            coro.close()
            raise InvalidState(f"the session is closing; {name} was not started")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, always: never "never retrieved"
        if exc is not None:
            self._on_failure(exc, task.get_name())

    def tasks(self) -> list[asyncio.Task[Any]]:
        return list(self._tasks)

    async def aclose(self, *, keep: asyncio.Task[Any] | None = None) -> None:
        """Refuse new tasks; cancel every running one (but ``keep``) and await them."""
        self._closed = True
        current = asyncio.current_task()
        while pending := [t for t in self._tasks if t is not current and t is not keep]:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
