"""SessionConfig: three states per field, merge with provenance, minimal diffs (with hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtalk.config import (
    UNSET,
    AudioFormat,
    FunctionChoice,
    Layer,
    NoiseReduction,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    ToolSpec,
    Transcription,
    apply_update,
    diff,
    merge,
    overlay,
)

# -- strategies -------------------------------------------------------------------------------


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(UNSET), strategy)


server_vad = st.builds(
    ServerVAD,
    threshold=maybe(st.sampled_from([0.3, 0.5, 0.7])),
    prefix_padding_ms=maybe(st.sampled_from([100, 300])),
    silence_duration_ms=maybe(st.sampled_from([200, 500])),
    idle_timeout_ms=maybe(st.sampled_from([None, 6000])),
    create_response=maybe(st.booleans()),
    interrupt_response=maybe(st.booleans()),
)
semantic_vad = st.builds(
    SemanticVAD,
    eagerness=maybe(st.sampled_from(["low", "high", "auto"])),
    create_response=maybe(st.booleans()),
    interrupt_response=maybe(st.booleans()),
)
configs = st.builds(
    SessionConfig,
    instructions=maybe(st.sampled_from(["", "Be brief.", "Be kind."])),
    output_modalities=maybe(st.sampled_from([("audio",), ("text",)])),
    voice=maybe(st.sampled_from(["marin", "cedar", "alloy"])),
    speed=maybe(st.sampled_from([1.0, 1.25])),
    output_format=maybe(st.sampled_from([AudioFormat.pcm16(), AudioFormat.pcmu()])),
    turn_detection=maybe(st.one_of(st.none(), server_vad, semantic_vad)),
    noise_reduction=maybe(
        st.one_of(
            st.none(), st.builds(NoiseReduction, type=st.sampled_from(["near_field", "far_field"]))
        )
    ),
    transcription=maybe(st.one_of(st.none(), st.builds(Transcription, model=st.just("whisper-1")))),
    tools=maybe(st.sampled_from([(), (ToolSpec("get_time", "Now"),)])),
    tool_choice=maybe(st.sampled_from(["auto", "required", FunctionChoice("get_time")])),
    max_output_tokens=maybe(st.sampled_from(["inf", 200])),
    include=maybe(st.sampled_from([None, ("item.input_audio_transcription.logprobs",)])),
    extra=maybe(st.sampled_from([{"a": 1}, {"a": 2, "b": None}])),
)


# -- the three states -------------------------------------------------------------------------


def test_every_field_defaults_to_unset() -> None:
    config = SessionConfig()
    assert config.set_fields() == {}
    assert all(getattr(config, name) is UNSET for name in SessionConfig.field_names())


def test_none_is_a_value_not_an_absence() -> None:
    config = SessionConfig(turn_detection=None, noise_reduction=None)
    assert config.set_fields() == {"turn_detection": None, "noise_reduction": None}
    assert overlay(SessionConfig(turn_detection=ServerVAD()), config).turn_detection is None


def test_modality_intent_is_normalised() -> None:
    assert SessionConfig(output_modalities=["text", "audio"]).output_modalities == ("audio",)  # type: ignore[arg-type]
    assert SessionConfig(output_modalities=["audio"]).output_modalities == ("audio",)  # type: ignore[arg-type]
    assert SessionConfig(output_modalities=("text",)).output_modalities == ("text",)


def test_repr_shows_only_what_is_set() -> None:
    assert repr(SessionConfig(voice="marin", turn_detection=SemanticVAD(eagerness="high"))) == (
        "SessionConfig(voice='marin', turn_detection=SemanticVAD(eagerness='high'))"
    )


# -- merge --------------------------------------------------------------------------------------


def test_merge_precedence_and_provenance() -> None:
    effective = merge(
        Layer("provider", SessionConfig(voice="alloy", speed=1.0)),
        Layer("runner", SessionConfig(turn_detection=SemanticVAD(eagerness="high"), voice="marin")),
        Layer(
            "agent",
            SessionConfig(
                instructions="Concierge", turn_detection=SemanticVAD(create_response=False)
            ),
        ),
        Layer("session.update", SessionConfig(speed=1.2)),
    )
    config = effective.config
    assert config.voice == "marin"
    assert config.speed == 1.2
    assert config.turn_detection == SemanticVAD(eagerness="high", create_response=False)
    assert dict(effective.provenance) == {
        "voice": "runner",
        "speed": "session.update",
        "turn_detection": "agent",
        "instructions": "agent",
    }


def test_a_part_of_another_type_replaces_the_whole_part() -> None:
    config = merge(
        SessionConfig(turn_detection=ServerVAD(threshold=0.7)),
        SessionConfig(turn_detection=SemanticVAD(eagerness="low")),
    ).config
    assert config.turn_detection == SemanticVAD(eagerness="low")


@given(configs, configs, configs)
@settings(max_examples=150)
def test_merge_folds_layers_low_to_high(
    a: SessionConfig, b: SessionConfig, c: SessionConfig
) -> None:
    effective = merge(Layer("a", a), Layer("b", b), Layer("c", c))
    assert effective.config == overlay(overlay(a, b), c)
    for name in effective.config.set_fields():
        last = [n for n, layer in (("a", a), ("b", b), ("c", c)) if name in layer.set_fields()][-1]
        assert effective.source(name) == last


# -- diff ---------------------------------------------------------------------------------------


@given(configs, configs)
@settings(max_examples=300)
def test_diff_applied_by_the_server_yields_the_desired_config(
    confirmed: SessionConfig, desired: SessionConfig
) -> None:
    update = diff(confirmed, desired)
    assert apply_update(confirmed, update) == overlay(confirmed, desired)
    # minimal: nothing that already holds is sent
    for name, value in update.set_fields().items():
        if name != "extra":
            assert getattr(confirmed, name) != value or type(getattr(confirmed, name)) is not type(
                value
            )


@given(configs)
def test_diff_against_itself_is_empty(config: SessionConfig) -> None:
    assert diff(config, config).set_fields() == {}


@given(configs, configs)
@settings(max_examples=200)
def test_fully_specified_desired_is_reached_exactly(
    confirmed: SessionConfig, desired: SessionConfig
) -> None:
    # When the server holds a complete config, the result is the desired one field for field.
    target = overlay(confirmed, desired)
    assert apply_update(confirmed, diff(confirmed, desired)) == target
    for name, value in desired.set_fields().items():
        if name not in ("extra", "turn_detection", "noise_reduction", "transcription"):
            assert getattr(target, name) == value


def test_turn_detection_set_then_none_then_set_again() -> None:
    server_default = SessionConfig(turn_detection=ServerVAD(0.5, 300, 200, None, True, True))
    first = diff(server_default, SessionConfig(turn_detection=SemanticVAD(eagerness="high")))
    assert first.set_fields() == {"turn_detection": SemanticVAD(eagerness="high")}
    confirmed = apply_update(server_default, first)
    second = diff(confirmed, SessionConfig(turn_detection=None))
    assert second.set_fields() == {"turn_detection": None}
    confirmed = apply_update(confirmed, second)
    third = diff(confirmed, SessionConfig(turn_detection=SemanticVAD(eagerness="high")))
    assert third.set_fields() == {"turn_detection": SemanticVAD(eagerness="high")}


def test_partial_part_is_filled_from_the_confirmed_part() -> None:
    confirmed = SessionConfig(turn_detection=ServerVAD(0.5, 300, 200, None, True, True))
    update = diff(confirmed, SessionConfig(turn_detection=ServerVAD(threshold=0.6)))
    # sent whole, so the server cannot reset silence_duration_ms to a default behind our back
    assert update.turn_detection == ServerVAD(0.6, 300, 200, None, True, True)


def test_extra_sends_only_changed_keys() -> None:
    update = diff(SessionConfig(extra={"a": 1, "b": 2}), SessionConfig(extra={"a": 1, "b": 3}))
    assert update.extra == {"b": 3}


@pytest.mark.parametrize("fmt", [AudioFormat.pcm16(), AudioFormat.pcmu(), AudioFormat.pcma()])
def test_audio_format_durations(fmt: AudioFormat) -> None:
    assert fmt.duration_ms(fmt.bytes_per_second) == 1000.0
