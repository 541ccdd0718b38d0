"""Beta codec (OpenAI beta, Azure preview): golden JSON out, and what it must never send."""

from __future__ import annotations

import json
from dataclasses import replace

from realtalk.commands import CreateItem, CreateResponse, ResponseOptions, UpdateSession
from realtalk.config import (
    AudioFormat,
    FunctionChoice,
    NoiseReduction,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    Transcription,
)
from realtalk.dialects import BETA, get_dialect
from realtalk.items import InputText, ItemReference, MessageItem, OutputAudio, OutputText
from tests.samples import REFERENCE_CONFIG, beta_reference_update, beta_transcription_update


def test_the_reference_config_encodes_to_the_protocol_md_beta_payload() -> None:
    # protocol.md 2.7, beta column (which adds temperature).
    config = replace(REFERENCE_CONFIG, temperature=0.8)
    assert BETA.encode_command(UpdateSession(config), None) == beta_reference_update()


def test_beta_payloads_never_carry_type_output_modalities_or_audio() -> None:
    # User report (Azure preview): session.type / output_modalities / audio are rejected.
    config = SessionConfig(
        output_modalities=("text", "audio"),
        turn_detection=SemanticVAD(eagerness="auto"),
        input_format=AudioFormat.pcmu(),
        output_format=AudioFormat.pcma(),
        voice="verse",
        noise_reduction=NoiseReduction("far_field"),
    )
    session = BETA.encode_session(config)
    assert not {"type", "output_modalities", "audio"} & set(session)
    assert session["modalities"] == ["audio", "text"]
    assert session["input_audio_format"] == "g711_ulaw"
    assert session["output_audio_format"] == "g711_alaw"
    assert session["input_audio_noise_reduction"] == {"type": "far_field"}
    assert BETA.encode_session(SessionConfig(output_modalities=("text",))) == {
        "modalities": ["text"]
    }
    assert BETA.encode_session(SessionConfig()) == {}


def test_none_is_sent_as_null_on_beta() -> None:
    session = BETA.encode_session(
        SessionConfig(turn_detection=None, noise_reduction=None, transcription=None, tracing=None)
    )
    assert session == {
        "turn_detection": None,
        "input_audio_noise_reduction": None,
        "input_audio_transcription": None,
        "tracing": None,
    }
    assert json.dumps(session).count("null") == 4


def test_function_tool_choice_uses_the_documented_beta_form() -> None:
    # The beta SDK types tool_choice as str, yet its docstring and Azure's preview reference give
    # {"type":"function","function":{"name":...}}; realtalk sends the documented form.
    session = BETA.encode_session(SessionConfig(tool_choice=FunctionChoice("get_time")))
    assert session == {"tool_choice": {"type": "function", "function": {"name": "get_time"}}}


def test_ga_only_fields_keep_natural_names_for_the_rules_to_reject() -> None:
    session = BETA.encode_session(
        SessionConfig(noise_reduction=NoiseReduction("near_field", 0.5), include=())
    )
    assert session == {
        "input_audio_noise_reduction": {"type": "near_field", "strength": 0.5},
        "include": [],
    }


def test_session_paths_table() -> None:
    paths = BETA.session_paths
    assert paths["output_modalities"] == "modalities"
    assert paths["input_format"] == "input_audio_format"
    assert paths["output_format"] == "output_audio_format"
    assert paths["noise_reduction"] == "input_audio_noise_reduction"
    assert paths["transcription"] == "input_audio_transcription"
    assert paths["max_output_tokens"] == "max_response_output_tokens"
    assert paths["turn_detection"] == "turn_detection"
    assert set(paths) == set(SessionConfig.field_names()) - {"extra"}
    assert not any("." in path for path in paths.values())
    assert get_dialect("beta") is BETA


def test_transcription_only_update_is_a_transcription_session_update() -> None:
    config = SessionConfig(
        input_format=AudioFormat.pcm16(),
        transcription=Transcription(model="gpt-4o-transcribe", prompt="", language=""),
        turn_detection=ServerVAD(0.5, 300, 500, create_response=True),
        noise_reduction=NoiseReduction("near_field"),
        include=("item.input_audio_transcription.logprobs",),
    )
    # protocol.md 2.3's transcription_session.update example.
    assert BETA.encode_command(UpdateSession(config, transcription_only=True), None) == (
        beta_transcription_update()
    )


def test_items_use_beta_content_types() -> None:
    assistant = MessageItem("assistant", (OutputText("hi"), OutputAudio(None, "hi")), id="item_a")
    assert BETA.encode_command(CreateItem(assistant), "e1") == {
        "type": "conversation.item.create",
        "event_id": "e1",
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "hi"}, {"type": "audio", "transcript": "hi"}],
            "id": "item_a",
        },
    }


def test_response_create_maps_options_to_beta_fields() -> None:
    options = ResponseOptions(
        output_modalities=("audio",),
        voice="alloy",
        output_format=AudioFormat.pcmu(),
        max_output_tokens=100,
        temperature=0.7,
        tool_choice="none",
        input=(ItemReference("item_1"), MessageItem("user", (InputText("go"),))),
    )
    assert BETA.encode_command(CreateResponse(options), None) == {
        "type": "response.create",
        "response": {
            "modalities": ["audio", "text"],
            "voice": "alloy",
            "output_audio_format": "g711_ulaw",
            "tool_choice": "none",
            "max_response_output_tokens": 100,
            "temperature": 0.7,
            "input": [
                {"type": "item_reference", "id": "item_1"},
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "go"}],
                },
            ],
        },
    }
