"""The one exception tree of realtalk.

::

    RealtalkError
    ├── ConfigError                 invalid configuration, raised before anything is sent
    ├── ProtocolError
    │   ├── InvalidState            the caller asked for something the session state forbids
    │   └── RemoteProtocolError     the peer broke the protocol in a way we cannot skip
    ├── ServerError                 an ``error`` event from the server, raised to the caller
    │                               that caused it (e.g. a rejected ``session.update``)
    ├── TransportError
    │   ├── HandshakeError          the WebSocket handshake was refused (HTTP status kept)
    │   └── ConnectionClosed        the connection ended (close code and reason kept, 1006
    │                               when it was lost; the server's last error attached)
    ├── SessionFailed               a task of the session failed unexpectedly (the cause kept)
    ├── ToolError                   a tool failed; becomes a tool output for the model
    ├── WebhookError                a webhook that must not be trusted (signature, age, shape)
    └── EngineUnavailable           a local-server speech engine is not installed

Third-party exceptions (websockets, pydantic, OSError) are translated into this tree at the
boundary where they happen; they never leak to the application.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realtalk.redact import redact_text

__all__ = [
    "LOST_CONNECTION",
    "NO_VALUE",
    "ConfigError",
    "ConfigProblem",
    "ConnectionClosed",
    "EngineUnavailable",
    "HandshakeError",
    "InvalidState",
    "ProtocolError",
    "RealtalkError",
    "RemoteProtocolError",
    "ServerError",
    "SessionFailed",
    "ToolError",
    "TransportError",
    "WebhookError",
]


class RealtalkError(Exception):
    """Base class of every error realtalk raises."""


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()
"""Marks a :class:`ConfigProblem` about a missing key, which has no value to show."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration: where, what was given, the rule it breaks, and the fix."""

    path: str
    value: Any
    rule: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.rule}"
        if self.value is not NO_VALUE:
            text += f" (got {self.value!r})"
        if self.fix:
            text += f"; {self.fix}"
        return text


class ConfigError(RealtalkError, ValueError):
    """A configuration that cannot be sent. Lists every problem found, not only the first."""

    def __init__(
        self, problems: list[ConfigProblem] | tuple[ConfigProblem, ...], *, target: str = ""
    ):
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.target = target
        super().__init__(self._render())

    def _render(self) -> str:
        where = f" for {self.target}" if self.target else ""
        if len(self.problems) == 1:
            return f"invalid configuration{where}: {self.problems[0]}"
        lines = [f"invalid configuration{where} ({len(self.problems)} problems):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.problems)


class ProtocolError(RealtalkError):
    """The protocol was not followed."""


class InvalidState(ProtocolError):
    """The caller asked for something the current state forbids (e.g. sending after close)."""


class RemoteProtocolError(ProtocolError):
    """The server broke the protocol in a way that cannot be skipped."""


class ServerError(RealtalkError):
    """An ``error`` event from the server, raised to the call that caused it."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        type: str = "invalid_request_error",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
        # A server may echo what it was sent (a key in a header or a query): never show it.
        message = redact_text(message)
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.event_id = event_id
        detail = f" [{code}]" if code else ""
        where = f" (param {param})" if param else ""
        super().__init__(f"{message}{detail}{where}")


class TransportError(RealtalkError):
    """The connection failed or ended."""


class HandshakeError(TransportError):
    """The server refused the WebSocket handshake."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        self.status = status
        self.body = body
        super().__init__(message)


LOST_CONNECTION = 1006
"""The close code of a connection that ended without a close frame (RST, FIN, dead socket)."""


class ConnectionClosed(TransportError):
    """The connection is closed; ``code`` and ``reason`` are the WebSocket close frame's
    (:data:`LOST_CONNECTION`, 1006, when none came). ``server_error`` is the last ``error``
    the server sent before closing, if any (e.g. ``session_expired``). ``by_client`` is True when
    realtalk closed it (e.g. 1009 for a server message over ``max_message_bytes``)."""

    def __init__(
        self,
        code: int | None = None,
        reason: str = "",
        *,
        server_error: Any = None,
        by_client: bool = False,
    ) -> None:
        reason = redact_text(reason)
        self.code = code
        self.reason = reason
        self.server_error = server_error
        self.by_client = by_client
        text = f"connection closed (code {code}{': ' + reason if reason else ''})"
        if server_error is not None:
            text += f"; the server's last error: {getattr(server_error, 'message', server_error)}"
            code_name = getattr(server_error, "code", None)
            if code_name:
                text += f" [{code_name}]"
        super().__init__(text)


class SessionFailed(RealtalkError):
    """A task of the session (the reader, a tool call, a guardrail check, ...) raised something
    unexpected; the session is closed. The exception is the ``__cause__`` and ``exception``."""

    def __init__(self, message: str, exception: BaseException | None = None) -> None:
        self.exception = exception
        super().__init__(message)


class ToolError(RealtalkError):
    """A tool call failed; the message is what the model is told."""


class EngineUnavailable(RealtalkError):
    """A speech engine of the local server is not installed; the message says which extra to add."""


class WebhookError(RealtalkError):
    """A webhook that must not be trusted: a bad or missing signature, a stale or future
    timestamp (a possible replay), or a body that is not a webhook event."""
