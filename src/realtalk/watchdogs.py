"""Watchdogs of a session: keepalive (a dead socket) and response stalls (a silent server).

Each is a coroutine the session runs under its supervisor. They read the session's clocks
through small callables and report through callbacks, so they hold no session internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from realtalk.errors import ConnectionClosed

__all__ = ["keepalive", "watch_stalls"]


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
    while True:
        await asyncio.sleep(interval)
        started = clock()
        try:
            pong = asyncio.ensure_future(await transport.ping())
        except ConnectionClosed:
            return  # the reader reports the close
        await asyncio.wait({pong}, timeout=timeout)
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
    reported = -1.0
    while True:
        await asyncio.sleep(max(0.05, limit / 4))
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
