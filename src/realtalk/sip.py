"""Phone calls (SIP) on the Realtime API: webhooks in, call control out (protocol.md §1g, §11.6).

The flow: the provider posts a signed ``realtime.call.incoming`` webhook to your app;
:func:`verify_webhook` checks the signature and its age and returns an :class:`IncomingCall`;
you answer with ``await provider.accept_call(call_id, agent=..., config=...)`` (validated and
shaped for the provider, the deployment as the model on Azure) or ``reject_call``; then
``runner.attach(call_id)`` opens a :class:`~realtalk.session.Session` on the call
(``?call_id=``) with the same events, tools and handoffs as any session. Key presses arrive as
:class:`~realtalk.events.DtmfReceived`. ``refer_call`` transfers the caller, ``hangup_call``
ends the call.

Signatures follow the standard-webhooks scheme the official SDK verifies: headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(space-separated ``v1,<base64 HMAC-SHA256>`` entries over ``"<id>.<timestamp>.<body>"``), the
secret given as ``whsec_<base64>``; a timestamp more than ``tolerance_s`` (300 s) away from
now is refused, so a captured webhook cannot be replayed later. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realtalk.errors import WebhookError

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "IncomingCall",
    "WebhookError",
    "WebhookEvent",
    "sign_webhook",
    "verify_webhook",
]

DEFAULT_TOLERANCE_S = 300
_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook event of a type realtalk has no class for (kept whole)."""

    id: str
    type: str
    created_at: int
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A verified ``realtime.call.incoming``: answer it with ``accept_call`` or
    ``reject_call`` on the provider, then ``runner.attach(call_id)``."""

    id: str
    call_id: str
    created_at: int
    sip_headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (case-insensitive), e.g. ``"From"``."""
        for key, value in self.sip_headers:
            if key.lower() == name.lower():
                return value
        return None


def _key(secret: str) -> bytes:
    raw = secret[len(_PREFIX) :] if secret.startswith(_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(
            "the webhook secret must be 'whsec_' followed by base64 (as the provider shows it)"
        ) from None


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(
    body: bytes, secret: str, *, webhook_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three signature headers for ``body`` (what a provider, or the local server, sends)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = _signature(_key(secret), webhook_id, stamp, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> IncomingCall | WebhookEvent:
    """Verify a webhook request and parse its event; :class:`WebhookError` if it is not genuine.

    ``body`` must be the raw request body (re-serialised JSON would not match the signature);
    ``headers`` the request headers (any case).
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    webhook_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not webhook_id or not stamp or not signatures:
        raise WebhookError(
            "missing webhook-id, webhook-timestamp or webhook-signature header: "
            "not a signed webhook"
        )
    try:
        sent = int(stamp)
    except ValueError:
        raise WebhookError(f"webhook-timestamp is not Unix seconds: {stamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        raise WebhookError(
            f"webhook timestamp is {current - sent:+.0f}s from now (more than {tolerance_s:g}s): "
            "refused as a possible replay; check the clock if this is unexpected"
        )
    expected = _signature(_key(secret), webhook_id, stamp, raw).encode()
    ok = False
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1":
            ok |= hmac.compare_digest(expected, value.encode())
    if not ok:
        raise WebhookError("webhook signature does not match: wrong secret or altered body")
    return _parse(raw)


def _parse(raw: bytes) -> IncomingCall | WebhookEvent:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise WebhookError("the webhook body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise WebhookError("the webhook body is not an event object (no 'type')")
    given = payload.get("data")
    data: dict[str, Any] = given if isinstance(given, dict) else {}
    event_id = str(payload.get("id") or "")
    created = payload.get("created_at")
    created_at = created if isinstance(created, int) else 0
    if payload["type"] == "realtime.call.incoming":
        call_id = data.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise WebhookError("realtime.call.incoming without data.call_id")
        headers = tuple(
            (str(h.get("name")), str(h.get("value")))
            for h in data.get("sip_headers") or ()
            if isinstance(h, dict)
        )
        return IncomingCall(event_id, call_id, created_at, headers)
    return WebhookEvent(event_id, payload["type"], created_at, data)
