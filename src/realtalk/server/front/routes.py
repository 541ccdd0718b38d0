"""The server's routes: one table, :data:`ROUTES`, from method and path to handler.

===========================================  =========  =========================================
path                                         dialect    auth
===========================================  =========  =========================================
``GET /v1/realtime?model=M`` (WebSocket)     GA         ``Authorization: Bearer`` (key or ``ek_``)
  + ``OpenAI-Beta: realtime=v1``             beta       same (or ``beta_api_shape_disabled`` +
                                                        close 4000 with ``retire_beta``)
``GET /openai/v1/realtime?model=D``          GA/Azure   ``api-key`` header/query or bearer;
                                                        an ``api-version`` query -> HTTP 401
``GET /openai/realtime?api-version=V&deployment=D``  beta/Azure  same as Azure GA
``POST /v1/realtime/client_secrets``         --         mints ``ek_`` secrets (API key only);
``POST /openai/v1/realtime/client_secrets``             the Azure one for Azure's GA route
``POST /openai/realtimeapi/sessions?api-v..``  beta    Azure preview's key route (1 min keys)
``POST /v1/realtime/calls`` (+ Azure's)       GA         WebRTC: :mod:`~realtalk.server.front.calls`
``GET /healthz``, ``GET /readyz``            --         none: liveness, and whether a new session
                                                        would be accepted (503 when full)
``GET /playground`` (+ its files)            --         none: the browser page (the key stays in
                                                        the page; see ``front/playground.py``)
===========================================  =========  =========================================

Every WebSocket route takes ``intent=transcription`` (then no model is needed), and so does a
client secret minted for a transcription session. A handler is ``async (server, request) ->
response``; it refuses by raising :func:`~realtalk.server.front.http.api_error`. To add a
route, write the handler (in its own module when it is a new concept) and add a :class:`Route`
to :data:`ROUTES`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from realtalk.server.core.preview_sessions import mint_preview_session
from realtalk.server.core.secrets import (
    DEFAULT_TTL_S,
    MAX_TTL_S,
    MIN_TTL_S,
    ClientSecret,
    SecretTooLarge,
)
from realtalk.server.core.session import SessionType
from realtalk.server.front import calls, playground, sip
from realtalk.server.front.auth import authenticate, offered_subprotocols
from realtalk.server.front.connection import Connection, SessionRoute, WebSocketChannel
from realtalk.server.front.http import api_error, json_response
from realtalk.server.wire import errors
from realtalk.server.wire.session import (
    apply_session_update,
    default_session,
    validate_session_update,
)

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer

__all__ = ["ROUTES", "Handler", "Route"]

Handler = Callable[["RealtimeServer", web.Request], Awaitable[web.StreamResponse]]
Provider = Literal["openai", "azure-ga", "azure-preview"]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    """Matched exactly, and with one trailing slash."""
    handler: Handler


# --- WebSocket sessions ------------------------------------------------------------------------


def _intent(request: web.Request) -> SessionType | None:
    intent = request.query.get("intent")
    if intent not in (None, "realtime", "transcription"):
        # Our wording, in the style of the service's invalid_value messages.
        raise api_error(
            400,
            f"Invalid value: '{intent}'. Supported values are: 'realtime' and 'transcription'.",
            "invalid_value",
            "intent",
        )
    return intent  # type: ignore[return-value]


def _require_api_version(request: web.Request) -> None:
    """Azure preview's routes need ``api-version`` (the sessions route and the WebSocket)."""
    if "api-version" not in request.query:
        raise api_error(
            400,
            "Missing required query parameter: 'api-version'.",
            "missing_required_parameter",
            "api-version",
        )


def _session_route(
    server: RealtimeServer, request: web.Request, provider: Provider
) -> SessionRoute:
    """Check the request as the provider does and decide the session, or raise the refusal."""
    query = request.query
    intent = _intent(request)
    if provider == "openai":
        beta = "realtime=v1" in (request.headers.get("OpenAI-Beta") or "") or (
            "openai-beta.realtime-v1" in offered_subprotocols(request)
        )
        dialect: Literal["ga", "beta"] = "beta" if beta else "ga"
        flavor: Literal["openai", "azure"] = "openai"
        model, model_param = query.get("model", ""), "model"
    elif provider == "azure-ga":
        if "api-version" in query:
            # protocol.md §1d: "The api-version query parameter is no longer supported in GA
            # endpoint URLs" -> 401 at the handshake.
            raise api_error(
                401,
                "The api-version query parameter is not supported on the GA endpoint "
                "/openai/v1/realtime; remove it.",
                "unauthorized",
            )
        dialect, flavor = "ga", "azure"
        model, model_param = query.get("model", ""), "model"
    else:
        _require_api_version(request)
        dialect, flavor = "beta", "azure"
        model, model_param = query.get("deployment", ""), "deployment"
    secret = authenticate(
        request, server.config, server.secrets, azure=flavor == "azure", now_s=server.clock()
    )
    session: dict[str, Any] | None = None
    if secret is not None:
        refusal = secret.refusal(flavor, dialect, intent)
        if refusal is not None:
            raise api_error(401, refusal, "invalid_api_key")
        session = secret.session
        # protocol.md §1a: without an intent, the secret's session type wins.
        intent = intent or secret.session_type
        model = model or _secret_model(secret)
    if not model and intent != "transcription":
        raise api_error(
            400,
            f"Missing required parameter: '{model_param}'.",
            "missing_required_parameter",
            model_param,
        )
    if not server.accepting:
        raise api_error(
            503,
            f"The server is at its limit of {server.config.max_sessions} concurrent sessions; "
            "retry later."
            if not server.draining
            else "The server is shutting down; connect to another instance.",
            "too_many_sessions" if not server.draining else "server_shutting_down",
        )
    return SessionRoute(
        path=request.path,
        dialect=dialect,
        flavor=flavor,
        model=model,
        session=session,
        session_type=intent,
    )


