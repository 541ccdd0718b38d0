"""WebRTC calls on the local server (protocol.md §1f): one
:class:`~realtalk.server.front.connection.Connection` per call, driven over a data channel and two
Opus tracks instead of a WebSocket.

:class:`RtcChannel` is the :class:`~realtalk.server.front.connection.Channel` of a call:

* client events arrive as text on the data channel the peer created (any label);
* the peer's audio track is converted to the session's input format and fed to the session as
  ``input_audio_buffer.append`` events, so VAD, transcription, brain and speech are the same
  engines as on the WebSocket route;
* the session's audio deltas go to the outgoing Opus track instead of the data channel (as the
  service does on WebRTC), and the track reports ``output_audio_buffer.started`` / ``stopped``;
  ``output_audio_buffer.clear`` from the client, a truncate, a cancel or a barge-in
  (``speech_started``) drop what is queued and report ``output_audio_buffer.cleared``;
* everything else the session sends goes to the data channel unchanged.

:class:`RtcCalls` answers offers and keeps the live calls by id (``rtc_...``) for ``/hangup``.
ICE host candidates are gathered on the address the server serves on only
(:func:`realtalk.transports.ice.host_addresses`), with no STUN/TURN. This module knows no HTTP
framework: the routes parse the request and call :meth:`RtcCalls.answer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realtalk.config import AudioFormat
from realtalk.server.front.connection import ChannelClosed, Connection, SessionRoute
from realtalk.server.front.media import AUDIO_DELTA, AUDIO_DONE, MediaChannel
from realtalk.transports.ice import host_addresses, rtc_configuration

if TYPE_CHECKING:
    from realtalk.server.front.app import RealtimeServer

__all__ = ["RtcCall", "RtcCalls", "RtcChannel", "parse_offer"]

_TRACK = AudioFormat.pcm16(48000)
CONNECT_TIMEOUT_S = 30.0
"""An answered call whose data channel has not opened by then is closed (its slot freed)."""
_STOPS_PLAYBACK = ("conversation.item.truncate", "response.cancel")


@dataclass(frozen=True, slots=True)
class Offer:
    sdp: str
    session: dict[str, Any] | None
    """The multipart ``session`` part (GA session object), if the unified form was used."""


def parse_offer(content_type: str, body: bytes) -> Offer | str:
    """An :class:`Offer` from either body form, or the reason the body is not one.

    Multipart bodies are parsed by the standard library's MIME parser, not by hand.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/sdp":
        return Offer(body.decode("utf-8", "replace"), None)
    if kind != "multipart/form-data":
        return "Content-Type must be application/sdp or multipart/form-data."
    from email import message_from_bytes
    from email.policy import HTTP

    message = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body, policy=HTTP
    )
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    if "sdp" not in parts:
        return "Missing required parameter: 'sdp'."
    session: dict[str, Any] | None = None
    if "session" in parts:
        try:
            loaded = json.loads(parts["session"])
        except ValueError:
            return "The 'session' part is not valid JSON."
        if not isinstance(loaded, dict):
            return "The 'session' part must be a JSON object."
        session = loaded
    return Offer(parts["sdp"].decode("utf-8", "replace"), session)


class RtcChannel(MediaChannel):
    """The :class:`Channel` of one call: data channel text plus the two audio tracks."""

    def __init__(self, call: RtcCall) -> None:
        super().__init__()
        self.call = call
        self._playing_response: str | None = None
        self._announced: str | None = None  # the response whose "started" was sent
        self._complete: set[str] = set()  # responses whose last audio delta was queued

    async def send(self, text: str) -> None:
        channel = self.call.data_channel
        if self._close_code is not None or channel is None or channel.readyState != "open":
            raise ChannelClosed
        event = json.loads(text)
        kind = event.get("type")
        if kind in AUDIO_DELTA:  # audio goes on the track, not the data channel (as on WebRTC)
            self._playing_response = str(event.get("response_id") or "")
            self.call.outgoing.feed(self.session_audio(event.get("delta") or "", _TRACK))
            return
        if kind == "input_audio_buffer.speech_started":
            self._stop_playback()  # barge-in: the server cut the response off
        channel.send(text)
        if kind in AUDIO_DONE:
            self.call.outgoing.feed(self.session_audio("", _TRACK, last=True))
            self._complete.add(str(event.get("response_id") or ""))
            if not self.call.outgoing.playing and self.call.outgoing.queued_ms == 0:
                self.playback_drained()

    async def close(self, code: int, reason: str) -> None:
        self.ended(code)
        await self.call.close()

    def client_text(self, text: str) -> None:
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "output_audio_buffer.clear":
            # WebRTC only: the session never sees it (over a WebSocket it is an error).
            self._stop_playback()
            return
        if kind in _STOPS_PLAYBACK:
            self._stop_playback()
        super().client_text(text)

    def _stop_playback(self) -> None:
        outgoing = self.call.outgoing
        if outgoing.playing or outgoing.queued_ms > 0 or self._announced is not None:
            outgoing.clear()
            self._announced = None
            self._notify("output_audio_buffer.cleared")

    def playback_started(self) -> None:
        # Once per response: synthesis slower than real time makes the track run dry and
        # resume mid-response, which is not a new start.
        if self._announced != self._playing_response:
            self._announced = self._playing_response
            self._notify("output_audio_buffer.started")

    def playback_drained(self) -> None:
        # "stopped" means all of the response's audio was played: only once its last delta
        # was queued (an underrun mid-response is not the end).
        response = self._playing_response
        if response is not None and response in self._complete and self._announced == response:
            self._complete.discard(response)
            self._announced = None
            self._notify("output_audio_buffer.stopped")

    def _notify(self, kind: str) -> None:
        channel = self.call.data_channel
        if channel is None or channel.readyState != "open" or self._close_code is not None:
            return
        channel.send(
            json.dumps(
                {
                    "type": kind,
                    "event_id": "event_" + secrets.token_hex(10),
                    "response_id": self._playing_response or "",
                }
            )
        )


