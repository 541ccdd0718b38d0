"""Who is calling: API keys and client secrets, read from a request the way each provider does.

OpenAI takes ``Authorization: Bearer <key or ek_ secret>``; Azure also takes an ``api-key``
header or query parameter (protocol.md §1c, §1d); browsers, which cannot set headers on a
WebSocket, send ``openai-insecure-api-key.<key>`` as a subprotocol (§1a). Keys are compared in
constant time. A request that carries a header twice is refused: which copy counts would be a
guess, and a proxy and this server could guess differently.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from realtalk.server.core.config import ServerConfig
from realtalk.server.core.secrets import ClientSecret, ClientSecretSigner
from realtalk.server.front.http import api_error

__all__ = ["INSECURE_KEY_PREFIX", "authenticate", "offered_subprotocols"]

INSECURE_KEY_PREFIX = "openai-insecure-api-key."

_BAD_KEY = (
    "Incorrect API key provided. You can find your API key in your realtalk server's start-up "
    "output or its configuration."
)


def offered_subprotocols(request: web.Request) -> list[str]:
    return [
        offered.strip()
        for header in request.headers.getall("Sec-WebSocket-Protocol", [])
        for offered in header.split(",")
        if offered.strip()
    ]


def _single(request: web.Request, name: str) -> str | None:
    values = request.headers.getall(name, [])
    if len(values) > 1:
        raise api_error(
            401,
            f"The request has {len(values)} {name} headers; send exactly one.",
            "invalid_api_key",
        )
    return values[0] if values else None


def _credentials(request: web.Request, *, azure: bool) -> list[str]:
    found = []
    authorization = _single(request, "Authorization")
    if authorization and authorization[:7].lower() == "bearer ":
        found.append(authorization[7:].strip())
    if azure:
        header = _single(request, "api-key")
        if header:
            found.append(header)
        found.extend(request.query.getall("api-key", []))
    found.extend(
        offered[len(INSECURE_KEY_PREFIX) :]
        for offered in offered_subprotocols(request)
        if offered.startswith(INSECURE_KEY_PREFIX)
    )
    return found


def _key_ok(config: ServerConfig, key: str) -> bool:
    ok = False
    for known in config.api_keys:
        ok |= hmac.compare_digest(known.encode(), key.encode())
    return ok


def authenticate(
    request: web.Request,
    config: ServerConfig,
    secrets: ClientSecretSigner | None,
    *,
    azure: bool,
    now_s: float,
) -> ClientSecret | None:
    """The client secret the request authenticated with (None: an API key, or auth is off).

    Raises the 401 :func:`~realtalk.server.front.http.api_error` otherwise. ``secrets`` None:
    only API keys count (a client secret cannot mint more secrets). The caller checks the
    secret's scope (:meth:`ClientSecret.refusal`) against what the request opens.
    """
    if config.no_auth:
        return None
    for key in _credentials(request, azure=azure):
        if _key_ok(config, key):
            return None
        if secrets is not None and key.startswith("ek_"):
            secret = secrets.lookup(key, now_s)
            if secret is not None:
                return secret
    raise api_error(401, _BAD_KEY, "invalid_api_key")
