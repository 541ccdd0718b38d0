"""The WebRTC call routes (protocol.md §1f): ``POST .../calls`` answers an SDP offer with 201,
the SDP answer and ``Location: <path>/<call_id>``; ``POST .../calls/{call_id}/hangup`` ends it.

============================================  =========  ========================================
path                                          dialect    auth and initial session
============================================  =========  ========================================
``POST /v1/realtime/calls``                   GA         raw ``application/sdp`` with a client
                                                         secret (its session) or an API key;
                                                         or multipart ``sdp`` + ``session``
``POST /openai/v1/realtime/calls``            GA/Azure   the same, Azure's auth headers
``POST /v1/realtimertc?model=D``              beta/Azure Azure preview's regional WebRTC URL:
                                                         raw SDP with a preview client secret
``POST <calls path>/{call_id}/hangup``        --         API key; ends the call (200, or 404)
============================================  =========  ========================================

The call itself (:mod:`realtalk.server.front.rtc`, aiortc) is imported on first use, so the
server runs without the ``webrtc`` extra and answers these routes with 501 then.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from realtalk.server.front.auth import authenticate
from realtalk.server.front.connection import SessionRoute
from realtalk.server.front.http import api_error, json_response
from realtalk.server.wire.session import default_session, validate_session_update

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer
    from realtalk.server.front.rtc import RtcCalls

__all__ = ["azure_calls", "azure_preview_rtc", "hangup", "openai_calls"]

Surface = Literal["openai", "azure-ga", "azure-preview"]


def ice_host(host: str) -> str | None:
    """The address ICE candidates are gathered on: the one the server serves on (loopback by
    default); None (every interface) for a wildcard bind."""
    if host in ("", "localhost"):
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_unspecified else str(address)


def rtc_calls(server: RealtimeServer) -> RtcCalls:
    calls: RtcCalls | None = getattr(server, "rtc_calls", None)
    if calls is None:
        try:
            from realtalk.server.front.rtc import RtcCalls
        except ImportError:
            raise api_error(
                501,
                "This server has no WebRTC support: install realtalk[webrtc] (aiortc).",
                "webrtc_unavailable",
            ) from None
        calls = RtcCalls(server, ice_host(server.config.host))
        server.rtc_calls = calls  # type: ignore[attr-defined]
    return calls


async def _create(server: RealtimeServer, request: web.Request, surface: Surface) -> web.Response:
    from realtalk.server.front.rtc import parse_offer

    calls = rtc_calls(server)
    flavor: Literal["openai", "azure"] = "openai" if surface == "openai" else "azure"
    dialect: Literal["ga", "beta"] = "beta" if surface == "azure-preview" else "ga"
    secret = authenticate(
        request, server.config, server.secrets, azure=flavor == "azure", now_s=server.clock()
    )
    offer = parse_offer(request.headers.get("Content-Type", ""), await request.read())
    if isinstance(offer, str):
        raise api_error(400, offer, "invalid_request")
    session: dict[str, Any] | None = None
    model = request.query.get("model", "") if surface == "azure-preview" else ""
    if secret is not None:
        refusal = secret.refusal(flavor, dialect, None)
        if refusal is not None:
            raise api_error(401, refusal, "invalid_api_key")
        session = secret.session
        secret_model = (secret.session or {}).get("model")
        model = model or (secret_model if isinstance(secret_model, str) else "")
    if offer.session is not None:
        if dialect != "ga":
            raise api_error(400, "This route takes a raw application/sdp offer.", "invalid_request")
        session = offer.session
        given = offer.session.get("model")
        model = given if isinstance(given, str) and given else model
    model = model or "gpt-realtime"
    if session is not None and offer.session is not None:
        base = default_session(
            dialect, flavor, model, session_id="sess_" + secrets.token_hex(10), now_s=0
        )
        error = validate_session_update(
            dialect, flavor, session, base, assistant_audio_present=False
        )
        if error is not None:
            return json_response(400, {"error": error})
    if not server.accepting:
        raise api_error(
            503,
            f"The server is at its limit of {server.config.max_sessions} concurrent sessions; "
            "retry later.",
            "too_many_sessions",
        )
    route = SessionRoute(
        path=request.path, dialect=dialect, flavor=flavor, model=model, session=session
    )
    try:
        call_id, answer = await calls.answer(offer.sdp, route)
    except ValueError as exc:
        raise api_error(400, str(exc), "invalid_offer") from None
    location = f"{request.path.rstrip('/')}/{call_id}"
    return web.Response(
        status=201,
        body=answer.encode(),
        content_type="application/sdp",
        headers={"Location": location},
    )


async def openai_calls(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _create(server, request, "openai")


async def azure_calls(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _create(server, request, "azure-ga")


async def azure_preview_rtc(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    return await _create(server, request, "azure-preview")


async def hangup(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """End a WebRTC call (SIP calls use the same path: :mod:`realtalk.server.front.sip`)."""
    azure = request.path.startswith("/openai/")
    authenticate(request, server.config, None, azure=azure, now_s=server.clock())
    call_id = request.match_info.get("call_id", "")
    calls: RtcCalls | None = getattr(server, "rtc_calls", None)
    if calls is None or not await calls.hangup(call_id):
        raise api_error(404, f"No call with id '{call_id}'.", "call_not_found", "call_id")
    return json_response(200, {})
