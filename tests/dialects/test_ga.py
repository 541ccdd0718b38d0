"""GA codec: golden JSON out (session.update and every command) and neutral events in."""

from __future__ import annotations

import json

from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    CommitAudio,
    CreateItem,
    CreateResponse,
    DeleteItem,
    ResponseOptions,
    RetrieveItem,
    TruncateItem,
    UpdateSession,
)
from realtalk.config import (
    UNSET,
    AudioFormat,
    FunctionChoice,
    NoiseReduction,
    Prompt,
    Reasoning,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    Tracing,
    Transcription,
)
from realtalk.dialects import GA, get_dialect
from realtalk.items import (
    FunctionCallOutputItem,
    InputAudio,
    InputImage,
    InputText,
    ItemReference,
    MessageItem,
    OutputText,
)
from tests.samples import REFERENCE_CONFIG, ga_reference_update, ga_transcription_update


def test_the_reference_config_encodes_to_the_protocol_md_ga_payload() -> None:
    # protocol.md 2.7, GA column.
    assert GA.encode_command(UpdateSession(REFERENCE_CONFIG), None) == ga_reference_update()


def test_user_report_text_audio_with_semantic_vad() -> None:
    # ["text","audio"] is the intent "audio with transcript": GA takes ["audio"]; semantic VAD
    # goes out whole but without server_vad's knobs.
    session = GA.encode_session(
        SessionConfig(output_modalities=("text", "audio"), turn_detection=SemanticVAD())
    )
    assert session == {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
    }
    assert "threshold" not in json.dumps(session)


def test_semantic_vad_goes_out_whole_with_only_its_own_knobs() -> None:
    vad = SemanticVAD(eagerness="low", create_response=False)
    wire = GA.encode_session(SessionConfig(turn_detection=vad))["audio"]["input"]["turn_detection"]
    assert wire == {"type": "semantic_vad", "eagerness": "low", "create_response": False}


def test_none_is_sent_as_null_and_unset_is_absent() -> None:
    config = SessionConfig(
        turn_detection=None,
        noise_reduction=None,
        transcription=None,
        tracing=None,
        prompt=None,
        include=None,
    )
    assert GA.encode_session(config) == {
        "type": "realtime",
        "audio": {
            "input": {"turn_detection": None, "noise_reduction": None, "transcription": None}
        },
        "tracing": None,
        "prompt": None,
        "include": None,
    }
    assert GA.encode_session(SessionConfig()) == {"type": "realtime"}
    assert GA.encode_session(SessionConfig(voice=UNSET)) == {"type": "realtime"}


def test_noise_reduction_reaches_audio_input_noise_reduction() -> None:
    session = GA.encode_session(SessionConfig(noise_reduction=NoiseReduction("far_field", 0.4)))
    assert session["audio"]["input"]["noise_reduction"] == {"type": "far_field", "strength": 0.4}


def test_formats_always_send_the_pcm_rate() -> None:
    session = GA.encode_session(
        SessionConfig(input_format=AudioFormat.pcmu(), output_format=AudioFormat.pcm16())
    )
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    pcma = GA.encode_session(SessionConfig(input_format=AudioFormat.pcma()))
    assert pcma["audio"]["input"]["format"] == {"type": "audio/pcma"}


def test_floats_are_rounded_so_ga_does_not_reject_their_decimals() -> None:
    # protocol.md 3: "max decimal places exceeded" for 0.59999999999999998.
    session = GA.encode_session(
        SessionConfig(
            turn_detection=ServerVAD(threshold=0.1 + 0.2),
            speed=1.1 * 3 / 3.3,
            noise_reduction=NoiseReduction(strength=2 / 3),
        )
    )
    text = json.dumps(session)
    assert '"threshold": 0.3,' in text or '"threshold": 0.3}' in text
    assert session["audio"]["output"]["speed"] == 1.0
    assert session["audio"]["input"]["noise_reduction"]["strength"] == 0.666667


def test_tool_choice_function_and_the_ga_only_fields() -> None:
    session = GA.encode_session(
        SessionConfig(
            tool_choice=FunctionChoice("get_time"),
            tracing=Tracing(workflow_name="w", metadata={"k": "v"}),
            truncation=RetentionRatio(0.8, 1000),
            prompt=Prompt("pmpt_1", "2", {"city": "Paris"}),
            reasoning=Reasoning("low"),
            include=("item.input_audio_transcription.logprobs",),
            max_output_tokens=512,
        )
    )
    assert session == {
        "type": "realtime",
        "tool_choice": {"type": "function", "name": "get_time"},
        "tracing": {"workflow_name": "w", "metadata": {"k": "v"}},
        "truncation": {
            "type": "retention_ratio",
            "retention_ratio": 0.8,
            "token_limits": {"post_instructions": 1000},
        },
        "prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}},
        "reasoning": {"effort": "low"},
        "include": ["item.input_audio_transcription.logprobs"],
        "max_output_tokens": 512,
    }
    assert GA.encode_session(SessionConfig(tracing="auto", truncation="disabled")) == {
        "type": "realtime",
        "tracing": "auto",
        "truncation": "disabled",
    }


def test_temperature_is_encoded_under_its_name_for_the_rules_to_reject() -> None:
    assert GA.encode_session(SessionConfig(temperature=0.8)) == {
        "type": "realtime",
        "temperature": 0.8,
    }


