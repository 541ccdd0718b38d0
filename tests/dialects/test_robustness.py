"""Fuzzing the never-raise promises: decoders never raise, encoders never crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtalk import events as ev
from realtalk.config import SessionConfig
from realtalk.dialects import BETA, GA
from realtalk.dialects._events import known_event_types

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [
    "response_id", "item_id", "output_index", "content_index", "delta", "item", "response",
    "session", "error", "part", "transcript", "text", "call_id", "arguments", "rate_limits",
    "audio_start_ms", "audio_end_ms", "conversation", "event", "received_at", "previous_item_id",
]  # fmt: skip


@FUZZ
@given(
    st.sampled_from(sorted(known_event_types())),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
    st.sampled_from([GA, BETA]),
)
def test_decoding_a_known_type_with_any_fields_never_raises(
    kind: str, fields: dict[str, Any], dialect: Any
) -> None:
    event = dialect.decode_event({"type": kind, **fields})
    assert not isinstance(event, ev.UnknownEvent)


@FUZZ
@given(json_values, st.sampled_from([GA, BETA]))
def test_decoding_any_session_object_never_raises(session: Any, dialect: Any) -> None:
    event = dialect.decode_event({"type": "session.updated", "session": session})
    assert isinstance(event, ev.SessionUpdated | ev.ProtocolViolation)


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={name: json_values for name in SessionConfig.field_names() if name != "extra"},
    ),
    st.sampled_from([GA, BETA]),
)
def test_encoding_a_config_full_of_wrong_types_never_crashes(
    values: dict[str, Any], dialect: Any
) -> None:
    config = SessionConfig()
    for name, value in values.items():
        # Bypass __post_init__: the promise under test is the encoder's, for any field value.
        object.__setattr__(config, name, value)
    session = dialect.encode_session(config)
    json.dumps(session)
