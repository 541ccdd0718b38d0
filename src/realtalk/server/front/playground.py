"""The playground: a browser page served by ``realtalk serve`` at ``/playground``.

Plain HTML, CSS and JavaScript shipped in the package (``front/static/``), no build step, no
CDN: talk to the agent with the microphone, read the live transcript, the event timeline, the
session config the server confirmed (each field marked as set by the page or left at the server
default) and each turn's latency. It connects over the WebSocket routes with the browser
subprotocol auth (``openai-insecure-api-key.<key>``), to this server or to a real provider with
a client secret minted by the user's own backend (the page POSTs to a URL the user gives and
reads ``value``). The key is passed in the URL fragment (``#key=...``), which browsers never
send to a server, so it is in no request line and no log.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from realtalk.server.front.http import api_error

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer

__all__ = ["PLAYGROUND_ROUTES", "STATIC_FILES", "playground_page", "playground_static"]

STATIC_FILES = {
    "playground.js": "text/javascript",
    "playground.css": "text/css",
    "capture-worklet.js": "text/javascript",
}
"""The files the page loads, and their content types (nothing else is served)."""

# The page may talk to any Realtime endpoint and to the user's secret-minting backend, but
# loads code and styles from this server only.
_CSP = (
    "default-src 'self'; connect-src 'self' ws: wss: http: https:; media-src 'self' blob:; "
    "img-src 'self' data:; script-src 'self'; style-src 'self'"
)


def _read(name: str) -> bytes:
    return resources.files("realtalk.server.front").joinpath("static", name).read_bytes()


def _response(body: bytes, content_type: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": _CSP},
    )


async def playground_page(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """``GET /playground``: the page."""
    return _response(_read("playground.html"), "text/html")


async def playground_static(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """``GET /playground/{name}``: one of :data:`STATIC_FILES`."""
    name = request.match_info.get("name", "")
    if name not in STATIC_FILES:
        raise api_error(404, f"No playground file {name!r}.", "not_found")
    return _response(_read(name), STATIC_FILES[name])


PLAYGROUND_ROUTES = (
    ("GET", "/playground", playground_page),
    ("GET", "/playground/{name}", playground_static),
)
