"""A phone agent: a webhook app that answers SIP calls, offline against the local server.

The app (:func:`make_app`) is what you would deploy: ``POST /webhook`` verifies the signed
``realtime.call.incoming``, accepts the call with the agent's validated config, attaches a
session to it (``?call_id=``) that runs the agent's tools, collects the caller's key presses and
hangs up when the caller presses ``#``. A stale or badly signed webhook gets HTTP 400.

Run as a script it plays the whole phone flow on loopback: the local server (deterministic
engines) posts its webhooks to this app, and a simulated caller (``realtalk call``) asks about
the weather, presses ``4 2 #`` and records the answer.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

import realtalk as rt
from realtalk import events as ev
from realtalk.sip import IncomingCall, verify_webhook


@rt.function_tool
def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny and 21 degrees in {city.title()}."


AGENT = rt.Agent(
    "phone", instructions="You answer the phone for a weather line.", tools=[get_weather]
)


class PhoneAgent:
    """The app's state: what each call did (for the demo's printout and for tests)."""

    def __init__(self, runner: rt.Runner, webhook_secret: str) -> None:
        self.runner = runner
        self.webhook_secret = webhook_secret
        self.digits: dict[str, str] = {}
        self.tools: dict[str, list[str]] = {}
        self.said: dict[str, list[str]] = {}
        self.finished: dict[str, asyncio.Event] = {}
        self.closed = False
        """When True, calls are declined with 486 Busy Here."""
        self._tasks: set[asyncio.Task[None]] = set()

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verify_webhook(body, request.headers, self.webhook_secret)
        except rt.WebhookError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if isinstance(event, IncomingCall) and self.closed:
            await self.runner.provider.reject_call(event.call_id, status_code=486)
        elif isinstance(event, IncomingCall):
            self.finished[event.call_id] = asyncio.Event()
            await self.runner.provider.accept_call(event.call_id, agent=self.runner.agent)
            task = asyncio.create_task(self.talk(event.call_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({})

    async def talk(self, call_id: str) -> None:
        digits, tools, said = (
            "",
            self.tools.setdefault(call_id, []),
            self.said.setdefault(call_id, []),
        )
        try:
            async with self.runner.attach(call_id) as session:
                async for event in session:
                    match event:
                        case ev.DtmfReceived(digit=digit):
                            digits += digit
                            self.digits[call_id] = digits
                        case ev.ToolCallFinished(name=name):
                            tools.append(name)
                        case ev.AudioTranscriptDone(transcript=text):
                            said.append(text)
                    if digits.endswith("#") and session.idle:
                        await self.runner.provider.hangup_call(call_id)
                        break
        except rt.ConnectionClosed:
            pass  # the caller hung up
        finally:
            self.finished[call_id].set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        return app


async def serve_app(
    app: web.Application,
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Run ``app`` on a free loopback port: (its URL, a coroutine function that stops it)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}", runner.cleanup


async def main() -> None:
    from realtalk.caller import place_call
    from realtalk.server import serve
    from realtalk.server.engines import EngineSpec

    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    key = "sk-local-" + secrets.token_hex(8)
    placeholder = PhoneAgent(rt.Runner(AGENT, provider=rt.providers.OpenAI(api_key=key)), "")
    url, stop_app = await serve_app(placeholder.app())
    scenario = {
        "rules": [
            {
                "when": "weather in (?P<city>[a-z]+)",
                "call": "get_weather",
                "arguments": {"city": "{city}"},
                "then_say": "The weather says {output}",
            }
        ]
    }
    engines = EngineSpec(
        vad="energy", transcriber="tone", synthesizer="tone", brain="script", scenario=scenario
    )
    try:
        async with serve(
            api_key=key,
            engines=engines,
            sip_webhook=f"{url}/webhook",
            webhook_secret=webhook_secret,
        ) as server:
            provider = rt.providers.OpenAI(
                api_key=key, base_url=f"http://127.0.0.1:{server.port}/v1"
            )
            placeholder.runner = rt.Runner(AGENT, provider=provider)
            placeholder.webhook_secret = webhook_secret
            call = await place_call(
                f"http://127.0.0.1:{server.port}",
                api_key=key,
                say="what is the weather in paris",
                dtmf="42#",
                tones=True,
                max_s=60,
            )
            await asyncio.wait_for(placeholder.finished[call.call_id or ""].wait(), 10)
    finally:
        await stop_app()
    call_id = call.call_id or ""
    print(f"call: {call.outcome}")
    print(f"tools: {placeholder.tools.get(call_id)}")
    print(f"agent said: {placeholder.said.get(call_id)}")
    print(f"keys: {placeholder.digits.get(call_id)}")
    import numpy as np

    from realtalk.audio import AudioFormat, decode
    from realtalk.server.engines.tone import decode_tones

    pcm = np.frombuffer(decode(call.heard, AudioFormat.pcmu()), dtype="<i2") / 32768.0
    print(f"caller heard: {decode_tones(pcm, 8000)} ({len(call.heard) / 8000:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
