"""The audio fast paths give exactly what the general paths give.

Inbound, ``Dialect.decode`` cuts an audio delta's base64 out before parsing; outbound,
``ClientProtocol`` assembles an append's text around its base64. Both must be invisible: the same
neutral event as ``decode_event(json.loads(text))``, the same text as the dialect's
``encode_command`` through ``encode_json``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtalk import events as ev
from realtalk.commands import AppendAudio, CommitAudio
from realtalk.dialects import BETA, GA
from realtalk.errors import InvalidState
from realtalk.protocol import MAX_APPEND_BYTES, ClientProtocol, State, encode_json

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AUDIO_TYPES = ["response.output_audio.delta", "response.audio.delta"]
OTHER_TYPES = ["response.output_text.delta", "response.function_call_arguments.delta", "x.delta"]


def general(dialect: Any, text: str) -> Any:
    """What decoding gives without any fast path."""
    return dialect.decode_event(json.loads(text))


def b64(n: int, seed: int = 0) -> str:
    return base64.b64encode(bytes((seed + i * 7) % 256 for i in range(n))).decode()


def delta_message(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "response.output_audio.delta",
        "event_id": "event_1",
        "response_id": "resp_1",
        "item_id": "item_1",
        "output_index": 0,
        "content_index": 0,
        "delta": b64(960),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


@FUZZ
@given(
    kind=st.sampled_from(AUDIO_TYPES + OTHER_TYPES),
    delta=st.one_of(
        st.integers(0, 400).map(b64),
        st.text(max_size=20),
        json_values,
    ),
    extra=st.dictionaries(
        st.sampled_from(["response_id", "item_id", "output_index", "content_index", "nested"]),
        json_values,
        max_size=3,
    ),
    nested_delta=st.booleans(),
    delta_first=st.booleans(),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (",", ":")]),
    ensure_ascii=st.booleans(),
    escape_slashes=st.booleans(),
    dialect=st.sampled_from([GA, BETA]),
)
def test_decoding_with_the_fast_path_equals_decoding_the_parsed_message(
    kind: str,
    delta: Any,
    extra: dict[str, Any],
    nested_delta: bool,
    delta_first: bool,
    separators: tuple[str, str],
    ensure_ascii: bool,
    escape_slashes: bool,
    dialect: Any,
) -> None:
    message = delta_message(type=kind, **extra)
    message["delta"] = delta
    if nested_delta:
        message["nested"] = {"delta": b64(30, seed=3)}
    if delta_first:
        message = {"delta": message.pop("delta"), **message}
    text = json.dumps(message, separators=separators, ensure_ascii=ensure_ascii)
    if escape_slashes:
        text = text.replace("/", "\\/")  # legal JSON some servers write; decodes to the same
    assert dialect.decode(text) == general(dialect, text)


@pytest.mark.parametrize("dialect", [GA, BETA], ids=["ga", "beta"])
@pytest.mark.parametrize(
    "message",
    [
        delta_message(),
        delta_message(type="response.audio.delta"),
        {"delta": b64(48), **delta_message()},  # the payload first
        delta_message(delta=""),  # an empty delta
        delta_message(delta=5, nested={"delta": b64(12)}),  # the only string delta is nested
        delta_message(nested={"delta": b64(12)}),  # two of them
        delta_message(delta="not base64!"),
        delta_message(event_id=..., response_id=7),  # the checked path's errors
        delta_message(type="response.output_text.delta", delta="a \"quoted\" delta"),
    ],
    ids=[
        "plain", "beta", "payload-first", "empty", "nested-only", "two",
        "bad-base64", "bad-fields", "text-delta",
    ],
)  # fmt: skip
def test_decoding_edge_cases_agree(dialect: Any, message: dict[str, Any]) -> None:
    text = json.dumps(message, separators=(",", ":"))
    assert dialect.decode(text) == general(dialect, text)
    assert dialect.decode(text.encode()) == general(dialect, text)


def test_an_audio_delta_decodes_to_its_audio_and_a_bad_one_is_reported() -> None:
    event = GA.decode(json.dumps(delta_message(), separators=(",", ":")))
    assert isinstance(event, ev.AudioDelta)
    assert event.audio == base64.b64decode(b64(960))
    assert (event.response_id, event.item_id, event.event_id) == ("resp_1", "item_1", "event_1")
    # A raw control character inside the value is invalid JSON: refused, not passed through.
    bad = json.dumps(delta_message(delta="AAAA"), separators=(",", ":")).replace("AAAA", "AA\nA")
    assert isinstance(GA.decode(bad), ev.ProtocolViolation)
    assert isinstance(GA.decode(bad[:-5]), ev.ProtocolViolation)  # cut short: not JSON


@FUZZ
@given(
    audio=st.binary(max_size=3000),
    kind=st.sampled_from([bytes, bytearray, memoryview]),
    dialect=st.sampled_from([GA, BETA]),
    prefix=st.sampled_from(["rt", "evt", "a_b-c", 'q"uo\\te', "é\u2028", "\ud800x"]),
    direct=st.booleans(),
)
def test_an_append_is_sent_as_the_dialect_encodes_it(
    audio: bytes, kind: Any, dialect: Any, prefix: str, direct: bool
) -> None:
    proto = ClientProtocol(dialect, event_id_prefix=prefix)
    proto.send(CommitAudio())  # the event ids go on counting across commands
    # append_audio is the session's audio path; send(AppendAudio) takes it too
    send = proto.append_audio if direct else lambda a: proto.send(AppendAudio(a))
    event_id = send(kind(audio))
    assert event_id == f"{prefix}_2"
    _, text = proto.messages_to_send()
    assert text == encode_json(dialect.encode_command(AppendAudio(audio), event_id))
    assert json.loads(text) == {
        "type": "input_audio_buffer.append",
        "event_id": event_id,
        "audio": base64.b64encode(audio).decode(),
    }
    assert proto.next_event_id() == f"{prefix}_3"


def test_append_audio_refuses_what_send_refuses() -> None:
    proto = ClientProtocol(GA)
    too_big = memoryview(bytes(MAX_APPEND_BYTES + 2))
    with pytest.raises(InvalidState, match="at most 15 MiB"):
        proto.append_audio(too_big)
    assert proto.messages_to_send() == []
    proto.state = State.CLOSED
    with pytest.raises(InvalidState, match="closed"):
        proto.append_audio(b"\x00\x00")
    assert proto.messages_to_send() == []


def test_an_on_send_hook_still_sees_and_rewrites_appends() -> None:
    seen: list[dict[str, Any]] = []

    def hook(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(event))
        return {**event, "audio": ""}

    proto = ClientProtocol(GA, on_send=hook)
    proto.send(AppendAudio(b"\x01\x02"))
    proto.append_audio(b"\x03\x04")
    texts = proto.messages_to_send()
    assert [e["audio"] for e in seen] == [
        base64.b64encode(a).decode() for a in (b"\x01\x02", b"\x03\x04")
    ]
    assert [json.loads(t)["audio"] for t in texts] == ["", ""]
