"""Short-lived client secrets (``ek_...``) minted by ``POST /v1/realtime/client_secrets``.

protocol.md §1e: the TTL is 10-7200 s (default 600); expiry only limits *creating* sessions, a
secret may open several sessions until it expires, and the session config attached to it is
applied to those sessions. Lookups compare in constant time (``hmac.compare_digest``) against
every live secret, so timing does not reveal a prefix. The store is pure: time comes in.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_TTL_S", "MAX_TTL_S", "MIN_TTL_S", "ClientSecret", "ClientSecretStore"]

MIN_TTL_S = 10
MAX_TTL_S = 7200
DEFAULT_TTL_S = 600


@dataclass(frozen=True, slots=True)
class ClientSecret:
    value: str = field(repr=False)
    expires_at: int
    session: dict[str, Any] | None
    """The session config (client shape) applied to sessions opened with this secret."""

    def __repr__(self) -> str:  # the value is a credential: never printed
        return f"ClientSecret(expires_at={self.expires_at})"


class ClientSecretStore:
    """Live client secrets of one server."""

    def __init__(self) -> None:
        self._secrets: list[ClientSecret] = []

    def mint(self, now_s: float, ttl_s: int, session: dict[str, Any] | None) -> ClientSecret:
        secret = ClientSecret(
            value="ek_" + secrets.token_urlsafe(24),
            expires_at=int(now_s) + ttl_s,
            session=session,
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
