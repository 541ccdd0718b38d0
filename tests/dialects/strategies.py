"""Hypothesis strategies for the dialect tests: neutral configs, items and commands per dialect.

They stay inside what each shape accepts, so whatever they build must pass the wire oracle
(tests/oracle.py) once encoded.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

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
    ToolSpec,
    Tracing,
    Transcription,
)
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputImage,
    InputText,
    ItemReference,
    MessageItem,
    OutputText,
)

# -- strategies ------------------------------------------------------------------------------


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(UNSET), strategy)


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    # Three decimals: what a user writes; rounding on the wire (6 decimals) keeps it exact.
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 3))


_text = st.text(max_size=20)
_name = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
_formats = st.sampled_from([AudioFormat.pcm16(), AudioFormat.pcmu(), AudioFormat.pcma()])
_modalities = st.sampled_from([("audio",), ("text",), ("text", "audio"), ("audio", "text")])
_BETA_MODELS = [
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-4o-realtime-preview",
    "gpt-4o-mini-realtime-preview",
]


def server_vad(*, idle: bool) -> st.SearchStrategy[ServerVAD]:
    return st.builds(
        ServerVAD,
        threshold=_opt(_floats(0, 1)),
        prefix_padding_ms=_opt(st.integers(0, 2000)),
        silence_duration_ms=_opt(st.integers(0, 2000)),
        idle_timeout_ms=_opt(st.one_of(st.none(), st.integers(5000, 30000)))
        if idle
        else st.just(UNSET),
        create_response=_opt(st.booleans()),
        interrupt_response=_opt(st.booleans()),
    )


semantic_vad = st.builds(
    SemanticVAD,
    eagerness=_opt(st.sampled_from(["low", "medium", "high", "auto"])),
    create_response=_opt(st.booleans()),
    interrupt_response=_opt(st.booleans()),
)

tools = st.lists(
    st.builds(
        ToolSpec,
        name=_name,
        description=_text,
        parameters=st.just({"type": "object", "properties": {"x": {"type": "string"}}}),
    ),
    max_size=2,
).map(tuple)
string_tool_choice = st.sampled_from(["auto", "none", "required"])
tracing = st.one_of(
    st.none(),
    st.just("auto"),
    st.builds(
        Tracing,
        workflow_name=_opt(_text),
        group_id=_opt(_text),
        metadata=_opt(st.dictionaries(_name, _text, max_size=2)),
    ),
)


def ga_transcription() -> st.SearchStrategy[Transcription]:
    return st.builds(
        Transcription,
        model=_opt(st.sampled_from(["whisper-1", "gpt-4o-transcribe", "gpt-live-transcribe"])),
        language=_opt(st.sampled_from(["en", "de"])),
        prompt=_opt(_text),
        languages=_opt(st.lists(st.sampled_from(["en", "fr"]), max_size=2).map(tuple)),
        keywords=_opt(st.lists(_name, max_size=2).map(tuple)),
        delay=_opt(st.sampled_from(["minimal", "low", "medium", "high", "xhigh"])),
    )


def beta_transcription(models: list[str]) -> st.SearchStrategy[Transcription]:
    return st.builds(
        Transcription,
        model=_opt(st.sampled_from(models)),
        language=_opt(st.sampled_from(["en", "de"])),
        prompt=_opt(_text),
    )


ga_noise = st.builds(
    NoiseReduction,
    type=_opt(st.sampled_from(["near_field", "far_field"])),
    strength=_opt(_floats(0, 1)),
)
beta_noise = st.builds(NoiseReduction, type=_opt(st.sampled_from(["near_field", "far_field"])))
_extra = st.dictionaries(
    st.from_regex(r"x_[a-z]{1,8}", fullmatch=True),
    st.one_of(st.integers(), _text, st.booleans(), st.none()),
    min_size=1,  # an empty extra sends nothing, so it reads back as UNSET
    max_size=2,
)


def ga_configs(*, extra: bool = False) -> st.SearchStrategy[SessionConfig]:
    """Configs valid on GA (everything but temperature)."""
    return st.builds(
        SessionConfig,
        model=_opt(st.sampled_from(["gpt-realtime", "gpt-realtime-mini", "my-deployment"])),
        instructions=_opt(_text),
        output_modalities=_opt(_modalities),
        voice=_opt(st.sampled_from(["alloy", "marin", "cedar", "verse"])),
        speed=_opt(_floats(0.25, 1.5)),
        input_format=_opt(_formats),
        output_format=_opt(_formats),
        turn_detection=_opt(st.one_of(st.none(), server_vad(idle=True), semantic_vad)),
        noise_reduction=_opt(st.one_of(st.none(), ga_noise)),
        transcription=_opt(st.one_of(st.none(), ga_transcription())),
        tools=_opt(tools),
        tool_choice=_opt(st.one_of(string_tool_choice, st.builds(FunctionChoice, _name))),
        max_output_tokens=_opt(st.one_of(st.integers(1, 4096), st.just("inf"))),
        tracing=_opt(tracing),
        truncation=_opt(
            st.one_of(
                st.sampled_from(["auto", "disabled"]),
                st.builds(
                    RetentionRatio,
                    _floats(0, 1),
                    st.one_of(st.none(), st.integers(0, 10000)),
                ),
            )
        ),
        prompt=_opt(
            st.one_of(
                st.none(),
                st.builds(
                    Prompt,
                    _name,
                    st.one_of(st.none(), st.sampled_from(["1", "2"])),
                    st.one_of(st.none(), st.dictionaries(_name, _text, max_size=2)),
                ),
            )
        ),
        reasoning=_opt(st.builds(Reasoning, st.sampled_from(["minimal", "low", "high"]))),
        include=_opt(st.one_of(st.none(), st.just(("item.input_audio_transcription.logprobs",)))),
        extra=_opt(_extra) if extra else st.just(UNSET),
    )


def beta_configs(*, extra: bool = False) -> st.SearchStrategy[SessionConfig]:
    """Configs valid on the beta shape (no GA-only fields, string tool_choice)."""
    return st.builds(
        SessionConfig,
        model=_opt(st.sampled_from(_BETA_MODELS)),
        instructions=_opt(_text),
        output_modalities=_opt(_modalities),
        voice=_opt(st.sampled_from(["alloy", "verse", "shimmer"])),
        speed=_opt(_floats(0.25, 1.5)),
        input_format=_opt(_formats),
        output_format=_opt(_formats),
        turn_detection=_opt(st.one_of(st.none(), server_vad(idle=False), semantic_vad)),
        noise_reduction=_opt(st.one_of(st.none(), beta_noise)),
        transcription=_opt(
            st.one_of(st.none(), beta_transcription(["whisper-1", "gpt-4o-transcribe"]))
        ),
        tools=_opt(tools),
        tool_choice=_opt(string_tool_choice),
        max_output_tokens=_opt(st.one_of(st.integers(1, 4096), st.just("inf"))),
        temperature=_opt(_floats(0.6, 1.2)),
        tracing=_opt(tracing),
        extra=_opt(_extra) if extra else st.just(UNSET),
    )


def ga_transcription_configs() -> st.SearchStrategy[SessionConfig]:
    return st.builds(
        SessionConfig,
        input_format=_opt(_formats),
        turn_detection=_opt(st.one_of(st.none(), server_vad(idle=True), semantic_vad)),
        noise_reduction=_opt(st.one_of(st.none(), ga_noise)),
        transcription=_opt(st.one_of(st.none(), ga_transcription())),
        include=_opt(st.just(("item.input_audio_transcription.logprobs",))),
    )


def beta_transcription_configs() -> st.SearchStrategy[SessionConfig]:
    return st.builds(
        SessionConfig,
        output_modalities=_opt(_modalities),
        input_format=_opt(_formats),
        turn_detection=_opt(st.one_of(st.none(), server_vad(idle=False), semantic_vad)),
        noise_reduction=_opt(st.one_of(st.none(), beta_noise)),
        transcription=_opt(
            st.one_of(
                st.none(),
                beta_transcription(["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "whisper-1"]),
            )
        ),
        include=_opt(st.just(("item.input_audio_transcription.logprobs",))),
    )


_ids = st.from_regex(r"item_[a-z0-9]{1,10}", fullmatch=True)
_audio = st.binary(max_size=64)


def items(*, beta: bool) -> st.SearchStrategy[Any]:
    user_parts = [st.builds(InputText, _text), st.builds(InputAudio, _audio, st.none() | _text)]
    if not beta:
        user_parts.append(
            st.builds(
                InputImage, st.just("data:image/png;base64,AAAA"), st.sampled_from([None, "low"])
            )
        )
    status = st.sampled_from([None, "completed", "incomplete", "in_progress"])
    parts_by_role = {
        "user": st.one_of(*user_parts),
        "system": st.builds(InputText, _text),
        "assistant": st.builds(OutputText, _text),
    }
    return st.one_of(
        *(
            st.builds(
                MessageItem,
                st.just(role),
                st.lists(parts, min_size=1, max_size=2).map(tuple),
                st.none() | _ids,
                status,
            )
            for role, parts in parts_by_role.items()
        ),
        st.builds(
            FunctionCallItem, _name, st.just('{"x": 1}'), st.none() | _ids, st.none() | _ids, status
        ),
        st.builds(FunctionCallOutputItem, _ids, _text, st.none() | _ids, status),
    )


def response_options(*, beta: bool) -> st.SearchStrategy[ResponseOptions]:
    tool_choice = (
        string_tool_choice
        if beta
        else st.one_of(string_tool_choice, st.builds(FunctionChoice, _name))
    )
    return st.builds(
        ResponseOptions,
        instructions=_opt(_text),
        output_modalities=_opt(_modalities),
        voice=_opt(st.sampled_from(["alloy", "verse"])),
        output_format=_opt(_formats),
        tools=_opt(tools),
        tool_choice=_opt(tool_choice),
        max_output_tokens=_opt(st.one_of(st.integers(1, 4096), st.just("inf"))),
        temperature=_opt(_floats(0.6, 1.2)) if beta else st.just(UNSET),
        conversation=_opt(st.sampled_from(["auto", "none"])),
        # GA's RealtimeResponseCreateParams model has no item_reference; see the param test.
        input=_opt(
            st.lists(items(beta=beta) | st.builds(ItemReference, _ids), max_size=2).map(tuple)
            if beta
            else st.lists(items(beta=beta), max_size=2).map(tuple)
        ),
        metadata=_opt(st.dictionaries(_name, _text, max_size=2)),
    )


def commands(*, beta: bool) -> st.SearchStrategy[Any]:
    configs = beta_configs() if beta else ga_configs()
    transcription = beta_transcription_configs() if beta else ga_transcription_configs()
    return st.one_of(
        st.builds(UpdateSession, configs),
        st.builds(UpdateSession, transcription, st.just(True)),
        st.builds(AppendAudio, _audio),
        st.just(CommitAudio()),
        st.just(ClearAudio()),
        st.just(ClearOutputAudio()),
        st.builds(CreateItem, items(beta=beta), st.none() | _ids),
        st.builds(DeleteItem, _ids),
        st.builds(RetrieveItem, _ids),
        st.builds(TruncateItem, _ids, st.integers(0, 100000), st.just(0)),
        st.builds(CreateResponse, st.none() | response_options(beta=beta)),
        st.builds(CancelResponse, st.none() | st.from_regex(r"resp_[a-z0-9]{1,8}", fullmatch=True)),
    )
