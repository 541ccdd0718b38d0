"""Short-lived client secrets (``ek_...``) minted by ``POST /v1/realtime/client_secrets``.

protocol.md §1e: the TTL is 10-7200 s (default 600); expiry only limits *creating* sessions, a
secret may open several sessions until it expires, and the session config attached to it is
applied to those sessions.

A secret is scoped like the service's: it opens sessions of the type it was minted for
(``realtime`` or ``transcription``) on the provider and wire shape of the route that minted it
(OpenAI GA, Azure GA, or Azure preview's beta shape through its ``realtimeapi/sessions``
route), nothing else.

Secrets are **stateless**: the value itself carries its scope, expiry and session config,
signed with HMAC-SHA256, so every worker (``serve --workers N``) and every replica that shares
the signing key accepts a secret any of them minted, and nothing is kept per secret. The value
is ``ek_`` + base64url(deflate(JSON claims) + 32-byte tag), only base64url characters, so the
``ek_[A-Za-z0-9_-]+`` shape that recordings redact covers all of it. The tag is checked (in
constant time) before anything of the value is decompressed or parsed. The claims are signed,
not encrypted: whoever holds a secret can read the session config in it, which is what the
session it opens shows in ``session.created`` anyway. The module is pure: time comes in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_TTL_S",
    "MAX_SECRET_CHARS",
    "MAX_TTL_S",
    "MIN_TTL_S",
    "ClientSecret",
    "ClientSecretSigner",
    "SecretTooLarge",
    "derive_signing_key",
    "signing_keys",
]

MIN_TTL_S = 10
MAX_TTL_S = 7200
DEFAULT_TTL_S = 600
MAX_SECRET_CHARS = 24 * 1024
"""The longest value minted. The secret travels in one header (``Authorization``, ``api-key`` or
a browser's ``Sec-WebSocket-Protocol``); the server reads header fields up to 32 KiB, and a load
balancer in front must allow that much (most allow 8-16 KiB by default). A typical secret is a
few hundred characters; the session config it carries is what makes it long."""

_TAG_BYTES = 32
_VERSION = 1
_KEY_CONTEXT = b"realtalk client secrets v1"

Flavor = Literal["openai", "azure"]
SessionType = Literal["realtime", "transcription"]
Dialect = Literal["ga", "beta"]


class SecretTooLarge(ValueError):
    """The session config makes the secret longer than :data:`MAX_SECRET_CHARS`."""


def derive_signing_key(api_key: str) -> bytes:
    """The signing key that follows from an API key (one-way: a secret reveals nothing of the
    key). Replicas that share their first API key accept each other's secrets."""
    return hmac.new(api_key.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def signing_keys(secret_key: str | None, api_keys: Sequence[str]) -> tuple[bytes, ...]:
    """The keys a server signs and checks secrets with: from ``secret_key`` when given (every
    replica gets the same one), else from its API keys (the first signs). Without either (auth
    off) a random key: no secret is checked then, any client gets in."""
    if secret_key:
        return (derive_signing_key(secret_key),)
    if api_keys:
        return tuple(derive_signing_key(key) for key in api_keys)
    return (secrets.token_bytes(32),)


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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class ClientSecretSigner:
    """Mints and checks the server's client secrets with shared keys, keeping nothing.

    ``keys``: the first signs, any of them verifies (so a key can be rotated in: add the new
    one after the old, then move it first once every replica has it).
    """

    def __init__(self, keys: Iterable[bytes]) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise ValueError("a client secret signer needs at least one key")
        self.minted = 0
        """How many secrets this process minted (nothing else is kept)."""

    def __repr__(self) -> str:  # the keys are credentials
        return f"ClientSecretSigner(keys={len(self._keys)}, minted={self.minted})"

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
        """A new secret; raises :class:`SecretTooLarge` when ``session`` does not fit."""
        expires_at = int(now_s) + ttl_s
        claims = {
            "v": _VERSION,
            "exp": expires_at,
            "flavor": flavor,
            "type": session_type,
            "dialect": dialect,
            "session": session,
            # Two mints of the same config are two different secrets, as on the service.
            "nonce": secrets.token_urlsafe(12),
        }
        packed = _deflate(json.dumps(claims, separators=(",", ":")).encode())
        value = "ek_" + _b64(packed + self._tag(self._keys[0], packed))
        if len(value) > MAX_SECRET_CHARS:
            raise SecretTooLarge(
                f"The session config makes the client secret {len(value)} characters long; "
                f"the limit is {MAX_SECRET_CHARS}. Mint with a shorter config and send long "
                "instructions or tools with session.update once connected."
            )
        self.minted += 1
        return ClientSecret(
            value=value,
            expires_at=expires_at,
            session=session,
            flavor=flavor,
            session_type=session_type,
            dialect=dialect,
        )

    def lookup(self, value: str, now_s: float) -> ClientSecret | None:
        """The secret ``value`` is, if a key of this server signed it and it has not expired
        (None otherwise: forged, altered, expired, or not a secret at all)."""
        if not value.startswith("ek_") or len(value) > MAX_SECRET_CHARS:
            return None
        raw = _unb64(value[3:])
        if raw is None or len(raw) <= _TAG_BYTES:
            return None
        packed, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        signed = False
        for key in self._keys:  # every key, so the time spent does not say which one matched
            signed |= hmac.compare_digest(self._tag(key, packed), tag)
        if not signed:
            return None
        claims = json.loads(_inflate(packed))
        if claims.get("v") != _VERSION or int(claims["exp"]) <= now_s:
            return None
        return ClientSecret(
            value=value,
            expires_at=int(claims["exp"]),
            session=claims["session"],
            flavor=claims["flavor"],
            session_type=claims["type"],
            dialect=claims["dialect"],
        )

    @staticmethod
    def _tag(key: bytes, packed: bytes) -> bytes:
        return hmac.new(key, packed, hashlib.sha256).digest()


def _deflate(data: bytes) -> bytes:
    # Raw deflate (no zlib header or checksum: the HMAC already covers every byte).
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _inflate(data: bytes) -> bytes:
    # Only ever reached for bytes this server's key signed, so no inflation limit is needed.
    return zlib.decompress(data, -15)
