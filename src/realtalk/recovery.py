"""Reconnect and recycle, the asyncio half: a session's connection moves
connected -> reconnecting -> restoring -> connected, and back to work as if nothing happened.

:class:`Recovery` belongs to one :class:`~realtalk.session.Session`. The session tells it what
it sends (:meth:`Recovery.sent`) and what it receives (:meth:`Recovery.observe`, which also
swallows the server's echoes of a restore), and hands it a lost connection
(:meth:`Recovery.take_over`). The recovery then, under the session's supervisor:

1. moves the link to RECONNECTING (the app's sends wait) and asks the protocol what the lost
   connection left unfinished (:meth:`~realtalk.protocol.ClientProtocol.new_connection`);
2. opens new connections with backoff and jitter (:class:`~realtalk.reconnect.Reconnect`)
   until one gives a ``session.created``, emitting ``Reconnecting(attempt, reason)``;
3. RESTORING: sends the one config diff from the new ``session.created`` to the effective
   config, replays the conversation (:func:`~realtalk.reconnect.plan_replay`), waits for the
   server to show each item back, re-sends what was never confirmed, puts back the user audio
   of a turn under way, and emits ``Reconnected(replayed, lost)``.

Giving up (attempts exhausted, an auth error) is a fatal ``SessionError`` naming what could
not be replayed. The history the app sees stays the same items with the same ids throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from realtalk import events as ev
from realtalk.commands import (
    AppendAudio,
    ClearAudio,
    ClientCommand,
    CommitAudio,
    CreateItem,
    CreateResponse,
    DeleteItem,
    RetrieveItem,
    TruncateItem,
)
from realtalk.config import UnsetType
from realtalk.config_parts import AudioFormat
from realtalk.errors import (
    ConnectionClosed,
    HandshakeError,
    RealtalkError,
    ServerError,
    TransportError,
)
from realtalk.items import Item
from realtalk.reconnect import (
    Lost,
    Outbox,
    Reconnect,
    UserAudio,
    classify_close,
    classify_error,
    plan_replay,
)
from realtalk.supervisor import Link

if TYPE_CHECKING:
    from realtalk.session import Session

__all__ = ["Recovery", "recovery_for", "resolve_policy"]

_AUTH_STATUSES = frozenset({401, 403})


def resolve_policy(option: object, provider_name: str) -> Reconnect | None:
    """``SessionOptions.reconnect`` as a policy: ``"auto"`` is on for remote providers, over
    WebSocket and over WebRTC alike, and off for the in-process local server (a test that wants
    it there passes ``Reconnect()``).

    WebRTC follows WebSocket because a lost call is recovered the same way a lost socket is: a
    new call is offered to the same provider with the session's config (the multipart
    ``session`` part or a freshly minted secret, as on the first offer), its media tracks are
    new with it, and the conversation is replayed over its data channel. Every provider with a
    WebRTC route (OpenAI GA, Azure GA, Azure preview) takes a new offer and client-created
    items, so none is left out. A hangup is never reconnected (see
    :mod:`realtalk.transports.webrtc`: a closed call is 1000, a failed one 1006)."""
    if option == "auto":
        if provider_name == "local":
            return None
        return Reconnect()
    if option is None or isinstance(option, Reconnect):
        return option
    raise TypeError(f"SessionOptions.reconnect must be a Reconnect, None or 'auto', not {option!r}")


def recovery_for(session: Session) -> Recovery | None:
    """The session's recovery, or None when reconnecting is off for it."""
    policy = resolve_policy(session.options.reconnect, session.provider.name)
    if policy is None:
        return None
    server = getattr(session.provider, "server_options", None) or {}
    cap = server.get("max_session_s")  # a local server started with its own session cap
    return Recovery(session, policy, cap=cap if isinstance(cap, int | float) else None)


class _Retry(Exception):
    """The connection being restored was lost too: try again."""


@dataclass(slots=True)
class _Restore:
    """One restore in flight: the replayed items the server has still to show back."""

    waiting: dict[str, str] = field(default_factory=dict)  # event_id -> source item id
    order: list[str] = field(default_factory=list)  # source ids not yet shown, in send order
    originals: dict[str, Item] = field(default_factory=dict)
    lost: list[Lost] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    broken: ConnectionClosed | None = None


