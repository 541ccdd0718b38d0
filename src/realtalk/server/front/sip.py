"""Phone calls on the local server, as OpenAI's SIP interface behaves (protocol.md §1g).

A simulated phone line stands in for the SIP trunk: ``realtalk call`` (or any WebSocket client)
dials ``GET /v1/sip/dial`` with the server's API key and speaks G.711 mu-law at 8 kHz, 20 ms
per binary message, as on a phone line. Then, as with the hosted service:

1. the server posts a signed ``realtime.call.incoming`` webhook (standard-webhooks headers,
   :func:`realtalk.sip.sign_webhook`) to ``sip_webhook`` and the line rings;
2. the app answers on ``POST /v1/realtime/calls/{call_id}/accept`` (a GA session, ``type``
   required) or ``/reject`` (``status_code``, default 603);
3. the app attaches with the WebSocket ``/v1/realtime?call_id=...``: a normal
   :class:`~realtalk.server.front.connection.Connection` whose channel carries the app's events
   and the caller's audio (converted to the session's input format) in, and the session's
   events out, its audio also to the caller (in mu-law; what the caller records);
4. key presses on the line reach the app as ``input_audio_buffer.dtmf_event_received``;
5. ``/refer`` (``target_uri``) or ``/hangup`` ends the call, for the caller and the app.

Line messages (JSON text; audio is binary): caller -> server ``{"type": "dial", "from", "to"}``,
``{"type": "dtmf", "digit"}``, ``{"type": "hangup"}``; server -> caller ``ringing``,
``answered``, ``rejected`` (``status_code``), ``referred`` (``target_uri``) and ``ended``.
Caller audio that arrives between answer and attach is kept (up to a minute), so nothing the
caller says first is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web

from realtalk.config import AudioFormat
from realtalk.errors import NO_VALUE, ConfigProblem
from realtalk.server.front.auth import authenticate
from realtalk.server.front.connection import ChannelClosed, Connection, SessionRoute
from realtalk.server.front.http import api_error, json_response
from realtalk.server.front.media import AUDIO_DELTA, AUDIO_DONE, MediaChannel
from realtalk.server.wire.session import default_session, validate_session_update

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer

__all__ = [
    "ONE_WORKER_ONLY",
    "PhoneCall",
    "PhoneCalls",
    "accept",
    "dial",
    "hangup",
    "refer",
    "reject",
]

logger = logging.getLogger("realtalk.server")

LINE_FORMAT = AudioFormat.pcmu()
_FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz
_EARLY_AUDIO_FRAMES = 3000  # one minute kept between answer and attach
State = Literal["ringing", "accepted", "ended"]

# A call lives in the process that holds the caller's line, but the app's accept, reject,
# refer, hangup and attach requests are new connections, which SO_REUSEPORT spreads over all
# workers: most would meet a worker that never heard of the call. Routing them to the right one
# would be a home-made cluster, so one worker takes the phone line (the app side, realtalk.sip,
# is stateless and runs anywhere).
ONE_WORKER_ONLY = ConfigProblem(
    "sip_webhook",
    NO_VALUE,
    "the simulated phone line runs in one process, and --workers above 1 would send the app's "
    "accept/hangup requests to workers that do not hold the call",
    "run the phone line on a server of its own with --workers 1 (e.g. realtalk serve "
    "--sip-webhook URL --port 8766 beside the workers) and dial that one",
)


class PhoneCall:
    """One call on the simulated line: the caller's socket, the answer, the app's channel."""

    def __init__(self, calls: PhoneCalls, call_id: str, line: web.WebSocketResponse) -> None:
        self.calls = calls
        self.call_id = call_id
        self.line = line
        self.state: State = "ringing"
        self.session: dict[str, Any] | None = None
        self.model = "gpt-realtime"
        self.flavor: Literal["openai", "azure"] = "openai"
        self.answered = asyncio.Event()
        self.channel: PhoneChannel | None = None
        self.early: deque[bytes] = deque(maxlen=_EARLY_AUDIO_FRAMES)

    async def tell_line(self, message: dict[str, Any]) -> None:
        if not self.line.closed:
            with contextlib.suppress(ConnectionResetError):
                await self.line.send_str(json.dumps(message))

    async def end(self, message: dict[str, Any]) -> None:
        """End the call for both sides with ``message`` to the caller."""
        if self.state == "ended":
            return
        self.state = "ended"
        self.answered.set()
        self.calls.calls.pop(self.call_id, None)
        await self.tell_line(message)
        if self.channel is not None:
            self.channel.ended()
        await self.line.close()

    def caller_audio(self, mulaw: bytes) -> None:
        if self.channel is not None:
            self.channel.peer_audio(mulaw, LINE_FORMAT)
        elif self.state == "accepted":
            self.early.append(mulaw)

    async def caller_dtmf(self, digit: str) -> None:
        if self.channel is not None:
            await self.channel.dtmf(digit)


class PhoneChannel(MediaChannel):
    """The :class:`Channel` of an attached call: the app's WebSocket plus the phone line."""

    def __init__(self, call: PhoneCall, app: web.WebSocketResponse, route: SessionRoute) -> None:
        super().__init__()
        self.call = call
        self.app = app
        self.route = route

    async def send(self, text: str) -> None:
        if self._close_code is not None or self.app.closed:
            raise ChannelClosed
        try:
            await self.app.send_str(text)
        except ConnectionResetError as exc:
            raise ChannelClosed from exc
        if '"response.' in text:
            event = json.loads(text)
            kind = event.get("type")
            if kind in AUDIO_DELTA:
                await self._to_line(self.session_audio(event.get("delta") or "", LINE_FORMAT))
            elif kind in AUDIO_DONE:
                await self._to_line(self.session_audio("", LINE_FORMAT, last=True))

    async def close(self, code: int, reason: str) -> None:
        self.ended(code)
        if not self.app.closed:
            await self.app.close(code=code, message=reason.encode())

    async def dtmf(self, digit: str) -> None:
        # protocol.md §1g: {type, event, received_at}, no event_id.
        event = {
            "type": "input_audio_buffer.dtmf_event_received",
            "event": digit,
            "received_at": int(time.time()),
        }
        if not self.app.closed:
            await self.app.send_str(json.dumps(event))

    async def _to_line(self, mulaw: bytes) -> None:
        line = self.call.line
        for start in range(0, len(mulaw), _FRAME_BYTES):
            if line.closed:
                return
            try:
                await line.send_bytes(mulaw[start : start + _FRAME_BYTES])
            except ConnectionResetError:
                return


