"""Session objects on the server side: defaults, ``session.update`` validation and merge.

* :func:`default_session` -- what ``session.created`` reports (protocol.md §2.1 GA example,
  §2.4 Azure preview example, §2.3 beta transcription example);
* :func:`validate_session_update` -- the first error the service would report, or ``None``;
  the update is then rejected whole (protocol.md §2.6 "Atomicity");
* :func:`apply_session_update` -- partial-update merge semantics (protocol.md §2.6, §3).

Pure: ids and times come in as arguments.
"""

from __future__ import annotations

import copy
from typing import Any

from realtalk.capabilities import PCM_RATE
from realtalk.server.wire import errors as E
from realtalk.server.wire.schema import plain
from realtalk.server.wire.shapes import (
    Dialect,
    Flavor,
    beta_session,
    beta_transcription_session,
    ga_session,
)

__all__ = [
    "BETA_FALLBACK_MODEL",
    "BETA_MODELS",
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_MAX_DURATION_S",
    "SEMANTIC_VAD_DEFAULTS",
    "SERVER_VAD_DEFAULTS",
    "apply_session_update",
    "default_session",
    "is_transcription_session",
    "validate_session_update",
]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant served by the realtalk local Realtime server. "
    "Answer briefly and clearly."
)
"""Our own default prompt (the service reports its own text in ``session.created``)."""

DEFAULT_MAX_DURATION_S = 60 * 60
"""protocol.md §1a: "Your session hit the maximum duration of 60 minutes."."""

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
"""The GA echo of ``{"type":"server_vad"}`` (protocol.md §3: 0.5/300/200/null/true/true)."""

SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
"""The GA echo of ``{"type":"semantic_vad"}`` (protocol.md §3)."""

_PCM = {"type": "audio/pcm", "rate": PCM_RATE}

# Fields whose null means "off" and is kept as null (protocol.md §2.6); other fields go back to
# their default when sent as null (our choice: the SDK types every field Optional).
_GA_NULLABLE = {
    "tracing",
    "prompt",
    "include",
    "noise_reduction",
    "transcription",
    "turn_detection",
}
_BETA_NULLABLE = {
    "tracing",
    "include",
    "input_audio_noise_reduction",
    "input_audio_transcription",
    "turn_detection",
}

# The beta session's ``model`` is a closed list in the SDK; an Azure deployment name is not a
# model id, and Azure's own session.created reports the underlying model (protocol.md §2.4).
BETA_MODELS = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-realtime-preview-2025-06-03",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
)
BETA_FALLBACK_MODEL = "gpt-4o-realtime-preview"


def _ga_turn_detection_default() -> dict[str, Any]:
    return dict(SERVER_VAD_DEFAULTS)


def _beta_turn_detection_default(*, transcription: bool) -> dict[str, Any]:
    # The beta read type and Azure's observed session.created have no idle_timeout_ms; beta
    # transcription sessions do not return create/interrupt_response (protocol.md §2.3).
    td = {k: v for k, v in SERVER_VAD_DEFAULTS.items() if k != "idle_timeout_ms"}
    if transcription:
        td.pop("create_response")
        td.pop("interrupt_response")
    return td


