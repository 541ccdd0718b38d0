"""Guards the guard: the wire oracle (tests/oracle.py) fails on every key the SDK does not declare.

The SDK's pydantic models accept extras, so each case first shows the example passes as it is
and then that the one added key fails it, named in the message.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.oracle import validate_client_event, validate_server_event
from tests.samples import ga_reference_update, ga_session_created

GA_SEMANTIC_VAD = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
    },
}
BETA_SESSION_CREATED = {
    "type": "session.created",
    "event_id": "event_1",
    "session": {
        "id": "sess_1",
        "object": "realtime.session",
        "expires_at": 1,
        "client_secret": None,
        "include": None,
        "model": "gpt-4o-realtime-preview",
        "modalities": ["audio", "text"],
        "voice": "verse",
    },
}
# protocol.md 2.3: a transcription session as the server echoes it (read-only keys added, and
# turn detection without the response knobs, which are not available there).
BETA_TRANSCRIPTION_CREATED = {
    "type": "transcription_session.created",
    "event_id": "event_2",
    "session": {
        "id": "sess_2",
        "object": "realtime.transcription_session",
        "expires_at": 1,
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-transcribe"},
        "turn_detection": {"type": "server_vad", "threshold": 0.5},
        "input_audio_noise_reduction": {"type": "near_field"},
        "include": None,
    },
}


def added(event: dict[str, Any], path: str, **keys: Any) -> dict[str, Any]:
    """A copy of ``event`` with ``keys`` set on the object at dotted ``path`` ("" is the top)."""
    changed = copy.deepcopy(event)
    target = changed
    for name in filter(None, path.split(".")):
        target = target[name]
    target.update(keys)
    return changed


@pytest.mark.parametrize(
    ("side", "dialect", "event", "path", "keys"),
    [
        pytest.param(
            "client",
            "ga",
            GA_SEMANTIC_VAD,
            "session.audio.input.turn_detection",
            {"threshold": 0.5},
            id="client-ga-threshold-on-semantic-vad",
        ),
        pytest.param(
            "client",
            "beta",
            {"type": "session.update", "session": {}},
            "session",
            {"output_modalities": ["audio"]},
            id="client-beta-output-modalities",
        ),
        # What a client sends gets no allowance: read-only session keys are errors there.
        pytest.param(
            "client", "ga", ga_reference_update(), "session", {"id": "s"}, id="client-ga-session-id"
        ),
        pytest.param(
            "server",
            "ga",
            ga_session_created(),
            "session.audio.input.turn_detection",
            {"future_knob": 1},
            id="server-ga-turn-detection-key",
        ),
        # The read-only allowance holds on the session object only.
        pytest.param(
            "server",
            "ga",
            ga_session_created(),
            "session.audio.output",
            {"id": "s"},
            id="server-ga-id-below-the-session",
        ),
        pytest.param(
            "server",
            "beta",
            BETA_SESSION_CREATED,
            "session",
            {"output_modalities": ["audio"]},
            id="server-beta-ga-key",
        ),
        pytest.param(
            "server",
            "beta",
            BETA_TRANSCRIPTION_CREATED,
            "session",
            {"voice": "alloy"},
            id="server-beta-transcription-key",
        ),
        # The beta transcription allowance fills in client_secret; one sent is still an error.
        pytest.param(
            "server",
            "beta",
            BETA_TRANSCRIPTION_CREATED,
            "session",
            {"client_secret": None},
            id="server-beta-transcription-client-secret",
        ),
        pytest.param(
            "server", "ga", ga_session_created(), "", {"event_id": ""}, id="server-empty-event-id"
        ),
    ],
)
def test_the_oracle_fails_on_a_key_outside_the_declared_fields(
    side: str, dialect: str, event: dict[str, Any], path: str, keys: dict[str, Any]
) -> None:
    check = validate_client_event if side == "client" else validate_server_event
    check(dialect, event)
    [key] = keys
    with pytest.raises(AssertionError, match=key):
        check(dialect, added(event, path, **keys))
