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

    async def put(self, item: T) -> None:
        queue = self._queue
        if not queue.full():
            queue.put_nowait(item)  # the common case, without a coroutine per event
        elif self.overflow == "block":
            await queue.put(item)
        elif self.overflow == "drop_oldest":
            queue.get_nowait()
            queue.put_nowait(item)
        elif not self._overflowed:
            self._overflowed = True
            self._on_overflow()

    def close(self) -> None:
        """Mark the end; buffered events before it are still delivered (unless full)."""
        while True:
            try:
                self._queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    async def get(self, timeout: float | None = None) -> T:
        """The next item; :class:`QueueClosed` at the end, :class:`TimeoutError` on timeout."""
        queue = self._queue
        if not queue.empty():
            item = queue.get_nowait()
        else:
            item = await asyncio.wait_for(queue.get(), timeout)
        if item is _CLOSED:
            self.close()  # later readers end too
            raise QueueClosed
        return item  # type: ignore[return-value]

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.get()
            except QueueClosed:
                return
