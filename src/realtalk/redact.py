"""Keeping credentials out of everything a person or a log can read.

Three tools, used wherever realtalk shows text that might hold a secret:

* :func:`redact_url` -- a URL with its userinfo and every secret-looking query value hidden.
* :func:`redact_text` -- any text with the credentials realtalk has handled (remembered by
  :func:`remember_secret` at every handshake), credential headers (``Authorization: ...``,
  ``api-key: ...``), URL userinfo and secret-looking query values hidden.
* :class:`RedactingFilter` -- a :class:`logging.Filter` that passes every record through
  :func:`redact_text` (message, arguments, traceback and stack). :func:`install_log_redaction`
  puts it on the loggers of websockets, aiohttp, httpx2/httpcore2, asyncio and realtalk itself: with
  ``logging.basicConfig(level=logging.DEBUG)`` websockets logs every handshake header, and a
  filter on the logger (not on a handler) runs before any handler the application configures.

A filter on a logger only sees records created by that very logger (not its children), so the
list of logger names is explicit (:data:`LOGGER_NAMES`).
"""

from __future__ import annotations

import logging
import re
import threading
from base64 import b64encode
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from realtalk._namespace import public_dir

__all__ = [
    "LOGGER_NAMES",
    "REDACTED",
    "RedactingFilter",
    "install_log_redaction",
    "is_sensitive_name",
    "redact_text",
    "redact_url",
    "remember_secret",
]

REDACTED = "<redacted>"

LOGGER_NAMES: tuple[str, ...] = (
    "websockets",
    "websockets.client",
    "websockets.server",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpx2",
    "realtalk",
    "realtalk.guardrails",
    "realtalk.server",
    "realtalk.session",
)
"""The loggers that can see handshakes, URLs or exceptions carrying them."""

_SENSITIVE_WORDS = (
    "auth",
    "key",
    "token",
    "secret",
    "cookie",
    "password",
    "passwd",
    "credential",
    "signature",
)
_SENSITIVE_EXACT = frozenset({"sig", "pwd", "code"})


def is_sensitive_name(name: str) -> bool:
    """True for a header or query-parameter name that may carry a credential."""
    lowered = name.lower()
    return lowered in _SENSITIVE_EXACT or any(word in lowered for word in _SENSITIVE_WORDS)


# -- remembered secrets --------------------------------------------------------------------------

_MIN_SECRET = 4  # shorter values are too likely to be ordinary words; the patterns still apply
_MAX_SECRETS = 1024  # Entra tokens rotate: keep the most recent ones
_secrets: dict[str, None] = {}
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Have :func:`redact_text` hide ``value`` (and its ``Bearer``/``Basic`` forms) from now on."""
    if not value:
        return
    forms = {value}
    for scheme in ("bearer ", "basic "):
        if value.lower().startswith(scheme):
            forms.add(value[len(scheme) :].strip())
    with _lock:
        for form in forms:
            if len(form) >= _MIN_SECRET:
                _secrets.pop(form, None)
                _secrets[form] = None
        while len(_secrets) > _MAX_SECRETS:
            del _secrets[next(iter(_secrets))]


def remember_url_secrets(url: str) -> None:
    """Remember the userinfo (and the Basic header websockets builds from it) and the
    secret-looking query values of ``url``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        remember_secret(unquote(password))
        remember_secret(unquote(user) if password == "" else None)
        remember_secret(userinfo)
        basic = f"{unquote(user)}:{unquote(password)}".encode()
        remember_secret(b64encode(basic).decode())
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if value and is_sensitive_name(unquote(name)):
            remember_secret(value)
            remember_secret(unquote(value))


def _remembered() -> list[str]:
    with _lock:
        # Longest first, so a secret that contains another is hidden whole.
        return sorted(_secrets, key=len, reverse=True)


# -- patterns -------------------------------------------------------------------------------------

_NAME = r"[\w.-]*(?:auth|key|token|secret|cookie|password|passwd|credential|signature)[\w.-]*"
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/?#\s@'\"<>]+)@")
_QUERY = re.compile(rf"(?P<lead>[?&;](?:{_NAME}|sig|pwd|code)=)(?P<value>[^&#\s'\"<>]+)", re.I)
# ``Name: value`` header lines (websockets logs ``> Authorization: ...``; HTTP dumps), to the
# line's end. Anchored at a line start, and header names have no ``_``, so that a message such
# as ``api_key: no API key`` stays readable.
_HEADER_NAME = _NAME.replace(r"[\w.-]", "[a-z0-9-]")  # header names have no "_"
_HEADER_LINE = re.compile(
    rf"(?P<lead>^[<>]?\s*{_HEADER_NAME}\s*:\s+)(?P<value>[^\r\n]+)", re.I | re.M
)
# ``'name': 'value'`` / ``"name": "value"`` / ``name='value'`` (reprs of dicts and objects).
_QUOTED = re.compile(
    rf"(?P<lead>['\"]?\b{_NAME}['\"]?\s*[:=]\s*)(?P<q>['\"])(?P<value>.*?)(?P=q)", re.I
)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and secret-looking query values replaced by ``<redacted>``.

    Works on text that does not parse as a URL too (it never raises), so error messages about a
    broken URL can show it safely.
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", url)
    return _QUERY.sub(lambda m: f"{m['lead']}{REDACTED}", text)


def redact_text(text: str) -> str:
    """``text`` with every remembered secret, credential header, URL userinfo and
    secret-looking query value replaced by ``<redacted>``."""
    for secret in _remembered():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _QUOTED.sub(lambda m: f"{m['lead']}{m['q']}{REDACTED}{m['q']}", text)
    text = _HEADER_LINE.sub(
        lambda m: m[0] if m["value"].strip().startswith(REDACTED) else f"{m['lead']}{REDACTED}",
        text,
    )
    return redact_url(text)


# -- logging ---------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no handler can see a credential; never drops a record.

    The message is rendered with its arguments and redacted (``args`` becomes empty, so a
    structured handler cannot read the raw values either); a traceback is rendered, redacted and
    kept as ``exc_text`` (``exc_info`` is cleared: the exception object may hold the secret).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show the template, never the arguments
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_FILTER = RedactingFilter()


def install_log_redaction(names: Iterable[str] = LOGGER_NAMES) -> None:
    """Put the redacting filter on each named logger (idempotent; cheap to call often)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


__dir__ = public_dir(__all__)
