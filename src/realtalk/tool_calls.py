"""Tool calls of a session: running them, approvals, handoffs, and the follow-up response.

A response may call several tools; each runs in its own supervised task so the event stream
never waits. Which calls are still open is recorded on the response's
:class:`~realtalk.responses.ResponseRecord` (the protocol sees each call start and each output
go out). When the response is done and every call has answered, the follow-up runs as its own
task (switching agents first if a handoff tool was called): it waits for the server's
``session.updated``, so it must never run inside the reader. Interruption cancels the calls of
the response it stops.

ToolCalls talks to its session only through :class:`ToolHost`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from realtalk.commands import ClientCommand, CreateItem, CreateResponse
from realtalk.errors import RealtalkError
from realtalk.events import (
    ApprovalRequired,
    Event,
    SessionError,
    ToolCallFailed,
    ToolCallFinished,
    ToolCallStarted,
)
from realtalk.items import FunctionCallOutputItem

if TYPE_CHECKING:
    from realtalk.agent import Agent
    from realtalk.config import SessionConfig
    from realtalk.protocol import ClientProtocol
    from realtalk.responses import ResponseRecord

__all__ = ["ToolCalls", "ToolHost"]


class ToolHost(Protocol):
    """What tool calls need from their session, and nothing more."""

    @property
    def agent(self) -> Agent: ...

    @property
    def protocol(self) -> ClientProtocol: ...

    @property
    def auto_respond_after_tools(self) -> bool: ...

    async def emit(self, event: Event) -> None:
        """Deliver an event to the app."""

    async def send(self, command: ClientCommand) -> str:
        """Send a command now (raises InvalidState once closed)."""

    async def switch_agent(self, agent: Agent) -> SessionConfig:
        """Make ``agent`` active; waits for the server to confirm the update."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``coro`` under the session's supervisor."""

    async def emit_if_idle(self) -> None:
        """Emit ``SessionIdle`` if the turn is now over."""

    def tool_context(self) -> dict[str, Any]:
        """Extra values for the tools' ``ToolContext``."""


