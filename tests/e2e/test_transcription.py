"""Transcription-only sessions: the config's checks at the call, the wire shapes (checked by the
official SDK's types), the URL, and whole sessions against the local server over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import providers, testing
from realtalk.transcription import transcription_update, transcription_url
from tests.oracle import validate_client_event


def test_models_without_turn_detection_refuse_vad_with_the_fix() -> None:
    for model in ("gpt-realtime-whisper", "gpt-live-transcribe"):
        with pytest.raises(rt.ConfigError) as caught:
            rt.TranscriptionConfig(model=model, turn_detection=rt.ServerVAD())
        message = str(caught.value)
        assert model in message
        assert "turn_detection=None" in message
        assert "commit()" in message
        # Unset means the model's default: none for these, server VAD for the others.
        assert rt.TranscriptionConfig(model=model).effective_turn_detection is None
        assert not rt.TranscriptionConfig(model=model).speech_events
    assert rt.TranscriptionConfig(model="whisper-1").effective_turn_detection == rt.ServerVAD()


def test_bad_fields_fail_at_the_call_with_the_fix() -> None:
    with pytest.raises(rt.ConfigError, match="remove create_response"):
        rt.TranscriptionConfig(turn_detection=rt.ServerVAD(create_response=True))
    with pytest.raises(rt.ConfigError, match="takes no prompt"):
        rt.TranscriptionConfig(model="gpt-realtime-whisper", prompt="names: Ada")
    with pytest.raises(rt.ConfigError, match="NoiseReduction"):
        rt.TranscriptionConfig(noise_reduction="near_field")  # type: ignore[arg-type]
    with pytest.raises(rt.ConfigError, match="ServerVAD"):
        rt.TranscriptionConfig(turn_detection="server_vad")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TranscriptionConfig"):
        rt.transcribe(testing.local(), {"model": "whisper-1"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="provider"):
        rt.transcribe("openai")  # type: ignore[arg-type]


def test_provider_facts_are_checked_before_connecting() -> None:
    with pytest.raises(rt.ConfigError, match="use one of") as caught:
        rt.transcribe(testing.local(), rt.TranscriptionConfig(model="whisper-9"))
    assert "whisper-1" in str(caught.value)
    beta = testing.local(flavor="azure-preview")
    with pytest.raises(rt.ConfigError, match="24 kHz"):
        rt.transcribe(beta, rt.TranscriptionConfig(input_format=rt.AudioFormat.pcm16(16000)))
    noise = rt.NoiseReduction(type="near_field", strength=0.5)
    with pytest.raises(rt.ConfigError, match="strength"):
        rt.transcribe(beta, rt.TranscriptionConfig(noise_reduction=noise))


def test_wire_shapes_validate_against_the_sdk_types() -> None:
    config = rt.TranscriptionConfig(
        model="gpt-4o-transcribe",
        language="en",
        prompt="names: Ada",
        noise_reduction=rt.NoiseReduction(type="near_field"),
        turn_detection=rt.ServerVAD(silence_duration_ms=500),
        include_logprobs=True,
    )
    ga = transcription_update(config, "ga")
    assert ga["type"] == "session.update"
    assert ga["session"]["type"] == "transcription"
    assert ga["session"]["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-transcribe",
        "language": "en",
        "prompt": "names: Ada",
    }
    assert ga["session"]["include"] == ["item.input_audio_transcription.logprobs"]
    validate_client_event("ga", ga)
    beta = transcription_update(config, "beta")
    assert beta["type"] == "transcription_session.update"
    assert beta["session"]["input_audio_format"] == "pcm16"
    assert beta["session"]["turn_detection"]["silence_duration_ms"] == 500
    validate_client_event("beta", beta)
    whisper = transcription_update(rt.TranscriptionConfig(model="gpt-realtime-whisper"), "ga")
    assert whisper["session"]["audio"]["input"]["turn_detection"] is None
    assert "include" not in whisper["session"]
    validate_client_event("ga", whisper)


def test_url_drops_the_model_only_where_the_service_rejects_it() -> None:
    openai = providers.OpenAI(api_key="sk-test")
    url = transcription_url(openai, openai.url)
    assert "model=" not in url
    assert url.endswith("?intent=transcription")
    gateway = providers.Compatible(url="wss://gw.example/v1/realtime?model=m")
    assert transcription_url(gateway, gateway.url).endswith("?model=m&intent=transcription")


async def _first_transcript(t: rt.Transcriber) -> list[ev.Event]:
    seen: list[ev.Event] = []
    async with asyncio.timeout(20):
        async for event in t:
            seen.append(event)
            if isinstance(event, ev.InputTranscriptCompleted | ev.InputTranscriptFailed):
                return seen
    return seen


@pytest.mark.parametrize("flavor", ["openai", "azure", "azure-preview"])
async def test_server_vad_turns_are_transcribed_per_item(flavor: str) -> None:
    config = rt.TranscriptionConfig(model="whisper-1")
    async with rt.transcribe(testing.local(flavor=flavor), config) as t:  # type: ignore[arg-type]
        confirmed = t.session.confirmed_config
        assert confirmed is not None
        for text in ("hello there", "book a table"):
            await t.send_audio(testing.speak(text) + testing.silence(1200))
            seen = await _first_transcript(t)
            kinds = [type(e) for e in seen]
            assert kinds[:3] == [ev.SpeechStarted, ev.SpeechStopped, ev.InputAudioCommitted]
            item = seen[0].item_id  # type: ignore[union-attr]
            deltas = [e for e in seen if isinstance(e, ev.InputTranscriptDelta)]
            assert "".join(d.delta for d in deltas) == text
            assert all(d.item_id == item for d in deltas)
            assert seen[-1] == ev.InputTranscriptCompleted(
                item,
                text,
                0,
                seen[-1].usage,
                seen[-1].event_id,  # type: ignore[union-attr]
            )
        assert list(t.transcripts.values()) == ["hello there", "book a table"]


async def test_models_without_vad_are_committed_by_the_client() -> None:
    config = rt.TranscriptionConfig(model="gpt-realtime-whisper")
    async with rt.transcribe(testing.local(), config) as t:
        audio = testing.speak("good morning", rate=16000) + testing.silence(1500, 16000)
        await t.send_audio(audio, rate=16000)
        await asyncio.sleep(0.3)
        assert not t.transcripts  # nothing commits it but the client
        await t.commit()
        seen = await _first_transcript(t)
        assert not [e for e in seen if isinstance(e, ev.SpeechStarted | ev.SpeechStopped)]
        assert isinstance(seen[-1], ev.InputTranscriptCompleted)
        assert seen[-1].transcript == "good morning"


async def test_a_refused_session_update_raises_at_open() -> None:
    # A gateway hook that breaks the update: the server's refusal is raised where the app
    # opened the session, in the server's words.
    def on_send(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "session.update":
            event["session"]["audio"]["input"]["bogus"] = 1
        return event

    provider = testing.local(on_send=on_send)
    with pytest.raises(rt.ServerError, match="refused the transcription session") as caught:
        async with rt.transcribe(provider, rt.TranscriptionConfig()):
            pass
    assert "bogus" in str(caught.value)


async def test_the_transcript_helper_returns_the_next_completed_item() -> None:
    async with rt.transcribe(testing.local(), rt.TranscriptionConfig(turn_detection=None)) as t:
        await t.send_audio(testing.speak("one two three"))
        await t.commit()
        done = await t.transcript(timeout=20)
        assert done.transcript == "one two three"


@pytest.mark.speech
async def test_real_speech_is_transcribed_by_whisper(piper: object) -> None:
    from tests.wer import word_error_rate

    # Words with one written form (tests/e2e/test_speech_local.py says why).
    sentences = ["What is the weather in Paris today?", "Please book a table for dinner tonight."]
    config = rt.TranscriptionConfig(
        model="whisper-1", language="en", turn_detection=rt.ServerVAD(silence_duration_ms=500)
    )
    errors = []
    async with rt.transcribe(testing.local(speech=True), config) as t:
        for sentence in sentences:
            pcm = b"".join(piper.synthesize(sentence))  # type: ignore[attr-defined]
            rate = piper.sample_rate  # type: ignore[attr-defined]
            await t.send_audio(
                testing.silence(300, rate) + pcm + testing.silence(1200, rate), rate=rate
            )
            done = await t.transcript(timeout=60)
            errors.append(word_error_rate(sentence, done.transcript))
    print(f"[figures] transcription session word error rate: {[round(e, 3) for e in errors]}")
    assert sum(errors) / len(errors) <= 0.25