class RtcCall:
    """One WebRTC call: the peer connection, its channel and the session's connection."""

    def __init__(
        self, calls: RtcCalls, call_id: str, route: SessionRoute, slot: contextlib.ExitStack
    ) -> None:
        from aiortc import RTCPeerConnection

        from realtalk.transports.rtc_audio import OutgoingAudio

        self.calls = calls
        self.call_id = call_id
        self.route = route
        self.pc = RTCPeerConnection(rtc_configuration())
        self.channel = RtcChannel(self)
        self.outgoing = OutgoingAudio(
            on_started=self.channel.playback_started, on_drained=self.channel.playback_drained
        )
        self.data_channel: Any = None
        self.connection: Connection | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._slot = slot  # one of the server's max_sessions, from the offer to the call's end
        self.pc.on("datachannel", self._on_data_channel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_data_channel(self, channel: Any) -> None:
        if self.data_channel is not None:
            return  # one event channel per call; further channels are ignored
        self.data_channel = channel
        channel.on("message", self._on_message)
        channel.on("close", lambda: self.channel.ended(1000))
        self.connection = Connection(self.calls.server, self.channel, self.route)
        self.channel.connection = self.connection
        self._spawn(self._run())

    def _on_message(self, message: str | bytes) -> None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        self.channel.client_text(text)

    def _on_track(self, track: Any) -> None:
        if track.kind == "audio":
            self._spawn(self._read_track(track))

    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.channel.ended(1006 if self.pc.connectionState == "failed" else 1000)
            if self.connection is None:
                self._spawn(self.close())  # no session runs to end it: free the slot now

    def watch_connect(self) -> None:
        """Close the call if its data channel has not opened in :data:`CONNECT_TIMEOUT_S` (a
        peer that never completes ICE must not hold a session slot)."""

        async def deadline() -> None:
            await asyncio.sleep(CONNECT_TIMEOUT_S)
            if self.connection is None:
                await self.close()

        self._spawn(deadline())

    async def _read_track(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        from realtalk.transports.rtc_audio import frame_pcm

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm, rate = frame_pcm(frame)
            self.channel.peer_audio(pcm, AudioFormat.pcm16(rate))

    async def _run(self) -> None:
        assert self.connection is not None
        try:
            await self.connection.run()
        finally:
            await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.channel.ended(1000)
        self.calls.calls.pop(self.call_id, None)
        self._slot.close()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        await self.pc.close()


class RtcCalls:
    """The live WebRTC calls of one server."""

    def __init__(self, server: RealtimeServer, host: str | None) -> None:
        self.server = server
        self.host = host
        self.calls: dict[str, RtcCall] = {}

    async def answer(self, offer_sdp: str, route: SessionRoute) -> tuple[str, str]:
        """Open a call for ``offer_sdp``: (call id, SDP answer). Raises ValueError for an
        offer that cannot be answered.

        The call takes one of the server's ``max_sessions`` here, at the offer, before any
        ``await`` (the route checked ``server.accepting`` just before): concurrent offers cannot
        overshoot the limit, and a call counts from its offer, not from when its channel opens.
        """
        from aiortc import RTCSessionDescription

        slot = contextlib.ExitStack()
        slot.enter_context(self.server.session_slot())
        call_id = "rtc_" + secrets.token_hex(12)
        try:
            call = RtcCall(self, call_id, route, slot)
        except BaseException:
            slot.close()
            raise
        try:
            await call.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            call.pc.addTrack(call.outgoing)
            answer = await call.pc.createAnswer()
            with host_addresses([self.host] if self.host else None):
                await call.pc.setLocalDescription(answer)
        except Exception as exc:
            await call.close()
            raise ValueError(f"The SDP offer could not be answered: {exc}") from None
        self.calls[call_id] = call
        call.watch_connect()
        return call_id, call.pc.localDescription.sdp

    async def hangup(self, call_id: str) -> bool:
        call = self.calls.get(call_id)
        if call is None:
            return False
        await call.close()
        return True

    async def aclose(self) -> None:
        for call in list(self.calls.values()):
            await call.close()
