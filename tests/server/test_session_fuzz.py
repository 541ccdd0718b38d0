"""Random and malformed client events never crash ServerSession; bad ones get an error event."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.harness import Harness

EVENT_TYPES = [
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
keys = st.sampled_from(
    [
        "session",
        "item",
        "item_id",
        "audio",
        "response",
        "content_index",
        "audio_end_ms",
        "type",
        "event_id",
        "x",
    ]
)
events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(EVENT_TYPES),
    st.dictionaries(keys, json_values, max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, min_size=1, max_size=6), st.sampled_from(["ga", "beta"]))
def test_random_events_never_raise_and_stay_valid(
    batch: list[dict[str, Any]], dialect: str
) -> None:
    h = Harness(dialect)
    for event in batch:
        h.send(event)  # the harness validates every server event against the SDK union


bad_frames = st.one_of(
    st.text(max_size=30).filter(lambda t: not _is_json_object_with_type(t)),
    st.binary(max_size=30),
    st.dictionaries(st.text(max_size=6), json_values, max_size=3).map(
        lambda d: json.dumps({k: v for k, v in d.items() if k != "type"})
    ),
    st.text(min_size=1, max_size=20).map(lambda t: json.dumps({"type": "bogus." + t})),
)


def _is_json_object_with_type(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and "type" in value


@settings(max_examples=150, deadline=None)
@given(bad_frames)
def test_every_malformed_frame_gets_one_error(frame: str | bytes) -> None:
    h = Harness()
    events = h.send(frame)
    assert [e["type"] for e in events] == ["error"]