class Recovery:
    """The reconnect and recycle machinery of one session (see the module docstring)."""

    def __init__(
        self,
        session: Session,
        policy: Reconnect,
        *,
        cap: float | None = None,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        self._session = session
        self.policy = policy
        self._random = random_source
        self._recycle_after = policy.recycle_seconds(session.provider.name, cap)
        self.connected = asyncio.Event()
        """Set while a connection is usable; clear while reconnecting or restoring."""
        self.connected.set()
        self.usable = True
        """``connected.is_set()`` as a plain attribute, moved with it (:meth:`_set_usable`):
        the send path reads it per chunk, and ``is_set`` is a Python call."""
        self._restore: _Restore | None = None
        self._lost_again = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._cut_outputs: dict[str, list[str]] = {}  # response id -> its output item ids
        self._speaking = False
        self._commit_sent = False  # a commit sent and not yet answered with committed
        self._recycle_due = False
        self._connected_at = asyncio.get_running_loop().time()
        self.outbox = Outbox()
        self.audio = UserAudio(48.0, policy.max_audio_bytes if policy.replay_audio else 0)
        self._originals: dict[str, Item] = {}  # replayed item id -> the app's copy
        self._renamed: set[str] = set()  # ids the server gave replays instead of ours
        self.id_map: dict[str, str] = {}
        """Original item id -> the id the current server session gave its replay (when the
        server did not keep the id)."""
        self.reconnects = 0
        """Completed reconnects and recycles."""

    # -- what the session reports ----------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def sent(self, command: ClientCommand) -> ClientCommand:
        """Called for each command the app or the runtime sends; returns it with any item id
        of an earlier session mapped to the current one."""
        match command:
            case AppendAudio(audio=audio):  # (Session._append calls audio.appended itself)
                self.audio.appended(audio)
            case ClearAudio():
                self.audio.cleared()
            case CreateItem(item=item, previous_item_id=prev):
                if prev is not None and prev in self.id_map:
                    command = replace(command, previous_item_id=self.id_map[prev])
                self.outbox.sent(CreateItem(item))
            case (
                TruncateItem(item_id=item_id)
                | DeleteItem(item_id=item_id)
                | RetrieveItem(item_id=item_id)
            ) if item_id in self.id_map:
                command = replace(command, item_id=self.id_map[item_id])
            case CommitAudio():
                self._commit_sent = True
            case _:
                pass
        return command

    def observe(self, event: Any) -> bool:
        """Called for each received event before it is handled; True means swallow it (the
        server showing back an item of the restore)."""
        match event:
            case ev.SessionCreated(config=config) | ev.SessionUpdated(config=config):
                vad = config.turn_detection
                if not isinstance(vad, UnsetType):
                    self.audio.vad_configured(vad is not None)  # bounds the audio kept
                fmt = config.input_format
                if isinstance(fmt, AudioFormat):  # VAD marks are ms: slice the wire bytes by it
                    width = 2 if fmt.encoding == "pcm16" else 1
                    self.audio.set_rate(fmt.bytes_per_second / 1000.0, width)
            case ev.SpeechStarted(audio_start_ms=start):
                self._speaking = True
                self.audio.speech_started(start)
            case ev.SpeechStopped(audio_end_ms=end):
                self._speaking = False
                self.audio.speech_stopped(end)
            case ev.InputAudioCommitted(item_id=item_id):
                self._speaking = False
                self._commit_sent = False
                self.audio.committed(item_id)
            case ev.OutputItemAdded(response_id=rid, item=item) if item.id is not None:
                self._cut_outputs.setdefault(rid, []).append(item.id)
            case ev.ResponseDone(response=response):
                self._cut_outputs.pop(response.id, None)
            case ev.ItemAdded(item=item) | ev.ItemDone(item=item):
                if self._echo(self._restore, item, event):
                    return True
                self.outbox.seen(item)
            case ev.ErrorEvent(error=error) if self._restore is not None:
                restore = self._restore
                source = restore.waiting.pop(error.event_id or "", None)
                if source is not None:
                    restore.lost.append(Lost(source, f"the server refused it: {error.message}"))
                    if source in restore.order:
                        restore.order.remove(source)
                    if not restore.order:
                        restore.done.set()
                    return True
        return False

    def _echo(self, restore: _Restore | None, item: Item, event: Any) -> bool:
        """True when ``item`` is the server showing back a replayed item (then the app's
        history keeps its own copy)."""
        item_id = item.id
        conversation = self._session.conversation
        if item_id is not None and item_id in self._originals:
            entry = conversation.get(item_id)
            if entry is not None:
                entry.item = self._originals[item_id]
            if restore is not None:
                self._shown(restore, item_id)
            return True
        if item_id is not None and item_id in self._renamed:
            conversation.apply(ev.ItemDeleted(item_id))
            return True
        if restore is None:
            return False
        if item_id is not None and restore.order and isinstance(event, ev.ItemAdded):
            # The server gave the replay an id of its own: the echoes come in send order.
            source = restore.order[0]
            self.id_map[source] = item_id
            self._renamed.add(item_id)
            conversation.apply(ev.ItemDeleted(item_id))
            self._shown(restore, source)
            return True
        return False

    @staticmethod
    def _shown(restore: _Restore, source: str) -> None:
        """The server showed back replayed item ``source``."""
        if source in restore.order:
            restore.order.remove(source)
            for event_id, waiting in list(restore.waiting.items()):
                if waiting == source:
                    del restore.waiting[event_id]
        if not restore.order:
            restore.done.set()

    # -- taking over a lost connection -----------------------------------------------------------

    def worth_it(self, exc: ConnectionClosed, last_error: Any) -> str | None:
        """Why a new connection should be tried for this loss, or None when it would not help."""
        code = getattr(last_error, "code", None)
        verdict = classify_error(code)
        if verdict == "fatal":
            return None
        if verdict == "recycle":
            return f"the server ended the session ({code})"
        if classify_close(exc.code) == "fatal":
            return None
        reason = exc.reason or "no reason given"
        return f"connection lost (code {exc.code}: {reason})"

    def take_over(self, reason: str, *, recycled: bool = False) -> None:
        """Start the reconnect (the session's link is CONNECTED or RESTORING)."""
        restore = self._restore
        if restore is not None and restore.broken is None:
            # Lost while restoring: the restore in flight gives up and the loop tries again.
            restore.broken = ConnectionClosed(1006, reason)
            restore.done.set()
            return
        if self.active:
            self._lost_again.set()  # e.g. while the restored config waits for its answer
            return
        self._task = self._session.spawn(self._run(reason, recycled), "realtalk-reconnect")

    async def wait_connected(self) -> None:
        """Wait while the session reconnects or restores (the app's sends queue up here)."""
        await self.connected.wait()

    def connecting(self) -> bool:
        return not self.usable

    def _set_usable(self, usable: bool) -> None:
        self.usable = usable
        if usable:
            self.connected.set()
        else:
            self.connected.clear()

    # -- recycling before the provider's cap -------------------------------------------------------

    def started(self) -> None:
        """A connection is in use: start counting towards the recycle."""
        loop = asyncio.get_running_loop()
        self._connected_at = loop.time()
        self._recycle_due = False
        if self._recycle_after is not None:
            self._session.spawn(self._recycle_timer(self._recycle_after), "realtalk-recycle")

    async def _recycle_timer(self, after: float) -> None:
        started = self._connected_at
        await asyncio.sleep(after)
        if started != self._connected_at or self._session.closed:
            return  # a reconnect came first and started a new count
        self._recycle_due = True
        self.maybe_recycle()

    def maybe_recycle(self) -> None:
        """Recycle now if it is due and this is a turn boundary (nothing under way, nobody
        speaking). Called by the timer and whenever the session becomes idle."""
        session = self._session
        if (
            not self._recycle_due
            or self.active
            or self._speaking
            or not session.idle
            or session.state is not Link.CONNECTED
        ):
            return
        self._recycle_due = False
        self.take_over("recycling the session before the provider's cap", recycled=True)

    # -- the reconnect itself ----------------------------------------------------------------------

    async def _run(self, reason: str, recycled: bool) -> None:
        session = self._session
        self._set_usable(False)
        session._link.move(Link.RECONNECTING)
        # A recycle closes a live connection; a lost one may still hold resources (a WebRTC
        # call whose data channel closed keeps its peer connection): close it either way.
        await self._drop_transport(
            "recycling the session" if recycled else "the connection was lost"
        )
        loss = session._proto.new_connection()
        cut = [rid for rid, _ in loss.cut]
        if loss.dropped_calls:
            session._tools.cancel(list(loss.dropped_calls))
        for rid in cut:
            for item_id in self._cut_outputs.pop(rid, []):
                session.conversation.apply(ev.ItemDeleted(item_id))
        resend: list[ClientCommand] = [
            replace(command, item=replace(command.item, id=None))
            for command in self.outbox.unconfirmed()
        ]
        self.outbox.clear()
        requests = [request for _, request in loss.cut]
        if loss.requested is not None:
            requests.insert(0, loss.requested)
        if requests:
            resend.append(requests[0] or CreateResponse())
        pending_audio = self.audio.pending_turn()
        pending_dropped = self.audio.pending_dropped
        commit = self._commit_sent
        self._commit_sent = False
        pending_updates = loss.pending_updates
        attempt = 0
        failure: RealtalkError | None = None
        while attempt < self.policy.max_attempts:
            attempt += 1
            delay = 0.0 if recycled and attempt == 1 else self.policy.delay(attempt, self._random)
            await session.emit(ev.Reconnecting(attempt, reason, delay))
            await asyncio.sleep(delay)
            try:
                await self._reopen()
            except HandshakeError as exc:
                failure = exc
                if exc.status in _AUTH_STATUSES:
                    break  # a new try gets the same answer
                reason = str(exc)
                continue
            except ServerError as exc:
                # A refused WebRTC offer (the calls route answers over HTTP): the service's
                # error code decides, as a server error does on a WebSocket.
                failure = TransportError(str(exc))
                if classify_error(exc.code) == "fatal" or exc.code in ("401", "403"):
                    break
                reason = str(exc)
                continue
            except (TransportError, TimeoutError) as exc:
                failure = exc if isinstance(exc, TransportError) else TransportError(str(exc))
                reason = str(failure)
                continue
            session._link.move(Link.RESTORING)
            try:
                replayed, lost = await self._restore_on_new_connection(
                    resend, pending_audio, commit
                )
            except _Retry as exc:
                failure = ConnectionClosed(1006, str(exc))
                reason = f"lost again while restoring: {exc}"
                session._link.move(Link.RECONNECTING)
                # Forget that connection's half-done round trips; what to re-send stays.
                again = session._proto.new_connection()
                pending_updates = pending_updates + again.pending_updates
                continue
            if pending_dropped:
                lost = [*lost, _turn_cut(pending_dropped, self.audio.bytes_per_ms)]
            session._link.move(Link.CONNECTED)
            self.reconnects += 1
            self._set_usable(True)
            self.started()
            session._config.settle_lost(pending_updates)
            await session.emit(
                ev.Reconnected(
                    replayed,
                    tuple(str(item) for item in lost),
                    session.session_id,
                    len(resend),
                    recycled,
                )
            )
            if cut:
                await session.emit(session._history_event(None))  # the cut reply left it
            await session.emit_if_idle()
            return
        await self._give_up(attempt, failure)

    async def _reopen(self) -> None:
        """A new connection for the same conversation: open it, read it, wait for its
        ``session.created``. Raises TransportError (HandshakeError, ConnectionClosed) or
        TimeoutError."""
        session = self._session
        session._created = asyncio.get_running_loop().create_future()
        session._last_error = None
        transport = await session._connect_transport()
        session._attach(transport)
        try:
            await asyncio.wait_for(
                asyncio.shield(session._created), session.options.connect_timeout
            )
        except BaseException:
            with contextlib.suppress(RealtalkError, OSError):
                await transport.close()
            raise

    async def _drop_transport(self, reason: str) -> None:
        """Close the current connection (a recycle, or what is left of a lost one) and wait
        for its reader."""
        transport, reader = self._session._transport, self._session._reader
        if transport is not None:
            with contextlib.suppress(RealtalkError, OSError):
                await transport.close(1000, reason)
        if reader is not None and reader is not asyncio.current_task():
            await asyncio.wait({reader})

    async def _give_up(self, attempts: int, failure: RealtalkError | None) -> None:
        session = self._session
        history = session.history
        kept = ", ".join(i.id or "?" for i in history[-5:])
        why = f": {failure}" if failure is not None else ""
        message = (
            f"could not reconnect after {attempts} attempt(s){why}; not replayed: the whole "
            f"conversation ({len(history)} items{', the last ' + kept if kept else ''})"
        )
        error = ConnectionClosed(1006, message)
        self._set_usable(True)  # waiting senders wake up and see the session ending
        session._fail(ev.SessionError(message, "reconnect_failed", True, None, error), error)

    async def _restore_config(self) -> None:
        """The one diff from the new session's defaults to the effective config, answered or
        given up on when this connection is lost too."""
        session = self._session
        sync = asyncio.ensure_future(
            session._config.sync(raise_errors=False, hold_back_voice=False)
        )
        lost = asyncio.ensure_future(self._lost_again.wait())
        try:
            await asyncio.wait({sync, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not sync.done():
                sync.cancel()
            await asyncio.gather(sync, lost, return_exceptions=True)
        if self._lost_again.is_set() or sync.cancelled():
            raise _Retry("the connection was lost while the configuration was restored")
        try:
            sync.result()
        except TimeoutError:
            await session.emit(
                ev.SessionWarning("the server did not confirm the restored configuration")
            )
        except ConnectionClosed as exc:
            raise _Retry(str(exc)) from None

    async def _restore_on_new_connection(
        self, resend: list[ClientCommand], pending_audio: bytes, commit: bool
    ) -> tuple[int, list[Lost]]:
        session = self._session
        proto = session._proto
        self._lost_again.clear()
        self.audio.new_connection()
        self.id_map.clear()
        self._renamed.clear()
        self._originals.clear()
        self._cut_outputs.clear()
        await self._restore_config()
        entries = {e.item_id: e for e in session.conversation.entries()}
        transcripts = {
            i: e.transcript or e.text for i, e in entries.items() if e.transcript or e.text
        }
        plan = plan_replay(
            session.history,
            transcripts=transcripts,
            user_audio=self.audio.items(),
            max_audio_bytes=min(self.policy.max_audio_bytes, 11 * 1024 * 1024),
        )
        restore = _Restore()
        restore.lost.extend(plan.lost)
        for step in plan.items:
            assert step.source_id is not None
            original = entries[step.source_id].item
            assert original is not None
            restore.originals[step.source_id] = original
            self._originals[step.source_id] = original
            restore.order.append(step.source_id)
        self._restore = restore
        try:
            for step in plan.items:
                event_id = proto.send(step.command)
                assert step.source_id is not None
                restore.waiting[event_id] = step.source_id
            await session._flush()
            if restore.order:
                try:
                    await asyncio.wait_for(restore.done.wait(), session.options.update_timeout)
                except TimeoutError:
                    restore.lost.extend(
                        Lost(i, "the server did not show it back in time") for i in restore.order
                    )
            if restore.broken is not None:
                raise _Retry(str(restore.broken))
        except ConnectionClosed as exc:
            raise _Retry(str(exc)) from None
        finally:
            self._restore = None
            for source, item in restore.originals.items():
                entry = session.conversation.get(source)
                if entry is not None:
                    entry.item = item  # the app's history keeps its own items
        # In the order they were meant: items, the user's turn under way, then the response.
        for command in resend:
            if isinstance(command, CreateItem):
                self.outbox.sent(command)
                proto.send(command)
        if pending_audio:
            # The turn the user was saying when the connection went: the new session hears it.
            self.audio.appended(pending_audio)
            proto.send(AppendAudio(pending_audio))
        if commit:
            self._commit_sent = True
            proto.send(CommitAudio())
        for command in resend:
            if not isinstance(command, CreateItem):
                proto.send(command)
        await session._flush()
        replayed = len(plan.items) - sum(
            1 for lost in restore.lost if lost.what in restore.originals
        )
        return replayed, restore.lost


def _turn_cut(dropped: int, bytes_per_ms: float) -> Lost:
    seconds = dropped / bytes_per_ms / 1000.0
    return Lost(
        "the user's turn under way",
        f"its first {seconds:.1f} s were not kept: a turn keeps its last 15 MiB of audio for a "
        "reconnect (what one input_audio_buffer.append may carry)",
    )
