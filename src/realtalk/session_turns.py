"""A turn's end and the one stop-response path of a :class:`~realtalk.session.Session`.

``response.done`` bookkeeping (metrics, the final guardrail verdict, the follow-up after tools,
``SessionIdle``), and stopping a response: ``interrupt()``, barge-in and a guardrail trip all
go through :func:`stop`. These functions are Session methods, defined here and bound in the
class body (``Session._stop`` is :func:`stop`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realtalk import events as ev
from realtalk.events import Event
from realtalk.guardrails import GuardrailFailed, GuardrailOutcome, GuardrailRunner
from realtalk.responses import ResponseRecord, turn_metrics

if TYPE_CHECKING:
    from realtalk.session import Session


async def on_response_done(self: Session, event: ev.ResponseDone) -> None:
    response = event.response
    rid = response.id
    self._last_response_id = rid
    record = self._proto.responses.lookup(rid)
    if record is not None and record.verdict_pending:
        if record.stopped or not self._guards:
            self._tasks.spawn(self._guards.discard(rid), "realtalk-guardrail-discard")
            self._proto.verdict_in(record)
        else:
            # The complete reply is judged too, however short; SessionIdle waits for it.
            self._tasks.spawn(self._final_verdict(record), "realtalk-guardrail-final")
    # Metrics first: an app that stops reading at ResponseDone still gets them.
    started = self._turn_started_at
    if started is not None:
        await self._emit(turn_metrics(rid, record, started, self._loop.time(), response.usage))
    await self._emit(event)
    await self._emit(self._history_event(None))
    if record is not None:
        self._tools.continue_if_due(record)
    await self.emit_if_idle()


async def stop(
    self: Session,
    response_id: str | None,
    reason: str,
    *,
    cancel: bool,
    turn: bool,
    first: Event | None = None,
) -> ev.Interrupted:
    """The one stop-response path. Stops ``response_id`` (sending ``response.cancel`` if
    ``cancel`` and it is still produced), and with ``turn`` every response of the turn still
    waiting on tools; cancels their tool calls, truncates what is playing, emits ``first``
    (if any) and ``Interrupted``; ``SessionIdle`` follows once the turn is over."""
    self._stopping += 1
    try:
        targets = [response_id] if response_id is not None else []
        if turn:
            targets += [
                r.response_id
                for r in self._proto.responses
                if not r.stopped and (r.tool_calls or r.follow_up)
            ]
        for rid in dict.fromkeys(targets):
            self._tools.cancel(self._proto.stop_response(rid, cancel=cancel))
        await self._flush()
        item_id, end_ms = await self._truncate_playing()
        if first is not None:
            await self._emit(first)
        event = ev.Interrupted(response_id, item_id, end_ms, reason)
        await self._emit(event)
    finally:
        self._stopping -= 1
    await self.emit_if_idle()
    return event


async def truncate_playing(self: Session) -> tuple[str | None, int | None]:
    item_id, end_ms = self.playback.cut_point(self._proto.conversation)
    if item_id is not None and end_ms is not None:
        self._proto.truncate(item_id, end_ms)
        await self._flush()
        self.playback.forget(item_id)
    return item_id, end_ms


async def on_barge_in(self: Session) -> None:
    """Server VAD heard the user: stop what the assistant is saying, like interrupt()."""
    response_id = self._proto.active_response_id
    playing = self.playback.current_item_id is not None and self.playback.is_playing()
    open_turn = any(r.tool_calls or r.follow_up for r in self._proto.responses)
    if response_id is None and not playing and not open_turn:
        return
    vad = self._proto.confirmed.turn_detection if self._proto.confirmed else None
    server_cancels = bool(vad) and getattr(vad, "interrupt_response", True) is not False
    await self._stop(response_id, "barge-in", cancel=not server_cancels, turn=True)


def make_guardrail_runner(self: Session) -> GuardrailRunner:
    guards = tuple(self._guardrail_list) + tuple(self.agent.output_guardrails)
    return GuardrailRunner(guards, on_outcome=self._on_guardrail_outcome, spawn=self.spawn)


async def final_verdict(self: Session, record: ResponseRecord) -> None:
    try:
        await self._guards.finish(record.response_id, record.text)
    finally:
        self._proto.verdict_in(record)
    await self.emit_if_idle()


async def on_guardrail_outcome(self: Session, outcome: GuardrailOutcome) -> None:
    if isinstance(outcome, GuardrailFailed):
        await self._emit(
            ev.SessionError(
                f"guardrail {outcome.name} failed: {outcome.message}", "guardrail_failed"
            )
        )
        return
    rid = outcome.response_id
    record = self._proto.responses.get(rid)
    if record is None or record.stopped or self._link.ending:
        return
    tripped = ev.GuardrailTripped(outcome.name, rid, outcome.text, outcome.info)
    await self._stop(rid, f"guardrail:{outcome.name}", cancel=True, turn=False, first=tripped)