class PhoneCalls:
    """The calls of one server, by id."""

    def __init__(self, server: RealtimeServer) -> None:
        self.server = server
        self.calls: dict[str, PhoneCall] = {}

    def get(self, call_id: str) -> PhoneCall:
        call = self.calls.get(call_id)
        if call is None or call.state == "ended":
            raise api_error(404, f"No call with id '{call_id}'.", "call_not_found", "call_id")
        return call


def phone_calls(server: RealtimeServer) -> PhoneCalls:
    calls: PhoneCalls | None = getattr(server, "phone_calls", None)
    if calls is None:
        calls = PhoneCalls(server)
        server.phone_calls = calls  # type: ignore[attr-defined]
    return calls


async def _post_webhook(server: RealtimeServer, call: PhoneCall, dial: dict[str, Any]) -> None:
    import httpx2

    from realtalk.sip import sign_webhook

    url = server.config.sip_webhook
    secret = server.config.webhook_secret
    assert url is not None
    assert secret is not None
    event_id = "evt_" + secrets.token_hex(12)
    event = {
        "object": "event",
        "id": event_id,
        "type": "realtime.call.incoming",
        "created_at": int(time.time()),
        "data": {
            "call_id": call.call_id,
            "sip_headers": [
                {"name": "From", "value": str(dial.get("from") or "sip:+15555550100@local")},
                {"name": "To", "value": str(dial.get("to") or "sip:realtalk@local")},
                {"name": "Call-ID", "value": call.call_id},
            ],
        },
    }
    body = json.dumps(event).encode()
    headers = sign_webhook(body, secret, webhook_id=event_id)
    try:
        async with httpx2.AsyncClient(timeout=10, trust_env=False) as client:
            answer = await client.post(
                url, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        logger.info("sip webhook call=%s status=%s", call.call_id, answer.status_code)
    except httpx2.HTTPError as exc:
        logger.warning("sip webhook to %s failed: %s", url.split("?", 1)[0], exc)
        await call.end({"type": "ended", "reason": "webhook failed"})


async def dial(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """``GET /v1/sip/dial``: the simulated phone line (a caller places a call)."""
    authenticate(request, server.config, None, azure=False, now_s=server.clock())
    if not server.config.sip_webhook or not server.config.webhook_secret:
        raise api_error(
            409,
            "This server takes no phone calls: start it with --sip-webhook URL "
            "--webhook-secret whsec_...",
            "sip_not_configured",
        )
    line = web.WebSocketResponse(compress=False)
    await line.prepare(request)
    calls = phone_calls(server)
    call: PhoneCall | None = None
    tasks: set[asyncio.Task[None]] = set()
    try:
        async for message in line:
            if message.type is WSMsgType.BINARY:
                if call is not None:
                    call.caller_audio(message.data)
                continue
            if message.type is not WSMsgType.TEXT:
                break
            try:
                event = json.loads(message.data)
            except ValueError:
                continue
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "dial" and call is None:
                call = PhoneCall(calls, "rtc_" + secrets.token_hex(12), line)
                calls.calls[call.call_id] = call
                await call.tell_line({"type": "ringing", "call_id": call.call_id})
                task = asyncio.create_task(_post_webhook(server, call, event))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif kind == "dtmf" and call is not None:
                await call.caller_dtmf(str(event.get("digit") or ""))
            elif kind == "hangup":
                break
    finally:
        if call is not None:
            await call.end({"type": "ended", "reason": "caller hung up"})
        for task in tasks:
            task.cancel()
    return line


def _call_for(server: RealtimeServer, request: web.Request) -> PhoneCall:
    azure = request.path.startswith("/openai/")
    authenticate(request, server.config, None, azure=azure, now_s=server.clock())
    return phone_calls(server).get(request.match_info.get("call_id", ""))


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.read() or b"{}")
    except ValueError:
        raise api_error(
            400, "We could not parse the JSON body of your request.", "invalid_json"
        ) from None
    if not isinstance(payload, dict):
        raise api_error(400, "The request body must be a JSON object.", "invalid_type")
    return payload


async def accept(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """``POST .../calls/{call_id}/accept``: a GA session object, ``type: "realtime"`` required."""
    call = _call_for(server, request)
    session = await _json(request)
    if session.get("type") != "realtime":
        raise api_error(
            400, "Missing required parameter: 'type'.", "missing_required_parameter", "type"
        )
    flavor: Literal["openai", "azure"] = (
        "azure" if request.path.startswith("/openai/") else "openai"
    )
    model = str(session.get("model") or "gpt-realtime")
    base = default_session("ga", flavor, model, session_id="sess_x", now_s=0)
    error = validate_session_update("ga", flavor, session, base, assistant_audio_present=False)
    if error is not None:
        return json_response(400, {"error": error})
    if call.state != "ringing":
        raise api_error(409, "The call was already answered.", "call_already_answered")
    call.state, call.session, call.model, call.flavor = "accepted", session, model, flavor
    call.answered.set()
    await call.tell_line({"type": "answered"})
    return json_response(200, {})


async def reject(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    call = _call_for(server, request)
    payload = await _json(request)
    status = payload.get("status_code", 603)
    await call.end({"type": "rejected", "status_code": status})
    return json_response(200, {})


async def refer(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    call = _call_for(server, request)
    payload = await _json(request)
    target = payload.get("target_uri")
    if not isinstance(target, str) or not target:
        raise api_error(
            400,
            "Missing required parameter: 'target_uri'.",
            "missing_required_parameter",
            "target_uri",
        )
    await call.end({"type": "referred", "target_uri": target})
    return json_response(200, {})


async def hangup(server: RealtimeServer, request: web.Request) -> web.StreamResponse:
    """Hang up a phone call, or else a WebRTC call with that id."""
    call_id = request.match_info.get("call_id", "")
    if call_id in phone_calls(server).calls:
        call = _call_for(server, request)
        await call.end({"type": "ended", "reason": "hung up"})
        return json_response(200, {})
    from realtalk.server.front import calls

    return await calls.hangup(server, request)


async def attach(
    server: RealtimeServer, request: web.Request, flavor: Literal["openai", "azure"]
) -> web.StreamResponse:
    """``GET /v1/realtime?call_id=...``: the app's WebSocket on an accepted call."""
    authenticate(request, server.config, None, azure=flavor == "azure", now_s=server.clock())
    call = phone_calls(server).get(request.query.get("call_id", ""))
    if call.state != "accepted" or call.channel is not None:
        raise api_error(
            409, "Accept the call before attaching, and attach once.", "call_not_accepted"
        )
    app = web.WebSocketResponse(
        protocols=("realtime",), max_msg_size=server.config.max_message_bytes, compress=False
    )
    await app.prepare(request)
    route = SessionRoute(
        path=request.path, dialect="ga", flavor=call.flavor, model=call.model, session=call.session
    )
    channel = PhoneChannel(call, app, route)
    connection = Connection(server, channel, route)
    channel.connection = connection
    call.channel = channel
    for frame in call.early:
        channel.peer_audio(frame, LINE_FORMAT)
    call.early.clear()

    async def read_app() -> None:
        async for message in app:
            if message.type is WSMsgType.TEXT:
                channel.client_text(message.data)
            elif message.type is not WSMsgType.BINARY:
                break
        channel.ended()

    reader = asyncio.create_task(read_app())
    try:
        await connection.run()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        if call.calls.calls.get(call.call_id) is call:  # not ended by refer/hangup meanwhile
            await call.end({"type": "ended", "reason": "the app left the call"})
    return app
