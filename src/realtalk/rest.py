"""REST calls beside the realtime connection: client secrets, WebRTC call set-up, SIP call control.

Every provider describes where its REST routes are with a :class:`RestSurface` (see
``Provider.rest_surface``); this module turns a validated :class:`~realtalk.config.SessionConfig`
into that provider's request shape, sends it with ``httpx2`` and translates the answer:

* a 2xx answer is parsed into realtalk's types (:class:`ClientSecret`, a call id ...);
* a service error (``{"error": {"message", "code", "type", "param"}}``) becomes
  :class:`~realtalk.errors.ServerError` with the service's own message;
* a network failure or a timeout becomes :class:`~realtalk.errors.TransportError`.

Secrets: the credential travels only in a request header. httpx2 logs the URL at INFO and its
httpcore2 layer logs response headers at DEBUG, never request headers or bodies, so neither
the key nor a minted secret reaches a log record (a test turns every logger to DEBUG and
checks). Error messages have the credential scrubbed in case a service echoes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from realtalk.config import SessionConfig, is_set
from realtalk.errors import NO_VALUE, ConfigError, ConfigProblem, ServerError, TransportError

if TYPE_CHECKING:
    from realtalk.providers import Provider

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_SECRET_TTL_S",
    "MIN_SECRET_TTL_S",
    "ClientSecret",
    "RestSurface",
    "accept_body",
    "auth_headers",
    "call_control",
    "client_secret_body",
    "create_client_secret",
    "http_url",
    "no_rest",
    "send",
    "session_body",
]

MIN_SECRET_TTL_S = 10
MAX_SECRET_TTL_S = 7200
"""protocol.md §1e: ``expires_after.seconds`` is 10-7200."""
DEFAULT_TIMEOUT_S = 15.0

RestShape = Literal["ga", "azure-preview"]


@dataclass(frozen=True, slots=True)
class RestSurface:
    """Where a provider's REST routes are and which request shape they take."""

    shape: RestShape
    """``"ga"``: OpenAI GA / Azure GA / GA gateways; ``"azure-preview"``: the beta-shaped
    ``/openai/realtimeapi/sessions`` of Azure preview."""
    model: str
    """The model (Azure: the deployment name) sessions are created for."""
    client_secrets_url: str
    calls_url: str | None
    """``POST`` here with an SDP offer opens a WebRTC call; ``/{call_id}/accept`` etc. control
    SIP calls (GA shapes only)."""


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """An ephemeral key (``ek_...``) a browser or phone app connects with.

    ``session`` is the effective session the service attached to it (decoded; the browser's
    session starts with exactly this), ``raw_session`` the service's JSON for it.
    """

    value: str = field(repr=False)
    expires_at: int
    session: SessionConfig
    session_id: str | None = None
    raw_session: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:  # the value is a credential: never printed
        return f"ClientSecret(expires_at={self.expires_at}, session_id={self.session_id!r})"


def http_url(url: str) -> str:
    """``ws(s)://`` -> ``http(s)://``; no scheme -> ``https://``; no trailing slash."""
    if "://" not in url:
        url = "https://" + url
    scheme, rest = url.split("://", 1)
    scheme = {"wss": "https", "ws": "http"}.get(scheme.lower(), scheme.lower())
    if scheme not in ("http", "https"):
        raise ConfigError([ConfigProblem("url", url, "must be an http(s):// or ws(s):// URL")])
    return f"{scheme}://{rest}".rstrip("/")


# -- the one HTTP exchange --------------------------------------------------------------------