def test_extra_is_merged_verbatim_and_dotted_keys_nest() -> None:
    session = GA.encode_session(
        SessionConfig(
            noise_reduction=NoiseReduction("near_field"),
            extra={"parallel_tool_calls": True, "audio.input.noise_reduction.strength": 0.5},
        )
    )
    assert session["parallel_tool_calls"] is True
    assert session["audio"]["input"]["noise_reduction"] == {"type": "near_field", "strength": 0.5}


def test_the_encoder_never_crashes_on_values_of_the_wrong_type() -> None:
    odd = SessionConfig(
        turn_detection={"type": "server_vad", "threshold": 0.5},  # type: ignore[arg-type]
        input_format="pcm16",  # type: ignore[arg-type]
        tools=[{"type": "function", "name": "f"}],  # type: ignore[arg-type]
        speed="fast",  # type: ignore[arg-type]
        extra={"blob": b"\x00", "obj": object()},
    )
    session = GA.encode_session(odd)
    json.dumps(session)
    assert session["audio"]["input"]["turn_detection"] == {"type": "server_vad", "threshold": 0.5}


def test_session_paths_table() -> None:
    assert GA.session_paths["turn_detection"] == "audio.input.turn_detection"
    assert GA.session_paths["voice"] == "audio.output.voice"
    assert GA.session_paths["input_format"] == "audio.input.format"
    assert GA.session_paths["noise_reduction"] == "audio.input.noise_reduction"
    assert GA.session_paths["transcription"] == "audio.input.transcription"
    assert GA.session_path("turn_detection") == "session.audio.input.turn_detection"
    assert set(GA.session_paths) == set(SessionConfig.field_names()) - {"extra"}
    assert get_dialect("ga") is GA


# -- commands --------------------------------------------------------------------------------


def test_every_simple_command_golden() -> None:
    enc = GA.encode_command
    assert enc(AppendAudio(b"\x00\x01\x02"), "e1") == {
        "type": "input_audio_buffer.append",
        "event_id": "e1",
        "audio": "AAEC",
    }
    assert enc(CommitAudio(), None) == {"type": "input_audio_buffer.commit"}
    assert enc(ClearAudio(), None) == {"type": "input_audio_buffer.clear"}
    assert enc(ClearOutputAudio(), None) == {"type": "output_audio_buffer.clear"}
    assert enc(DeleteItem("item_1"), None) == {
        "type": "conversation.item.delete",
        "item_id": "item_1",
    }
    assert enc(RetrieveItem("item_1"), None) == {
        "type": "conversation.item.retrieve",
        "item_id": "item_1",
    }
    assert enc(TruncateItem("item_1", 1500), None) == {
        "type": "conversation.item.truncate",
        "item_id": "item_1",
        "content_index": 0,
        "audio_end_ms": 1500,
    }
    assert enc(CancelResponse(), None) == {"type": "response.cancel"}
    assert enc(CancelResponse("resp_1"), None) == {
        "type": "response.cancel",
        "response_id": "resp_1",
    }
    assert enc(CreateResponse(), None) == {"type": "response.create"}
    assert GA.encode(CommitAudio(), "e9") == '{"type":"input_audio_buffer.commit","event_id":"e9"}'


def test_transcription_only_update_uses_session_type_transcription() -> None:
    config = SessionConfig(
        input_format=AudioFormat.pcm16(),
        transcription=Transcription(model="gpt-live-transcribe"),
        turn_detection=None,
    )
    # protocol.md 2.2's example from the OpenAI transcription guide.
    assert GA.encode_command(UpdateSession(config, transcription_only=True), None) == (
        ga_transcription_update()
    )


def test_item_create_uses_ga_content_types() -> None:
    user = MessageItem(
        "user",
        (
            InputText("hi"),
            InputAudio(b"\x01\x02", "hello"),
            InputImage("data:image/png;base64,AA", "low"),
        ),
        id="item_u",
    )
    assert GA.encode_command(CreateItem(user, previous_item_id="root"), None) == {
        "type": "conversation.item.create",
        "previous_item_id": "root",
        "item": {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "hi"},
                {"type": "input_audio", "audio": "AQI=", "transcript": "hello"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
            ],
            "id": "item_u",
        },
    }
    assistant = MessageItem("assistant", (OutputText("ok"),))
    assert GA.encode_command(CreateItem(assistant), None)["item"]["content"] == [
        {"type": "output_text", "text": "ok"}
    ]
    output = FunctionCallOutputItem("call_1", '{"t": "12:00"}')
    assert GA.encode_command(CreateItem(output), None)["item"] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": '{"t": "12:00"}',
    }


def test_response_create_maps_options_to_ga_fields() -> None:
    options = ResponseOptions(
        instructions="Provide a concise answer.",
        output_modalities=("text", "audio"),
        voice="marin",
        output_format=AudioFormat.pcmu(),
        tools=(),
        tool_choice=FunctionChoice("get_time"),
        max_output_tokens=200,
        conversation="none",
        input=(ItemReference("item_12345"),),
        metadata={"response_purpose": "summarization"},
    )
    assert GA.encode_command(CreateResponse(options), "e2") == {
        "type": "response.create",
        "event_id": "e2",
        "response": {
            "instructions": "Provide a concise answer.",
            "output_modalities": ["audio"],
            "audio": {"output": {"voice": "marin", "format": {"type": "audio/pcmu"}}},
            "tools": [],
            "tool_choice": {"type": "function", "name": "get_time"},
            "max_output_tokens": 200,
            "conversation": "none",
            "input": [{"type": "item_reference", "id": "item_12345"}],
            "metadata": {"response_purpose": "summarization"},
        },
    }