def _secret_model(secret: ClientSecret) -> str:
    # The secret's session picks the model when the URL does not (it was minted with one:
    # the service defaults it, as POST client_secrets shows in its answer).
    if secret.session_type == "transcription":
        return ""
    model = (secret.session or {}).get("model")
    return model if isinstance(model, str) and model else "gpt-realtime"


async def _realtime(
    server: RealtimeServer, request: web.Request, provider: Provider
) -> web.StreamResponse:
    if "call_id" in request.query and provider != "azure-preview":
        # Attach to a phone call (protocol.md §1g): server/front/sip.py.
        return await sip.attach(server, request, "openai" if provider == "openai" else "azure")
    route = _session_route(server, request, provider)
    with server.session_slot():
        return await _accept(server, request, route)


async def _accept(
    server: RealtimeServer, request: web.Request, route: SessionRoute
) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        protocols=("realtime",),
        max_msg_size=server.config.max_message_bytes,
        compress=False,
        autoping=True,
    )
    if not ws.can_prepare(request).ok:
        # Not an upgrade: the Realtime API is only a WebSocket on this path.
        raise api_error(
            426,
            "This endpoint takes a WebSocket connection (send an Upgrade: websocket request).",
            "upgrade_required",
        )
    await ws.prepare(request)
    channel = WebSocketChannel(ws)
    retired = route.dialect == "beta" and route.flavor == "openai" and server.config.retire_beta
    if retired:
        event = errors.error_event(
            errors.beta_api_shape_disabled(), "event_" + secrets.token_hex(10), None
        )
        try:
            await ws.send_str(json.dumps(event))
        except ConnectionResetError:
            return ws
        await channel.close(4000, "beta api shape disabled")
        return ws
    await Connection(server, channel, route).run()
    return ws


