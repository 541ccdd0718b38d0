"""The phone flow offline, end to end over loopback: ``realtalk call`` (a subprocess) dials the
local server -> the server posts a signed webhook to the example app -> the app accepts with the
agent's config and attaches -> a tool call -> the caller's recording holds the spoken reply;
DTMF digits reach the app; a bad signature and a stale timestamp are refused."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import numpy as np
import pytest

import realtalk as rt
from realtalk.audio import read_wav
from realtalk.server import ServerHandle, serve
from realtalk.server.engines import EngineSpec
from realtalk.server.engines.tone import decode_tones
from realtalk.sip import sign_webhook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import phone_agent

SECRET = "whsec_" + base64.b64encode(b"phone-test-secret-of-32-bytes!!!").decode()
SCENARIO = {
    "rules": [
        {
            "when": "weather in (?P<city>[a-z]+)",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "The weather says {output}",
        }
    ]
}
ENGINES = EngineSpec(
    vad="energy", transcriber="tone", synthesizer="tone", brain="script", scenario=SCENARIO
)


@pytest.fixture
async def phone() -> AsyncIterator[tuple[ServerHandle, phone_agent.PhoneAgent, str]]:
    key = "sk-phone-" + secrets.token_hex(6)
    agent_app = phone_agent.PhoneAgent(
        rt.Runner(phone_agent.AGENT, provider=rt.providers.OpenAI(api_key=key)), SECRET
    )
    url, stop = await phone_agent.serve_app(agent_app.app())
    try:
        async with serve(
            api_key=key, engines=ENGINES, sip_webhook=f"{url}/webhook", webhook_secret=SECRET
        ) as server:
            agent_app.runner = rt.Runner(
                phone_agent.AGENT,
                provider=rt.providers.OpenAI(
                    api_key=key, base_url=f"http://127.0.0.1:{server.port}/v1"
                ),
            )
            yield server, agent_app, url
    finally:
        await stop()


async def test_a_call_from_dial_to_hangup(
    phone: tuple[ServerHandle, phone_agent.PhoneAgent, str], tmp_path: Path
) -> None:
    server, app, _ = phone
    record = tmp_path / "heard.wav"
    caller = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "realtalk",
        "call",
        f"http://127.0.0.1:{server.port}",
        "--api-key",
        str(server.api_key),
        "--say",
        "what is the weather in paris",
        "--tones",
        "--dtmf",
        "42#",
        "--record",
        str(record),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(caller.communicate(), 90)
    assert caller.returncode == 0, err.decode()
    assert "ended" in out.decode()
    (call_id,) = app.finished
    await asyncio.wait_for(app.finished[call_id].wait(), 10)
    assert app.tools[call_id] == ["get_weather"]
    assert app.digits[call_id] == "42#"
    assert app.said[call_id][-1] == "The weather says Sunny and 21 degrees in Paris."
    pcm, rate = read_wav(record)
    assert rate == 8000  # what a phone line carries
    heard = decode_tones(np.frombuffer(pcm, dtype="<i2") / 32768.0, rate)
    assert heard == "The weather says Sunny and 21 degrees in Paris."


async def test_a_rejected_call(phone: tuple[ServerHandle, phone_agent.PhoneAgent, str]) -> None:
    from realtalk.caller import place_call

    server, app, _ = phone
    app.closed = True
    result = await place_call(
        f"http://127.0.0.1:{server.port}", api_key=server.api_key, say="hi", tones=True, max_s=20
    )
    assert result.outcome == "rejected"
    assert result.detail == {"status_code": 486}
    assert not app.finished


async def test_bad_signature_and_stale_timestamp_are_refused(
    phone: tuple[ServerHandle, phone_agent.PhoneAgent, str],
) -> None:
    _, app, url = phone
    body = json.dumps(
        {
            "object": "event",
            "id": "evt_x",
            "type": "realtime.call.incoming",
            "created_at": int(time.time()),
            "data": {"call_id": "rtc_forged", "sip_headers": []},
        }
    ).encode()
    good = sign_webhook(body, SECRET, webhook_id="m1")
    forged = {**good, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    stale = sign_webhook(body, SECRET, webhook_id="m1", timestamp=int(time.time()) - 301)
    async with httpx2.AsyncClient(timeout=10) as client:
        for headers, reason in ((forged, "does not match"), (stale, "replay")):
            answer = await client.post(f"{url}/webhook", content=body, headers=headers)
            assert answer.status_code == 400
            assert reason in answer.json()["error"]
    assert "rtc_forged" not in app.finished  # nothing was accepted
