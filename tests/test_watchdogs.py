"""The watchdogs' shared timer: every session's watchdog waits behind one loop timer.

The keepalive and stall behaviour itself (a dead socket is a fatal event, a stalled response
is reported once) is tested end to end against scripted peers in tests/e2e/test_session_trust.py
and tests/e2e/test_reconnect.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import realtalk as rt
from realtalk.providers import Compatible
from realtalk.watchdogs import SharedTimer

from .e2e.scripted_server import scripted_server


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that remembers every timer it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: list[asyncio.TimerHandle] = []

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        handle = super().call_at(when, callback, *args, context=context)
        self.timers.append(handle)
        return handle

    def pending(self, later_than: float = 0.0) -> list[asyncio.TimerHandle]:
        """Timers neither cancelled nor run yet, due more than ``later_than`` s from now."""
        now = self.time()
        return [h for h in self.timers if not h.cancelled() and h.when() > now + later_than]


def run(coro: Any) -> Any:
    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        return runner.run(coro)


def test_sleeps_wake_in_deadline_order_never_early() -> None:
    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        timer = SharedTimer.of(loop)
        woke: list[tuple[float, float]] = []

        async def sleeper(delay: float) -> None:
            start = loop.time()
            await timer.sleep(delay)
            woke.append((delay, loop.time() - start))

        # Asked for out of order: a later request for an earlier deadline re-arms the timer.
        delays = [0.12, 0.3, 0.02, 0.2, 0.05, 0.05, 0.01]
        await asyncio.gather(*(sleeper(d) for d in delays))
        return woke

    woke = run(main())
    assert [d for d, _ in woke] == sorted([0.12, 0.3, 0.02, 0.2, 0.05, 0.05, 0.01])
    resolution = 0.002  # the loop runs a timer once its time is within the clock's resolution
    assert all(took >= delay - resolution for delay, took in woke)


def test_many_sleeps_hold_one_loop_timer_and_cancelled_ones_are_dropped() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        timer = SharedTimer.of(loop)
        sleeps = [timer.sleep(5.0 + i / 100) for i in range(50)]
        assert len(loop.pending()) == 1  # asyncio.sleep would hold 50
        assert len(timer) == 50
        for sleep in sleeps:
            sleep.cancel()
        soon = timer.sleep(0.02)
        assert len(loop.pending(later_than=1.0)) == 0  # re-armed for the earlier deadline
        await soon
        assert all(s.cancelled() for s in sleeps)
        # The cancelled sleeps wait in the shared timer, not in the loop, until their time.
        assert len(loop.pending()) == 1
        assert SharedTimer.of(loop) is timer
        # A cancelled sleep due first does not hold up the next one.
        gone, kept = timer.sleep(0.01), timer.sleep(0.03)
        gone.cancel()
        await asyncio.wait_for(kept, 1.0)

    run(main())


def test_one_shared_timer_per_loop() -> None:
    async def timer_of_this_loop() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        timer = SharedTimer.of(loop)
        await timer.sleep(0.01)
        return SharedTimer.of(loop) is timer, timer.loop is loop

    # A new loop (perhaps at a collected loop's address) never gets another loop's timer.
    for _ in range(3):
        assert run(timer_of_this_loop()) == (True, True)
        gc.collect()


def test_sessions_keep_one_long_timer_in_the_loop() -> None:
    """Five sessions with the default keepalive (10 s) and stall watch (checks every 7.5 s):
    the loop holds one long timer for all their watchdogs, not two per session."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        async with scripted_server() as server, contextlib.AsyncExitStack() as stack:
            runner = rt.Runner(
                rt.Agent("a"),
                provider=Compatible(server.url),
                options=rt.SessionOptions(reconnect=None),
            )
            sessions = [await stack.enter_async_context(runner.connect()) for _ in range(5)]
            assert all(s.options.keepalive_interval == 10.0 for s in sessions)
            assert all(s.options.response_stall_timeout == 30.0 for s in sessions)
            watchdogs = sum(
                1
                for task in asyncio.all_tasks()
                if task.get_name() in ("realtalk-keepalive", "realtalk-stall-watch")
            )
            # The scripted server runs on this loop too: its connections' own websockets
            # keepalive (the server end's, one asyncio.sleep each) is not the client's.
            server_side = {
                id(task._fut_waiter)  # type: ignore[attr-defined]
                for task in asyncio.all_tasks()
                if task.get_coro().__qualname__ == "Connection.keepalive"  # type: ignore[union-attr]
            }
            client_timers = [
                h
                for h in loop.pending(later_than=1.0)
                if not (h._args and id(h._args[0]) in server_side)  # type: ignore[attr-defined]
            ]
            return watchdogs, len(client_timers)

    watchdogs, long_timers = run(main())
    assert watchdogs == 10  # every watchdog still runs, as a task of its session
    assert long_timers == 1  # asyncio.sleep in each: 10
