"""HTTP answers in the service's shape: JSON error bodies, and the middleware that gives every
failure (ours, or aiohttp's own 404/405/413) that shape.

REST calls and failed WebSocket handshakes answer ``{"error": {"message", "type", "param",
"code"}}`` (protocol.md §7.1). A route refuses a request by raising :func:`api_error`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["api_error", "error_body", "json_errors", "json_response"]

logger = logging.getLogger("realtalk.server")


def error_body(
    message: str, code: str | None, param: str | None = None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def api_error(
    status: int, message: str, code: str | None, param: str | None = None
) -> web.HTTPException:
    """An exception a route raises to answer ``status`` with the service's JSON error body."""
    exc = web.HTTPException(text=json.dumps(error_body(message, code, param)))
    exc.set_status(status)
    exc.content_type = "application/json"
    return exc


def _invalid_url(request: web.Request) -> web.Response:
    # protocol.md is silent on unknown paths; the service's REST API answers an unknown path
    # or a method a path does not take with 404 "Invalid URL (METHOD /path)" and a null code.
    # The raw path is quoted as sent (``//v1/realtime`` stays as it is, never re-parsed).
    return json_response(
        404, error_body(f"Invalid URL ({request.method} {request.raw_path.split('?')[0]})", None)
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error the app answers carries a JSON body (aiohttp's own ones are plain text)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        if exc.status in (404, 405):
            return _invalid_url(request)
        if exc.status == 413:
            return json_response(413, error_body("Request body too large.", "request_too_large"))
        return json_response(exc.status, error_body(exc.reason, None))
    except Exception:
        # A bug in a route: the client gets the service's 500 shape, the log the traceback
        # (routes never put a credential in an exception message).
        logger.exception("request to %s failed", request.path)
        return json_response(
            500,
            error_body(
                "The server had an error while processing your request.", None, None, "server_error"
            ),
        )
