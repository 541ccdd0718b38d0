"""Watchdogs of a session: keepalive (a dead socket) and response stalls (a silent server).

Each is a coroutine the session runs under its supervisor. They read the session's clocks
through small callables and report through callbacks, so they hold no session internals.

Their waits (the keepalive's interval and its pong timeout, the stall watch's checks) go
through :class:`SharedTimer`, one per event loop, instead of ``asyncio.sleep``: a sleep puts a
timer of its own in the loop's heap, and with N sessions streaming audio the loop pops a pacing
timer every few milliseconds from a heap holding 2N long watchdog timers beside them; each pop
then sifts through them with Python-level ``TimerHandle.__lt__`` calls. The shared timer keeps
every watchdog deadline of the loop in its own heap (plain float comparisons, done in C) and at
most one timer in the loop's, armed for the earliest of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from realtalk.errors import ConnectionClosed

__all__ = ["SharedTimer", "keepalive", "watch_stalls"]

_RESOLUTION = time.get_clock_info("monotonic").resolution  # what asyncio's loop allows for


class SharedTimer:
    """Deadlines of one event loop behind at most one loop timer: :meth:`sleep` is
    ``asyncio.sleep`` for waits that need no timer of their own. Get it with :meth:`of`."""

    __slots__ = ("__weakref__", "_armed", "_count", "_due", "loop")

    _by_loop: weakref.WeakValueDictionary[int, SharedTimer] = weakref.WeakValueDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = itertools.count()  # ties in time wake in the order they were asked for
        self._armed: tuple[float, asyncio.TimerHandle] | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> SharedTimer:
        """The loop's shared timer. Held by the loop's own timer and the sessions that use it
        (a loop and its timer are collected together; the id check guards a reused id)."""
        timer = cls._by_loop.get(id(loop))
        if timer is None or timer.loop is not loop:
            timer = cls._by_loop[id(loop)] = cls(loop)
        return timer

    def __len__(self) -> int:
        """Deadlines held (a cancelled sleep's until its time comes)."""
        return len(self._due)

    def sleep(self, delay: float) -> asyncio.Future[None]:
        """A future done ``delay`` seconds from now (cancel it to stop waiting)."""
        loop = self.loop
        when = loop.time() + delay
        done: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._due, (when, next(self._count), done))
        armed = self._armed
        if armed is None or when < armed[0]:
            if armed is not None:
                armed[1].cancel()
            self._armed = (when, loop.call_at(when, self._fire))
        return done

    def _fire(self) -> None:
        self._armed = None
        due, loop = self._due, self.loop
        # The loop runs a timer once its time is within the clock's resolution: so do we.
        now = loop.time() + _RESOLUTION
        while due and due[0][0] <= now:
            done = heapq.heappop(due)[2]
            if not done.done():  # a cancelled sleep is just dropped
                done.set_result(None)
        if due:
            when = due[0][0]
            self._armed = (when, loop.call_at(when, self._fire))


async def keepalive(
    transport: Any,
    interval: float,
    timeout: float,
    *,
    clock: Callable[[], float],
    last_inbound: Callable[[], float],
    app_blocked: Callable[[], bool],
    on_dead: Callable[[str], None],
) -> None:
    """Ping every ``interval`` s; no pong and no message within ``timeout`` = a dead socket.

    Any message received counts as a sign of life (a pong may sit behind a backlog still being
    read), and so does a reader held up by the app (``overflow="block"``): the app is slow, the
    socket may be fine. A dead socket is reported to ``on_dead(reason)`` and aborted; the
    reader then sees it end (close code 1006).
    """
    timer = SharedTimer.of(asyncio.get_running_loop())
    while True:
        await timer.sleep(interval)
        started = clock()
        try:
            pong = asyncio.ensure_future(await transport.ping())
        except ConnectionClosed:
            return  # the reader reports the close
        expiry = timer.sleep(timeout)
        try:
            await asyncio.wait({pong, expiry}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            expiry.cancel()
        if pong.done() or last_inbound() >= started or app_blocked():
            continue
        on_dead(f"no pong and no message within {timeout:g}s (keepalive)")
        abort = getattr(transport, "abort", None)
        if abort is not None:
            abort()
        else:
            await transport.close(1011, "keepalive timeout")
        return


async def watch_stalls(
    limit: float,
    *,
    clock: Callable[[], float],
    last_progress: Callable[[], float],
    under_way: Callable[[], str | None],
    report: Callable[[str], Awaitable[None]],
) -> None:
    """Report once per stall a response that gets no server message for ``limit`` seconds.

    ``under_way()`` names the response requested or active (None when there is none);
    ``last_progress()`` is the last time a message came in or a response was asked for;
    ``report(message)`` tells the app.
    """
    timer = SharedTimer.of(asyncio.get_running_loop())
    period = max(0.05, limit / 4)
    reported = -1.0
    while True:
        await timer.sleep(period)
        rid = under_way()
        since = last_progress()
        if rid is None or since == reported:
            continue
        quiet = clock() - since
        if quiet >= limit:
            reported = since  # once per stall: a new message or request starts a new one
            await report(
                f"response {rid} stalled: no server message for {quiet:.1f}s "
                f"(SessionOptions.response_stall_timeout={limit:g})"
            )
