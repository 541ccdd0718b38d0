"""Errors at the call site: each mistake fails where it is written, in realtalk's words, with
the fix (issue 12, "Wrong types fail late", "Audio mistakes", "Azure mistakes").

Session methods are exercised on a real session against the local server over loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

import realtalk as rt
from realtalk import audio, testing
from realtalk.providers import AzureOpenAI, Local

AGENT = rt.Agent("helper", instructions="Be brief.")


@pytest.fixture
async def session() -> AsyncIterator[rt.Session]:
    manual = rt.SessionConfig(turn_detection=None)  # one committed turn per test, however paced
    async with rt.Runner(AGENT, provider=testing.local(), config=manual).connect() as opened:
        yield opened


def message(info: pytest.ExceptionInfo[BaseException]) -> str:
    return str(info.value)


# -- wrong types ------------------------------------------------------------------------------


def test_runner_config_as_a_dict_names_session_config_from_dict() -> None:
    with pytest.raises(TypeError) as info:
        rt.Runner(AGENT, provider=Local(), config={"voice": "marin"})  # type: ignore[arg-type]
    assert "SessionConfig.from_dict({'voice': 'marin'})" in message(info)


async def test_session_update_with_a_dict_names_session_config_from_dict(
    session: rt.Session,
) -> None:
    with pytest.raises(TypeError) as info:
        await session.update({"voice": "marin"})  # type: ignore[arg-type]
    assert "SessionConfig.from_dict({'voice': 'marin'})" in message(info)


async def test_session_update_with_an_unknown_field_suggests_the_name(session: rt.Session) -> None:
    with pytest.raises(rt.ConfigError) as info:
        await session.update(voise="marin")
    assert "did you mean 'voice'?" in message(info)


def test_provider_as_a_string_names_the_provider_class() -> None:
    with pytest.raises(TypeError) as info:
        rt.Runner(AGENT, provider="openai")  # type: ignore[arg-type]
    assert "rt.providers.OpenAI()" in message(info)
    with pytest.raises(TypeError) as info:
        rt.Runner(AGENT, provider=rt.providers.OpenAI)  # type: ignore[arg-type]
    assert "call it, e.g. OpenAI()" in message(info)


def test_handoff_by_name_says_to_pass_the_agent_object() -> None:
    with pytest.raises(TypeError) as info:
        rt.Agent("concierge", handoffs=["billing"])  # type: ignore[list-item]
    assert "Agent('billing', ...) and pass that object" in message(info)


def test_agent_name_and_tools_are_checked() -> None:
    with pytest.raises(TypeError, match=r"Agent\(name=\) takes a str"):
        rt.Agent(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pass the function itself"):
        rt.Agent("a", tools=["get_weather"])  # type: ignore[list-item]


async def test_forgetting_async_with_says_how_to_open_the_session() -> None:
    connecting = rt.Runner(AGENT, provider=Local()).connect()
    with pytest.raises(TypeError) as info:
        await connecting.send_text("hi")  # type: ignore[attr-defined]
    assert "async with runner.connect() as session:" in message(info)
    assert "session.send_text(...)" in message(info)
    with pytest.raises(TypeError) as info:
        await connecting  # type: ignore[misc]
    assert "async with runner.connect() as session:" in message(info)


def test_local_flavor_lists_the_flavors() -> None:
    with pytest.raises(rt.ConfigError) as info:
        Local(flavor="gemini")  # type: ignore[arg-type]
    assert "one of 'openai', 'azure', 'azure-preview'" in message(info)


def test_local_server_option_typo_suggests_the_option() -> None:
    with pytest.raises(rt.ConfigError) as info:
        Local(realtime_pace=True)
    assert "did you mean 'realtime_pacing'?" in message(info)


def test_guardrail_as_a_string_says_what_a_guardrail_is() -> None:
    with pytest.raises(TypeError) as info:
        rt.Runner(AGENT, provider=Local(), guardrails=["x"])  # type: ignore[list-item]
    assert "check(text) -> bool" in message(info)
    with pytest.raises(TypeError) as info:
        rt.Agent("a", output_guardrails=["x"])  # type: ignore[list-item]
    assert "check(text) -> bool" in message(info)

    def no_prices(text: str) -> bool:
        return "$" in text

    with pytest.raises(TypeError, match=r"takes a list: write \[no_prices\]"):
        rt.Runner(AGENT, provider=Local(), guardrails=no_prices)  # type: ignore[arg-type]


def test_unknown_runner_option_suggests_the_option_in_runner_words() -> None:
    with pytest.raises(rt.ConfigError) as info:
        rt.Runner(AGENT, provider=Local(), queue_sise=10)
    assert "did you mean 'queue_size'?" in message(info)
    assert "SessionOptions" not in message(info)
    with pytest.raises(rt.ConfigError) as info:
        rt.Runner(AGENT, provider=Local(), overflow="drop", raw_tap="yes")
    assert "'block', 'drop_oldest', 'error'" in message(info)
    assert "raw_tap: must be True or False" in message(info)


def test_invalid_config_fails_at_the_runner_not_at_connect() -> None:
    with pytest.raises(rt.ConfigError) as info:
        rt.Runner(AGENT, provider=Local(), config=rt.SessionConfig(temperature=0.7))
    assert "leave it unset for this provider" in message(info)


async def test_update_after_close_raises_like_send_text() -> None:
    async with rt.Runner(AGENT, provider=testing.local()).connect() as opened:
        pass
    with pytest.raises(rt.InvalidState, match="closed"):
        await opened.send_text("hi")
    with pytest.raises(rt.InvalidState, match="closed"):
        await opened.update(voice="marin")


async def test_send_text_with_a_non_string(session: rt.Session) -> None:
    with pytest.raises(TypeError, match=r"send_text\(text\) takes a str, not bytes"):
        await session.send_text(b"hi")  # type: ignore[arg-type]


# -- audio --------------------------------------------------------------------------------------


async def test_format_as_a_string_names_the_audio_format(session: rt.Session) -> None:
    with pytest.raises(TypeError) as info:
        await session.send_audio(b"\0" * 80, format="pcmu")  # type: ignore[arg-type]
    assert "format=rt.AudioFormat.pcmu()" in message(info)


async def test_rate_zero_is_refused(session: rt.Session) -> None:
    with pytest.raises(rt.ConfigError) as info:
        await session.send_audio(b"\0\0" * 80, rate=0)
    assert "give the rate your audio was recorded at" in message(info)
    with pytest.raises(rt.ConfigError) as info:
        await session.send_audio(b"\0\0" * 80, rate=16)
    assert "did you mean rate=16000?" in message(info)


async def test_odd_byte_count_is_refused(session: rt.Session) -> None:
    with pytest.raises(rt.ConfigError) as info:
        await session.send_audio(b"\0" * 81)
    assert "send whole samples" in message(info)


async def test_wav_bytes_are_read_with_their_own_rate(session: rt.Session) -> None:
    # (trailing silence: the streaming resampler holds its last few ms until more audio comes)
    speech = testing.speak("hello there", 16000) + testing.silence(300, 16000)
    wav = audio.wav_bytes(speech, 16000)
    await session.send_audio(wav)  # no rate=: the header says 16 kHz
    turn = await testing.run_turn(session, audio=b"")
    assert turn.transcript == "hello there"


def test_wav_rate_disagreeing_with_rate_is_refused() -> None:
    wav = audio.wav_bytes(testing.silence(100, 16000), 16000)
    with pytest.raises(rt.ConfigError) as info:
        audio.user_audio(wav, rate=24000)
    assert "drop rate=" in message(info)
    with pytest.raises(rt.ConfigError, match="drop format="):
        audio.user_audio(wav, format=rt.AudioFormat.pcmu())


async def test_numpy_int16_and_float_audio(session: rt.Session) -> None:
    pcm = testing.speak("numbers", 24000)
    ints = np.frombuffer(pcm, dtype="<i2")
    assert audio.user_audio(ints) == (pcm, rt.AudioFormat.pcm16(24000))
    floats = ints.astype(np.float32) / 32768.0
    converted, _ = audio.user_audio(floats)
    assert np.max(np.abs(np.frombuffer(converted, "<i2").astype(int) - ints)) <= 1
    await session.send_audio(floats)
    turn = await testing.run_turn(session, audio=b"")
    assert turn.transcript == "numbers"


def test_numpy_mistakes_name_the_conversion() -> None:
    with pytest.raises(rt.ConfigError, match="scale the floats to"):
        audio.user_audio(np.array([0.0, 300.0], dtype=np.float32))
    with pytest.raises(rt.ConfigError, match=r"array.astype\(np.int16\)"):
        audio.user_audio(np.array([1, 2], dtype=np.int32))
    with pytest.raises(rt.ConfigError, match=r"audio.mean\(axis=1\)"):
        audio.user_audio(np.zeros((10, 2), dtype=np.int16))
    with pytest.raises(TypeError, match="read_wav"):
        audio.user_audio([0, 1, 2])


# -- Azure ---------------------------------------------------------------------------------------


def test_azure_portal_url_says_which_part_to_keep() -> None:
    with pytest.raises(rt.ConfigError) as info:
        AzureOpenAI(
            "https://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview"
            "&deployment=gpt-realtime",
            "d",
        )
    text = message(info)
    assert "keep only 'https://res.openai.azure.com' as endpoint" in text
    assert "api_version='2025-04-01-preview'" in text
    assert "deployment='gpt-realtime'" in text


def test_azure_from_env_reports_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(rt.ConfigError) as info:
        AzureOpenAI.from_env()
    assert info.value.paths == ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")
    assert "export AZURE_OPENAI_ENDPOINT=" in message(info)
    assert "export AZURE_OPENAI_API_KEY=" in message(info)


def test_provider_argument_types() -> None:
    with pytest.raises(TypeError, match=r"OpenAI\(api_key=\) takes a str"):
        rt.providers.OpenAI(api_key=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a dict of header name"):
        rt.providers.OpenAI(headers=["a"])  # type: ignore[arg-type]
    with pytest.raises(rt.ConfigError, match="'ga' or 'beta'"):
        rt.providers.Compatible("ws://127.0.0.1/x", dialect="gemini")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"token_provider=\) takes a function"):
        AzureOpenAI("https://r.openai.azure.com", "d", token_provider="tok")  # type: ignore[arg-type]