async def send(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    json_body: Any = None,
    content: bytes | None = None,
    files: Mapping[str, tuple[str | None, bytes, str]] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    secret: str | None = None,
) -> tuple[int, Mapping[str, str], bytes]:
    """One request; (status, headers, body) of a 2xx answer, :class:`ServerError` otherwise.

    ``secret`` is scrubbed from any error text. ``files`` sends ``multipart/form-data``.
    """
    import httpx2  # loaded on first REST call, not at import

    from realtalk.redact import install_log_redaction

    install_log_redaction()  # httpx2 logs the URL at INFO: a query key there is hidden
    try:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(timeout), follow_redirects=False) as c:
            response = await c.request(
                method, url, headers=dict(headers), json=json_body, content=content, files=files
            )
    except httpx2.TimeoutException:
        raise TransportError(f"{method} {_where(url)} timed out after {timeout:g}s") from None
    except httpx2.HTTPError as exc:
        raise TransportError(_scrub(f"{method} {_where(url)} failed: {exc}", secret)) from None
    body = response.content
    if 200 <= response.status_code < 300:
        return response.status_code, dict(response.headers), body
    raise _service_error(response.status_code, body, secret)


def _where(url: str) -> str:
    """The URL without its query (a gateway might take a key there)."""
    return url.split("?", 1)[0]


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "<redacted>") if secret else text


def _service_error(status: int, body: bytes, secret: str | None) -> ServerError:
    text = body.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return ServerError(
            _scrub(error["message"], secret),
            code=error.get("code") if isinstance(error.get("code"), str) else str(status),
            type=str(error.get("type") or "invalid_request_error"),
            param=error.get("param") if isinstance(error.get("param"), str) else None,
        )
    return ServerError(
        _scrub(f"HTTP {status}" + (f": {text[:300]}" if text else ""), secret),
        code=str(status),
        type="http_error",
    )


async def auth_headers(provider: Provider) -> tuple[dict[str, str], str | None]:
    """The provider's auth and extra headers, and the credential (for scrubbing)."""
    _, headers = await provider.handshake()
    credential = None
    for name, value in headers.items():
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            credential = value[7:]
        elif name.lower() == "api-key":
            credential = value
    return dict(headers), credential


# -- client secrets ---------------------------------------------------------------------------


def _check_ttl(expires_after: int | None, surface: RestSurface, provider: str) -> None:
    if expires_after is None:
        return
    if surface.shape == "azure-preview":
        raise ConfigError(
            [
                ConfigProblem(
                    "expires_after",
                    expires_after,
                    "Azure preview's sessions route takes no lifetime: its keys are valid for "
                    "one minute",
                    "leave expires_after out, or use the Azure GA surface (no api_version)",
                )
            ],
            target=provider,
        )
    if (
        not isinstance(expires_after, int)
        or isinstance(expires_after, bool)
        or not MIN_SECRET_TTL_S <= expires_after <= MAX_SECRET_TTL_S
    ):
        raise ConfigError(
            [
                ConfigProblem(
                    "expires_after",
                    expires_after,
                    f"must be a whole number of seconds from {MIN_SECRET_TTL_S} to "
                    f"{MAX_SECRET_TTL_S}",
                    "e.g. expires_after=600 (the service's default)",
                )
            ],
            target=provider,
        )


def _model_for(config: SessionConfig, surface: RestSurface, provider: str) -> str:
    model = config.model
    if not is_set(model) and not surface.model:
        raise ConfigError(
            [
                ConfigProblem(
                    "model",
                    NO_VALUE,
                    "the session needs a model and the provider names none",
                    "set SessionConfig(model=...) or put ?model= on the provider's URL",
                )
            ],
            target=provider,
        )
    if not is_set(model) or model == surface.model:
        return surface.model
    if provider.startswith("azure"):
        # Azure: "the model name is actually the name of your deployment" (protocol.md §1g).
        raise ConfigError(
            [
                ConfigProblem(
                    "model",
                    model,
                    f"on Azure the model is the deployment ({surface.model!r})",
                    "leave model unset, or create the provider with that deployment",
                )
            ],
            target=provider,
        )
    return str(model)


def session_body(provider: Provider, config: SessionConfig) -> dict[str, Any]:
    """The provider-shaped session object for ``config`` (validated), with its model set."""
    provider.validate(config)
    surface = provider.rest_surface()
    session = provider.dialect.encode_session(config)
    session["model"] = _model_for(config, surface, provider.name)
    return session


