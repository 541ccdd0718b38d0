"""Hypothesis round trips: what a dialect writes, it (and from_dict) reads back unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtalk.config import SessionConfig
from realtalk.dialects import BETA, GA
from realtalk.events import ItemAdded, OutputItemDone
from tests.dialects.strategies import beta_configs, ga_configs, items

ROUND_TRIP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(ga_configs(extra=True))
def test_ga_session_round_trip(config: SessionConfig) -> None:
    assert GA.decode_session(GA.encode_session(config)) == config


@ROUND_TRIP
@given(beta_configs(extra=True))
def test_beta_session_round_trip(config: SessionConfig) -> None:
    assert BETA.decode_session(BETA.encode_session(config)) == config


@ROUND_TRIP
@given(st.one_of(ga_configs().map(lambda c: (GA, c)), beta_configs().map(lambda c: (BETA, c))))
def test_from_dict_reads_what_either_dialect_writes(case: tuple[Any, SessionConfig]) -> None:
    dialect, config = case
    assert SessionConfig.from_dict(dialect.encode_session(config)) == config


@ROUND_TRIP
@given(ga_configs())
def test_a_session_event_carries_the_config_through_the_wire(config: SessionConfig) -> None:
    import json

    wire = json.dumps(
        {"type": "session.updated", "event_id": "e", "session": GA.encode_session(config)}
    )
    event = GA.decode(wire)
    assert getattr(event, "config", None) == config


@ROUND_TRIP
@given(
    st.one_of(items(beta=False).map(lambda i: (GA, i)), items(beta=True).map(lambda i: (BETA, i)))
)
def test_items_round_trip_through_server_item_events(case: tuple[Any, Any]) -> None:
    from realtalk.commands import CreateItem

    dialect, item = case
    wire_item = dialect.encode_command(CreateItem(item), None)["item"]
    assert dialect.decode_event(
        {"type": "conversation.item.added", "item": wire_item}
    ) == ItemAdded(item)
    # The other dialect reads it too (both content-part spellings are accepted everywhere).
    other = BETA if dialect is GA else GA
    done = other.decode_event(
        {
            "type": "response.output_item.done",
            "response_id": "r",
            "output_index": 0,
            "item": wire_item,
        }
    )
    assert done == OutputItemDone("r", 0, item)
