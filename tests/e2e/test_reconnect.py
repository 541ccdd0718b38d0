"""Reconnect and recycle end to end: the SDK against the local server through the fault proxy,
over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import statistics
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.items import FunctionCallItem, FunctionCallOutputItem, Item, MessageItem
from realtalk.server.engines import Brain, BrainRequest, EngineSpec, load_engines
from realtalk.server.engines.base import Action

from ..samples import ga_session

FAST = rt.Reconnect(initial_delay=0.05, max_delay=0.5)


class RecordingBrain(Brain):
    """The scripted brain, keeping every request it was asked (what the model "heard")."""

    def __init__(self, inner: Brain) -> None:
        self.inner = inner
        self.requests: list[BrainRequest] = []

    def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        self.requests.append(request)
        return self.inner.respond(request)


def local(
    scenario: dict[str, Any] | None = None, **server: Any
) -> tuple[rt.providers.Local, RecordingBrain]:
    engines = load_engines(
        EngineSpec(
            vad="energy",
            transcriber="tone",
            synthesizer="tone",
            brain="script" if scenario else "echo",
            scenario=scenario,
        )
    )
    brain = RecordingBrain(engines.brain)
    return rt.providers.Local(engines=dataclasses.replace(engines, brain=brain), **server), brain


async def until_it_ends(session: rt.Session) -> tuple[list[ev.Event], rt.RealtalkError]:
    """Every event until the session ends, and what ``next_event`` raised then."""
    seen: list[ev.Event] = []
    while True:
        try:
            seen.append(await session.next_event(timeout=10))
        except rt.RealtalkError as exc:
            return seen, exc


def said(items: list[Item] | tuple[Item, ...]) -> list[tuple[str, ...]]:
    """The conversation without ids: what was said, by whom, in order."""
    out: list[tuple[str, ...]] = []
    for item in items:
        match item:
            case MessageItem(role=role):
                out.append((role, item.text))
            case FunctionCallItem(name=name, arguments=args):
                out.append(("call", name, args))
            case FunctionCallOutputItem(output=output):
                out.append(("output", output))
    return out


@pytest.mark.parametrize("flavor", ["openai", "azure", "azure-preview"])
async def test_a_cut_while_idle_reconnects_and_the_conversation_goes_on(flavor: str) -> None:
    provider, brain = local(flavor=flavor)
    options = rt.SessionOptions(reconnect=FAST)
    async with testing.FaultProxy() as proxy:
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            first_id = session.session_id
            await testing.run_turn(session, "one")
            await testing.run_turn(session, "two")
            before = said(session.history)
            ids = [i.id for i in session.history]
            proxy.cut("rst")
            events = await testing.collect(session, ev.Reconnected)
            done = events[-1]
            assert isinstance(done, ev.Reconnected)
            assert done.replayed == 4
            assert done.lost == ()
            assert [e.attempt for e in events if isinstance(e, ev.Reconnecting)] == [1]
            assert session.session_id not in (None, first_id)
            assert (
                session.state is rt.supervisor.Link.CONNECTED if hasattr(rt, "supervisor") else True
            )
            assert said(session.history) == before
            assert [i.id for i in session.history] == ids
            turn = await testing.run_turn(session, "three")
            assert "three" in turn.transcript
    # The model heard the whole conversation on the new connection.
    last = said(brain.requests[-1].items)
    assert last[:4] == before
    assert last[-1] == ("user", "three")
    assert proxy.accepted == 2


# -- the 20-turn conversation under 20 cuts and 5 stalls ----------------------------------------

SCENARIO = {
    "rules": [
        {
            "when": "weather in (?P<city>[a-z]+)",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "Here is the weather. {output}",
        },
        {"when": "billing", "call": "transfer_to_billing", "arguments": {}},
        {"say": "You said {text}. Noted."},
    ]
}

# (how the user speaks, what they say)
TURNS = [
    ("text", "hello there"),
    ("audio", "my name is ada"),
    ("text", "what is the weather in paris"),
    ("audio", "tell me about cats"),
    ("text", "and the weather in rome"),
    ("text", "one more thing"),
    ("audio", "i like green tea"),
    ("text", "the weather in oslo please"),
    ("text", "cats are nice"),
    ("audio", "what about dogs"),
    ("text", "i have a billing question"),
    ("text", "my invoice number is seven"),
    ("audio", "it was paid twice"),
    ("text", "can you check"),
    ("text", "thank you"),
    ("audio", "one last question"),
    ("text", "is it refunded"),
    ("text", "good to know"),
    ("audio", "have a nice day"),
    ("text", "goodbye"),
]


def _nth_delta(count: int) -> Callable[[str], bool]:
    """A trigger on the ``count``-th assistant audio delta from now: mid-response."""
    seen = 0

    def hit(message: str) -> bool:
        nonlocal seen
        if '"response.output_audio.delta"' in message:
            seen += 1
        return seen >= count

    return hit


def _created(message: str) -> bool:
    return '"response.created"' in message


def _update(message: str) -> bool:
    return '"session.update"' in message


def fault_plan(rng: random.Random) -> list[list[str]]:
    """Per turn, the faults: one cut each (20, at every kind of point) and 5 stalls."""
    plan: list[list[str]] = []
    for _, text in TURNS:
        if "weather" in text:
            plan.append(["mid_tool"])
        elif "billing" in text:
            plan.append(["handoff"])
        else:
            plan.append([rng.choice(["idle", "mid_response", "mid_response", "before_created"])])
    stallable = [i for i, (_, text) in enumerate(TURNS) if "billing" not in text]
    for index in rng.sample(stallable, 5):
        plan[index].insert(0, rng.choice(["stall_idle", "stall_mid_response"]))
    return plan


@dataclasses.dataclass
class Run:
    history: list[tuple[str, ...]]
    brain: RecordingBrain
    latencies: dict[str, list[float]]
    """Fault kind -> seconds from the fault to the Reconnected the app saw."""
    reconnects: int


async def converse(plan: list[list[str]] | None, seed: int) -> Run:
    """The 20-turn conversation, with the faults of ``plan`` (None: an uncut run)."""
    rng = random.Random(seed)
    provider, brain = local(SCENARIO)
    tool_running = asyncio.Event()

    @rt.function_tool
    async def get_weather(city: str) -> str:
        """Current weather for a city.

        Args:
            city: The city name.
        """
        tool_running.set()
        await asyncio.sleep(0.2)  # a cut lands while it runs
        return f"Sunny in {city.title()}."

    billing = rt.Agent("billing", instructions="You handle invoices.")
    concierge = rt.Agent(
        "concierge", instructions="You are a concierge.", tools=[get_weather], handoffs=[billing]
    )
    options = rt.SessionOptions(reconnect=FAST, keepalive_interval=0.2, keepalive_timeout=0.4)
    loop = asyncio.get_running_loop()
    latencies: dict[str, list[float]] = {}
    reconnects = 0
    async with testing.FaultProxy() as proxy:
        runner = rt.Runner(
            concierge,
            provider=provider,
            options=options,
            config=rt.SessionConfig(turn_detection=None),
            connector=proxy.connector,
        )
        async with runner.connect() as session:
            for index, (how, text) in enumerate(TURNS):
                faults: list[tuple[str, Any]] = []  # (kind, ScheduledFault or a time)
                for kind in plan[index] if plan is not None else []:
                    how_cut = rng.choice(["rst", "fin"])
                    if kind == "idle":
                        proxy.cut(how_cut)
                        faults.append((kind, loop.time()))
                    elif kind == "stall_idle":
                        proxy.stall()
                        faults.append((kind, loop.time()))
                    elif kind == "mid_response":
                        trigger = _nth_delta(rng.randint(1, 3))
                        faults.append((kind, proxy.schedule(how_cut, on_message=trigger)))
                    elif kind == "stall_mid_response":
                        trigger = _nth_delta(rng.randint(1, 2))
                        faults.append((kind, proxy.schedule("stall", on_message=trigger)))
                    elif kind == "before_created":
                        faults.append((kind, proxy.schedule(how_cut, on_message=_created)))
                    elif kind == "handoff":
                        update = proxy.schedule(how_cut, on_message=_update, direction="to_server")
                        faults.append((kind, update))
                    elif kind == "mid_tool":
                        tool_running.clear()

                        async def cut_while_the_tool_runs(how: str = how_cut) -> float:
                            await tool_running.wait()
                            proxy.cut(how)  # type: ignore[arg-type]
                            return loop.time()

                        faults.append((kind, asyncio.create_task(cut_while_the_tool_runs())))
                if how == "text":
                    await session.send_text(text)
                else:
                    await session.send_audio(testing.speak(text))
                    await session.commit_audio(respond=True)
                seen: list[tuple[float, ev.Event]] = []
                while not seen or not isinstance(seen[-1][1], ev.SessionIdle):
                    seen.append((loop.time(), await session.next_event(timeout=30)))
                times = [t for t, e in seen if isinstance(e, ev.Reconnected)]
                for event in (e for _, e in seen):
                    if isinstance(event, ev.Reconnected):
                        assert event.lost == (), (text, event.lost)
                        assert not event.recycled
                reconnects += len(times)
                fired: list[tuple[float, str]] = []
                for kind, fault in faults:
                    if isinstance(fault, float):
                        fired.append((fault, kind))
                    elif isinstance(fault, asyncio.Task):
                        fired.append((await fault, kind))
                    elif fault.record is not None:
                        fired.append((fault.record.at, kind))
                    else:
                        fault.cancel()
                        raise AssertionError(f"turn {index} ({text!r}): {kind} never fired")
                fired.sort()
                # A stall and a cut in one turn may end in one reconnect (the stall's): each
                # Reconnected answers the faults before it.
                assert len(times) <= len(fired), (text, fired, times)
                assert bool(times) == bool(fired), (text, fired, times)
                for at, kind in fired:
                    after = [t for t in times if t >= at]
                    assert after, (text, kind)
                    latencies.setdefault(kind, []).append(after[0] - at)
            history = said(session.history)
    return Run(history, brain, latencies, reconnects)


async def test_twenty_turns_survive_twenty_cuts_and_five_stalls() -> None:
    seed = 20261201
    plan = fault_plan(random.Random(seed))
    assert sum(len(kinds) for kinds in plan) == 25
    uncut = await converse(None, seed)
    cut = await converse(plan, seed)
    assert uncut.reconnects == 0
    assert len(uncut.history) >= 2 * len(TURNS)
    # session.history is that of the uncut run: every turn, every reply, the tool call and its
    # output, the handoff, in order.
    assert cut.history == uncut.history
    # After each reconnect the model heard every earlier turn: every request the brain got in
    # the cut run is one it got in the uncut run (a regenerated reply asks the same again).
    heard = [said(r.items) for r in uncut.brain.requests]
    for request in cut.brain.requests:
        assert said(request.items) in heard
    assert {tuple(said(r.items)) for r in cut.brain.requests} == {tuple(h) for h in heard}
    every = sorted(x for values in cut.latencies.values() for x in values)
    assert len(every) == 25
    cuts = sorted(x for k, v in cut.latencies.items() if not k.startswith("stall") for x in v)
    stalls = sorted(x for k, v in cut.latencies.items() if k.startswith("stall") for x in v)
    p50, p95 = statistics.median(cuts) * 1000, cuts[int(0.95 * (len(cuts) - 1))] * 1000
    print(
        f"[figures] cut -> Reconnected over {len(cuts)} cuts: p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms; stall -> Reconnected over "
        f"{len(stalls)} stalls: p50 {statistics.median(stalls) * 1000:.0f} ms "
        f"(keepalive 0.2 s + 0.4 s); by kind: "
        + ", ".join(f"{k}={len(v)}" for k, v in sorted(cut.latencies.items()))
    )


# -- recycling before the session cap -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "length"),
    [
        pytest.param(6.0, 14.0, id="scaled-6s-cap"),
        # As the issue states it: `--max-session-minutes 1` and a 3-minute conversation.
        pytest.param(60.0, 180.0, id="1-minute-cap-3-minutes"),
    ],
)
async def test_a_conversation_crosses_two_recycles_with_no_turn_lost_and_no_response_cut(
    cap: float, length: float
) -> None:
    # The local server expires a session after max_session_s (session_expired, then close
    # 1001), as the service does after 60 minutes; `--max-session-minutes 1` is
    # max_session_s=60. Replies are paced in real time so the recycle has to wait for a turn
    # boundary.
    provider, brain = local(max_session_s=cap, realtime_pacing=True)
    options = rt.SessionOptions(reconnect=rt.Reconnect())  # the cap comes from the provider
    runner = rt.Runner(rt.Agent("a"), provider=provider, options=options)
    loop = asyncio.get_running_loop()
    seen: list[ev.Event] = []
    said_by_user: list[str] = []
    async with runner.connect() as session:
        ids = {session.session_id}
        started = loop.time()
        turn = 0
        while loop.time() - started < length:
            turn += 1
            text = f"turn number {turn}"
            said_by_user.append(text)
            result = await testing.run_turn(session, text, timeout=15)
            seen += result.events
            assert f"turn number {turn}" in result.transcript
            ids.add(session.session_id)
            await asyncio.sleep(0.3)
        history = said(session.history)
    recycles = [e for e in seen if isinstance(e, ev.Reconnected)]
    assert len(recycles) >= 2
    assert all(e.recycled and e.lost == () for e in recycles)
    assert [e.reason for e in seen if isinstance(e, ev.Reconnecting)] == [
        "recycling the session before the provider's cap"
    ] * len(recycles)
    assert len(ids) == len(recycles) + 1  # a new server session each time
    # No response cut: every one completed; the server never had to expire a session.
    done = [e.response.status for e in seen if isinstance(e, ev.ResponseDone)]
    assert done == ["completed"] * turn
    assert not [e for e in seen if isinstance(e, ev.ErrorEvent)]
    # No turn lost: every turn and reply is in the history, and the model heard them all.
    assert [t for role, t in history if role == "user"] == said_by_user
    assert said(brain.requests[-1].items)[:-1] == history[:-2]


# -- what reconnect does not paper over ---------------------------------------------------------


async def test_the_server_expiring_the_session_is_survived_when_recycling_is_off() -> None:
    provider, brain = local(max_session_s=1.5)
    options = rt.SessionOptions(reconnect=rt.Reconnect(recycle_after=0, initial_delay=0.05))
    async with rt.Runner(rt.Agent("a"), provider=provider, options=options).connect() as session:
        await testing.run_turn(session, "before the cap")
        events = await testing.collect(session, ev.Reconnected, timeout=10)
        errors = [e for e in events if isinstance(e, ev.ErrorEvent)]
        assert [e.error.code for e in errors] == ["session_expired"]
        (reconnecting,) = [e for e in events if isinstance(e, ev.Reconnecting)]
        assert "session_expired" in reconnecting.reason
        turn = await testing.run_turn(session, "after the cap")
        assert "after the cap" in turn.transcript
    assert said(brain.requests[-1].items)[0] == ("user", "before the cap")


async def test_giving_up_is_fatal_and_says_what_was_not_replayed() -> None:
    provider, _ = local()
    options = rt.SessionOptions(reconnect=rt.Reconnect(max_attempts=3, initial_delay=0.01))
    async with testing.FaultProxy() as proxy:
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            await testing.run_turn(session, "remember this")
            proxy.upstream = ("127.0.0.1", 9)  # the server is gone: every new try is reset
            proxy.cut("rst")
            seen, raised = await until_it_ends(session)
    assert isinstance(raised, rt.ConnectionClosed)
    attempts = [e.attempt for e in seen if isinstance(e, ev.Reconnecting)]
    assert attempts == [1, 2, 3]
    (fatal,) = [e for e in seen if isinstance(e, ev.SessionError)]
    assert fatal.fatal
    assert fatal.code == "reconnect_failed"
    assert "after 3 attempt(s)" in fatal.message
    assert "not replayed: the whole conversation (2 items" in fatal.message
    assert "not replayed" in str(raised)
    assert not [e for e in seen if isinstance(e, ev.Reconnected)]


@contextlib.asynccontextmanager
async def refusing_after_first() -> AsyncIterator[str]:
    """A server that takes one connection (session.created, then nothing) and refuses every
    later handshake with 401, as a provider does once a key is revoked."""
    connections = 0

    def process_request(_: ServerConnection, request: Request) -> Response | None:
        nonlocal connections
        connections += 1
        if connections > 1:
            body = b'{"error": {"code": "invalid_api_key", "message": "Incorrect API key."}}'
            return Response(
                401, "Unauthorized", Headers({"Content-Type": "application/json"}), body
            )
        return None

    async def handle(ws: ServerConnection) -> None:
        session = ga_session(id="sess_first", model="gpt-realtime", expires_at=0)
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": session}))
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "session.update":
                await ws.send(
                    json.dumps({"type": "session.updated", "event_id": "e2", "session": session})
                )

    async with serve(handle, "127.0.0.1", 0, process_request=process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def test_an_auth_error_on_reconnect_gives_up_at_once() -> None:
    async with refusing_after_first() as url, testing.FaultProxy() as proxy:
        provider = rt.providers.Compatible(url, api_key="sk-test")
        options = rt.SessionOptions(reconnect=rt.Reconnect(max_attempts=5, initial_delay=0.01))
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            proxy.cut("rst")
            seen, raised = await until_it_ends(session)
    assert isinstance(raised, rt.ConnectionClosed)
    assert [e.attempt for e in seen if isinstance(e, ev.Reconnecting)] == [1]
    (fatal,) = [e for e in seen if isinstance(e, ev.SessionError)]
    assert fatal.code == "reconnect_failed"
    assert "401" in fatal.message


async def test_a_close_the_server_meant_is_not_retried() -> None:
    provider, _ = local(idle_timeout_s=0.5)  # the server closes an idle connection with 1000
    options = rt.SessionOptions(reconnect=rt.Reconnect(initial_delay=0.01))
    async with rt.Runner(rt.Agent("a"), provider=provider, options=options).connect() as session:
        seen, raised = await until_it_ends(session)
    assert isinstance(raised, rt.ConnectionClosed)
    assert raised.code == 1000
    assert not [e for e in seen if isinstance(e, ev.Reconnecting)]


def test_reconnect_is_on_by_default_for_remote_providers_only() -> None:
    from realtalk.recovery import resolve_policy

    assert rt.SessionOptions().reconnect == "auto"
    assert resolve_policy("auto", "openai") == rt.Reconnect()
    assert resolve_policy("auto", "azure") == rt.Reconnect()
    assert resolve_policy("auto", "compatible-ga") == rt.Reconnect()
    assert resolve_policy("auto", "local") is None
    assert resolve_policy(None, "openai") is None
    custom = rt.Reconnect(max_attempts=2)
    assert resolve_policy(custom, "local") is custom
    with pytest.raises(rt.ConfigError, match=r"reconnect: must be rt\.Reconnect"):
        rt.SessionOptions(reconnect="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize("during", ["session.updated", "conversation.item.added"])
async def test_a_connection_lost_while_restoring_is_tried_again(during: str) -> None:
    provider, brain = local()
    options = rt.SessionOptions(reconnect=FAST)
    async with testing.FaultProxy() as proxy:
        runner = rt.Runner(
            rt.Agent("a"), provider=provider, options=options, connector=proxy.connector
        )
        async with runner.connect() as session:
            await testing.run_turn(session, "first")
            await testing.run_turn(session, "second")
            before = said(session.history)
            proxy.cut("fin")
            again = proxy.schedule("rst", on_message=lambda m: f'"{during}"' in m)
            events = await testing.collect(session, ev.Reconnected, timeout=10)
            assert (await again.wait(1)).connection == 2  # the first restore was cut
            assert [e.attempt for e in events if isinstance(e, ev.Reconnecting)] == [1, 2]
            reconnected = events[-1]
            assert isinstance(reconnected, ev.Reconnected)
            assert reconnected.lost == ()
            assert said(session.history) == before
            turn = await testing.run_turn(session, "third")
            assert "third" in turn.transcript
    assert said(brain.requests[-1].items)[:4] == before
    assert proxy.accepted == 3
