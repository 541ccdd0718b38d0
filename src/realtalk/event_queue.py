"""The bounded queue between a session's reader and the app, with a documented overflow policy.

``block`` (default): the reader waits for the app; back-pressure reaches the socket and nothing
is lost. ``drop_oldest``: the oldest buffered event is dropped. ``error``: the queue reports the
overflow once (the session then ends with an error). Closing puts an end marker that every
reader sees, however many iterate.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, Literal, TypeVar

__all__ = ["EventQueue", "Overflow", "QueueClosed"]

Overflow = Literal["block", "drop_oldest", "error"]
T = TypeVar("T")

_CLOSED = object()


class QueueClosed(Exception):
    """Raised by :meth:`EventQueue.get` once the queue is closed and drained."""


class EventQueue(Generic[T]):
    """A bounded FIFO on a deque with its own waiters: ``asyncio.Queue`` costs about a dozen
    Python calls per item put and taken, which is most of a session's own cost per audio event.
    The waiting follows ``asyncio.Queue``'s: one future per waiting reader or producer, woken in
    order, a cancelled reader passing its wake-up on."""

    def __init__(
        self, maxsize: int, overflow: Overflow = "block", *, on_overflow: Callable[[], None]
    ) -> None:
        self.maxsize = maxsize
        self.overflow = overflow
        self._items: deque[object] = deque()
        self._bound = maxsize if maxsize > 0 else sys.maxsize  # <= 0: unbounded, like Queue
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._on_overflow = on_overflow
        self._overflowed = False
        self._closed = False
        self._final: list[T] = []
        self._putting = 0

    def lift_bound(self) -> None:
        """Take every item whatever the bound, until :meth:`restore_bound`: while a session
        opens the app cannot read yet (it is awaiting the open), so a bound smaller than the
        opening events would block the reader that the open itself waits for, drop them, or
        fail the session on its way in."""
        self._bound = sys.maxsize

    def restore_bound(self) -> None:
        """The bound again: what is queued over it waits for the app (a producer that finds
        the queue full applies the overflow policy, as ever)."""
        self._bound = self.maxsize if self.maxsize > 0 else sys.maxsize

    @property
    def blocked(self) -> bool:
        """True while a producer waits for the app to make room ("block")."""
        return self._putting > 0

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> bool:
        """:meth:`put` when the queue has room (or is closed): done at once, True. False when
        it is full: the caller then awaits ``put`` (which applies the overflow policy). A plain
        call instead of a coroutine, for the reader's hot path."""
        if self._closed:
            return True  # nothing is delivered after the end marker
        items = self._items
        if len(items) >= self._bound:
            return False
        items.append(item)
        if self._getters:
            _wake_next(self._getters)
        return True

    async def put(self, item: T) -> None:
        if self._closed:
            return  # nothing is delivered after the end marker
        items = self._items
        if len(items) < self._bound:
            items.append(item)  # the common case: no coroutine suspends, no waiter to make
            if self._getters:
                _wake_next(self._getters)
        elif self.overflow == "block":
            self._putting += 1
            try:
                while len(items) >= self._bound:
                    await _wait_in(self._putters, items, self._bound)
            finally:
                self._putting -= 1
            items.append(item)
            if self._getters:
                _wake_next(self._getters)
        elif self.overflow == "drop_oldest":
            items.popleft()
            items.append(item)
        elif not self._overflowed:
            self._overflowed = True
            self._on_overflow()

    def close(self, final: tuple[T, ...] = ()) -> None:
        """Mark the end. Everything buffered is still delivered, then ``final`` (delivered even
        when the queue is full: the last word of a session is never lost), then the end."""
        if self._closed:
            return
        self._closed = True
        self._final.extend(final)
        if len(self._items) < self._bound:
            # Wakes a reader waiting on an empty queue; a full queue has no waiting reader.
            self._items.append(_CLOSED)
            if self._getters:
                _wake_next(self._getters)

    async def get(self, timeout: float | None = None) -> T:
        """The next item; :class:`QueueClosed` at the end, :class:`TimeoutError` on timeout."""
        items = self._items
        if items:
            item = items.popleft()
            if self._putters:
                _wake_next(self._putters)
        elif self._closed:
            return self._end()
        elif timeout is None:
            item = await self._take()
        else:
            item = await asyncio.wait_for(self._take(), timeout)
        if item is _CLOSED:
            return self._end()
        return item  # type: ignore[return-value]

    async def _take(self) -> object:
        # Waits and takes in one coroutine: under wait_for, a taken item is returned even when
        # the timeout fires at the same moment, and no other reader can take it in between.
        items = self._items
        while not items:
            await _wait_in(self._getters, items, 0)
        item = items.popleft()
        if self._putters:
            _wake_next(self._putters)
        return item

    def _end(self) -> T:
        if self._final:
            return self._final.pop(0)
        raise QueueClosed  # later readers end too: the queue stays empty and closed

    def __aiter__(self) -> AsyncIterator[T]:
        return self.drain()

    async def drain(self, at_end: Callable[[], None] | None = None) -> AsyncIterator[T]:
        """Every item until the end, then ``at_end()`` (which may raise) if given. An item that
        is there already is taken here, without :meth:`get`'s coroutine (a third of the cost
        of handing an event to the app)."""
        items = self._items
        while True:
            if items and items[0] is not _CLOSED:
                item = items.popleft()
                if self._putters:
                    _wake_next(self._putters)
            else:
                try:
                    item = await self.get()
                except QueueClosed:
                    if at_end is not None:
                        at_end()
                    return
            yield item  # type: ignore[misc]


def _wake_next(waiters: deque[asyncio.Future[None]]) -> None:
    """Wake the first waiter still waiting."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


async def _wait_in(waiters: deque[asyncio.Future[None]], items: deque[object], bound: int) -> None:
    """Wait for a wake-up in ``waiters``. A waiter cancelled after it was woken passes the
    wake-up on while its condition still holds (items to read, or room below ``bound``)."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        waiter.cancel()
        with contextlib.suppress(ValueError):
            waiters.remove(waiter)
        ready = len(items) < bound if bound else bool(items)
        if ready and not waiter.cancelled():
            _wake_next(waiters)
        raise