def default_session(
    dialect: Dialect,
    flavor: Flavor,
    model: str,
    *,
    session_id: str,
    now_s: int,
    session_type: str = "realtime",
    instructions: str = DEFAULT_INSTRUCTIONS,
    max_duration_s: int = DEFAULT_MAX_DURATION_S,
) -> dict[str, Any]:
    """The full session object for ``session.created`` (or ``transcription_session.created``).

    ``session_type`` is ``"realtime"`` or ``"transcription"`` (a connection with
    ``intent=transcription``). ``expires_at`` is ``now_s + max_duration_s``.
    """
    expires_at = now_s + max_duration_s
    transcription = session_type == "transcription"
    if dialect == "ga":
        audio_input: dict[str, Any] = {
            "format": dict(_PCM),
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": _ga_turn_detection_default(),
        }
        if transcription:
            # SDK: object "realtime.transcription_session" (the guide shows "realtime.session";
            # protocol.md §2.2 -- clients key off `type`).
            return {
                "type": "transcription",
                "object": "realtime.transcription_session",
                "id": session_id,
                "expires_at": expires_at,
                "audio": {"input": audio_input},
                "include": None,
            }
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": model,
            "output_modalities": ["audio"],
            "instructions": instructions,
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "prompt": None,
            "expires_at": expires_at,
            "audio": {
                "input": audio_input,
                "output": {"format": dict(_PCM), "voice": "marin", "speed": 1},
            },
            "include": None,
        }
    if transcription:
        # protocol.md §2.3 spec example of transcription_session.updated (no client_secret over
        # the WebSocket, no create/interrupt_response).
        return {
            "id": session_id,
            "object": "realtime.transcription_session",
            "input_audio_format": "pcm16",
            "input_audio_transcription": None,
            "turn_detection": _beta_turn_detection_default(transcription=True),
            "input_audio_noise_reduction": None,
            "include": None,
        }
    session: dict[str, Any] = {
        "id": session_id,
        "object": "realtime.session",
        "expires_at": expires_at,
        "input_audio_noise_reduction": None,
        "turn_detection": _beta_turn_detection_default(transcription=False),
        "input_audio_format": "pcm16",
        "input_audio_transcription": None,
        "client_secret": None,
        "include": None,
        "model": model,
        "modalities": ["audio", "text"],
        "instructions": instructions,
        "voice": "alloy",
        "output_audio_format": "pcm16",
        "tool_choice": "auto",
        "temperature": 0.8,
        "max_response_output_tokens": "inf",
        "tools": [],
    }
    if flavor == "openai":
        # The OpenAI beta read type also carries speed and tracing; Azure's observed
        # session.created (protocol.md §2.4) has neither.
        session["speed"] = 1.0
        session["tracing"] = None
    return session


def is_transcription_session(dialect: Dialect, session: dict[str, Any]) -> bool:
    """Whether a session object (as built by :func:`default_session`) is a transcription one."""
    if dialect == "ga":
        return session.get("type") == "transcription"
    return session.get("object") == "realtime.transcription_session"


# --- validation ------------------------------------------------------------------------------


def _voice_of(dialect: Dialect, session: Any) -> Any:
    if not isinstance(session, dict):
        return None
    if dialect == "beta":
        return session.get("voice")
    audio = session.get("audio")
    output = audio.get("output") if isinstance(audio, dict) else None
    return output.get("voice") if isinstance(output, dict) else None


def _has_voice(dialect: Dialect, update: dict[str, Any]) -> bool:
    if dialect == "beta":
        return update.get("voice") is not None
    audio = update.get("audio")
    output = audio.get("output") if isinstance(audio, dict) else None
    return isinstance(output, dict) and output.get("voice") is not None


def validate_session_update(
    dialect: Dialect,
    flavor: Flavor,
    update: Any,
    current: dict[str, Any],
    *,
    assistant_audio_present: bool,
    event_type: str = "session.update",
) -> dict[str, Any] | None:
    """The first error the service would report for this ``session`` object, or ``None``.

    ``update`` is the ``session`` member of the client event (anything: it may be malformed).
    ``current`` is the effective session (as from :func:`default_session` /
    :func:`apply_session_update`). ``event_type`` tells a beta ``transcription_session.update``
    apart. Order: shape (discriminator first, then keys in the order sent), then the stateful
    rules (session type switch, model, voice lock, tracing lock).
    """
    if update is None or not isinstance(update, dict):
        if update is None:
            return E.missing_required_parameter("session")
        return E.invalid_type("session", "an object", update)
    if dialect == "ga":
        error = ga_session(flavor).check(update, "session")
    elif event_type == "transcription_session.update":
        error = beta_transcription_session(flavor).check(update, "session")
    else:
        error = beta_session(flavor).check(update, "session")
    if error is not None:
        return error
    if dialect == "ga" and update["type"] != current.get("type", "realtime"):
        # The service's wording is not observed; our choice.
        return E.make_error(
            "invalid_value",
            f"Cannot update a session's type from '{current.get('type', 'realtime')}' to "
            f"'{update['type']}'.",
            "session.type",
        )
    model = update.get("model")
    # Re-sending the same model is tolerated (protocol.md §2.1, Azure GA sample); an alias of the
    # resolved snapshot ("gpt-realtime" for "gpt-realtime-2025-08-28") counts as the same.
    # Changing it is not ("update any field except for voice and model", SDK); wording ours.
    current_model = current.get("model")
    if model is not None and current_model is not None and not str(current_model).startswith(model):
        return E.make_error("invalid_value", "Cannot update a session's model.", "session.model")
    if (
        assistant_audio_present
        and _has_voice(dialect, update)
        and _voice_of(dialect, update) != _voice_of(dialect, current)
    ):
        return E.cannot_update_voice()
    tracing_now = current.get("tracing")
    if tracing_now is not None and "tracing" in update and update["tracing"] != tracing_now:
        # "Once tracing is enabled for a session, the configuration cannot be modified." (SDK);
        # wording not observed, ours.
        return E.make_error(
            "invalid_value",
            "Cannot update a session's tracing configuration once tracing is enabled.",
            "session.tracing",
        )
    return None