def client_secret_body(
    provider: Provider, config: SessionConfig, expires_after: int | None
) -> dict[str, Any]:
    """The exact JSON body ``create_client_secret`` posts to ``provider`` (validated)."""
    surface = provider.rest_surface()
    _check_ttl(expires_after, surface, provider.name)
    session = session_body(provider, config)
    if surface.shape == "azure-preview":
        return session  # the flat beta session itself is the body (protocol.md §1e)
    body: dict[str, Any] = {"session": session}
    if expires_after is not None:
        body["expires_after"] = {"anchor": "created_at", "seconds": expires_after}
    return body


async def create_client_secret(
    provider: Provider,
    config: SessionConfig,
    expires_after: int | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> ClientSecret:
    """Mint an ephemeral key on ``provider`` carrying ``config`` (see
    ``Provider.create_client_secret``)."""
    body = client_secret_body(provider, config, expires_after)
    surface = provider.rest_surface()
    headers, credential = await auth_headers(provider)
    _, _, raw = await send(
        "POST",
        surface.client_secrets_url,
        headers,
        json_body=body,
        timeout=timeout,
        secret=credential,
    )
    return _parse_secret(raw, surface, provider)


def _bad_answer(what: str) -> ServerError:
    return ServerError(f"the service's client-secret answer {what}", code="bad_response")


def _parse_secret(raw: bytes, surface: RestSurface, provider: Provider) -> ClientSecret:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise _bad_answer("is not JSON") from None
    if not isinstance(payload, dict):
        raise _bad_answer("is not a JSON object")
    if surface.shape == "azure-preview":
        holder = payload.get("client_secret")
        session = payload
    else:
        holder = payload
        session = payload.get("session") or {}
    if not isinstance(holder, dict) or not isinstance(holder.get("value"), str):
        raise _bad_answer("has no secret value")
    expires_at = holder.get("expires_at")
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise _bad_answer("has no expires_at")
    if not isinstance(session, dict):
        raise _bad_answer("has a session that is not an object")
    shown = {k: v for k, v in session.items() if k != "client_secret"}
    return ClientSecret(
        value=holder["value"],
        expires_at=expires_at,
        session=provider.dialect.decode_session(shown),
        session_id=shown.get("id") if isinstance(shown.get("id"), str) else None,
        raw_session=shown,
    )


# -- SIP call control (protocol.md §1g) --------------------------------------------------------


def _calls_url(provider: Provider) -> str:
    surface = provider.rest_surface()
    if surface.shape != "ga" or surface.calls_url is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "provider",
                    provider.name,
                    "SIP call control exists on the GA surfaces only (OpenAI, Azure GA)",
                    "use OpenAI(...) or AzureOpenAI(...) without api_version",
                )
            ],
            target=provider.name,
        )
    return surface.calls_url


def _check_call_id(call_id: object) -> str:
    if not isinstance(call_id, str) or not call_id or "/" in call_id or "?" in call_id:
        raise ConfigError(
            [
                ConfigProblem(
                    "call_id",
                    call_id,
                    "must be the call id from the webhook (a non-empty string without / or ?)",
                )
            ]
        )
    return call_id


async def call_control(
    provider: Provider,
    call_id: str,
    action: Literal["accept", "reject", "refer", "hangup"],
    body: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """``POST <calls>/{call_id}/{action}`` with ``body``; :class:`ServerError` on refusal."""
    url = f"{_calls_url(provider)}/{_check_call_id(call_id)}/{action}"
    headers, credential = await auth_headers(provider)
    await send(
        "POST",
        url,
        headers,
        json_body=dict(body) if body is not None else None,
        timeout=timeout,
        secret=credential,
    )


def accept_body(provider: Provider, config: SessionConfig) -> dict[str, Any]:
    """The ``/accept`` body: the GA session (``type: "realtime"`` and the model, which on
    Azure is the deployment), validated for the provider."""
    _calls_url(provider)
    return session_body(provider, config)


def no_rest(provider: str) -> ConfigError:
    return ConfigError(
        [
            ConfigProblem(
                "provider",
                NO_VALUE,
                f"{provider} has no REST routes (client secrets, calls) configured",
                "for Compatible pass rest_base='https://host/v1'",
            )
        ],
        target=provider,
    )
