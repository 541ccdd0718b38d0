"""Tool calls of a session: running them, approvals, handoffs, and the follow-up response.

A response may call several tools; each runs in its own task so the event stream never waits.
When the response is done and every call has answered, the model is asked to go on (after
switching agents if a handoff tool was called). Interruption cancels the calls of the response
it interrupts.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from realtalk.commands import CreateItem, CreateResponse
from realtalk.errors import ConnectionClosed, InvalidState, RealtalkError
from realtalk.events import (
    ApprovalRequired,
    SessionError,
    ToolCallFailed,
    ToolCallFinished,
    ToolCallStarted,
)
from realtalk.items import FunctionCallOutputItem

if TYPE_CHECKING:
    from realtalk.agent import Agent
    from realtalk.session import Session

__all__ = ["ToolCalls"]


class ToolCalls:
    """The tool calls in flight for one :class:`~realtalk.session.Session`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._tasks: dict[str, tuple[str | None, asyncio.Task[None]]] = {}
        self._approvals: dict[str, asyncio.Future[tuple[bool, str | None]]] = {}
        self._pending: dict[str, int] = {}
        """Per response: tool outputs still to come. The key stays (at 0) until the follow-up
        response is queued, so the session never looks idle in between."""
        self.done_responses: set[str] = set()
        self._handoff: Agent | None = None

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._pending or self._handoff is not None)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [task for _, task in self._tasks.values()]

    def start(self, response_id: str | None, call_id: str, name: str, arguments: str) -> None:
        task = asyncio.create_task(
            self._run(response_id, call_id, name, arguments), name=f"realtalk-tool-{name}"
        )
        self._tasks[call_id] = (response_id, task)
        if response_id is not None:
            self._pending[response_id] = self._pending.get(response_id, 0) + 1

    def cancel(self, response_id: str | None = None) -> None:
        """Cancel the calls of ``response_id`` (every call when None)."""
        for call_id, (rid, task) in list(self._tasks.items()):
            if response_id is None or rid == response_id:
                task.cancel()
                self._tasks.pop(call_id, None)
                waiter = self._approvals.pop(call_id, None)
                if waiter is not None and not waiter.done():
                    waiter.cancel()

    def resolve_approval(self, call_id: str, ok: bool, reason: str | None) -> None:
        waiter = self._approvals.get(call_id)
        if waiter is None:
            raise InvalidState(f"no tool call {call_id!r} is waiting for approval")
        if not waiter.done():
            waiter.set_result((ok, reason))

    def _ms(self, started: float) -> float:
        return (asyncio.get_running_loop().time() - started) * 1000.0

    async def _run(self, response_id: str | None, call_id: str, name: str, arguments: str) -> None:
        session = self._session
        agent = session.agent
        started = asyncio.get_running_loop().time()
        try:
            await session._emit(ToolCallStarted(call_id, name, arguments, agent.name))
            target = agent.find_handoff(name)
            if target is not None:
                self._handoff = target
                output = json.dumps({"transferred_to": target.name})
                await session._emit(ToolCallFinished(call_id, name, output, 0.0))
            else:
                output = await self._invoke(agent, call_id, name, arguments, started)
            await session._send(CreateItem(FunctionCallOutputItem(call_id, output)))
        except asyncio.CancelledError:
            await session._emit(
                ToolCallFailed(call_id, name, "cancelled: the user interrupted", self._ms(started))
            )
            raise
        except (ConnectionClosed, InvalidState):
            return
        finally:
            self._tasks.pop(call_id, None)
            if response_id is not None:
                self._pending[response_id] = self._pending.get(response_id, 1) - 1
        if response_id is not None:
            await self.maybe_continue(response_id)
            await session._emit_if_idle(response_id)

    async def _invoke(
        self, agent: Agent, call_id: str, name: str, arguments: str, started: float
    ) -> str:
        session = self._session
        tool = agent.find_tool(name)
        if tool is None:
            error = f"unknown tool {name!r}; available: {[t.name for t in agent.function_tools()]}"
            await session._emit(ToolCallFailed(call_id, name, error, self._ms(started)))
            return json.dumps({"error": error})
        if tool.needs_approval:
            waiter: asyncio.Future[tuple[bool, str | None]] = (
                asyncio.get_running_loop().create_future()
            )
            self._approvals[call_id] = waiter
            await session._emit(ApprovalRequired(call_id, name, arguments))
            try:
                ok, reason = await waiter
            finally:
                self._approvals.pop(call_id, None)
            if not ok:
                error = f"the user rejected this call{': ' + reason if reason else ''}"
                await session._emit(ToolCallFailed(call_id, name, error, self._ms(started)))
                return json.dumps({"error": error})
        from realtalk.tools import ToolContext

        context = ToolContext(call_id, name, {"agent": agent.name, "session": session})
        result = await tool.invoke(arguments, context=context)
        if result.is_error:
            await session._emit(
                ToolCallFailed(call_id, name, _error_text(result.output), result.duration_ms)
            )
        else:
            await session._emit(ToolCallFinished(call_id, name, result.output, result.duration_ms))
        return result.output

    async def maybe_continue(self, response_id: str) -> None:
        """After a response's tool calls all answered (and it is done), let the model go on."""
        session = self._session
        if self._pending.get(response_id, 1) > 0:
            return  # no tool calls in this response, or some still running
        if response_id not in self.done_responses or session.dropped(response_id):
            return
        target = self._handoff
        try:
            if target is not None and target is not session.agent:
                try:
                    await session.switch_agent(target)
                except RealtalkError as exc:
                    await session._emit(SessionError(f"handoff to {target.name} failed: {exc}"))
            if session.options.auto_respond_after_tools and not session.closed:
                session._proto.send(CreateResponse())
        finally:
            # Cleared only once the follow-up is queued in the protocol, so `idle` never
            # reads True between a tool's answer and the response that uses it.
            self._handoff = None
            self._pending.pop(response_id, None)
        await session._flush()


def _error_text(output: str) -> str:
    """The message inside a tool's ``{"error": ...}`` output, for the app's event."""
    try:
        data = json.loads(output)
    except ValueError:
        return output
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return output
