"""The end of a :class:`~realtalk.session.Session`: teardown, failure, a lost connection.

Teardown is driven by the session's :class:`~realtalk.supervisor.Link` state: ``close()`` or
a failure moves to closing and runs :func:`run_teardown` once; a failure (:func:`fail`) makes
one fatal ``SessionError`` the last event, and what ``next_event()`` raises after it. These
functions are Session methods, defined here and bound in the class body (``Session._close``
is :func:`run_teardown`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from realtalk import events as ev
from realtalk.errors import ConnectionClosed, RealtalkError, SessionFailed
from realtalk.supervisor import Link

if TYPE_CHECKING:
    from realtalk.session import Session


def start_teardown(self: Session) -> asyncio.Task[None]:
    """Move to closing now (``closed`` is True from here on) and run the teardown once."""
    if self._teardown is None:
        self._link.move(Link.CLOSING)
        self._teardown = self._loop.create_task(self._close(), name="realtalk-session-close")
    return self._teardown


async def run_teardown(self: Session) -> None:
    self._proto.close()
    self._config.fail_waiters("the session closed before the server answered")
    self._tools.cancel()
    if self._transport is not None:
        with contextlib.suppress(RealtalkError, OSError):
            await self._transport.close()
    await self._tasks.aclose()
    await self._guards.aclose()
    if not self._created.done():
        self._created.set_exception(
            self._failure or ConnectionClosed(1000, "closed before session.created")
        )
        self._created.exception()  # retrieved: nobody may be waiting any more
    self._events.close()
    if self._recorder is not None:
        self._recorder.note("closed")
        await asyncio.to_thread(self._recorder.close)
    self._link.move(Link.CLOSED)


def fail(self: Session, event: ev.SessionError, error: RealtalkError) -> None:
    """The session cannot go on: ``event`` is its last event, ``error`` what is raised after
    it; the teardown starts. The first failure wins."""
    if self._failure is not None or self._link.ending:
        return
    self._failure = error
    if self._recorder is not None:
        self._recorder.event(event)
    self._events.close((event,))
    if not self._created.done():
        self._created.set_exception(error)
        self._created.exception()  # retrieved: _open may already have stopped waiting
    self._start_teardown()


def on_task_failure(self: Session, exc: BaseException, name: str) -> None:
    if self._link.ending or self._failure is not None:
        return  # teardown noise, or a second failure after the first
    if isinstance(exc, ConnectionClosed):
        return  # e.g. a tool's send after the drop: the reader reports the close itself
    error = SessionFailed(f"{name} failed: {type(exc).__name__}: {exc}", exc)
    error.__cause__ = exc
    self._fail(ev.SessionError(str(error), "internal_error", True, exception=exc), error)


async def on_connection_lost(self: Session, exc: ConnectionClosed) -> None:
    """The connection ended without the app closing it: reconnect when that can help
    (SessionOptions.reconnect), else fatal (the server's last error is attached)."""
    if not self._created.done():
        self._created.set_exception(exc)
        self._created.exception()  # retrieved: the waiter may be gone
    recovery = self._recovery
    if recovery is not None:
        why = recovery.worth_it(exc, self._last_error)
        if why is not None or recovery.active:
            recovery.take_over(self._lost_reason or why or "connection lost")
            return
    reason = self._lost_reason or exc.reason
    error = ConnectionClosed(
        exc.code, reason, server_error=self._last_error, by_client=exc.by_client
    )
    code = "connection_closed"
    if exc.by_client and exc.code == 1009:
        code = "message_too_big"
        limit = self.options.max_message_bytes
        await self._emit(
            ev.ProtocolViolation(
                f"a server message was larger than max_message_bytes ({limit} bytes), so the "
                "connection was closed with 1009; raise SessionOptions(max_message_bytes=...) "
                "if such messages are expected",
                "",
            )
        )
    elif exc.by_client and exc.code == 1007:
        code = "invalid_message"
        await self._emit(
            ev.ProtocolViolation(
                "a server text message was not valid UTF-8, so the connection was closed with "
                f"1007 ({exc.reason})",
                "",
            )
        )
    self._fail(ev.SessionError(str(error), code, True, self._last_error, error), error)