# --- merge -----------------------------------------------------------------------------------


def _fill_turn_detection(td: dict[str, Any], *, dialect: Dialect, transcription: bool) -> Any:
    """A sent turn_detection replaces the old one and is completed with its type's defaults.

    protocol.md §2.6 is silent on partial objects; the GA probe (§3) shows a bare
    ``{"type":"server_vad"}`` echoed with every default, so we fill from defaults, never from the
    previous object.
    """
    kind = td.get("type") or "server_vad"
    if kind == "semantic_vad":
        base = dict(SEMANTIC_VAD_DEFAULTS)
    elif dialect == "ga":
        base = _ga_turn_detection_default()
    else:
        base = _beta_turn_detection_default(transcription=transcription)
    for key, value in td.items():
        if value is not None or key == "idle_timeout_ms":
            base[key] = value
    base["type"] = kind
    return base


def _fill_format(fmt: Any) -> Any:
    if isinstance(fmt, dict) and fmt.get("type") == "audio/pcm":
        return {"type": "audio/pcm", "rate": fmt.get("rate") or PCM_RATE}
    return copy.deepcopy(fmt)


def apply_session_update(
    dialect: Dialect, current: dict[str, Any], update: dict[str, Any]
) -> dict[str, Any]:
    """The effective session after a *valid* update (protocol.md §2.6). ``current`` is not changed.

    Only fields present change; ``null`` turns off nullable features (turn detection, noise
    reduction, transcription, tracing, ...) and resets other fields to their defaults; GA
    ``audio.input`` / ``audio.output`` and ``noise_reduction`` merge key-wise; a turn_detection
    object replaces the old one, filled with its type's defaults; ``model`` never changes.
    """
    merged: dict[str, Any] = plain(current)
    update = plain(update)
    transcription = is_transcription_session(dialect, current)
    defaults = _field_defaults(dialect, current)
    for key, value in update.items():
        if key in ("model", "type"):
            continue
        if dialect == "ga" and key == "audio":
            if isinstance(value, dict):
                _merge_ga_audio(merged, value)
            continue
        if key == "turn_detection":
            merged[key] = (
                None
                if value is None
                else _fill_turn_detection(value, dialect=dialect, transcription=transcription)
            )
            continue
        if value is None:
            nullable = _GA_NULLABLE if dialect == "ga" else _BETA_NULLABLE
            merged[key] = None if key in nullable else copy.deepcopy(defaults.get(key))
            continue
        merged[key] = copy.deepcopy(value)
    return merged


def _field_defaults(dialect: Dialect, current: dict[str, Any]) -> dict[str, Any]:
    flavor: Flavor = "openai" if "speed" in current or dialect == "ga" else "azure"
    return default_session(
        dialect,
        flavor,
        str(current.get("model", "")),
        session_id="",
        now_s=0,
        session_type="transcription" if is_transcription_session(dialect, current) else "realtime",
    )


def _merge_ga_audio(merged: dict[str, Any], audio: dict[str, Any]) -> None:
    target = merged.get("audio")
    if not isinstance(target, dict):
        target = merged["audio"] = {}
    for side in ("input", "output"):
        if side not in audio:
            continue
        sent = audio[side]
        if sent is None:
            continue  # nothing to merge; the service has no "audio.input: null" semantics
        part = target.get(side)
        if not isinstance(part, dict):
            part = target[side] = {}
        for key, value in sent.items():
            if key == "turn_detection":
                part[key] = (
                    None
                    if value is None
                    else _fill_turn_detection(value, dialect="ga", transcription=False)
                )
            elif key == "format":
                part[key] = _fill_format(value) if value is not None else dict(_PCM)
            elif key == "noise_reduction":
                old = part.get(key)
                if value is None:
                    part[key] = None
                elif isinstance(old, dict):
                    part[key] = {**old, **{k: v for k, v in value.items() if v is not None}}
                else:
                    part[key] = {k: v for k, v in value.items() if v is not None}
            elif value is None and key in ("voice", "speed"):
                part[key] = {"voice": "marin", "speed": 1}[key]
            else:
                part[key] = copy.deepcopy(value)
