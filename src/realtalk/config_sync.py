"""What a session is configured to be, and the round trips that make the server agree.

:class:`ConfigSync` holds the layers (provider defaults < Runner < current Agent < run-time
``session.update``), the effective config merged from them, and the ``session.update``s in
flight: each is sent as the diff against what the server confirmed and waited for by its
``event_id`` (an update the ``on_send`` hook dropped is not waited for). The waiting happens in
the caller's task (the app's, or a handoff's follow-up task), never in the reader: the reader
only hands over the protocol's :class:`~realtalk.protocol.UpdateOutcome`s via :meth:`settle`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from realtalk.commands import UpdateSession
from realtalk.config import UNSET, Effective, Layer, SessionConfig, diff, is_set, merge, overlay
from realtalk.errors import InvalidState, ServerError
from realtalk.events import Event, SessionError, SessionWarning
from realtalk.protocol import ClientProtocol, UpdateOutcome

if TYPE_CHECKING:
    from realtalk.agent import Agent
    from realtalk.providers import Provider

__all__ = ["ConfigSync", "merge_layers"]


def merge_layers(
    provider: Provider, runner_config: SessionConfig, agent: Agent, runtime: SessionConfig
) -> Effective:
    """The one precedence rule, for connect, handoff and ``Runner.explain`` alike: provider
    defaults < Runner < current Agent < run-time ``session.update``."""
    return merge(
        Layer("provider", provider.defaults()),
        Layer("runner", runner_config),
        Layer(f"agent:{agent.name}", agent.session_layer()),
        Layer("session.update", runtime),
    )


class ConfigSync:
    """The configuration layers of one session and its ``session.update`` round trips."""

    def __init__(
        self,
        provider: Provider,
        agent: Agent,
        runner_config: SessionConfig,
        *,
        proto: ClientProtocol,
        flush: Callable[[], Awaitable[None]],
        emit: Callable[[Event], Awaitable[None]],
        timeout: Callable[[], float],
        closed: Callable[[], bool],
    ) -> None:
        self.provider = provider
        self.agent = agent
        self._runner = runner_config
        self._runtime = SessionConfig()
        self._proto = proto
        self._flush = flush
        self._emit = emit
        self._timeout = timeout
        self._closed = closed
        self._waiters: dict[str, asyncio.Future[UpdateOutcome]] = {}
        self.effective = self._merge()

    def _merge(self) -> Effective:
        return merge_layers(self.provider, self._runner, self.agent, self._runtime)

    async def update(self, layer: SessionConfig) -> Effective:
        """Overlay a run-time layer and sync it; rolled back if it fails (ConfigError,
        ServerError, timeout)."""
        previous = self._runtime
        self._runtime = overlay(self._runtime, layer)
        try:
            self.effective = self._merge()
            await self.sync(raise_errors=True, hold_back_voice=False)
        except BaseException:
            self._runtime = previous
            self.effective = self._merge()
            raise
        return self.effective

    async def switch_agent(self, agent: Agent) -> SessionConfig:
        """Make ``agent`` the current layer and send what changes; returns that update.
        Rolled back if the server refuses it."""
        previous = self.agent
        self.agent = agent
        self.effective = self._merge()
        try:
            update = await self.next_update(hold_back_voice=True)
            await self.send_update(update, raise_errors=True)
        except BaseException:
            self.agent = previous
            self.effective = self._merge()
            raise
        return update

    async def sync(self, *, raise_errors: bool, hold_back_voice: bool = True) -> None:
        """Send the diff between the confirmed session and the effective config; wait for it.

        On connect and handoff a voice the server can no longer take is kept back with a
        warning; an explicit run-time ``update(voice=...)`` goes to the server, whose error is
        raised to the caller.
        """
        update = await self.next_update(hold_back_voice=hold_back_voice)
        await self.send_update(update, raise_errors=raise_errors)

    async def next_update(self, *, hold_back_voice: bool) -> SessionConfig:
        """The diff from the confirmed session to the effective config, voice held back if asked."""
        update = diff(self._proto.confirmed or SessionConfig(), self.effective.config)
        if hold_back_voice:
            update = await self._hold_back_voice(update)
        return update

    async def send_update(
        self, update: SessionConfig, *, raise_errors: bool
    ) -> SessionConfig | None:
        """Send ``update`` (if it says anything) and wait for the server's answer to it."""
        if not update.set_fields():
            return None
        if self._closed():
            raise InvalidState("the session is closed")
        event_id = self._proto.send(UpdateSession(update))
        if not self._proto.is_pending(event_id):
            await self._flush()  # dropped by on_send: there is no answer to wait for
            return None
        waiter: asyncio.Future[UpdateOutcome] = asyncio.get_running_loop().create_future()
        self._waiters[event_id] = waiter
        try:
            await self._flush()
            outcome = await asyncio.wait_for(waiter, self._timeout())
        finally:
            self._waiters.pop(event_id, None)
        if outcome.error is None:
            return outcome.config
        error = outcome.error
        exc = ServerError(
            error.message,
            code=error.code,
            type=error.type,
            param=error.param,
            event_id=error.event_id,
        )
        if raise_errors:
            raise exc
        # Not silent: the session goes on, but on the server's previous configuration.
        await self._emit(
            SessionError(
                f"the server rejected the session configuration, so the previous one stays "
                f"in force: {exc}",
                exc.code,
                error=error,
            )
        )
        return None

    def settle(self) -> None:
        """Hand the protocol's update outcomes to their waiters (called by the reader)."""
        for outcome in self._proto.update_outcomes():
            waiter = self._waiters.get(outcome.event_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(outcome)

    def settle_lost(self, event_ids: tuple[str, ...]) -> None:
        """Updates sent on a connection that was lost are answered by the restore, which sent
        the whole effective config again: their waiters get the confirmed config."""
        confirmed = self._proto.confirmed
        for event_id in event_ids:
            waiter = self._waiters.get(event_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(UpdateOutcome(event_id, config=confirmed))

    def fail_waiters(self, reason: str) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(InvalidState(reason))

    async def _hold_back_voice(self, update: SessionConfig) -> SessionConfig:
        if not is_set(update.voice):
            return update
        has_audio = any(e.audio_bytes for e in self._proto.conversation.entries())
        if not has_audio:
            return update
        await self._emit(
            SessionWarning(
                f"voice {update.voice!r} kept back: the server cannot change the voice once the "
                "assistant has spoken in this conversation",
                field="voice",
            )
        )
        return update.replace(voice=UNSET)
