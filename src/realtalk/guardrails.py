"""Output guardrails: checks on what the assistant says, while it says it and once it has finished.

::

    @output_guardrail(every_chars=80)
    def no_prices(text: str) -> bool:
        '''Trip when the assistant quotes a price.'''
        return "$" in text

    runner = GuardrailRunner([no_prices], on_outcome=handle)  # handle gets each outcome
    runner.feed("resp_1", "The room is ")        # per transcript delta; never waits for a check
    outcomes = await runner.finish("resp_1", "The room is $120 a night.")

A guardrail function takes the text so far and returns ``True`` (tripped) / ``False``, or a
:class:`GuardrailResult` carrying ``info`` for the application. It may be sync (run in a worker
thread, so a slow one does not stall the event stream) or async.

When checks run, per response and per guardrail:

* while deltas arrive, each time the text has grown by ``every_chars`` since that guardrail's last
  check started, but never two checks of one guardrail at once: a delta that arrives while a check
  is in flight is covered by the next check, which sees all the text accumulated by then;
* once more on the complete text in :meth:`GuardrailRunner.finish`, unless that exact text was
  already checked. Replies shorter than ``every_chars`` are therefore checked too.

The first trip of a response wins: later checks of that response are cancelled and skipped. Every
outcome (a trip, or a guardrail that raised or timed out) is reported exactly once to
``on_outcome`` as soon as it is known; :meth:`~GuardrailRunner.feed` and
:meth:`~GuardrailRunner.finish` also return the response's verdict so far. A guardrail that fails is
reported as a :class:`GuardrailFailed` and never raises into the session.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias, overload

from realtalk.errors import ConfigError, ConfigProblem

__all__ = [
    "GuardrailFailed",
    "GuardrailOutcome",
    "GuardrailResult",
    "GuardrailRunner",
    "GuardrailTimeout",
    "GuardrailTripped",
    "OutputGuardrail",
    "output_guardrail",
]

_log = logging.getLogger(__name__)

_MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """What a guardrail function may return instead of a bare bool; ``info`` reaches the app."""

    tripped: bool
    info: Any = None


@dataclass(frozen=True, slots=True)
class GuardrailTripped:
    """A guardrail tripped on ``text`` (the text it checked) of response ``response_id``."""

    name: str
    info: Any
    response_id: str
    text: str


@dataclass(frozen=True, slots=True)
class GuardrailFailed:
    """A guardrail raised or timed out; the response is not judged by it.

    ``error_type`` is ``"timeout"`` or the exception's class name; ``exception`` is kept for the
    application's logs and left out of ``repr`` and comparisons.
    """

    name: str
    response_id: str
    error_type: str
    message: str
    exception: BaseException | None = field(default=None, repr=False, compare=False)


class GuardrailTimeout(Exception):
    """A guardrail check took longer than its ``timeout``."""


GuardrailOutcome: TypeAlias = GuardrailTripped | GuardrailFailed
GuardrailFunction: TypeAlias = Callable[
    [str], bool | GuardrailResult | Awaitable[bool | GuardrailResult]
]
OutcomeHandler: TypeAlias = Callable[[GuardrailOutcome], Awaitable[None] | None]
Spawner: TypeAlias = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


class OutputGuardrail:
    """A check on the assistant's output text. Build it directly or with :func:`output_guardrail`.

    ``every_chars`` (>= 1) is how much new text triggers a check while the response streams;
    ``timeout`` bounds one check (``None`` for none) so a hung check cannot hold a response.
    """

    def __init__(
        self,
        fn: GuardrailFunction,
        *,
        name: str | None = None,
        every_chars: int = 100,
        timeout: float | None = 10.0,
    ) -> None:
        self.fn = fn
        self.name = name if name is not None else getattr(fn, "__name__", type(fn).__name__)
        self.every_chars = every_chars
        self.timeout = timeout
        # A callable object with an async __call__ counts as async: no thread hop for it.
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004
        )
        problems: list[ConfigProblem] = []
        if not self.name:
            problems.append(ConfigProblem("name", self.name, "must not be empty"))
        if isinstance(every_chars, bool) or not isinstance(every_chars, int) or every_chars < 1:
            problems.append(
                ConfigProblem(f"{self.name}.every_chars", every_chars, "must be an integer >= 1")
            )
        if timeout is not None and not timeout > 0:
            problems.append(
                ConfigProblem(f"{self.name}.timeout", timeout, "must be > 0 seconds, or None")
            )
        if problems:
            raise ConfigError(problems, target="output guardrail")

    def __repr__(self) -> str:
        return f"OutputGuardrail(name={self.name!r}, every_chars={self.every_chars})"

    async def check(self, text: str) -> GuardrailResult:
        """Run the function once on ``text``. Raises what it raises, or GuardrailTimeout."""
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                if self._is_async:
                    value = await self.fn(text)  # type: ignore[misc]
                else:
                    value = await asyncio.to_thread(self.fn, text)
                    if inspect.isawaitable(value):
                        value = await value
        except TimeoutError:
            if deadline.expired():
                raise GuardrailTimeout(f"timed out after {self.timeout:g}s") from None
            raise  # the guardrail's own TimeoutError (e.g. from its HTTP client)
        if isinstance(value, GuardrailResult):
            return value
        if isinstance(value, bool):
            return GuardrailResult(tripped=value)
        raise TypeError(f"returned {type(value).__name__}, expected bool or GuardrailResult")


@overload
def output_guardrail(fn: GuardrailFunction, /) -> OutputGuardrail: ...


@overload
def output_guardrail(
    *, name: str | None = None, every_chars: int = 100, timeout: float | None = 10.0
) -> Callable[[GuardrailFunction], OutputGuardrail]: ...


def output_guardrail(
    fn: GuardrailFunction | None = None,
    /,
    *,
    name: str | None = None,
    every_chars: int = 100,
    timeout: float | None = 10.0,
) -> OutputGuardrail | Callable[[GuardrailFunction], OutputGuardrail]:
    """Make ``fn(text) -> bool | GuardrailResult`` (sync or async) an :class:`OutputGuardrail`."""

    def wrap(f: GuardrailFunction) -> OutputGuardrail:
        return OutputGuardrail(f, name=name, every_chars=every_chars, timeout=timeout)

    return wrap if fn is None else wrap(fn)


class _Response:
    """Checking state of one response."""

    __slots__ = ("checked", "closing", "in_flight", "length", "outcomes", "parts", "trip")

    def __init__(self, count: int) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.checked: list[str | None] = [None] * count  # text each guardrail last checked
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.outcomes: list[GuardrailOutcome] = []
        self.trip: GuardrailTripped | None = None
        self.closing = False

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""


class GuardrailRunner:
    """Runs output guardrails over the streamed text of responses (see the module docstring).

    One runner serves one session; responses are told apart by ``response_id``. Call :meth:`feed`
    for each text or transcript delta, then :meth:`finish` when the response is done, or
    :meth:`discard` if it was cancelled and should not be judged: every response fed must end in
    one of the two, or its state is kept until :meth:`aclose`. Use from the event loop only.
    """

    def __init__(
        self,
        guardrails: Iterable[OutputGuardrail | GuardrailFunction] = (),
        *,
        on_outcome: OutcomeHandler | None = None,
        spawn: Spawner | None = None,
    ) -> None:
        self._spawn: Spawner | None = spawn
        """Starts each check task; a session passes its supervisor's, so a failing outcome
        handler becomes the session's fatal error instead of a log line."""
        self.guardrails: tuple[OutputGuardrail, ...] = tuple(
            g if isinstance(g, OutputGuardrail) else OutputGuardrail(g) for g in guardrails
        )
        names = [g.name for g in self.guardrails]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                [
                    ConfigProblem(
                        f"guardrails.{n}", n, "two guardrails share this name", "pass name=..."
                    )
                    for n in duplicates
                ],
                target="output guardrails",
            )
        self.on_outcome = on_outcome
        self._responses: dict[str, _Response] = {}

    def __bool__(self) -> bool:
        return bool(self.guardrails)

    def tripped(self, response_id: str) -> GuardrailTripped | None:
        """The trip of a response still being tracked, if any."""
        state = self._responses.get(response_id)
        return state.trip if state else None

    def feed(self, response_id: str, delta: str) -> GuardrailTripped | None:
        """Add a delta of the response's text; start the checks that are due, without waiting.

        Returns the response's trip if one is already known (then the delta is ignored: the
        session should drop the rest of that response), else ``None``.
        """
        state = self._responses.get(response_id)
        if state is None:
            state = self._responses[response_id] = _Response(len(self.guardrails))
        if state.trip is not None or state.closing:
            return state.trip
        if delta:
            state.parts.append(delta)
            state.length += len(delta)
        for index, guardrail in enumerate(self.guardrails):
            if index in state.in_flight:
                continue
            last = state.checked[index]
            if state.length - (len(last) if last is not None else 0) >= guardrail.every_chars:
                self._start(response_id, state, index, state.text())
        return state.trip

    async def finish(
        self, response_id: str, full_text: str | None = None
    ) -> tuple[GuardrailOutcome, ...]:
        """Wait for running checks, check the complete text, and forget the response.

        ``full_text`` is the response's final text (the ``done`` event's transcript) and, when
        given, replaces what the deltas added up to. Returns every outcome of the response in the
        order they became known; the trip, if any, is the first :class:`GuardrailTripped`.
        Empty text is not checked.
        """
        state = self._responses.get(response_id)
        if state is None:
            state = self._responses[response_id] = _Response(len(self.guardrails))
        state.closing = True
        try:
            await self._wait(state)
            final = full_text if full_text is not None else state.text()
            if state.trip is None and final:
                for index in range(len(self.guardrails)):
                    if state.checked[index] != final:
                        self._start(response_id, state, index, final)
                await self._wait(state)
            return tuple(state.outcomes)
        finally:
            if self._responses.get(response_id) is state:
                del self._responses[response_id]

    async def settle(self, response_id: str) -> None:
        """Wait until no check of the response is running (checks started meanwhile included)."""
        state = self._responses.get(response_id)
        if state is not None:
            await self._wait(state)

    async def discard(self, response_id: str) -> None:
        """Stop judging a response (it was cancelled): cancel its checks and forget it."""
        state = self._responses.pop(response_id, None)
        if state is not None:
            await self._cancel(state)

    async def aclose(self) -> None:
        """Cancel every running check (the session is closing)."""
        states = list(self._responses.values())
        self._responses.clear()
        for state in states:
            await self._cancel(state)

    # -- internals ------------------------------------------------------------------------

    def _start(self, response_id: str, state: _Response, index: int, text: str) -> None:
        state.checked[index] = text
        guardrail = self.guardrails[index]
        coro = self._check(response_id, state, index, text)
        name = f"guardrail {guardrail.name} on {response_id}"
        if self._spawn is not None:
            task = self._spawn(coro, name)
        else:
            task = asyncio.create_task(coro, name=name)
        state.in_flight[index] = task
        task.add_done_callback(lambda t: _forget(state, index, t))

    async def _check(self, response_id: str, state: _Response, index: int, text: str) -> None:
        guardrail = self.guardrails[index]
        outcome: GuardrailOutcome
        try:
            result = await guardrail.check(text)
        except GuardrailTimeout as exc:
            outcome = GuardrailFailed(guardrail.name, response_id, "timeout", str(exc), exc)
        except Exception as exc:
            message = str(exc)[:_MAX_ERROR_CHARS]
            outcome = GuardrailFailed(guardrail.name, response_id, type(exc).__name__, message, exc)
        else:
            if not result.tripped or state.trip is not None:
                return
            outcome = state.trip = GuardrailTripped(guardrail.name, result.info, response_id, text)
            current = asyncio.current_task()
            for other in list(state.in_flight.values()):
                if other is not current:
                    other.cancel()  # the verdict is in; the other checks cannot change it
        state.outcomes.append(outcome)
        await self._notify(outcome)

    async def _notify(self, outcome: GuardrailOutcome) -> None:
        if self.on_outcome is None:
            return
        try:
            maybe = self.on_outcome(outcome)
            if inspect.isawaitable(maybe):
                await maybe
        except Exception:
            if self._spawn is not None:
                raise  # supervised: the owner hears of it
            # The handler is the session's own code; a bug there must not vanish silently,
            # nor take the check task down with an unretrieved exception.
            _log.exception("guardrail outcome handler failed for %s", outcome.name)

    @staticmethod
    async def _wait(state: _Response) -> None:
        # The current task is skipped so that an on_outcome handler may call finish() or
        # discard() from inside a check without awaiting itself.
        current = asyncio.current_task()
        while pending := [t for t in state.in_flight.values() if t is not current and not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    @staticmethod
    async def _cancel(state: _Response) -> None:
        current = asyncio.current_task()
        tasks = [t for t in state.in_flight.values() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _forget(state: _Response, index: int, task: asyncio.Task[None]) -> None:
    if state.in_flight.get(index) is task:
        del state.in_flight[index]