class ToolCalls:
    """The tool calls in flight for one session."""

    def __init__(self, host: ToolHost) -> None:
        self._host = host
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelling: dict[str, asyncio.Task[None]] = {}
        """Cancelled calls still reporting it: the turn is not over until they have."""
        self._approvals: dict[str, asyncio.Future[tuple[bool, str | None]]] = {}
        self._following: set[str] = set()
        """Responses whose follow-up task is running (gone when it ends)."""
        self._handoff: Agent | None = None

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._cancelling or self._following)

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values()) + list(self._cancelling.values())

    def _forget(self, call_id: str) -> None:
        current = asyncio.current_task()
        for table in (self._tasks, self._cancelling):
            if table.get(call_id) is current:
                del table[call_id]

    def start(self, response_id: str | None, call_id: str, name: str, arguments: str) -> None:
        self._tasks[call_id] = self._host.spawn(
            self._run(response_id, call_id, name, arguments), f"realtalk-tool-{name}"
        )

    def cancel(self, call_ids: list[str] | None = None) -> list[asyncio.Task[None]]:
        """Cancel the given calls (every call when None); returns their tasks."""
        cancelled = []
        for call_id in list(self._tasks) if call_ids is None else call_ids:
            task = self._tasks.pop(call_id, None)
            waiter = self._approvals.pop(call_id, None)
            if waiter is not None and not waiter.done():
                waiter.cancel()
            if task is not None:
                task.cancel()
                self._cancelling[call_id] = task
                cancelled.append(task)
        return cancelled

    def resolve_approval(self, call_id: str, ok: bool, reason: str | None) -> None:
        from realtalk.errors import InvalidState

        waiter = self._approvals.get(call_id)
        if waiter is None:
            raise InvalidState(f"no tool call {call_id!r} is waiting for approval")
        if not waiter.done():
            waiter.set_result((ok, reason))

    def _ms(self, started: float) -> float:
        return (asyncio.get_running_loop().time() - started) * 1000.0

    async def _run(self, response_id: str | None, call_id: str, name: str, arguments: str) -> None:
        host = self._host
        agent = host.agent
        started = asyncio.get_running_loop().time()
        try:
            await host.emit(ToolCallStarted(call_id, name, arguments, agent.name))
            target = agent.find_handoff(name)
            if target is not None:
                self._handoff = target
                output = json.dumps({"transferred_to": target.name})
                await host.emit(ToolCallFinished(call_id, name, output, 0.0))
            else:
                output = await self._invoke(agent, call_id, name, arguments, started)
            try:
                await host.send(CreateItem(FunctionCallOutputItem(call_id, output)))
            except Exception as exc:
                # Not silent: the app hears which call's output was lost, then the session
                # fails (the supervisor turns the exception into a fatal SessionError).
                error = f"the output could not be sent: {type(exc).__name__}: {exc}"
                await host.emit(ToolCallFailed(call_id, name, error, self._ms(started)))
                raise
        except asyncio.CancelledError:
            await host.emit(
                ToolCallFailed(call_id, name, "cancelled: the user interrupted", self._ms(started))
            )
            self._forget(call_id)
            await host.emit_if_idle()
            raise
        finally:
            self._forget(call_id)
        record = host.protocol.responses.get(response_id)
        if record is not None:
            self.continue_if_due(record)
        await host.emit_if_idle()

    async def _invoke(
        self, agent: Agent, call_id: str, name: str, arguments: str, started: float
    ) -> str:
        host = self._host
        tool = agent.find_tool(name)
        if tool is None:
            error = f"unknown tool {name!r}; available: {[t.name for t in agent.function_tools()]}"
            await host.emit(ToolCallFailed(call_id, name, error, self._ms(started)))
            return json.dumps({"error": error})
        if tool.needs_approval:
            waiter: asyncio.Future[tuple[bool, str | None]] = (
                asyncio.get_running_loop().create_future()
            )
            self._approvals[call_id] = waiter
            await host.emit(ApprovalRequired(call_id, name, arguments))
            try:
                ok, reason = await waiter
            finally:
                self._approvals.pop(call_id, None)
            if not ok:
                error = f"the user rejected this call{': ' + reason if reason else ''}"
                await host.emit(ToolCallFailed(call_id, name, error, self._ms(started)))
                return json.dumps({"error": error})
        from realtalk.tools import ToolContext

        context = ToolContext(call_id, name, {"agent": agent.name, **host.tool_context()})
        result = await tool.invoke(arguments, context=context)
        if result.is_error:
            await host.emit(
                ToolCallFailed(call_id, name, _error_text(result.output), result.duration_ms)
            )
        else:
            await host.emit(ToolCallFinished(call_id, name, result.output, result.duration_ms))
        return result.output

    def continue_if_due(self, record: ResponseRecord) -> None:
        """When ``record`` is done and every tool answered, start its follow-up (a task: it may
        wait for the server, which only the reader can read)."""
        rid = record.response_id
        if not record.follow_up_due or rid in self._following:
            return
        self._following.add(rid)
        self._host.spawn(self._follow_up(record), f"realtalk-follow-up-{rid}")

    async def _follow_up(self, record: ResponseRecord) -> None:
        host = self._host
        target, self._handoff = self._handoff, None
        try:
            if target is not None and target is not host.agent:
                try:
                    await host.switch_agent(target)
                except (RealtalkError, TimeoutError) as exc:
                    await host.emit(
                        SessionError(f"handoff to {target.name} failed: {exc}", "handoff_failed")
                    )
            if host.auto_respond_after_tools and not record.stopped:
                await host.send(CreateResponse())
        finally:
            # Cleared only once the follow-up is queued in the protocol, so the session never
            # looks idle between a tool's answer and the response that uses it.
            self._following.discard(record.response_id)
            host.protocol.follow_up_sent(record)
        await host.emit_if_idle()


def _error_text(output: str) -> str:
    """The message inside a tool's ``{"error": ...}`` output, for the app's event."""
    try:
        data = json.loads(output)
    except ValueError:
        return output
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return output
