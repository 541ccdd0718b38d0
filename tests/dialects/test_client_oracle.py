"""Every client event the codecs produce validates against the official openai SDK unions and
carries no key outside their declared fields (the issue's "Done when")."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtalk.commands import CreateResponse, ResponseOptions, UpdateSession
from realtalk.config import (
    FunctionChoice,
    NoiseReduction,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    Transcription,
)
from realtalk.dialects import BETA, GA
from realtalk.items import InputText, ItemReference, MessageItem
from tests.dialects.strategies import commands
from tests.oracle import GA_CLIENT_PARAM, undeclared_keys, validate_client_event

ORACLE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
event_ids = st.none() | st.from_regex(r"evt_[a-z0-9]{1,10}", fullmatch=True)


@ORACLE
@given(commands(beta=False), event_ids)
def test_every_ga_command_validates_against_the_ga_sdk_union(command: Any, event_id: Any) -> None:
    event = GA.encode_command(command, event_id)
    validate_client_event("ga", event)
    assert ("event_id" in event) == (event_id is not None)


@ORACLE
@given(commands(beta=True), event_ids)
def test_every_beta_command_validates_against_the_beta_sdk_union(
    command: Any, event_id: Any
) -> None:
    event = BETA.encode_command(command, event_id)
    validate_client_event("beta", event)
    assert ("event_id" in event) == (event_id is not None)
    if event["type"].endswith("session.update"):
        assert not {"type", "output_modalities", "audio"} & set(event["session"])


def test_ga_item_references_in_response_input_validate_against_the_param_union() -> None:
    # The GA *model* for response.create has no item_reference; the request param type does
    # (protocol.md 6.7; the spec's out-of-band example uses it).
    options = ResponseOptions(
        conversation="none",
        output_modalities=("text",),
        input=(ItemReference("item_12345"), MessageItem("user", (InputText("Summarize"),))),
        metadata={"response_purpose": "summarization"},
    )
    event = GA.encode_command(CreateResponse(options), None)
    GA_CLIENT_PARAM.validate_python(event)
    assert event["response"]["input"][0] == {"type": "item_reference", "id": "item_12345"}


def test_ga_payload_for_the_users_config_is_one_ga_accepts() -> None:
    # User report: ["text","audio"] + semantic VAD + noise reduction on OpenAI GA.
    config = SessionConfig(
        output_modalities=("text", "audio"),
        voice="marin",
        turn_detection=SemanticVAD(eagerness="high"),
        noise_reduction=NoiseReduction(type="near_field"),
        transcription=Transcription(model="gpt-4o-mini-transcribe"),
        tool_choice=FunctionChoice("lookup"),
    )
    model = validate_client_event("ga", GA.encode_command(UpdateSession(config), "evt_1"))
    assert undeclared_keys(model) == []


def test_server_vad_with_every_knob_validates_on_both_shapes() -> None:
    vad = ServerVAD(0.5, 300, 500, create_response=True, interrupt_response=False)
    validate_client_event("ga", GA.encode_command(UpdateSession(SessionConfig(turn_detection=vad))))
    validate_client_event(
        "beta", BETA.encode_command(UpdateSession(SessionConfig(turn_detection=vad)))
    )
