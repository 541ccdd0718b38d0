"""The local server's wire rules: default sessions, validation, merge, and the error catalogue.

This is the import point for the session state machine; the work is split by concept:

* :mod:`realtalk.server.wire.errors` -- every ``error`` object the server sends, worded as the
  provider words it (protocol.md §7), and :func:`error_event` for the full server event;
* :mod:`realtalk.server.wire.session` -- :func:`default_session`, :func:`validate_session_update`
  and :func:`apply_session_update` (protocol.md §2, §3);
* :mod:`realtalk.server.wire.events` -- :func:`parse_client_message` and
  :func:`validate_client_event` for every client event (protocol.md §6);
* :mod:`realtalk.server.wire.shapes` / :mod:`realtalk.server.wire.schema` -- the per-provider
  shape tables and the small checker behind them.

Everything here is pure (standard library only; no clock, no randomness): ids and times are
arguments. Dialects are ``"ga"`` (OpenAI GA, Azure GA) and ``"beta"`` (OpenAI beta, Azure
preview); the flavor (``"openai"`` or ``"azure"``) selects the provider's narrower rules.
"""

from __future__ import annotations

from realtalk.server.wire.errors import (
    active_response,
    beta_api_shape_disabled,
    cancel_not_active,
    cannot_update_voice,
    commit_empty,
    error_event,
    invalid_event_malformed_json,
    invalid_event_missing_type,
    invalid_event_not_object,
    invalid_modalities,
    invalid_type,
    invalid_value,
    item_not_found,
    item_truncate_invalid_audio_end_ms,
    item_truncate_invalid_content_index,
    item_truncate_invalid_item_id,
    make_error,
    missing_required_parameter,
    previous_item_not_found,
    server_error,
    session_expired,
    string_above_max_length,
    unknown_event_type,
    unknown_parameter,
)
from realtalk.server.wire.events import (
    BETA_CLIENT_EVENTS,
    GA_CLIENT_EVENTS,
    MAX_APPEND_BYTES,
    parse_client_message,
    validate_client_event,
)
from realtalk.server.wire.schema import WireFloat
from realtalk.server.wire.session import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_MAX_DURATION_S,
    SEMANTIC_VAD_DEFAULTS,
    SERVER_VAD_DEFAULTS,
    apply_session_update,
    default_session,
    is_transcription_session,
    validate_session_update,
)
from realtalk.server.wire.shapes import Dialect, Flavor

__all__ = [
    "BETA_CLIENT_EVENTS",
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_MAX_DURATION_S",
    "GA_CLIENT_EVENTS",
    "MAX_APPEND_BYTES",
    "SEMANTIC_VAD_DEFAULTS",
    "SERVER_VAD_DEFAULTS",
    "Dialect",
    "Flavor",
    "WireFloat",
    "active_response",
    "apply_session_update",
    "beta_api_shape_disabled",
    "cancel_not_active",
    "cannot_update_voice",
    "commit_empty",
    "default_session",
    "error_event",
    "invalid_event_malformed_json",
    "invalid_event_missing_type",
    "invalid_event_not_object",
    "invalid_modalities",
    "invalid_type",
    "invalid_value",
    "is_transcription_session",
    "item_not_found",
    "item_truncate_invalid_audio_end_ms",
    "item_truncate_invalid_content_index",
    "item_truncate_invalid_item_id",
    "make_error",
    "missing_required_parameter",
    "parse_client_message",
    "previous_item_not_found",
    "server_error",
    "session_expired",
    "string_above_max_length",
    "unknown_event_type",
    "unknown_parameter",
    "validate_client_event",
    "validate_session_update",
]
