"""A connection's inbound messages, pushed in as they arrive, taken by one reader.

The WebSocket transport puts each complete message here from the connection's protocol
callback (the event loop's I/O step). A reader awaits :meth:`Inbox.get`, or installs
:attr:`Inbox.fast`: a plain function that handles a message during that same callback while
the reader waits with nothing queued before it. That saves every handled message one hop
through the loop: with the reader as a task of its own, a message woke the reader, which woke
the app; near a core's saturation each wake-up waits out a loop iteration of a few ms. Order
still holds: a message is only handled on the spot when nothing is queued and the reader is not
busy with an earlier one (it waits in :meth:`get`); anything else is queued for it.

Back-pressure is websockets' own: above ``high`` queued items the socket stops being read,
and at ``low`` (a quarter of ``high`` unless given) reading resumes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

__all__ = ["Inbox"]


class Inbox:
    """Complete inbound messages (``str`` for text frames, ``bytes`` for binary ones) in
    arrival order, then the connection's end."""

    def __init__(
        self,
        high: int | None,
        low: int | None = None,
        *,
        pause: Callable[[], object] = lambda: None,
        resume: Callable[[], object] = lambda: None,
    ) -> None:
        self._items: deque[object] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._end: BaseException | None = None
        self._high = high
        self._low = low if low is not None else high // 4 if high is not None else 0
        self._pause, self._resume = pause, resume
        self._paused = False
        self.fast: Callable[[str | bytes], object] | None = None
        """Called with a message when the reader waits with nothing queued; returns None when
        it handled the message, else what :meth:`get` should return for it instead (its work
        left to the reader). An exception it raises comes out of the next :meth:`get`."""

    def __len__(self) -> int:
        return len(self._items)

    def put(self, message: str | bytes) -> None:
        if self._end is not None:
            return  # nothing arrives after the end (websockets' parser stops at the close)
        item: object = message
        waiter = self._waiter
        if self.fast is not None and waiter is not None and not self._items:
            try:
                item = self.fast(message)
            except Exception as exc:  # the reader's to raise: it is a supervised task
                item = _Raised(exc)
            if item is None:
                return
        self._items.append(item)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._high is not None and not self._paused and len(self._items) > self._high:
            self._paused = True
            self._pause()

    def close(self, end: BaseException) -> None:
        """The connection ended: :meth:`get` raises ``end`` once the queued items are taken."""
        if self._end is not None:
            return
        self._end = end
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> object:
        """The next queued item; the connection's end (raised) once there is none. One reader
        at a time; a cancelled ``get`` loses nothing."""
        items = self._items
        while not items:
            if self._end is not None:
                raise self._end
            if self._waiter is not None:
                raise RuntimeError("two readers await one connection's inbox")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = items.popleft()
        if self._paused and len(items) <= self._low:
            self._paused = False
            self._resume()
        if type(item) is _Raised:
            raise item.exc
        return item


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
