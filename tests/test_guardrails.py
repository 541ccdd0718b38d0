"""Output guardrails: debounced checks while a response streams, and a final check on the whole."""

import asyncio
import logging
import threading

import pytest

from realtalk.errors import ConfigError
from realtalk.guardrails import (
    GuardrailFailed,
    GuardrailOutcome,
    GuardrailResult,
    GuardrailRunner,
    GuardrailTripped,
    OutputGuardrail,
    output_guardrail,
)


class Recorder:
    """An async guardrail that records every text it is asked to check."""

    def __init__(self, trip_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.trip_on = trip_on
        self.__name__ = "recorder"

    async def __call__(self, text: str) -> GuardrailResult:
        self.seen.append(text)
        tripped = self.trip_on is not None and self.trip_on in text
        return GuardrailResult(tripped, {"matched": self.trip_on} if tripped else None)


class Gated:
    """An async guardrail whose checks block until the test opens the gate."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.started = asyncio.Event()
        self.entered: asyncio.Queue[str] = asyncio.Queue()
        self.gate = asyncio.Event()
        self.cancelled = 0
        self.__name__ = "gated"

    async def __call__(self, text: str) -> bool:
        self.seen.append(text)
        self.started.set()
        self.entered.put_nowait(text)
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return False


def no_prices(text: str) -> bool:
    """Trips when the assistant quotes a price."""
    return "$" in text


async def test_short_reply_is_checked_on_finish() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=100)])
    assert runner.feed("resp_1", "Sure!") is None
    await runner.settle("resp_1")
    assert recorder.seen == []  # shorter than every_chars: nothing yet
    assert await runner.finish("resp_1", "Sure!") == ()
    assert recorder.seen == ["Sure!"]


async def test_short_reply_trip_on_finish() -> None:
    outcomes: list[GuardrailOutcome] = []
    runner = GuardrailRunner([output_guardrail(no_prices)], on_outcome=outcomes.append)
    runner.feed("resp_1", "It's $5.")
    result = await runner.finish("resp_1", "It's $5.")
    trip = GuardrailTripped(name="no_prices", info=None, response_id="resp_1", text="It's $5.")
    assert result == (trip,)
    assert outcomes == [trip]


async def test_long_reply_checked_every_n_characters_and_at_the_end() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=10)])
    text = ""
    for _ in range(10):
        delta = "abcd"
        text += delta
        runner.feed("r", delta)
        await runner.settle("r")
    # Thresholds count from the length at the last check: 12 (>= 0+10), 24 (>= 22), 36 (>= 34).
    assert [len(t) for t in recorder.seen] == [12, 24, 36]
    await runner.finish("r")
    assert [len(t) for t in recorder.seen] == [12, 24, 36, 40]
    assert recorder.seen[-1] == text


async def test_a_large_delta_starts_one_check_not_several() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=10)])
    runner.feed("r", "x" * 35)
    await runner.settle("r")
    assert recorder.seen == ["x" * 35]
    runner.feed("r", "y" * 9)  # 44 - 35 < 10: not due
    await runner.settle("r")
    assert len(recorder.seen) == 1
    runner.feed("r", "y")  # 45 - 35 = 10: due
    await runner.settle("r")
    assert len(recorder.seen) == 2


async def test_at_most_one_check_in_flight_and_the_next_sees_all_text() -> None:
    gated = Gated()
    runner = GuardrailRunner([OutputGuardrail(gated, every_chars=5)])
    runner.feed("r", "hello")
    await gated.started.wait()
    for word in [" there", " my", " friend"]:
        runner.feed("r", word)  # each is due, but a check is in flight
    assert gated.seen == ["hello"]
    gated.gate.set()
    await runner.settle("r")
    runner.feed("r", "!")
    await runner.settle("r")
    assert gated.seen == ["hello", "hello there my friend!"]


async def test_final_check_skipped_when_last_check_saw_the_whole_text() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=5)])
    runner.feed("r", "12345")
    await runner.settle("r")
    await runner.finish("r", "12345")
    assert recorder.seen == ["12345"]


async def test_full_text_replaces_the_sum_of_deltas() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=1000)])
    runner.feed("r", "Hel")
    runner.feed("r", "lo")
    await runner.finish("r", "Hello.")
    assert recorder.seen == ["Hello."]


async def test_without_full_text_the_deltas_are_checked() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder, every_chars=1000)])
    runner.feed("r", "Hel")
    runner.feed("r", "lo")
    await runner.finish("r")
    assert recorder.seen == ["Hello"]


async def test_empty_response_is_not_checked() -> None:
    recorder = Recorder()
    runner = GuardrailRunner([OutputGuardrail(recorder)])
    assert await runner.finish("r", "") == ()
    assert recorder.seen == []


async def test_trip_during_streaming() -> None:
    outcomes: list[GuardrailOutcome] = []
    recorder = Recorder(trip_on="secret")
    runner = GuardrailRunner(
        [OutputGuardrail(recorder, name="no_secrets", every_chars=10)], on_outcome=outcomes.append
    )
    assert runner.feed("resp_9", "The secret code") is None  # check started, not finished
    await runner.settle("resp_9")
    trip = GuardrailTripped("no_secrets", {"matched": "secret"}, "resp_9", "The secret code")
    assert outcomes == [trip]
    assert runner.tripped("resp_9") == trip
    # Later deltas of a tripped response are ignored and answered with the trip.
    assert runner.feed("resp_9", " is 1234 and more text to check") == trip
    assert await runner.finish("resp_9", "The secret code is 1234 and more") == (trip,)
    assert recorder.seen == ["The secret code"]  # no final check once tripped
    assert outcomes == [trip]  # reported once
    assert runner.tripped("resp_9") is None  # forgotten after finish


async def test_a_trip_cancels_the_other_running_checks() -> None:
    gated = Gated()
    runner = GuardrailRunner(
        [OutputGuardrail(gated, every_chars=1), OutputGuardrail(no_prices, every_chars=1)]
    )
    runner.feed("r", "$9")
    await gated.started.wait()
    await runner.settle("r")
    assert runner.tripped("r") is not None
    assert gated.cancelled == 1


async def test_failing_guardrail_is_reported_and_others_still_run() -> None:
    outcomes: list[GuardrailOutcome] = []

    @output_guardrail
    def broken(text: str) -> bool:
        raise RuntimeError("moderation service unavailable")

    recorder = Recorder()
    runner = GuardrailRunner([broken, OutputGuardrail(recorder)], on_outcome=outcomes.append)
    runner.feed("r", "Hi")
    result = await runner.finish("r", "Hi there")
    assert result == (
        GuardrailFailed("broken", "r", "RuntimeError", "moderation service unavailable"),
    )
    assert isinstance(result[0], GuardrailFailed)
    assert isinstance(result[0].exception, RuntimeError)
    assert outcomes == list(result)
    assert recorder.seen == ["Hi there"]


async def test_guardrail_timeout_is_a_failure() -> None:
    never = asyncio.Event()

    @output_guardrail(timeout=0.01)
    async def hangs(text: str) -> bool:
        await never.wait()
        return False

    result = await GuardrailRunner([hangs]).finish("r", "Hello")
    assert result == (GuardrailFailed("hangs", "r", "timeout", "timed out after 0.01s"),)


async def test_wrong_return_type_is_a_failure() -> None:
    @output_guardrail
    def sloppy(text: str) -> bool:
        return "yes"  # type: ignore[return-value]

    (outcome,) = await GuardrailRunner([sloppy]).finish("r", "Hello")
    assert isinstance(outcome, GuardrailFailed)
    assert outcome.error_type == "TypeError"
    assert "expected bool or GuardrailResult" in outcome.message


async def test_sync_guardrail_runs_in_a_worker_thread() -> None:
    threads: list[int] = []

    def where(text: str) -> bool:
        threads.append(threading.get_ident())
        return False

    await GuardrailRunner([where]).finish("r", "Hello")
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


async def test_async_outcome_handler_is_awaited() -> None:
    handled = asyncio.Event()

    async def handle(outcome: GuardrailOutcome) -> None:
        await asyncio.sleep(0)
        handled.set()

    await GuardrailRunner([no_prices], on_outcome=handle).finish("r", "$1")
    assert handled.is_set()


async def test_handler_exception_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def handle(outcome: GuardrailOutcome) -> None:
        raise ValueError("bug in the app")

    runner = GuardrailRunner([no_prices], on_outcome=handle)
    with caplog.at_level(logging.ERROR, logger="realtalk.guardrails"):
        (outcome,) = await runner.finish("r", "$1")
    assert isinstance(outcome, GuardrailTripped)
    assert "guardrail outcome handler failed" in caplog.text


async def test_handler_may_discard_the_response_from_inside_a_check() -> None:
    runner: GuardrailRunner

    async def handle(outcome: GuardrailOutcome) -> None:
        await runner.discard(outcome.response_id)

    runner = GuardrailRunner([OutputGuardrail(no_prices, every_chars=1)], on_outcome=handle)
    runner.feed("r", "$3")
    await runner.settle("r")
    assert runner.tripped("r") is None  # discarded by the handler, no deadlock


async def test_discard_cancels_running_checks() -> None:
    gated = Gated()
    runner = GuardrailRunner([OutputGuardrail(gated, every_chars=1)])
    runner.feed("r", "Hello")
    await gated.started.wait()
    await runner.discard("r")
    assert gated.cancelled == 1
    await runner.settle("r")  # unknown response: returns at once


async def test_aclose_cancels_every_response() -> None:
    gated = Gated()
    runner = GuardrailRunner([OutputGuardrail(gated, every_chars=1)])
    runner.feed("a", "Hello")
    runner.feed("b", "Hi")
    assert {await gated.entered.get(), await gated.entered.get()} == {"Hello", "Hi"}
    await runner.aclose()
    assert gated.cancelled == 2


async def test_responses_are_judged_separately() -> None:
    runner = GuardrailRunner([OutputGuardrail(no_prices, every_chars=1)])
    runner.feed("a", "$1")
    runner.feed("b", "one dollar")
    await runner.settle("a")
    await runner.settle("b")
    assert runner.tripped("a") is not None
    assert runner.tripped("b") is None
    assert await runner.finish("b") == ()


async def test_finish_waits_for_a_running_check() -> None:
    gated = Gated()
    runner = GuardrailRunner([OutputGuardrail(gated, every_chars=1)])
    runner.feed("r", "Hello")
    await gated.started.wait()
    finishing = asyncio.create_task(runner.finish("r", "Hello world"))
    await asyncio.sleep(0)
    assert not finishing.done()
    gated.gate.set()
    assert await finishing == ()
    assert gated.seen == ["Hello", "Hello world"]


def test_decorator_forms_and_defaults() -> None:
    bare = output_guardrail(no_prices)
    assert isinstance(bare, OutputGuardrail)
    assert bare.name == "no_prices"
    assert bare.every_chars == 100
    named = output_guardrail(name="prices", every_chars=40)(no_prices)
    assert (named.name, named.every_chars) == ("prices", 40)
    assert GuardrailRunner([no_prices]).guardrails[0].name == "no_prices"


@pytest.mark.parametrize("every_chars", [0, -5, 2.5, True])
def test_every_chars_must_be_a_positive_integer(every_chars: int) -> None:
    with pytest.raises(ConfigError, match="every_chars"):
        OutputGuardrail(no_prices, every_chars=every_chars)


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match="share this name"):
        GuardrailRunner([no_prices, output_guardrail(no_prices)])


async def test_a_timeout_raised_by_the_guardrail_itself_is_not_its_deadline() -> None:
    @output_guardrail(timeout=60)
    async def moderation(text: str) -> bool:
        raise TimeoutError("moderation API read timeout")

    (outcome,) = await GuardrailRunner([moderation]).finish("r", "Hello")
    assert isinstance(outcome, GuardrailFailed)
    assert (outcome.error_type, outcome.message) == ("TimeoutError", "moderation API read timeout")


async def test_async_callable_object_runs_on_the_loop() -> None:
    class OnLoop:
        __name__ = "on_loop"

        def __init__(self) -> None:
            self.threads: list[int] = []

        async def __call__(self, text: str) -> bool:
            self.threads.append(threading.get_ident())
            return False

    guard = OnLoop()
    await GuardrailRunner([guard]).finish("r", "Hello")
    assert guard.threads == [threading.get_ident()]
