"""SessionConfig.from_dict: GA nested, beta flat, realtalk names; loud, complete errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from realtalk.config import (
    AudioFormat,
    FunctionChoice,
    NoiseReduction,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
)
from realtalk.dialects import BETA, GA
from realtalk.errors import ConfigError
from tests.samples import GET_TIME, REFERENCE_CONFIG, beta_reference_update, ga_reference_update


def test_the_ga_shape_pasted_from_the_docs() -> None:
    pasted = GA.encode_session(REFERENCE_CONFIG)
    assert SessionConfig.from_dict(pasted) == REFERENCE_CONFIG
    # ... and protocol.md 2.7's GA payload itself.
    assert SessionConfig.from_dict(ga_reference_update()["session"]) == REFERENCE_CONFIG


def test_the_beta_shape_pasted_from_the_docs() -> None:
    pasted = {
        "modalities": ["text", "audio"],
        "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
        "input_audio_noise_reduction": {"type": "near_field"},
        "input_audio_format": "g711_ulaw",
        "input_audio_transcription": None,
        "max_response_output_tokens": 1000,
        "temperature": 0.8,
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }
    assert SessionConfig.from_dict(pasted) == SessionConfig(
        output_modalities=("audio",),
        turn_detection=SemanticVAD(eagerness="low"),
        noise_reduction=NoiseReduction("near_field"),
        input_format=AudioFormat.pcmu(),
        transcription=None,
        max_output_tokens=1000,
        temperature=0.8,
        tool_choice=FunctionChoice("f"),
    )
    assert SessionConfig.from_dict(BETA.encode_session(REFERENCE_CONFIG)) == REFERENCE_CONFIG
    # ... and protocol.md 2.7's beta payload itself (it adds temperature).
    assert SessionConfig.from_dict(beta_reference_update()["session"]) == replace(
        REFERENCE_CONFIG, temperature=0.8
    )


def test_realtalks_own_field_names() -> None:
    config = SessionConfig.from_dict(
        {
            "noise_reduction": {"type": "near_field", "strength": 0.5},
            "turn_detection": {"type": "server_vad", "idle_timeout_ms": None, "threshold": 1},
            "input_format": "pcm16",
            "output_format": {"type": "audio/pcm", "rate": 24000},
            "output_modalities": ["text"],
            "tool_choice": {"type": "function", "name": "g"},
            "truncation": {"type": "retention_ratio", "retention_ratio": 0.5},
            "tracing": "auto",
            "extra": {"parallel_tool_calls": True},
        }
    )
    assert config == SessionConfig(
        noise_reduction=NoiseReduction("near_field", 0.5),
        turn_detection=ServerVAD(threshold=1.0, idle_timeout_ms=None),
        input_format=AudioFormat.pcm16(),
        output_format=AudioFormat.pcm16(),
        output_modalities=("text",),
        tool_choice=FunctionChoice("g"),
        truncation=RetentionRatio(0.5),
        tracing="auto",
        extra={"parallel_tool_calls": True},
    )


def test_ready_made_parts_are_accepted_as_values() -> None:
    vad = SemanticVAD(eagerness="high")
    assert SessionConfig.from_dict({"turn_detection": vad, "tools": [GET_TIME]}) == SessionConfig(
        turn_detection=vad, tools=(GET_TIME,)
    )


def test_a_turn_detection_without_type_is_inferred() -> None:
    assert SessionConfig.from_dict(
        {"turn_detection": {"eagerness": "low"}}
    ).turn_detection == SemanticVAD("low")
    assert SessionConfig.from_dict({"turn_detection": {}}).turn_detection == ServerVAD()


def test_threshold_on_semantic_vad_names_the_field_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_dict({"turn_detection": {"type": "semantic_vad", "threshold": 0.5}})
    (problem,) = caught.value.problems
    assert problem.path == "turn_detection.threshold"
    assert problem.value == 0.5
    assert str(problem).startswith(
        "turn_detection.threshold: semantic_vad does not take 'threshold' "
        "(it belongs to server_vad)"
    )
    assert str(problem).endswith(
        "; semantic_vad takes eagerness, create_response, interrupt_response"
    )


def test_every_bad_key_is_listed_with_its_path() -> None:
    pasted: dict[str, Any] = {
        "type": "realtime",
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "semantic_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                },
                "noise": {"type": "near_field"},
            },
            "output": {"speed": "fast"},
        },
        "modalites": ["audio"],
        "tools": [{"type": "function", "name": "ok"}, {"type": "function", "description": 3}],
    }
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_dict(pasted)
    assert set(caught.value.paths) == {
        "audio.input.turn_detection.threshold",
        "audio.input.turn_detection.prefix_padding_ms",
        "audio.input.turn_detection.silence_duration_ms",
        "audio.input.noise",
        "audio.output.speed",
        "modalites",
        "tools[1].description",
        "tools[1].name",
    }
    message = str(caught.value)
    assert "did you mean 'modalities'?" in message
    assert "8 problems" in message


def test_eagerness_on_server_vad_is_an_error_too() -> None:
    with pytest.raises(ConfigError, match="server_vad does not take 'eagerness'"):
        SessionConfig.from_dict({"turn_detection": {"type": "server_vad", "eagerness": "low"}})


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"speed": True}, "speed"),
        ({"voice": 3}, "voice"),
        ({"turn_detection": "server_vad"}, "turn_detection"),
        ({"turn_detection": {"type": "vad"}}, "turn_detection.type"),
        (
            {"turn_detection": {"type": "server_vad", "silence_duration_ms": "500"}},
            "turn_detection.silence_duration_ms",
        ),
        ({"input_audio_format": "mp3"}, "input_audio_format"),
        ({"modalities": ["video"]}, "modalities"),
        ({"max_output_tokens": "lots"}, "max_output_tokens"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        (
            {"input_audio_noise_reduction": {"type": "near-field"}},
            "input_audio_noise_reduction.type",
        ),
        ({"voice": None}, "voice"),
        ({"type": "conversation"}, "type"),
        ({"audio": []}, "audio"),
        ({"extra": 3}, "extra"),
        ({"modalities": ["audio"], "output_modalities": ["text"]}, "output_modalities"),
    ],
)
def test_wrong_values_are_config_errors(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_dict(data)
    assert path in caught.value.paths


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError):
        SessionConfig.from_dict(["modalities"])  # type: ignore[arg-type]


def test_read_only_keys_from_a_pasted_session_created_are_ignored() -> None:
    config = SessionConfig.from_dict(
        {"id": "sess_1", "object": "realtime.session", "expires_at": 1, "voice": "marin"}
    )
    assert config == SessionConfig(voice="marin")


def test_the_reader_reads_every_session_config_field_and_nothing_else() -> None:
    # The reader sits below realtalk.config (no import cycle), so it names the fields it reads
    # itself: this keeps that list equal to SessionConfig's.
    from realtalk.config_reader import PARSERS

    assert set(PARSERS) == set(SessionConfig.field_names())
