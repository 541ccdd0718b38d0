"""realtalk.sip: webhook signatures (checked against the official openai package's verifier),
and the SIP call-control requests, sent over real loopback HTTP to a recording server."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from openai import InvalidWebhookSignatureError
from openai import OpenAI as OpenAIClient
from openai.types.realtime import RealtimeSessionCreateRequest

import realtalk as rt
from realtalk.errors import ConfigError, ServerError, WebhookError
from realtalk.providers import AzureOpenAI, OpenAI
from realtalk.rest import accept_body
from realtalk.sip import IncomingCall, WebhookEvent, sign_webhook, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
INCOMING = {
    "object": "event",
    "id": "evt_1",
    "type": "realtime.call.incoming",
    "created_at": 1_700_000_000,
    "data": {
        "call_id": "rtc_abc",
        "sip_headers": [
            {"name": "From", "value": "sip:+15555550100@example.com"},
            {"name": "To", "value": "sip:+15555550199@example.com"},
        ],
    },
}
BODY = json.dumps(INCOMING).encode()


def test_our_signature_is_what_the_official_sdk_verifies() -> None:
    headers = sign_webhook(BODY, SECRET, webhook_id="msg_1")
    event = OpenAIClient(api_key="sk-x").webhooks.unwrap(BODY, headers, secret=SECRET)
    assert event.type == "realtime.call.incoming"
    assert event.data.call_id == "rtc_abc"  # type: ignore[union-attr]


def test_verify_parses_an_incoming_call() -> None:
    call = verify_webhook(BODY, sign_webhook(BODY, SECRET, webhook_id="msg_1"), SECRET)
    assert isinstance(call, IncomingCall)
    assert call.call_id == "rtc_abc"
    assert call.header("from") == "sip:+15555550100@example.com"
    other = json.dumps({"id": "evt_2", "type": "realtime.call.ended", "data": {}}).encode()
    event = verify_webhook(other, sign_webhook(other, SECRET, webhook_id="m"), SECRET)
    assert isinstance(event, WebhookEvent)
    assert event.type == "realtime.call.ended"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "does not match"),
        (lambda h, b: (h, b.replace(b"rtc_abc", b"rtc_xyz")), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "Unix seconds"),
    ],
)
def test_tampered_webhooks_are_refused_like_the_official_sdk(change: Any, reason: str) -> None:
    headers, body = change(sign_webhook(BODY, SECRET, webhook_id="msg_1"), BODY)
    with pytest.raises(WebhookError, match=reason):
        verify_webhook(body, headers, SECRET)
    with pytest.raises((InvalidWebhookSignatureError, ValueError)):
        OpenAIClient(api_key="sk-x").webhooks.verify_signature(body, headers, secret=SECRET)


def test_stale_and_future_timestamps_are_refused() -> None:
    now = time.time()
    for offset in (-301, 301):
        headers = sign_webhook(BODY, SECRET, webhook_id="m", timestamp=int(now + offset))
        with pytest.raises(WebhookError, match="replay"):
            verify_webhook(BODY, headers, SECRET, now=now)
    headers = sign_webhook(BODY, SECRET, webhook_id="m", timestamp=int(now - 200))
    assert isinstance(verify_webhook(BODY, headers, SECRET, now=now), IncomingCall)


def test_wrong_secret_and_rotation() -> None:
    other = "whsec_" + base64.b64encode(b"another secret of some length!!").decode()
    headers = sign_webhook(BODY, other, webhook_id="m")
    with pytest.raises(WebhookError):
        verify_webhook(BODY, headers, SECRET)
    # During a rotation the header carries several signatures: one valid one is enough.
    good = sign_webhook(BODY, SECRET, webhook_id="m", timestamp=int(headers["webhook-timestamp"]))
    both = {
        **headers,
        "webhook-signature": f"{headers['webhook-signature']} {good['webhook-signature']}",
    }
    assert isinstance(verify_webhook(BODY, both, SECRET), IncomingCall)
    with pytest.raises(WebhookError, match="whsec_"):
        verify_webhook(BODY, headers, "whsec_not base64!")


# -- call control ------------------------------------------------------------------------------


def test_accept_bodies_per_provider() -> None:
    agent = rt.Agent("phone", instructions="Answer the phone.")
    body = accept_body(OpenAI(api_key="sk-x"), agent.session_layer())
    assert body == {
        "type": "realtime",
        "instructions": "Answer the phone.",
        "tools": [],
        "model": "gpt-realtime",
    }
    RealtimeSessionCreateRequest.model_validate(body)
    azure = AzureOpenAI(
        endpoint="https://res.openai.azure.com", deployment="phone-dep", api_key="k"
    )
    assert accept_body(azure, rt.SessionConfig(instructions="Hi."))["model"] == "phone-dep"
    assert azure.call_url("rtc_1") == "wss://res.openai.azure.com/openai/v1/realtime?call_id=rtc_1"
    assert OpenAI(api_key="k").call_url("rtc_1") == "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    preview = AzureOpenAI(
        endpoint="https://res.openai.azure.com",
        deployment="d",
        api_key="k",
        api_version="2025-04-01-preview",
    )
    with pytest.raises(ConfigError, match="GA surfaces"):
        accept_body(preview, rt.SessionConfig())
    with pytest.raises(ConfigError, match="call id"):
        OpenAI(api_key="k").call_url("../x")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization"),
                "body": json.loads(body) if body else None,
            }
        )
        if request.match_info["call_id"] == "gone":
            return web.json_response(
                {
                    "error": {
                        "message": "Call not found.",
                        "type": "invalid_request_error",
                        "code": "call_not_found",
                        "param": None,
                    }
                },
                status=404,
            )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/realtime/calls/{call_id}/{action}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        await runner.cleanup()


async def test_call_control_requests(recorder: tuple[str, list[dict[str, Any]]]) -> None:
    base, seen = recorder
    provider = OpenAI(api_key="sk-test", base_url=base)
    agent = rt.Agent("phone", instructions="Answer the phone.")
    await provider.accept_call("rtc_1", agent=agent, config=rt.SessionConfig(voice="marin"))
    await provider.reject_call("rtc_2", status_code=486)
    await provider.refer_call("rtc_1", "tel:+14155550123")
    await provider.hangup_call("rtc_1")
    assert [s["path"] for s in seen] == [
        "/v1/realtime/calls/rtc_1/accept",
        "/v1/realtime/calls/rtc_2/reject",
        "/v1/realtime/calls/rtc_1/refer",
        "/v1/realtime/calls/rtc_1/hangup",
    ]
    assert {s["auth"] for s in seen} == {"Bearer sk-test"}
    accept = seen[0]["body"]
    assert accept["type"] == "realtime"
    assert accept["instructions"] == "Answer the phone."
    assert accept["audio"]["output"]["voice"] == "marin"
    assert seen[1]["body"] == {"status_code": 486}
    assert seen[2]["body"] == {"target_uri": "tel:+14155550123"}
    assert seen[3]["body"] is None
    with pytest.raises(ServerError, match="Call not found") as info:
        await provider.hangup_call("gone")
    assert info.value.code == "call_not_found"


async def test_call_control_checks_arguments_before_sending(
    recorder: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = recorder
    provider = OpenAI(api_key="sk-test", base_url=base)
    with pytest.raises(ConfigError, match="tel: or sip:"):
        await provider.refer_call("rtc_1", "+14155550123")
    with pytest.raises(ConfigError, match="SIP status"):
        await provider.reject_call("rtc_1", status_code=200)
    with pytest.raises(ConfigError, match="temperature"):
        await provider.accept_call("rtc_1", config=rt.SessionConfig(temperature=0.5))
    assert seen == []
