"""ClientProtocol: synchronous, no event loop, no sockets. JSON in, JSON out."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    CreateResponse,
    ResponseOptions,
    UpdateSession,
)
from realtalk.config import SemanticVAD, ServerVAD, SessionConfig
from realtalk.dialects import BETA, GA
from realtalk.errors import ConfigError, ConfigProblem, InvalidState
from realtalk.events import (
    AudioDelta,
    ConfigMismatch,
    ErrorEvent,
    ProtocolViolation,
    SessionCreated,
    SessionUpdated,
    UnknownEvent,
)
from realtalk.protocol import ClientProtocol, ResponseState, State

from .samples import ga_session

GA_SESSION = ga_session(id="sess_1", instructions="default")


def created(session: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {"type": "session.created", "event_id": "e0", "session": session or GA_SESSION}
    )


def updated(session: dict[str, Any]) -> str:
    return json.dumps({"type": "session.updated", "event_id": "e1", "session": session})


def response_event(kind: str, rid: str) -> str:
    return json.dumps(
        {
            "type": kind,
            "event_id": "ev",
            "response": {
                "id": rid,
                "object": "realtime.response",
                "status": "completed",
                "output": [],
            },
        }
    )


def sent(proto: ClientProtocol) -> list[dict[str, Any]]:
    return [json.loads(t) for t in proto.messages_to_send()]


def open_proto(**kwargs: Any) -> ClientProtocol:
    proto = ClientProtocol(GA, **kwargs)
    proto.receive_message(created())
    proto.events_received()
    return proto


def test_session_created_opens_and_confirms() -> None:
    proto = ClientProtocol(GA)
    assert proto.state is State.CONNECTING
    proto.receive_message(created())
    (event,) = proto.events_received()
    assert isinstance(event, SessionCreated)
    assert proto.state is State.OPEN
    assert proto.confirmed is not None
    assert proto.confirmed.voice == "marin"
    assert proto.session_id == "sess_1"


def test_second_create_response_is_queued_not_sent() -> None:
    proto = open_proto()
    proto.send(CreateResponse())
    proto.send(CreateResponse())
    assert [e["type"] for e in sent(proto)] == ["response.create"]
    assert proto.queued_responses == 1
    proto.receive_message(response_event("response.created", "r1"))
    assert proto.response_state is ResponseState.ACTIVE
    assert sent(proto) == []
    proto.receive_message(response_event("response.done", "r1"))
    out = sent(proto)
    assert [e["type"] for e in out] == ["response.create"]
    assert proto.queued_responses == 0


def test_out_of_band_response_is_not_queued() -> None:
    proto = open_proto()
    proto.send(CreateResponse())
    proto.send(CreateResponse(ResponseOptions(conversation="none")))
    assert [e["type"] for e in sent(proto)] == ["response.create", "response.create"]


def test_vad_response_racing_ours_requeues_instead_of_failing() -> None:
    proto = open_proto()
    event_id = proto.send(CreateResponse())
    sent(proto)
    proto.receive_message(response_event("response.created", "r_vad"))
    proto.receive_message(
        json.dumps(
            {
                "type": "error",
                "event_id": "x",
                "error": {
                    "type": "invalid_request_error",
                    "code": "conversation_already_has_active_response",
                    "message": "Conversation already has an active response in progress: r_vad.",
                    "param": None,
                    "event_id": event_id,
                },
            }
        )
    )
    assert sent(proto) == []
    proto.receive_message(response_event("response.done", "r_vad"))
    assert [e["type"] for e in sent(proto)] == ["response.create"]


def test_update_is_matched_and_mismatch_reported() -> None:
    proto = open_proto()
    proto.send(UpdateSession(SessionConfig(voice="cedar", instructions="Be brief.")))
    (update,) = sent(proto)
    assert update["type"] == "session.update"
    assert update["session"]["type"] == "realtime"
    assert len(proto.pending_updates) == 1
    applied = json.loads(json.dumps(GA_SESSION))
    applied["instructions"] = "Be brief."  # the server kept the old voice
    proto.receive_message(updated(applied))
    events = proto.events_received()
    assert isinstance(events[0], SessionUpdated)
    mismatches = [e for e in events if isinstance(e, ConfigMismatch)]
    assert [(m.field, m.requested, m.applied) for m in mismatches] == [("voice", "cedar", "marin")]
    assert proto.pending_updates == ()


def test_partial_part_request_matches_filled_server_echo() -> None:
    proto = open_proto()
    proto.send(UpdateSession(SessionConfig(turn_detection=ServerVAD(threshold=0.6))))
    sent(proto)
    applied = json.loads(json.dumps(GA_SESSION))
    applied["audio"]["input"]["turn_detection"]["threshold"] = 0.6
    proto.receive_message(updated(applied))
    assert not [e for e in proto.events_received() if isinstance(e, ConfigMismatch)]


def test_rejected_update_keeps_confirmed_config() -> None:
    proto = open_proto()
    before = proto.confirmed
    event_id = proto.send(UpdateSession(SessionConfig(turn_detection=SemanticVAD())))
    sent(proto)
    proto.receive_message(
        json.dumps(
            {
                "type": "error",
                "event_id": "x",
                "error": {
                    "type": "invalid_request_error",
                    "code": "unknown_parameter",
                    "message": "Unknown parameter: 'session.audio.input.turn_detection.threshold'.",
                    "param": "session.audio.input.turn_detection.threshold",
                    "event_id": event_id,
                },
            }
        )
    )
    (event,) = proto.events_received()
    assert isinstance(event, ErrorEvent)
    assert event.error.event_id == event_id
    assert proto.pending_updates == ()
    assert proto.confirmed == before


def test_validation_failure_sends_nothing() -> None:
    def reject(config: SessionConfig) -> None:
        raise ConfigError([ConfigProblem("session.voice", config.voice, "no")])

    proto = open_proto(validate=reject)
    with pytest.raises(ConfigError):
        proto.send(UpdateSession(SessionConfig(voice="x")))
    assert sent(proto) == []
    assert proto.pending_updates == ()


def test_malformed_frames_become_events_not_exceptions() -> None:
    proto = open_proto()
    proto.receive_message("{not json")
    proto.receive_message(json.dumps({"no": "type"}))
    proto.receive_message(json.dumps({"type": "response.output_audio.delta", "delta": 5}))
    proto.receive_message(json.dumps({"type": "brand.new.event", "x": 1}))
    events = proto.events_received()
    assert [type(e) for e in events] == [
        ProtocolViolation,
        ProtocolViolation,
        ProtocolViolation,
        UnknownEvent,
    ]


def audio_delta(item_id: str, n_bytes: int) -> str:
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "ev",
            "response_id": "r1",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(b"\0" * n_bytes).decode(),
        }
    )


def test_truncation_is_clamped_to_audio_received() -> None:
    proto = open_proto()
    proto.receive_message(audio_delta("item_a", 48000))  # 1000 ms of PCM16 24 kHz
    proto.receive_message(audio_delta("item_a", 24000))  # +500 ms
    events = proto.events_received()
    assert all(isinstance(e, AudioDelta) for e in events)
    assert proto.conversation.audio_ms("item_a") == 1500
    proto.truncate("item_a", 900.7)
    proto.truncate("item_a", 99999)
    out = sent(proto)
    assert [e["audio_end_ms"] for e in out] == [900, 1500]
    assert all(e["type"] == "conversation.item.truncate" for e in out)
    assert out[0]["item_id"] == "item_a"
    assert out[0]["content_index"] == 0


def test_on_send_rewrites_and_drops() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any] | None:
        if event["type"] == "input_audio_buffer.append":
            return None
        event["session"]["instructions"] = "rewritten"
        return event

    proto = open_proto(on_send=hook)
    proto.send(AppendAudio(b"\0\0"))
    proto.send(UpdateSession(SessionConfig(instructions="original")))
    out = sent(proto)
    assert len(out) == 1
    assert out[0]["session"]["instructions"] == "rewritten"


def test_closed_protocol_refuses_to_send() -> None:
    proto = open_proto()
    proto.close()
    with pytest.raises(InvalidState):
        proto.send(CancelResponse())


def test_oversized_append_is_refused() -> None:
    proto = open_proto()
    with pytest.raises(InvalidState, match="15 MiB"):
        proto.send(AppendAudio(b"\0" * (15 * 1024 * 1024 + 1)))
    assert sent(proto) == []


def test_beta_dialect_works_through_the_same_machine() -> None:
    proto = ClientProtocol(BETA)
    proto.receive_message(
        created(
            {
                "id": "s",
                "object": "realtime.session",
                "modalities": ["audio", "text"],
                "voice": "verse",
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "turn_detection": None,
            }
        )
    )
    proto.events_received()
    proto.send(UpdateSession(SessionConfig(output_modalities=("audio",), turn_detection=None)))
    (update,) = sent(proto)
    assert update["session"] == {"modalities": ["audio", "text"], "turn_detection": None}


# -- bookkeeping: updates by event_id, one record per response --------------------------------


def error_for(event_id: str, code: str = "invalid_value") -> str:
    body = {"type": "invalid_request_error", "code": code, "message": "no", "event_id": event_id}
    return json.dumps({"type": "error", "event_id": "e9", "error": {**body, "param": None}})


def test_an_update_dropped_by_on_send_is_not_pending_and_answers_match_by_event_id() -> None:
    def hook(event: dict[str, Any]) -> dict[str, Any] | None:
        dropped = event.get("session", {}).get("instructions") == "drop"
        return None if dropped else event

    proto = open_proto(on_send=hook)
    dropped = proto.send(UpdateSession(SessionConfig(instructions="drop")))
    kept = proto.send(UpdateSession(SessionConfig(instructions="kept")))
    refused = proto.send(UpdateSession(SessionConfig(voice="cedar")))
    assert not proto.is_pending(dropped)
    assert [p.event_id for p in proto.pending_updates] == [kept, refused]
    assert [m["type"] for m in sent(proto)] == ["session.update", "session.update"]
    proto.receive_message(error_for(refused))
    proto.receive_message(updated(dict(GA_SESSION, instructions="kept")))
    events = proto.events_received()
    assert not [e for e in events if isinstance(e, ConfigMismatch)]
    outcomes = proto.update_outcomes()
    assert [(o.event_id, o.confirmed) for o in outcomes] == [(refused, False), (kept, True)]
    assert outcomes[1].config is not None
    assert outcomes[1].config.instructions == "kept"
    assert proto.update_outcomes() == []


def test_a_requeued_response_keeps_its_options_and_gets_a_fresh_event_id() -> None:
    proto = open_proto()
    options = ResponseOptions(instructions="In French.")
    first = proto.send(CreateResponse(options))
    (create,) = sent(proto)
    proto.receive_message(response_event("response.created", "vad_resp"))
    proto.receive_message(error_for(first, "conversation_already_has_active_response"))
    proto.events_received()
    assert sent(proto) == []  # waits for the active response
    proto.receive_message(response_event("response.done", "vad_resp"))
    (again,) = sent(proto)
    assert again["response"] == create["response"]
    assert again["event_id"] != first
    assert proto.requested is not None
    assert proto.requested[1].options == options


def test_response_records_are_retired_when_over_and_nothing_is_kept() -> None:
    proto = open_proto()
    for n in range(1000):
        proto.receive_message(response_event("response.created", f"r{n}"))
        proto.receive_message(response_event("response.done", f"r{n}"))
        proto.events_received()
    assert len(proto.responses) == 0
    assert proto.responses.retired == 1000
    assert not proto.busy


def test_a_record_with_a_tool_call_is_retired_after_the_output_and_the_follow_up() -> None:
    from realtalk.commands import CreateItem
    from realtalk.items import FunctionCallOutputItem

    proto = open_proto()
    proto.receive_message(response_event("response.created", "r1"))
    proto.receive_message(
        json.dumps(
            {
                "type": "response.function_call_arguments.done",
                "event_id": "e",
                "response_id": "r1",
                "item_id": "i1",
                "output_index": 0,
                "call_id": "c1",
                "name": "f",
                "arguments": "{}",
            }
        )
    )
    proto.receive_message(response_event("response.done", "r1"))
    record = proto.responses.get("r1")
    assert record is not None
    assert record.tool_calls == {"c1"}
    assert proto.busy
    proto.send(CreateItem(FunctionCallOutputItem("c1", "42")))
    assert record.follow_up_due
    proto.follow_up_sent(record)
    assert proto.responses.get("r1") is None
    assert not proto.busy


def test_a_response_created_twice_is_a_protocol_violation_not_a_crash() -> None:
    proto = open_proto()
    proto.receive_message(response_event("response.created", "r1"))
    proto.receive_message(response_event("response.created", "r1"))
    events = proto.events_received()
    assert isinstance(events[-1], ProtocolViolation)
    assert "created twice" in events[-1].reason


def test_stop_response_sends_one_cancel_and_drops_the_calls() -> None:
    proto = open_proto()
    proto.receive_message(response_event("response.created", "r1"))
    assert proto.stop_response("r1", cancel=True) == []
    assert proto.stop_response("r1", cancel=True) == []
    assert [m["type"] for m in sent(proto)] == ["response.cancel"]
    record = proto.responses.get("r1")
    assert record is not None
    assert record.stopped


def test_a_lone_surrogate_from_the_server_can_be_sent_back() -> None:
    from realtalk.commands import TruncateItem

    proto = open_proto()
    proto.send(TruncateItem("item_\ud800", 10))
    (text,) = proto.messages_to_send()
    text.encode("utf-8")  # would raise UnicodeEncodeError before
    assert json.loads(text)["item_id"] == "item_\ud800"


# -- a new connection for the same conversation (reconnect) -----------------------------------


def _function_call_done(rid: str, call_id: str) -> str:
    return json.dumps(
        {
            "type": "response.function_call_arguments.done",
            "event_id": "ev",
            "response_id": rid,
            "item_id": "item_f",
            "output_index": 0,
            "call_id": call_id,
            "name": "get_weather",
            "arguments": "{}",
        }
    )


def test_new_connection_reports_what_was_left_unfinished() -> None:
    from realtalk.commands import ResponseOptions

    proto = open_proto()
    proto.send(UpdateSession(SessionConfig(instructions="x")))
    asked = CreateResponse(ResponseOptions(instructions="in French"))
    proto.send(asked)
    proto.receive_message(response_event("response.created", "resp_1"))
    proto.receive_message(_function_call_done("resp_1", "call_1"))
    proto.events_received()
    proto.send(CreateResponse())  # queued behind the active one
    loss = proto.new_connection()
    assert loss.cut == (("resp_1", asked),)
    assert loss.requested is None  # it was created: it comes back as the cut response
    assert loss.dropped_calls == ("call_1",)
    assert len(loss.pending_updates) == 1
    assert proto.state is State.CONNECTING
    assert proto.confirmed is None
    assert proto.session_id is None
    assert proto.response_state is ResponseState.IDLE
    assert len(proto.responses) == 0
    assert not proto.has_messages_to_send
    assert proto.queued_responses == 1  # still wanted on the new connection
    proto.receive_message(created())
    assert proto.events_received()
    assert proto.state is State.OPEN


def test_new_connection_keeps_responses_waiting_on_tools_and_reports_an_unanswered_create() -> None:
    proto = open_proto()
    proto.send(CreateResponse())
    proto.receive_message(response_event("response.created", "resp_1"))
    proto.receive_message(_function_call_done("resp_1", "call_1"))
    proto.receive_message(response_event("response.done", "resp_1"))
    proto.events_received()
    follow_up = CreateResponse()
    proto.send(follow_up)  # sent, never created
    loss = proto.new_connection()
    assert loss.cut == ()
    assert loss.requested is follow_up
    assert loss.dropped_calls == ()
    (record,) = list(proto.responses)
    assert record.response_id == "resp_1"
    assert record.tool_calls == {"call_1"}  # its tool still runs; the output goes out later
