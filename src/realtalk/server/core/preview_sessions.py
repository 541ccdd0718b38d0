"""Azure preview's key route, ``POST /openai/realtimeapi/sessions?api-version=...``.

protocol.md §1e: the body is a flat (beta-shaped) session with ``model`` = the deployment; the
answer is that session, with ``id``, and ``client_secret: {value, expires_at}``; "The ephemeral
key is valid for one minute". Pure: the caller authenticates, parses the JSON and passes time.
"""

from __future__ import annotations

import secrets
from typing import Any

from realtalk.server.core.secrets import ClientSecretSigner, SecretTooLarge
from realtalk.server.wire.session import (
    apply_session_update,
    default_session,
    validate_session_update,
)

__all__ = ["PREVIEW_KEY_TTL_S", "mint_preview_session"]

PREVIEW_KEY_TTL_S = 60


def _error(message: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "code": code,
            "param": param,
        }
    }


def mint_preview_session(
    store: ClientSecretSigner, payload: Any, now_s: float
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one preview sessions request."""
    if not isinstance(payload, dict):
        return 400, _error("The request body must be a JSON object.", "invalid_type")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        return 400, _error(
            "Missing required parameter: 'model'.", "missing_required_parameter", "model"
        )
    session = {k: v for k, v in payload.items() if k != "model"}
    base = default_session(
        "beta",
        "azure",
        model,
        session_id="sess_" + secrets.token_hex(10),
        now_s=int(now_s),
    )
    error = validate_session_update("beta", "azure", session, base, assistant_audio_present=False)
    if error is not None:
        return 400, {"error": error}
    full = apply_session_update("beta", base, session)
    try:
        secret = store.mint(now_s, PREVIEW_KEY_TTL_S, session, flavor="azure", dialect="beta")
    except SecretTooLarge as exc:
        return 400, _error(str(exc), "secret_too_large")
    full["client_secret"] = {"value": secret.value, "expires_at": secret.expires_at}
    return 200, full