async def openai_realtime(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _realtime(server, request, "openai")


async def azure_realtime(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _realtime(server, request, "azure-ga")


async def azure_preview_realtime(
    server: RealtimeServer, request: web.Request
) -> web.StreamResponse:
    return await _realtime(server, request, "azure-preview")


# --- POST .../realtime/client_secrets ----------------------------------------------------------


def _ttl(payload: dict[str, Any]) -> int:
    expires_after = payload.get("expires_after")
    if expires_after is None:
        return DEFAULT_TTL_S
    if not isinstance(expires_after, dict):
        raise api_error(
            400,
            "Invalid type for 'expires_after': expected an object.",
            "invalid_type",
            "expires_after",
        )
    anchor = expires_after.get("anchor", "created_at")
    if anchor != "created_at":
        raise api_error(
            400,
            f"Invalid value: '{anchor}'. Supported values are: 'created_at'.",
            "invalid_value",
            "expires_after.anchor",
        )
    seconds = expires_after.get("seconds")
    if seconds is None:
        return DEFAULT_TTL_S
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise api_error(
            400,
            "Invalid type for 'expires_after.seconds': expected an integer.",
            "invalid_type",
            "expires_after.seconds",
        )
    if not MIN_TTL_S <= seconds <= MAX_TTL_S:
        raise api_error(
            400,
            f"Invalid 'expires_after.seconds': expected a value between {MIN_TTL_S} "
            f"and {MAX_TTL_S}, but got {seconds} instead.",
            "integer_below_min_value" if seconds < MIN_TTL_S else "integer_above_max_value",
            "expires_after.seconds",
        )
    return seconds


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"{}")
    except ValueError:
        raise api_error(
            400, "We could not parse the JSON body of your request.", "invalid_json"
        ) from None


async def _mint(
    server: RealtimeServer, request: web.Request, flavor: Literal["openai", "azure"]
) -> web.StreamResponse:
    # Only an API key mints: a client secret cannot mint more secrets.
    authenticate(request, server.config, None, azure=flavor == "azure", now_s=server.clock())
    payload = await _json_body(request)
    if not isinstance(payload, dict):
        raise api_error(400, "The request body must be a JSON object.", "invalid_type")
    for key in payload:
        if key not in ("expires_after", "session"):
            raise api_error(400, f"Unknown parameter: '{key}'.", "unknown_parameter", key)
    ttl = _ttl(payload)
    session_cfg = payload.get("session") or {"type": "realtime"}
    if not isinstance(session_cfg, dict):
        raise api_error(
            400, "Invalid type for 'session': expected an object.", "invalid_type", "session"
        )
    now = server.clock()
    session_type: SessionType = (
        "transcription" if session_cfg.get("type") == "transcription" else "realtime"
    )
    base = default_session(
        "ga",
        flavor,
        str(session_cfg.get("model") or "gpt-realtime"),
        session_id="sess_" + secrets.token_hex(10),
        now_s=int(now),
        session_type=session_type,
    )
    error = validate_session_update("ga", flavor, session_cfg, base, assistant_audio_present=False)
    if error is not None:
        return json_response(400, {"error": error})
    full = apply_session_update("ga", base, session_cfg)
    try:
        secret = server.secrets.mint(
            now, ttl, dict(session_cfg), flavor=flavor, session_type=session_type
        )
    except SecretTooLarge as exc:
        raise api_error(400, str(exc), "secret_too_large", "session") from None
    full["expires_at"] = secret.expires_at
    return json_response(
        200, {"value": secret.value, "expires_at": secret.expires_at, "session": full}
    )


async def openai_client_secrets(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _mint(server, request, "openai")


async def azure_client_secrets(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _mint(server, request, "azure")


async def azure_preview_sessions(
    server: RealtimeServer, request: web.Request
) -> web.StreamResponse:
    _require_api_version(request)
    authenticate(request, server.config, None, azure=True, now_s=server.clock())
    payload = await _json_body(request)
    return json_response(*mint_preview_session(server.secrets, payload, server.clock()))


# --- health ------------------------------------------------------------------------------------


async def healthz(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """Liveness: the process serves HTTP."""
    return json_response(200, {"status": "ok"})


async def readyz(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """Readiness: 200 while a new session would be accepted, else 503 (full or draining)."""
    status = "ready" if server.accepting else "draining" if server.draining else "full"
    body: dict[str, Any] = {
        "status": status,
        "sessions": len(server.connections),
        "max_sessions": server.config.max_sessions,
        "pid": os.getpid(),  # which worker answered (serve --workers N)
        "device": server.engines.device,  # where the models run (serve --device)
    }
    if status != "ready":
        body["reason"] = (
            "stopping (SIGTERM): live sessions go on, new ones go to other workers or replicas"
            if server.draining
            else f"at its limit of {server.config.max_sessions} concurrent sessions "
            "(--max-sessions); ready again when one ends"
        )
    return json_response(200 if server.accepting else 503, body)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/realtime", openai_realtime),
    Route("GET", "/openai/v1/realtime", azure_realtime),
    Route("GET", "/openai/realtime", azure_preview_realtime),
    Route("POST", "/v1/realtime/client_secrets", openai_client_secrets),
    Route("POST", "/openai/v1/realtime/client_secrets", azure_client_secrets),
    Route("POST", "/openai/realtimeapi/sessions", azure_preview_sessions),
    Route("POST", "/v1/realtime/calls", calls.openai_calls),
    Route("POST", "/openai/v1/realtime/calls", calls.azure_calls),
    Route("POST", "/v1/realtimertc", calls.azure_preview_rtc),
    Route("POST", "/v1/realtime/calls/{call_id}/hangup", sip.hangup),
    Route("POST", "/openai/v1/realtime/calls/{call_id}/hangup", sip.hangup),
    Route("POST", "/v1/realtime/calls/{call_id}/accept", sip.accept),
    Route("POST", "/openai/v1/realtime/calls/{call_id}/accept", sip.accept),
    Route("POST", "/v1/realtime/calls/{call_id}/reject", sip.reject),
    Route("POST", "/openai/v1/realtime/calls/{call_id}/reject", sip.reject),
    Route("POST", "/v1/realtime/calls/{call_id}/refer", sip.refer),
    Route("POST", "/openai/v1/realtime/calls/{call_id}/refer", sip.refer),
    Route("GET", "/v1/sip/dial", sip.dial),
    Route("GET", "/healthz", healthz),
    *(Route(method, path, handler) for method, path, handler in playground.PLAYGROUND_ROUTES),
    Route("GET", "/readyz", readyz),
)
"""Every route of the server, in one place: add yours here."""
