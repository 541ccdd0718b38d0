"""The bounded queue between a session's reader and the app, with a documented overflow policy.

``block`` (default): the reader waits for the app; back-pressure reaches the socket and nothing
is lost. ``drop_oldest``: the oldest buffered event is dropped. ``error``: the queue reports the
overflow once (the session then ends with an error). Closing puts an end marker that every
reader sees, however many iterate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Generic, Literal, TypeVar

__all__ = ["EventQueue", "Overflow", "QueueClosed"]

Overflow = Literal["block", "drop_oldest", "error"]
T = TypeVar("T")

_CLOSED = object()


class QueueClosed(Exception):
    """Raised by :meth:`EventQueue.get` once the queue is closed and drained."""


class EventQueue(Generic[T]):
    def __init__(
        self, maxsize: int, overflow: Overflow = "block", *, on_overflow: Callable[[], None]
    ) -> None:
        self.maxsize = maxsize
        self.overflow = overflow
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self._on_overflow = on_overflow
        self._overflowed = False
        self._closed = False
        self._final: list[T] = []
        self._putting = 0

    @property
    def blocked(self) -> bool:
        """True while a producer waits for the app to make room ("block")."""
        return self._putting > 0

    @property
    def closed(self) -> bool:
        return self._closed

    async def put(self, item: T) -> None:
        queue = self._queue
        if self._closed:
            return  # nothing is delivered after the end marker
        if not queue.full():
            queue.put_nowait(item)  # the common case, without a coroutine per event
        elif self.overflow == "block":
            self._putting += 1
            try:
                await queue.put(item)
            finally:
                self._putting -= 1
        elif self.overflow == "drop_oldest":
            queue.get_nowait()
            queue.put_nowait(item)
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
        if not self._queue.full():
            # Wakes a reader waiting on an empty queue; a full queue has no waiting reader.
            self._queue.put_nowait(_CLOSED)

    async def get(self, timeout: float | None = None) -> T:
        """The next item; :class:`QueueClosed` at the end, :class:`TimeoutError` on timeout."""
        queue = self._queue
        if not queue.empty():
            item = queue.get_nowait()
        elif self._closed:
            item = _CLOSED
        else:
            item = await asyncio.wait_for(queue.get(), timeout)
        if item is _CLOSED:
            if self._final:
                return self._final.pop(0)
            raise QueueClosed  # later readers end too: the queue stays empty and closed
        return item  # type: ignore[return-value]

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.get()
            except QueueClosed:
                return
