"""Short-lived client secrets (``ek_...``) minted by ``POST /v1/realtime/client_secrets``.

protocol.md §1e: the TTL is 10-7200 s (default 600); expiry only limits *creating* sessions, a
secret may open several sessions until it expires, and the session config attached to it is
applied to those sessions. Lookups compare in constant time (``hmac.compare_digest``) against
every live secret, so timing does not reveal a prefix. The store is pure: time comes in.

A secret is scoped like the service's: it opens sessions of the type it was minted for
(``realtime`` or ``transcription``) on the provider and wire shape of the route that minted it
(OpenAI GA, Azure GA, or Azure preview's beta shape through its ``realtimeapi/sessions``
route), nothing else.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DEFAULT_TTL_S", "MAX_TTL_S", "MIN_TTL_S", "ClientSecret", "ClientSecretStore"]

MIN_TTL_S = 10
MAX_TTL_S = 7200
DEFAULT_TTL_S = 600


Flavor = Literal["openai", "azure"]
SessionType = Literal["realtime", "transcription"]
Dialect = Literal["ga", "beta"]


@dataclass(frozen=True, slots=True)
class ClientSecret:
    value: str = field(repr=False)
    expires_at: int
    session: dict[str, Any] | None
    """The session config (client shape) applied to sessions opened with this secret."""
    flavor: Flavor = "openai"
    """The provider whose route minted it; only that provider's routes accept it."""
    session_type: SessionType = "realtime"
    dialect: Dialect = "ga"
    """The wire shape of the minting route: ``beta`` for Azure preview's sessions route."""

    def __repr__(self) -> str:  # the value is a credential: never printed
        return (
            f"ClientSecret(flavor={self.flavor!r}, session_type={self.session_type!r}, "
            f"expires_at={self.expires_at})"
        )

    def refusal(
        self, flavor: Flavor, dialect: Dialect, session_type: SessionType | None
    ) -> str | None:
        """Why this secret cannot open that session (None: it can). ``session_type`` None: the
        connection did not say (no ``intent``), so the secret's own type applies."""
        if flavor != self.flavor or dialect != self.dialect:
            where = "OpenAI" if self.flavor == "openai" else "Azure OpenAI"
            shape = "GA" if self.dialect == "ga" else "preview"
            return (
                f"This client secret was minted on the {where} {shape} endpoint and only opens "
                "sessions there."
            )
        if session_type is not None and session_type != self.session_type:
            return (
                f"This client secret was minted for a {self.session_type} session and cannot "
                f"open a {session_type} session."
            )
        return None


class ClientSecretStore:
    """Live client secrets of one server."""

    def __init__(self) -> None:
        self._secrets: list[ClientSecret] = []

    def mint(
        self,
        now_s: float,
        ttl_s: int,
        session: dict[str, Any] | None,
        *,
        flavor: Flavor = "openai",
        session_type: SessionType = "realtime",
        dialect: Dialect = "ga",
    ) -> ClientSecret:
        secret = ClientSecret(
            value="ek_" + secrets.token_urlsafe(24),
            expires_at=int(now_s) + ttl_s,
            session=session,
            flavor=flavor,
            session_type=session_type,
            dialect=dialect,
        )
        self._prune(now_s)
        self._secrets.append(secret)
        return secret

    def lookup(self, value: str, now_s: float) -> ClientSecret | None:
        """The live secret equal to ``value``, compared in constant time."""
        self._prune(now_s)
        found = None
        for secret in self._secrets:
            if hmac.compare_digest(secret.value.encode(), value.encode()):
                found = secret
        return found

    def _prune(self, now_s: float) -> None:
        self._secrets = [s for s in self._secrets if s.expires_at > now_s]

    def __len__(self) -> int:
        return len(self._secrets)
