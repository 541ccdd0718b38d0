"""The pure part of reconnect: options, backoff, close/error verdicts, the replay plan and the
user-audio log. No event loop."""

from __future__ import annotations

import random

import pytest

from realtalk.commands import CreateItem, CreateResponse, ResponseOptions
from realtalk.errors import ConfigError
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputText,
    MessageItem,
    OtherItem,
    OutputAudio,
    OutputText,
)
from realtalk.reconnect import (
    MAX_ITEM_ID,
    Outbox,
    Reconnect,
    UserAudio,
    classify_close,
    classify_error,
    plan_replay,
)


def test_defaults_are_valid_and_bad_options_fail_with_every_problem() -> None:
    Reconnect()
    with pytest.raises(ConfigError) as info:
        Reconnect(max_attempts=0, jitter=2, multiplier=0.5, recycle_after=-1, initial_delay=-1)
    assert set(info.value.paths) == {
        "Reconnect.max_attempts",
        "Reconnect.jitter",
        "Reconnect.multiplier",
        "Reconnect.recycle_after",
        "Reconnect.initial_delay",
    }
    assert "reconnect=None" in str(info.value)


def test_backoff_grows_caps_and_jitters_downwards() -> None:
    policy = Reconnect(initial_delay=0.5, multiplier=2, max_delay=3, jitter=0.5)
    assert [policy.delay(n, lambda: 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(3, lambda: 0.999999) == pytest.approx(1.0, abs=1e-5)
    rng = random.Random(7)
    delays = [policy.delay(2, rng.random) for _ in range(200)]
    assert all(0.5 <= d <= 1.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # really random, not one value
    assert Reconnect(jitter=0).delay(1, rng.random) == Reconnect().initial_delay
    with pytest.raises(ValueError, match="from 1"):
        policy.delay(0, rng.random)


def test_recycle_before_the_provider_cap() -> None:
    policy = Reconnect()
    assert policy.recycle_seconds("openai") == 55 * 60
    assert policy.recycle_seconds("azure") == 25 * 60
    assert policy.recycle_seconds("azure-preview") == 25 * 60
    assert policy.recycle_seconds("compatible-ga") is None
    assert policy.recycle_seconds("local", cap=60) == 45
    assert Reconnect(recycle_after=10).recycle_seconds("openai") == 10
    assert Reconnect(recycle_after=0).recycle_seconds("openai") is None


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (None, "retry"),
        (1006, "retry"),
        (1011, "retry"),
        (1001, "retry"),
        (1012, "retry"),
        (1000, "fatal"),
        (1008, "fatal"),
        (4000, "fatal"),
    ],
)
def test_close_verdicts(code: int | None, verdict: str) -> None:
    assert classify_close(code) == verdict


def test_error_verdicts() -> None:
    assert classify_error("session_expired") == "recycle"
    assert classify_error("invalid_api_key") == "fatal"
    assert classify_error("beta_api_shape_disabled") == "fatal"
    assert classify_error("conversation_already_has_active_response") is None
    assert classify_error(None) is None


def _conversation() -> list[object]:
    return [
        MessageItem("system", (InputText("be brief"),), id="item_sys"),
        MessageItem("user", (InputText("hello"),), id="item_u1", status="completed"),
        MessageItem("assistant", (OutputAudio(transcript="Hi there."),), id="item_a1"),
        MessageItem("user", (InputAudio(transcript=None),), id="item_u2"),
        FunctionCallItem(
            "get_weather", '{"city":"Paris"}', call_id="call_1", id="item_f1", status="completed"
        ),
        FunctionCallOutputItem("call_1", '{"temp": 20}', id="item_o1"),
        MessageItem("assistant", (OutputText("It is 20."),), id="item_a2"),
    ]


def test_every_item_is_rebuilt_in_order_with_its_id() -> None:
    plan = plan_replay(
        _conversation(),  # type: ignore[arg-type]
        user_audio={"item_u2": b"\x01\x00" * 100},
        transcripts={"item_u2": "weather in Paris"},
    )
    assert plan.lost == ()
    made = [step.command.item for step in plan.steps]  # type: ignore[union-attr]
    assert [i.id for i in made] == [
        "item_sys",
        "item_u1",
        "item_a1",
        "item_u2",
        "item_f1",
        "item_o1",
        "item_a2",
    ]
    assert made[0] == MessageItem("system", (InputText("be brief"),), id="item_sys")
    assert made[1] == MessageItem("user", (InputText("hello"),), id="item_u1")
    # Assistant audio cannot be created: its transcript goes back as output_text.
    assert made[2] == MessageItem("assistant", (OutputText("Hi there."),), id="item_a1")
    assert made[3] == MessageItem(
        "user", (InputAudio(b"\x01\x00" * 100, "weather in Paris"),), id="item_u2"
    )
    assert made[4] == FunctionCallItem("get_weather", '{"city":"Paris"}', "call_1", "item_f1")
    assert made[5] == FunctionCallOutputItem("call_1", '{"temp": 20}', id="item_o1")
    assert all(step.source_id == step.command.item.id for step in plan.steps)  # type: ignore[union-attr]
    assert not any(step.as_text for step in plan.steps)


def test_user_audio_falls_back_to_its_transcript() -> None:
    history = _conversation()
    for kwargs in (
        {"transcripts": {"item_u2": "weather in Paris"}},  # audio not kept
        {
            "transcripts": {"item_u2": "weather in Paris"},
            "user_audio": {"item_u2": b"ab" * 10},
            "accepts_input_audio": False,
        },
        {
            "transcripts": {"item_u2": "weather in Paris"},
            "user_audio": {"item_u2": b"ab" * 10},
            "max_audio_bytes": 10,
        },
    ):
        plan = plan_replay(history, **kwargs)  # type: ignore[arg-type]
        [step] = [s for s in plan.steps if s.source_id == "item_u2"]
        assert step.as_text
        assert step.command.item.content == (InputText("weather in Paris"),)  # type: ignore[union-attr]


def test_what_cannot_be_rebuilt_is_listed_with_a_reason() -> None:
    history = [
        MessageItem("user", (InputAudio(),), id="item_u"),  # no audio kept, no transcript
        MessageItem("assistant", (OutputAudio(),), id="item_a"),  # nothing heard yet
        OtherItem("mcp_call", {"type": "mcp_call"}, id="item_m"),
        FunctionCallOutputItem("call_x", "42", id="item_o"),  # its call is missing
        MessageItem("user", (InputText("still here"),), id="item_ok"),
    ]
    plan = plan_replay(history)  # type: ignore[arg-type]
    assert [s.source_id for s in plan.steps] == ["item_ok"]
    reasons = {lost.what: lost.reason for lost in plan.lost}
    assert set(reasons) == {"item_u", "item_a", "item_m", "item_o"}
    assert "audio was not kept" in reasons["item_u"]
    assert "mcp_call" in reasons["item_m"]
    assert "function call" in reasons["item_o"]
    assert "item_u: " in str(plan.lost[0])


def test_dropped_items_are_left_out_and_long_ids_left_to_the_server() -> None:
    long_id = "x" * (MAX_ITEM_ID + 1)
    history = [
        MessageItem("user", (InputText("a"),), id=long_id),
        MessageItem("assistant", (OutputText("partial"),), id="item_cut"),
    ]
    plan = plan_replay(history, drop={"item_cut"})  # type: ignore[arg-type]
    [step] = plan.steps
    assert step.source_id == long_id
    assert step.command.item.id is None  # type: ignore[union-attr]


def test_unconfirmed_commands_follow_the_history_and_one_response_is_resent() -> None:
    output = CreateItem(FunctionCallOutputItem("call_1", "ok"))
    first = CreateResponse(ResponseOptions(instructions="answer"))
    plan = plan_replay(
        _conversation()[:5],  # type: ignore[arg-type]
        transcripts={"item_u2": "x"},
        unconfirmed=[output, first, CreateResponse()],
    )
    assert plan.commands[-2:] == [output, first]
    assert [s.command for s in plan.resent] == [output, first]
    assert len(plan.items) == 5
    assert [str(lost) for lost in plan.lost] == ["response.create: only one response is re-sent"]


def test_user_audio_log_manual_commits_take_everything_since_the_last() -> None:
    log = UserAudio(bytes_per_ms=48, budget=10_000)
    log.appended(b"\x01" * 480)
    log.appended(b"\x02" * 480)
    log.committed("item_1")
    log.appended(b"\x03" * 96)
    log.cleared()
    log.appended(b"\x04" * 96)
    log.committed("item_2")
    assert log.items() == {"item_1": b"\x01" * 480 + b"\x02" * 480, "item_2": b"\x04" * 96}


def test_user_audio_log_server_vad_slices_between_the_marks() -> None:
    # The lead covers the VAD's detection delay and prefix padding: speech_started comes after
    # the speech it marks.
    log = UserAudio(bytes_per_ms=48, budget=10**6, lead_ms=400)
    log.speech_started(0)  # the first turn starts at once (and the log learns it is VAD)
    log.appended(b"S" * 48 * 500)
    log.speech_stopped(500)
    log.committed("item_a")
    log.appended(b"_" * 48 * 1000)  # silence: only the last 400 ms is held
    assert log.pending_bytes <= 48 * 400
    log.appended(b"T" * 48 * 300)
    log.speech_started(1500)
    log.speech_stopped(1800)
    log.committed("item_b")
    assert log.get("item_a") == b"S" * 48 * 500
    assert log.get("item_b") == b"T" * 48 * 300
    log.new_connection()  # a new server session counts from 0 again
    log.appended(b"U" * 48 * 200)
    log.speech_started(0)
    log.speech_stopped(200)
    log.committed("item_c")
    assert log.get("item_c") == b"U" * 48 * 200


def test_user_audio_log_budget_drops_the_oldest() -> None:
    log = UserAudio(bytes_per_ms=48, budget=1000)
    for n in range(4):
        log.appended(bytes([n]) * 400)
        log.committed(f"item_{n}")
    assert list(log.items()) == ["item_2", "item_3"]
    assert log.kept_bytes == 800
    with pytest.raises(ValueError, match="positive"):
        UserAudio(0, 10)


def test_outbox_keeps_what_the_server_has_not_shown_back() -> None:
    box = Outbox()
    hello = CreateItem(MessageItem("user", (InputText("hello"),)))
    output = CreateItem(FunctionCallOutputItem("call_1", "42"))
    again = CreateItem(MessageItem("user", (InputText("hello"),)))
    for command in (hello, output, again):
        box.sent(command)
    # The server's copy has an id and a status, and may be a different object.
    box.seen(MessageItem("user", (InputText("hello"),), id="item_9", status="completed"))
    box.seen(MessageItem("assistant", (OutputText("hello"),), id="item_10"))  # not ours
    assert box.unconfirmed() == [output, again]
    box.seen(FunctionCallOutputItem("call_1", "42", id="item_11"))
    assert box.unconfirmed() == [again]
    assert len(box) == 1
    box.clear()
    assert box.unconfirmed() == []


def test_user_audio_log_gives_back_the_turn_under_way() -> None:
    manual = UserAudio(bytes_per_ms=48, budget=10**6)
    manual.appended(b"a" * 96)
    assert manual.pending_turn() == b"a" * 96  # sent, not committed yet
    manual.committed("item_1")
    assert manual.pending_turn() == b""
    vad = UserAudio(bytes_per_ms=48, budget=10**6, lead_ms=1000)
    vad.speech_started(0)
    vad.appended(b"s" * 480)
    vad.speech_stopped(10)
    vad.committed("item_a")
    vad.appended(b"_" * 480)
    assert vad.pending_turn() == b"_" * 480  # the lead: speech may have begun unmarked
    vad.appended(b"t" * 480)
    vad.speech_started(20)
    assert vad.pending_turn() == b"t" * 480
    vad.speech_stopped(25)  # stopped, commit not seen yet: the turn up to its end
    assert vad.pending_turn() == b"t" * 240


def test_user_audio_log_bounds_the_turn_under_way() -> None:
    # VAD on from the session's config: before any VAD mark only the lead is held.
    vad = UserAudio(bytes_per_ms=48, budget=10**6, lead_ms=10, max_pending=2000)
    vad.vad_configured(True)
    for _ in range(100):
        vad.appended(b"s" * 96)
    assert vad.pending_turn() == b"s" * 480
    assert vad.pending_dropped == 0  # silence before speech is no part of a turn
    vad.new_connection()
    vad.appended(b"n" * 960)
    assert vad.pending_turn() == b"n" * 480  # the config holds across connections
    # Manual turns: everything since the commit, but at most max_pending, the oldest dropped.
    manual = UserAudio(bytes_per_ms=48, budget=10**6, max_pending=2000)
    manual.vad_configured(False)
    manual.appended(b"a" * 1500)
    manual.appended(b"b" * 1500)
    assert manual.pending_turn() == b"a" * 500 + b"b" * 1500
    assert manual.pending_dropped == 1000
    manual.committed("item_1")
    assert manual.get("item_1") == b"a" * 500 + b"b" * 1500
    assert manual.pending_dropped == 0  # counted per turn
    # Speech that never ends (VAD marked its start only) is bounded the same way.
    vad.speech_started(0)
    vad.appended(b"t" * 3000)
    assert len(vad.pending_turn()) == 2000
    assert vad.pending_dropped > 0
    with pytest.raises(ValueError, match="max_pending"):
        UserAudio(48, 10, max_pending=0)
