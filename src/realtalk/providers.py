"""Providers: where and how to connect, and which wire dialect and rules apply there.

A provider binds an endpoint (URL, headers, auth) to a :class:`~realtalk.dialects.Dialect` and a
capability table (:class:`~realtalk.dialects.rules.Rules`), plus the ``on_send`` hook. It does no
I/O itself: :meth:`Provider.handshake` returns the URL and headers a transport connects with.

* :class:`OpenAI` -- OpenAI GA.
* :class:`AzureOpenAI` -- Azure GA (no ``api_version``) or Azure preview (with one).
* :class:`Compatible` -- any gateway speaking the GA or the beta shape.

Adding a provider (the local server's ``Local``, another gateway) means subclassing
:class:`Provider`: set ``name``, ``dialect`` and ``rules``, implement :attr:`Provider.url`, and
override :meth:`Provider._credential` / :meth:`Provider._auth_headers` if it authenticates.

Header rules: extra ``headers`` are merged under the auth headers and may not name a header the
provider's auth sets (``Authorization``, ``api-key``): that is a :class:`ConfigError` at
construction, so a stray header can never replace the credential. A GA provider refuses an
``OpenAI-Beta`` header (OpenAI answers it with ``beta_api_shape_disabled``; protocol.md 1a).

Credentials: a key given as an argument, else read from the environment at handshake time (so a
missing key fails at connect, not at import). A ``token_provider`` (sync or async) is called at
every handshake. Use ``await provider.handshake()``; :meth:`Provider.handshake_sync` exists for
synchronous callers and refuses an async ``token_provider``. No repr ever shows a secret.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from realtalk._namespace import public_dir
from realtalk.arguments import check_callable, check_optional_text
from realtalk.commands import ClientCommand, UpdateSession
from realtalk.config import SessionConfig
from realtalk.dialects import Dialect, get_dialect
from realtalk.dialects.checks import advise, check, validate
from realtalk.dialects.rules import (
    AZURE_GA_RULES,
    AZURE_PREVIEW_RULES,
    BETA_RULES,
    GA_RULES,
    Rules,
)
from realtalk.errors import NO_VALUE, ConfigError, ConfigProblem
from realtalk.redact import (
    install_log_redaction,
    is_sensitive_name,
    redact_url,
    remember_secret,
    remember_url_secrets,
)

if TYPE_CHECKING:
    from realtalk.options import SessionOptions
    from realtalk.rest import ClientSecret, RestSurface
    from realtalk.transcription import Transcriber, TranscriptionConfig

__all__ = [
    "AzureOpenAI",
    "Compatible",
    "Local",
    "OnSend",
    "OpenAI",
    "Provider",
    "TokenProvider",
    "TransportKind",
]

OnSend = Callable[[dict[str, Any]], dict[str, Any] | None]
"""Sees every outgoing wire event last; returns it (maybe rewritten) or ``None`` to drop it."""

TransportKind = Literal["websocket", "webrtc"]

TokenProvider = Callable[[], str | Awaitable[str]]
"""Returns a bearer token (e.g. a Microsoft Entra token); called at every handshake."""


def _check_name(value: object, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{where} takes a non-empty string, not {value!r}")


def _url_problem(field: str, url: str, rule: str, fix: str) -> ConfigError:
    return ConfigError([ConfigProblem(field, redact_url(url), rule, fix)])


def _ws_url(url: object, field: str = "url") -> str:
    """``http(s)://`` -> ``ws(s)://``; a URL without a scheme is taken as ``wss://``.

    Every way a URL can be unusable (wrong type or scheme, no host, a port out of range, a broken
    IPv6 address) is a :class:`ConfigError` naming the fix; the URL shown is redacted.
    """
    if not isinstance(url, str):
        raise TypeError(f"{field} must be a URL string such as 'wss://host/path', not {url!r}")
    original = url
    if "://" not in url:
        url = "wss://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "IPv6" in str(exc):
            raise _url_problem(
                field,
                original,
                "is not a valid URL: the IPv6 address is not closed with ']'",
                "write an IPv6 host in brackets, e.g. ws://[::1]:8080/v1/realtime",
            ) from None
        raise _url_problem(
            field,
            original,
            "has an invalid port (it must be a number from 1 to 65535)",
            "fix the number after the host's ':', e.g. wss://host:443/v1/realtime",
        ) from None
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("ws", "wss"):
        raise _url_problem(
            field,
            original,
            "must be a ws://, wss://, http:// or https:// URL",
            "start it with wss:// (or ws:// for a server on this machine)",
        )
    if not parts.hostname:
        raise _url_problem(
            field,
            original,
            "has no host",
            "write it as wss://<host>/<path>, e.g. wss://gw.example/v1",
        )
    if port == 0:
        raise _url_problem(
            field, original, "has port 0", "give the server's real port, or leave the port out"
        )
    if any(c.isspace() for c in url):
        raise _url_problem(
            field, original, "contains whitespace", "remove it or percent-encode it as %20"
        )
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))


def _redact_url(url: str) -> str:
    """The URL with its userinfo and secret-looking query values hidden."""
    return redact_url(url)


class Provider:
    """Where and how to connect. Subclass it for a new endpoint (see the module docstring).

    Attributes every provider has: ``name`` (e.g. ``"openai"``), ``dialect`` (the wire shape),
    ``rules`` (what the target accepts) and ``on_send``.
    """

    name: str = "provider"
    dialect: Dialect
    rules: Rules
    _reserved: tuple[str, ...] = ()
    """Lower-case names of the headers this provider's auth sets; extra headers may not use them."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        on_send: OnSend | None = None,
        transport: TransportKind = "websocket",
    ) -> None:
        where = type(self).__name__
        check_callable(on_send, f"{where}(on_send=)")
        given: object = headers
        if given is not None and not (
            isinstance(given, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in given.items())
        ):
            raise TypeError(
                f"{where}(headers=) takes a dict of header name to string value, e.g. "
                f"{{'X-Gateway': 'value'}}, not {given!r}"
            )
        if transport not in ("websocket", "webrtc"):
            raise ConfigError(
                [ConfigProblem("transport", transport, "must be 'websocket' or 'webrtc'")],
                target=self.name,
            )
        self.transport: TransportKind = transport
        """How sessions connect: a WebSocket, or a WebRTC call (the ``webrtc`` extra)."""
        self.on_send = on_send
        self._headers: dict[str, str] = dict(headers or {})
        self._check_headers()

    # -- endpoint --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket URL connected to. A :class:`Compatible` URL may carry a credential
        (userinfo, a query key): show :attr:`display_url` instead."""
        raise NotImplementedError

    @property
    def display_url(self) -> str:
        """:attr:`url` with its userinfo and secret-looking query values redacted."""
        return redact_url(self.url)

    def defaults(self) -> SessionConfig:
        """The provider-defaults layer, the lowest in the precedence chain (empty by default)."""
        return SessionConfig()

    def _credential(self) -> str | Awaitable[str] | None:
        """The secret for this handshake, or ``None`` when the provider needs none."""
        return None

    def _auth_headers(self, credential: str | None) -> dict[str, str]:
        """The auth headers for a resolved credential."""
        return {}

    def _check_headers(self) -> None:
        problems = []
        for header in self._headers:
            lowered = header.lower()
            if lowered in self._reserved:
                problems.append(
                    ConfigProblem(
                        f"headers[{header!r}]",
                        NO_VALUE,
                        f"{type(self).__name__} sets {header!r} itself for auth; extra headers "
                        "may not replace it",
                        "pass the credential as api_key= (or token_provider=) instead",
                    )
                )
            if lowered == "openai-beta" and self.dialect.name == "ga":
                problems.append(
                    ConfigProblem(
                        f"headers[{header!r}]",
                        NO_VALUE,
                        "a GA endpoint must not get OpenAI-Beta (OpenAI closes the connection "
                        "with beta_api_shape_disabled)",
                        "remove the header",
                    )
                )
        if problems:
            raise ConfigError(problems, target=self.name)

    def _merge_headers(self, auth: Mapping[str, str]) -> dict[str, str]:
        merged = dict(self._headers)
        merged.update(auth)
        return merged

    async def handshake(self) -> tuple[str, dict[str, str]]:
        """The URL and headers to open the WebSocket with. Calls the token provider, if any.

        Raises :class:`ConfigError` when no credential can be found.
        """
        credential = self._credential()
        if inspect.isawaitable(credential):
            credential = await credential
        return self._remembered(self.url, self._auth_headers(self._checked(credential)))

    def handshake_sync(self) -> tuple[str, dict[str, str]]:
        """:meth:`handshake` for synchronous callers; refuses an async token provider."""
        credential = self._credential()
        if inspect.isawaitable(credential):
            if inspect.iscoroutine(credential):
                credential.close()  # never awaited on purpose: no "never awaited" warning
            raise TypeError("the token_provider is async: use `await provider.handshake()`")
        return self._remembered(self.url, self._auth_headers(self._checked(credential)))

    def _remembered(self, url: str, auth: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The handshake, after telling :mod:`realtalk.redact` every secret in it, so that no
        log record (websockets logs each header at DEBUG), repr or error can show them."""
        headers = self._merge_headers(auth)
        remember_url_secrets(url)
        for name, value in headers.items():
            if name in auth or is_sensitive_name(name):
                remember_secret(value)
        return url, headers

    def _checked(self, credential: object) -> str | None:
        if credential is None or (isinstance(credential, str) and credential):
            return credential
        raise ConfigError(
            [
                ConfigProblem(
                    "token_provider",
                    type(credential).__name__,
                    "must return a non-empty string token",
                )
            ],
            target=self.name,
        )

    def redacted_headers(self) -> dict[str, str]:
        """The handshake headers for display: credentials and secret-looking values hidden.

        Does not call the token provider or read the environment.
        """
        shown = {k: ("<redacted>" if is_sensitive_name(k) else v) for k, v in self._headers.items()}
        shown.update({k: "<redacted>" for k in self._auth_headers("<redacted>")})
        return shown

    # -- payloads --------------------------------------------------------------------------

    def problems(self, config: SessionConfig) -> list[ConfigProblem]:
        """Every problem ``config`` has on this provider (empty when it can be sent)."""
        return validate(config, self.rules, self.dialect)

    def advice(self, config: SessionConfig) -> list[ConfigProblem]:
        """Non-blocking remarks (undocumented voices, transcription models...)."""
        return advise(config, self.rules, self.dialect)

    def validate(self, config: SessionConfig) -> None:
        """Raise one :class:`ConfigError` listing every problem of ``config`` here."""
        check(config, self.rules, self.dialect)

    def apply_on_send(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Run the ``on_send`` hook on an outgoing wire event: the (maybe rewritten) event, or
        ``None`` when the hook drops it. The event dict is built fresh for each send, so the hook
        may mutate it in place."""
        if self.on_send is None:
            return event
        result = self.on_send(event)
        if result is not None and not isinstance(result, dict):
            raise TypeError(
                f"on_send must return the event dict or None, not {type(result).__name__}"
            )
        return result

    def encode(self, command: ClientCommand, event_id: str | None = None) -> dict[str, Any] | None:
        """A command as the wire event this provider sends (after ``on_send``; ``None`` = drop)."""
        return self.apply_on_send(self.dialect.encode_command(command, event_id))

    def session_update(
        self, config: SessionConfig, event_id: str | None = None
    ) -> dict[str, Any] | None:
        """The exact ``session.update`` event sent for ``config``: validated, encoded, then
        passed through ``on_send`` (``None`` when the hook drops it)."""
        self.validate(config)
        return self.encode(UpdateSession(config), event_id)

    # -- REST: client secrets (the requests themselves live in realtalk.rest) ---------------

    def rest_surface(self) -> RestSurface:
        """Where this provider's REST routes are (client secrets, WebRTC and SIP calls)."""
        from realtalk.rest import no_rest

        raise no_rest(self.name)

    async def create_client_secret(
        self,
        *,
        config: SessionConfig | None = None,
        expires_after: int | None = None,
        timeout: float = 15.0,
    ) -> ClientSecret:
        """Mint an ephemeral client secret (``ek_...``) for a browser or phone app.

        The session config (provider defaults < ``config``) is validated for this provider
        before the request and sent in its shape, so the app's session is right from the first
        moment. ``expires_after`` is the lifetime in seconds (10-7200; the service's default is
        600). A service error raises :class:`~realtalk.errors.ServerError` with its message.
        """
        from realtalk.config import Layer, merge
        from realtalk.rest import create_client_secret

        merged = merge(
            Layer("provider", self.defaults()), Layer("config", config or SessionConfig())
        )
        return await create_client_secret(self, merged.config, expires_after, timeout=timeout)

    # -- SIP calls (realtalk.sip; the requests live in realtalk.rest) --------------------------

    def transcribe(
        self, config: TranscriptionConfig | None = None, *, options: SessionOptions | None = None
    ) -> Transcriber:
        """A transcription-only session on this provider (:func:`realtalk.transcribe`)."""
        from realtalk.transcription import Transcriber

        return Transcriber(self, config, options=options)

    def call_url(self, call_id: str) -> str:
        """The WebSocket URL that attaches to call ``call_id`` (``?call_id=`` instead of the
        model); GA surfaces only."""
        from realtalk.rest import _calls_url, _check_call_id

        _calls_url(self)
        parts = urlsplit(self.url)
        query = [
            (k, v) for k, v in parse_qsl(parts.query) if k not in ("model", "deployment", "intent")
        ]
        query.append(("call_id", _check_call_id(call_id)))
        return urlunsplit(parts._replace(query=urlencode(query)))

    async def accept_call(
        self,
        call_id: str,
        *,
        config: SessionConfig | None = None,
        agent: Any = None,
        timeout: float = 15.0,
    ) -> None:
        """Answer an incoming SIP call with a session: provider defaults < ``config`` <
        ``agent`` (its instructions, tools and config), validated and in the provider's shape."""
        from realtalk.config import Layer, merge
        from realtalk.rest import accept_body, call_control

        layers = [Layer("provider", self.defaults()), Layer("config", config or SessionConfig())]
        if agent is not None:
            layers.append(Layer(f"agent:{agent.name}", agent.session_layer()))
        body = accept_body(self, merge(*layers).config)
        await call_control(self, call_id, "accept", body, timeout=timeout)

    async def reject_call(
        self, call_id: str, *, status_code: int | None = None, timeout: float = 15.0
    ) -> None:
        """Decline an incoming call (the service's default SIP status is 603 Decline)."""
        from realtalk.rest import call_control

        if status_code is not None and not (
            isinstance(status_code, int) and 400 <= status_code <= 699
        ):
            raise ConfigError(
                [ConfigProblem("status_code", status_code, "must be a SIP status from 400 to 699")]
            )
        body = None if status_code is None else {"status_code": status_code}
        await call_control(self, call_id, "reject", body, timeout=timeout)

    async def refer_call(self, call_id: str, target_uri: str, *, timeout: float = 15.0) -> None:
        """Transfer the caller to ``target_uri`` (``tel:+1...`` or ``sip:...``)."""
        from realtalk.rest import call_control

        if not isinstance(target_uri, str) or not target_uri.startswith(("tel:", "sip:", "sips:")):
            raise ConfigError(
                [
                    ConfigProblem(
                        "target_uri",
                        target_uri,
                        "must be a tel: or sip: URI",
                        "e.g. 'tel:+14155550123' or 'sip:agent@example.com'",
                    )
                ]
            )
        await call_control(self, call_id, "refer", {"target_uri": target_uri}, timeout=timeout)

    async def hangup_call(self, call_id: str, *, timeout: float = 15.0) -> None:
        """End a call (SIP, or WebRTC with the id from ``Location``)."""
        from realtalk.rest import call_control

        await call_control(self, call_id, "hangup", timeout=timeout)

    # -- repr --------------------------------------------------------------------------------

    def _repr_fields(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        fields = dict(self._repr_fields())
        if self._headers:
            fields["headers"] = sorted(self._headers)  # names only, never values
        if self.on_send is not None:
            fields["on_send"] = _Shown(getattr(self.on_send, "__qualname__", "hook"))
        if self.transport != "websocket":
            fields["transport"] = self.transport
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({inner})"


class _Shown:
    """A repr placeholder that prints as given (``<set>``, ``<from OPENAI_API_KEY>``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.text}>"


def _key_state(key: str | None, env: str) -> _Shown:
    return _Shown("set" if key else f"from ${env}")


def _missing_key(provider: str, env: str, argument: str = "api_key") -> ConfigError:
    return ConfigError(
        [
            ConfigProblem(
                argument,
                NO_VALUE,
                f"no API key: {argument}= was not given and ${env} is not set",
                f"pass {argument}=... or set the {env} environment variable",
            )
        ],
        target=provider,
    )


class OpenAI(Provider):
    """OpenAI GA: ``wss://api.openai.com/v1/realtime?model=...`` with ``Authorization: Bearer``.

    The key comes from ``api_key`` or, at handshake time, ``$OPENAI_API_KEY``. An ephemeral
    client secret (``ek_...``) works as ``api_key`` too.
    """

    name = "openai"
    _reserved = ("authorization",)

    def __init__(
        self,
        api_key: str | None = None,
        model: str = "gpt-realtime",
        base_url: str = "https://api.openai.com/v1",
        organization: str | None = None,
        project: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_send: OnSend | None = None,
        transport: TransportKind = "websocket",
    ) -> None:
        check_optional_text(api_key, "OpenAI(api_key=)")
        check_optional_text(organization, "OpenAI(organization=)")
        check_optional_text(project, "OpenAI(project=)")
        _check_name(model, "OpenAI(model=)")
        self.dialect = get_dialect("ga")
        self.rules = GA_RULES
        self.model = model
        self.base_url = base_url
        self._base_ws = _ws_url(base_url, "base_url")  # a bad URL fails here, not at connect
        self.organization = organization
        self.project = project
        self.__api_key = api_key
        super().__init__(headers=headers, on_send=on_send, transport=transport)
        if organization:
            self._headers["OpenAI-Organization"] = organization
        if project:
            self._headers["OpenAI-Project"] = project

    @property
    def url(self) -> str:
        return f"{self._base_ws}/realtime?{urlencode({'model': self.model})}"

    def _credential(self) -> str:
        key = self.__api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise _missing_key(self.name, "OPENAI_API_KEY")
        return key

    def _auth_headers(self, credential: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    def rest_surface(self) -> RestSurface:
        from realtalk.rest import RestSurface, http_url

        base = http_url(self.base_url)
        return RestSurface(
            "ga", self.model, f"{base}/realtime/client_secrets", f"{base}/realtime/calls"
        )

    def _repr_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"model": self.model, "base_url": redact_url(self.base_url)}
        fields["api_key"] = _key_state(self.__api_key, "OPENAI_API_KEY")
        if self.organization:
            fields["organization"] = self.organization
        if self.project:
            fields["project"] = self.project
        return fields


def _azure_base(endpoint: str) -> str:
    """``https://res.openai.azure.com/`` (or ``.../openai[/v1]``) -> ``wss://res.openai.azure.com``.

    Anything else after the host (the portal's full realtime URL, a query) is a
    :class:`ConfigError` saying which part to keep and where the rest goes.
    """
    base = _ws_url(endpoint, "endpoint")
    parts = urlsplit(base)
    path = parts.path
    for suffix in ("/openai/v1", "/openai"):
        if path.endswith(suffix) and path[: -len(suffix)] == "":
            path = ""
    if path or parts.query:
        keep = urlunsplit((_http_scheme(endpoint), parts.netloc, "", "", ""))
        query = dict(parse_qsl(parts.query))
        moves = []
        if "api-version" in query:
            moves.append(
                f"api_version={query['api-version']!r} (the preview surface; leave it out for GA)"
            )
        for name in ("deployment", "model"):
            if name in query:
                moves.append(f"deployment={query[name]!r}")
                break
        fix = f"keep only {redact_url(keep)!r} as endpoint"
        if moves:
            fix += " and pass " + ", ".join(moves)
        raise ConfigError(
            [
                ConfigProblem(
                    "endpoint",
                    redact_url(endpoint),
                    "is the resource URL only: no path after the host and no query",
                    fix,
                )
            ],
            target="azure",
        )
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _http_scheme(url: str) -> str:
    """The scheme the user wrote (``https`` for a bare host), to echo their URL back."""
    head = url.split("://", 1)[0].lower() if "://" in url else "https"
    return head or "https"


class AzureOpenAI(Provider):
    """Azure OpenAI, GA or preview surface.

    Without ``api_version``: the GA surface ``wss://<res>/openai/v1/realtime?model=<deployment>``
    (GA shape; an ``api-version`` there is a 401, so it is never added). With ``api_version``: the
    preview surface ``wss://<res>/openai/realtime?api-version=...&deployment=...`` (beta shape and
    Azure preview's rules).

    Auth: the ``api-key`` header (``api_key`` or ``$AZURE_OPENAI_API_KEY``), or
    ``Authorization: Bearer <token>`` from ``token_provider`` (sync or async), called at every
    handshake so expiring Entra tokens stay fresh.
    """

    _reserved = ("api-key", "authorization")

    def __init__(
        self,
        endpoint: str,
        deployment: str,
        api_key: str | None = None,
        token_provider: TokenProvider | None = None,
        api_version: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_send: OnSend | None = None,
        transport: TransportKind = "websocket",
        webrtc_region: str | None = None,
    ) -> None:
        check_optional_text(api_key, "AzureOpenAI(api_key=)")
        check_optional_text(api_version, "AzureOpenAI(api_version=)")
        check_callable(token_provider, "AzureOpenAI(token_provider=)")
        _check_name(deployment, "AzureOpenAI(deployment=)")
        self.webrtc_region = webrtc_region
        """Azure preview WebRTC only: the region of the ``realtimertc`` URL (e.g. ``eastus2``)."""
        if api_key is not None and token_provider is not None:
            raise ConfigError(
                [
                    ConfigProblem(
                        "token_provider",
                        NO_VALUE,
                        "api_key and token_provider are two ways to authenticate; pass one",
                        "drop api_key to use Entra tokens, or drop token_provider",
                    )
                ],
                target="azure",
            )
        self.endpoint = endpoint
        self.deployment = deployment
        self.api_version = api_version
        self.__api_key = api_key
        self.__token_provider = token_provider
        self.preview = api_version is not None
        self.name = "azure-preview" if self.preview else "azure"
        self.dialect = get_dialect("beta" if self.preview else "ga")
        self.rules = AZURE_PREVIEW_RULES if self.preview else AZURE_GA_RULES
        self._base = _azure_base(endpoint)
        super().__init__(headers=headers, on_send=on_send, transport=transport)

    @classmethod
    def from_env(
        cls,
        *,
        deployment: str | None = None,
        api_version: str | None = None,
        token_provider: TokenProvider | None = None,
    ) -> AzureOpenAI:
        """Endpoint and deployment from ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_DEPLOYMENT``
        (the key from ``AZURE_OPENAI_API_KEY`` at handshake, unless ``token_provider`` is given),
        as the CLI commands use them. Every missing variable is reported at once."""
        endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT")
        problems = []
        if not endpoint:
            problems.append(
                ConfigProblem(
                    "AZURE_OPENAI_ENDPOINT",
                    NO_VALUE,
                    "is not set",
                    "export AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com",
                )
            )
        if token_provider is None and not os.environ.get("AZURE_OPENAI_API_KEY"):
            problems.append(
                ConfigProblem(
                    "AZURE_OPENAI_API_KEY",
                    NO_VALUE,
                    "is not set",
                    "export AZURE_OPENAI_API_KEY=<key from the portal's Keys and Endpoint page>",
                )
            )
        if problems:
            raise ConfigError(problems, target="azure")
        assert endpoint is not None
        chosen = os.environ.get("AZURE_OPENAI_DEPLOYMENT") or deployment or "gpt-realtime"
        return cls(
            endpoint=endpoint,
            deployment=chosen,
            api_version=api_version,
            token_provider=token_provider,
        )

    @property
    def url(self) -> str:
        if self.api_version is not None:
            query = urlencode({"api-version": self.api_version, "deployment": self.deployment})
            return f"{self._base}/openai/realtime?{query}"
        return f"{self._base}/openai/v1/realtime?model={quote(self.deployment, safe='')}"

    def _credential(self) -> str | Awaitable[str]:
        if self.__token_provider is not None:
            return self.__token_provider()
        key = self.__api_key or os.environ.get("AZURE_OPENAI_API_KEY")
        if not key:
            raise _missing_key(self.name, "AZURE_OPENAI_API_KEY")
        return key

    def _auth_headers(self, credential: str | None) -> dict[str, str]:
        if self.__token_provider is not None:
            return {"Authorization": f"Bearer {credential}"}
        return {"api-key": str(credential)}

    def rest_surface(self) -> RestSurface:
        from realtalk.rest import RestSurface, http_url

        host = http_url(self._base)
        if self.api_version is not None:
            query = urlencode({"api-version": self.api_version})
            # protocol.md §1f: the preview WebRTC URL is regional, not on the resource.
            rtc = (
                f"https://{self.webrtc_region}.realtimeapi-preview.ai.azure.com/v1/realtimertc?"
                + urlencode({"model": self.deployment})
                if self.webrtc_region
                else None
            )
            return RestSurface(
                "azure-preview", self.deployment, f"{host}/openai/realtimeapi/sessions?{query}", rtc
            )
        base = f"{host}/openai/v1"
        return RestSurface(
            "ga", self.deployment, f"{base}/realtime/client_secrets", f"{base}/realtime/calls"
        )

    def _repr_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "endpoint": redact_url(self.endpoint),
            "deployment": self.deployment,
        }
        if self.api_version is not None:
            fields["api_version"] = self.api_version
        if self.__token_provider is not None:
            fields["token_provider"] = _Shown("set")
        else:
            fields["api_key"] = _key_state(self.__api_key, "AZURE_OPENAI_API_KEY")
        return fields


class Compatible(Provider):
    """A gateway or service that speaks the GA (``dialect="ga"``) or beta (``"beta"``) shape.

    ``api_key``, when given, is sent as ``Authorization: Bearer``; otherwise put whatever the
    gateway wants in ``headers``. ``rules`` overrides the capability table (default: OpenAI GA's
    or the beta shape's).
    """

    def __init__(
        self,
        url: str,
        dialect: Literal["ga", "beta"] = "ga",
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        on_send: OnSend | None = None,
        rules: Rules | None = None,
        rest_base: str | None = None,
        client_secrets_path: str = "/realtime/client_secrets",
        calls_path: str = "/realtime/calls",
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ConfigError(
                [
                    ConfigProblem(
                        "dialect",
                        dialect,
                        "is the wire shape the gateway speaks: 'ga' or 'beta'",
                        "use 'ga' for OpenAI's GA shape, 'beta' for the preview (beta) shape",
                    )
                ],
                target="compatible",
            )
        check_optional_text(api_key, "Compatible(api_key=)")
        self.rest_base = rest_base
        self.client_secrets_path = client_secrets_path
        self.calls_path = calls_path
        self.dialect = get_dialect(dialect)
        self.rules = rules or (GA_RULES if dialect == "ga" else BETA_RULES)
        self.name = f"compatible-{dialect}"
        self._url = _ws_url(url)
        self.__api_key = api_key
        if api_key and "@" in urlsplit(self._url).netloc:
            raise ConfigError(
                [
                    ConfigProblem(
                        "url",
                        redact_url(self._url),
                        "carries user:password and api_key= is given too: two credentials",
                        "keep one: drop api_key= or the user:password@ part of the URL",
                    )
                ],
                target=f"compatible-{dialect}",
            )
        self._reserved = ("authorization",) if api_key else ()
        super().__init__(headers=headers, on_send=on_send)

    @property
    def url(self) -> str:
        return self._url

    def _credential(self) -> str | None:
        return self.__api_key

    def _auth_headers(self, credential: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"} if self.__api_key else {}

    def rest_surface(self) -> RestSurface:
        from realtalk.rest import RestSurface, http_url, no_rest

        if self.rest_base is None:
            raise no_rest(self.name)
        base = http_url(self.rest_base)
        model = dict(parse_qsl(urlsplit(self._url).query)).get("model", "")
        shape: Literal["ga", "azure-preview"] = (
            "ga" if self.dialect.name == "ga" else "azure-preview"
        )
        return RestSurface(shape, model, base + self.client_secrets_path, base + self.calls_path)

    def _repr_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"url": _redact_url(self._url), "dialect": self.dialect.name}
        if self.__api_key:
            fields["api_key"] = _Shown("set")
        return fields


_FLAVORS = ("openai", "azure", "azure-preview")


def _check_local(flavor: object, model: object, server_options: Mapping[str, Any]) -> None:
    """``Local``'s arguments, checked at construction against :func:`realtalk.server.serve`."""
    import inspect as _inspect

    from realtalk.arguments import did_you_mean
    from realtalk.server import serve

    problems: list[ConfigProblem] = []
    if flavor not in _FLAVORS:
        problems.append(
            ConfigProblem(
                "flavor",
                flavor,
                "is the route the local server imitates: one of " + ", ".join(map(repr, _FLAVORS)),
                did_you_mean(str(flavor), _FLAVORS) + "other providers' protocols are not served",
            )
        )
    if not isinstance(model, str) or not model:
        problems.append(ConfigProblem("model", model, "must be a non-empty string"))
    parameters = _inspect.signature(serve).parameters
    accepted = {
        name for name, p in parameters.items() if p.kind is not p.VAR_KEYWORD and name != "engines"
    }
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        # serve(**fields) takes any ServerConfig field
        from dataclasses import fields as _fields

        from realtalk.server import ServerConfig

        accepted |= {f.name for f in _fields(ServerConfig)}
    for name in server_options:
        if name not in accepted:
            problems.append(
                ConfigProblem(
                    name,
                    NO_VALUE,
                    "is not an option of the local server",
                    did_you_mean(name, accepted)
                    + "the options are: "
                    + ", ".join(sorted(accepted)),
                )
            )
    if problems:
        raise ConfigError(problems, target="local")


class Local(Provider):
    """The built-in local Realtime server, started in-process on loopback with a random port
    and a generated key, and stopped with the last session that uses it. No API key, no
    network: how the demo and users' own tests run.

    ``flavor`` picks the route and so the dialect: ``"openai"`` (GA, ``/v1/realtime``),
    ``"azure"`` (Azure GA, ``/openai/v1/realtime``) or ``"azure-preview"`` (the beta shape on
    ``/openai/realtime?api-version=...``). ``engines`` is a
    :class:`realtalk.server.engines.EngineSpec` (or ready engines); ``server_options`` go to
    :func:`realtalk.server.serve` (e.g. ``realtime_pacing=True``).
    """

    name = "local"
    _reserved = ("authorization", "api-key")

    def __init__(
        self,
        *,
        flavor: Literal["openai", "azure", "azure-preview"] = "openai",
        model: str = "gpt-realtime",
        engines: Any = None,
        on_send: OnSend | None = None,
        transport: TransportKind = "websocket",
        **server_options: Any,
    ) -> None:
        _check_local(flavor, model, server_options)
        self.flavor = flavor
        self.model = model
        self.dialect = get_dialect("beta" if flavor == "azure-preview" else "ga")
        self.rules = {
            "openai": GA_RULES,
            "azure": AZURE_GA_RULES,
            "azure-preview": AZURE_PREVIEW_RULES,
        }[flavor]
        super().__init__(on_send=on_send, transport=transport)
        self.engines = engines
        self.server_options = server_options
        self._handle: Any = None
        self._stack: Any = None
        self._users = 0
        self._lock: Any = None

    def _repr_fields(self) -> dict[str, object]:
        return {"flavor": self.flavor, "model": self.model, "running": self._handle is not None}

    @property
    def running(self) -> Any:
        """The running server's handle (``.url``, ``.port``), or None."""
        return self._handle

    async def open(self) -> None:
        """Start the server unless it already runs (one server serves every session)."""
        import asyncio
        import contextlib

        from realtalk.server import serve

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # two sessions opening at once share one server
            self._users += 1
            if self._handle is not None:
                return
            stack = contextlib.AsyncExitStack()
            try:
                self._handle = await stack.enter_async_context(
                    serve(engines=self.engines, **self.server_options)
                )
            except BaseException:
                self._users -= 1
                await stack.aclose()
                raise
            self._stack = stack
            # The server's loggers (websockets/aiohttp) see the key in every handshake too.
            remember_secret(getattr(self._handle, "api_key", None))
            install_log_redaction()

    async def aclose(self) -> None:
        """Stop the server when the last session using it has closed."""
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._stack is not None:
            stack, self._stack, self._handle = self._stack, None, None
            await stack.aclose()

    async def __aenter__(self) -> Local:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def url(self) -> str:
        if self._handle is None:
            raise ConfigError(
                [ConfigProblem("Local", NO_VALUE, "the local server is not running")],
                target=self.name,
            )
        return f"ws://{self._handle.host}:{self._handle.port}{self._route()}"

    @property
    def display_url(self) -> str:
        if self._handle is None:  # explained before it runs: the port is picked at start
            return f"ws://127.0.0.1:<port chosen at start>{self._route()}"
        return redact_url(self.url)

    def _route(self) -> str:
        if self.flavor == "openai":
            return f"/v1/realtime?model={quote(self.model)}"
        if self.flavor == "azure":
            return f"/openai/v1/realtime?model={quote(self.model)}"
        return f"/openai/realtime?api-version=2025-04-01-preview&deployment={quote(self.model)}"

    def _credential(self) -> str | None:
        return self._handle.api_key if self._handle is not None else None

    def _auth_headers(self, credential: str | None) -> dict[str, str]:
        if not credential:
            return {}
        if self.flavor == "openai":
            return {"Authorization": f"Bearer {credential}"}
        return {"api-key": credential}

    def rest_surface(self) -> RestSurface:
        from realtalk.rest import RestSurface

        if self._handle is None:
            raise ConfigError(
                [
                    ConfigProblem(
                        "Local",
                        NO_VALUE,
                        "the local server is not running",
                        "start it first: `async with Local() as local: ...`",
                    )
                ],
                target=self.name,
            )
        base = f"http://{self._handle.host}:{self._handle.port}"
        if self.flavor == "openai":
            return RestSurface(
                "ga", self.model, f"{base}/v1/realtime/client_secrets", f"{base}/v1/realtime/calls"
            )
        if self.flavor == "azure":
            api = f"{base}/openai/v1/realtime"
            return RestSurface("ga", self.model, f"{api}/client_secrets", f"{api}/calls")
        return RestSurface(
            "azure-preview",
            self.model,
            f"{base}/openai/realtimeapi/sessions?api-version=2025-04-01-preview",
            f"{base}/v1/realtimertc?model={quote(self.model)}",
        )


__dir__ = public_dir(__all__)
