"""The WebRTC transport (the ``webrtc`` extra, aiortc): events on a data channel, audio on Opus.

Chosen on the provider (``OpenAI(transport="webrtc")``), behind the same ``Session`` API:

* **Set-up** (protocol.md §1f): an SDP offer is POSTed to the provider's calls URL. The initial
  session config travels with it, so it applies from the first moment: as the multipart
  ``session`` part beside ``sdp`` (GA shapes, authenticated with the API key), or inside a
  client secret (Azure preview: minted first on its sessions route, then the raw
  ``application/sdp`` offer with ``Bearer ek_...``; a provider whose key is already an
  ``ek_`` secret sends the raw form too). The answer (201) carries ``Location`` with the call id.
* **Events** travel as JSON text on the data channel ``oai-events``; later config diffs are
  ``session.update`` events there, exactly as on a WebSocket.
* **Audio out**: :meth:`WebRTCTransport.send_audio` converts any rate or G.711 to 48 kHz PCM and
  feeds an outgoing Opus track, paced in real time like a microphone.
* **Audio in**: the incoming track is converted to the session's output format and returned by
  :meth:`WebRTCTransport.recv` as neutral :class:`~realtalk.events.AudioDelta` events, attributed
  to the response's audio content part (``content_part.added``), only while the server says it
  is playing (``output_audio_buffer.started`` .. ``stopped``/``cleared``).
* **A turn's end**: a ``response.done`` that arrives while that response's audio is still
  playing is held back, with everything after it, until the track has delivered the reply's
  last frame, so ``SessionIdle`` still means the whole turn is over; the
  ``output_audio_buffer.*`` events are delivered ahead of what was held. Which frame is the
  last is counted, not timed: the server sends ``output_audio_buffer.stopped`` after the
  reply's last RTP packet, on the same bundled transport, so when it arrives the receiver has
  seen every packet of the reply; the RTP statistics then say how many packets the server had
  sent (received + lost), and the frame whose timestamp reaches that count ends the reply,
  however far the decoder and the app's reading lag behind (a loaded machine).

* **How a call ends** decides whether the session reconnects (:mod:`realtalk.recovery`, which
  re-offers a new call and restores the conversation on it): the peer connection *failing*
  (ICE consent lost, DTLS broken) or the data channel closing while the call is still up is a
  lost connection (1006, worth a reconnect); the call being *closed* (the server hung up: its
  SCTP abort and DTLS close_notify, or the app closed it) is a deliberate end (1000, never
  reconnected).

ICE: no STUN/TURN unless ``ice_servers`` are given; host candidates from ``ice_addresses``
(:mod:`realtalk.transports.ice`): a loopback server gets loopback candidates only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from realtalk.config import AudioFormat, SessionConfig
from realtalk.errors import LOST_CONNECTION, ConnectionClosed, HandshakeError, TransportError
from realtalk.events import (
    AudioDelta,
    ContentPartAdded,
    OutputAudioBufferCleared,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    ResponseDone,
    SessionCreated,
    SessionUpdated,
)
from realtalk.items import OutputAudio
from realtalk.transports.ice import host_addresses, rtc_configuration

if TYPE_CHECKING:
    from realtalk.dialects import Dialect
    from realtalk.providers import Provider

__all__ = ["DATA_CHANNEL_LABEL", "WebRTCTransport", "open_call"]

DATA_CHANNEL_LABEL = "oai-events"
_SILENCE_RELEASE_MS = 1500.0
"""A held ``response.done`` is released after this much silence even without ``stopped``."""
_HANGUP_GRACE_S = 1.0
"""A data channel that closed while the call looks up: how long to wait for the peer connection
to close too. A server hanging up closes the channel (SCTP abort) a moment before its DTLS
close_notify closes the connection; a channel that stays gone on a live call is a loss."""
_ICE_VERDICT_S = 0.1
"""A peer connection that closed by itself: how long its ICE transport may take to say
"failed" (a loss) rather than "closed" (a hangup); the same loop turn on loopback."""
_END = object()


def _silent(pcm: bytes) -> bool:
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2")
    return not samples.size or int(np.abs(samples).max()) <= 8


class WebRTCTransport:
    """A :class:`~realtalk.transports.Transport` over one WebRTC call.

    ``recv()`` returns text for data-channel messages and :class:`AudioDelta` events for the
    incoming audio track (a media transport). ``call_id`` is the id from ``Location``.
    """

    def __init__(self, pc: Any, channel: Any, outgoing: Any, dialect: Dialect) -> None:
        self._pc = pc
        self._channel = channel
        self._out = outgoing
        self._dialect = dialect
        self.call_id: str | None = None
        self.sdp: tuple[str, str] = ("", "")
        """(our offer, the server's answer), for inspection."""
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._close_code: int | None = None
        self._close_reason = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._out_format = AudioFormat.pcm16()
        self._in_converters: dict[int, Any] = {}
        self._out_converters: dict[AudioFormat, Any] = {}
        self._target: tuple[str, str, int, int] | None = None
        self._playing: str | None = None  # the response whose audio the server plays
        self._stopped_at_silence: float | None = None
        self._held: list[str] | None = None
        self._held_front = 0  # output_audio_buffer.* events go ahead of the held response.done
        self._held_silence_ms = 0.0
        self._stopped_seen = False
        self._ice_failed = False
        self._receiver: Any = None  # the incoming track's RTCRtpReceiver (its RTP statistics)
        self._sent = 0
        """RTP packets the server had sent up to the last frame read (from its timestamp)."""
        self._stop_pending = False
        """Between ``stopped``/``cleared`` and the reply's last frame read."""
        self._stop_mark: int | None = None
        """The packets the server had sent when it said ``stopped`` (None: being read)."""
        self._stops = 0
        self._stopped_response: str | None = None
        self._last_frame = 0.0
        self.opened = asyncio.Event()
        channel.on("message", self._on_message)
        channel.on("open", self.opened.set)
        channel.on("close", self._on_channel_close)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)

    def __repr__(self) -> str:
        return f"WebRTCTransport(call_id={self.call_id!r}, state={self._pc.connectionState})"

    # -- the Transport seam ------------------------------------------------------------------

    @property
    def close_code(self) -> int | None:
        return self._close_code

    async def send(self, text: str) -> None:
        if self._close_code is not None or self._channel.readyState != "open":
            raise ConnectionClosed(self._close_code, self._close_reason or "call not open")
        self._channel.send(text)

    async def recv(self) -> Any:
        """The next data-channel text, or an :class:`AudioDelta` from the incoming track."""
        if self._close_code is not None and self._inbox.empty():
            raise ConnectionClosed(self._close_code, self._close_reason)
        item = await self._inbox.get()
        if item is _END:
            self._inbox.put_nowait(_END)
            raise ConnectionClosed(self._close_code, self._close_reason)
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._end(code, reason)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._pc.close()

    # -- media -------------------------------------------------------------------------------

    async def send_audio(self, audio: bytes, source: AudioFormat) -> None:
        """Queue user audio (PCM16 at any rate, or G.711) on the outgoing Opus track."""
        from realtalk.audio import Converter

        target = AudioFormat.pcm16(48000)
        converter = self._out_converters.get(source)
        if converter is None:
            converter = self._out_converters[source] = Converter(source, target)
        self._out.feed(converter.process(audio) if source != target else audio)

    def clear_audio(self) -> None:
        """Drop user audio queued on the outgoing track but not yet sent."""
        self._out.clear()

    # -- internals ---------------------------------------------------------------------------

    def _end(self, code: int, reason: str) -> None:
        if self._close_code is None:
            self._close_code, self._close_reason = code, reason
            self._release()
            self._inbox.put_nowait(_END)

    def _hung_up(self) -> bool:
        # aiortc moves signalingState to "closed" first thing when the connection closes (the
        # remote's DTLS close_notify, or ours), before the channel and the state events.
        return bool(self._pc.signalingState == "closed" or self._pc.connectionState == "closed")

    def watch_ice(self) -> None:
        """Follow the ICE transports themselves (once the offer made them). aioice closing a
        connection whose consent expired wakes DTLS too, and aiortc may close the peer
        connection ("closed", as for a hangup) a moment before the ICE transport reports
        "failed": that "failed" is what tells a loss from a hangup."""
        seen: set[int] = set()
        dtls = [t.receiver.transport for t in self._pc.getTransceivers()]
        if self._pc.sctp is not None:
            dtls.append(self._pc.sctp.transport)
        for ice in (d.transport for d in dtls if d is not None):
            if id(ice) in seen:
                continue
            seen.add(id(ice))

            def changed(ice: Any = ice) -> None:
                if ice.state == "failed":
                    self._ice_failed = True
                    self._end(LOST_CONNECTION, "the WebRTC connection failed (ICE consent lost)")

            ice.on("statechange", changed)

    def _on_state(self) -> None:
        state = self._pc.connectionState
        if state == "failed":
            self._end(LOST_CONNECTION, "the WebRTC connection failed (ICE or DTLS)")
        elif state == "closed":
            self._decide_soon(_ICE_VERDICT_S)

    def _on_channel_close(self) -> None:
        self._decide_soon(_HANGUP_GRACE_S)

    def _decide_soon(self, delay: float) -> None:
        """The call ended without the app closing it: a hangup (1000) or a loss (1006, worth a
        reconnect), decided once the transports have had ``delay`` to show which."""
        if self._close_code is not None:
            return

        async def decide() -> None:
            await asyncio.sleep(delay)
            if self._ice_failed:
                self._end(LOST_CONNECTION, "the WebRTC connection failed (ICE consent lost)")
            elif self._hung_up():
                self._end(1000, "the call was ended")
            else:
                self._end(LOST_CONNECTION, "the data channel closed while the call was up")

        task = asyncio.get_running_loop().create_task(decide())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_message(self, message: str | bytes) -> None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        event = self._dialect.decode(text)
        match event:
            case SessionCreated(config=config) | SessionUpdated(config=config):
                self._set_output_format(config)
            case ContentPartAdded(part=OutputAudio()):
                self._target = (
                    event.response_id,
                    event.item_id,
                    event.output_index,
                    event.content_index,
                )
            case OutputAudioBufferStarted(response_id=rid):
                self._playing = rid
                self._stopped_seen = False
            case (
                OutputAudioBufferStopped(response_id=rid)
                | OutputAudioBufferCleared(response_id=rid)
            ):
                self._stopped_seen = True
                self._stopped_response = rid or self._playing
                self._mark_stop()
            case ResponseDone(response=response) if self._target is not None and (
                self._target[0] == response.id
                and (self._stopped_response != response.id or self._stop_pending)
            ):
                # Its audio still plays (or its last frames are still on their way): hold this
                # and what follows until it has all arrived.
                if self._held is None:
                    self._held = []
                    self._held_silence_ms = 0.0
                    self._arm_release_timer()
        if self._held is None:
            self._inbox.put_nowait(text)
        elif isinstance(
            event, OutputAudioBufferStarted | OutputAudioBufferStopped | OutputAudioBufferCleared
        ):
            # Ahead of the held response.done (in their own order): the app learns the audio
            # started and ended, then that the turn is over.
            self._held.insert(self._held_front, text)
            self._held_front += 1
        else:
            self._held.append(text)

    def _set_output_format(self, config: SessionConfig) -> None:
        fmt = config.output_format
        if isinstance(fmt, AudioFormat):
            self._out_format = fmt

    def _arm_release_timer(self) -> None:
        # Without incoming frames (no track, or it stalled) no frame ever releases the hold:
        # this does, once no frame has come for the release time. While frames arrive, the
        # silence count in _on_audio decides.
        async def release_later() -> None:
            loop = asyncio.get_running_loop()
            while self._held is not None:
                await asyncio.sleep(0.25)
                if loop.time() - self._last_frame > _SILENCE_RELEASE_MS / 1000.0:
                    self._release()

        task = asyncio.get_running_loop().create_task(release_later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release(self) -> None:
        held, self._held = self._held, None
        self._held_front = 0
        self._playing = None if self._stopped_seen else self._playing
        for text in held or ():
            self._inbox.put_nowait(text)

    def _mark_stop(self) -> None:
        """``stopped``/``cleared`` arrived: every RTP packet of the reply has been received (the
        server sent them first, on the same transport). Read how many packets that was; the
        reply ends at the frame that reaches the count (:meth:`_end_of_reply`)."""
        self._stop_pending = True
        self._stop_mark = None
        self._stops += 1
        stop = self._stops

        async def mark() -> None:
            sent = await self._packets_arrived()
            if stop != self._stops or not self._stop_pending:
                return  # a later stop took over
            self._stop_mark = sent
            if self._sent >= sent:
                self._end_of_reply()  # the track had already delivered them all

        task = asyncio.get_running_loop().create_task(mark())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _packets_arrived(self) -> int:
        """The RTP packets the server had sent up to the newest one received (received + lost,
        from the receiver's statistics); read a moment after the stop, so never fewer."""
        if self._receiver is None:
            return 0  # no incoming track: no frame can still be on its way
        report = await self._receiver.getStats()
        counts = [
            int(stats.packetsReceived) + int(stats.packetsLost)
            for stats in report.values()
            if getattr(stats, "type", None) == "inbound-rtp"
        ]
        return max(counts, default=0)

    def _end_of_reply(self) -> None:
        """The track has delivered the reply's last frame: what the resampler still holds goes
        out, then what was held (response.done and after)."""
        self._stop_pending = False
        target = self._target
        for converter in self._in_converters.values():
            tail = converter.flush()
            if tail and target is not None:
                self._inbox.put_nowait(AudioDelta(target[0], target[1], target[2], target[3], tail))
        if self._playing == self._stopped_response:
            self._playing = None
        if self._held is not None:
            self._release()

    def _on_track(self, track: Any) -> None:
        if track.kind != "audio":
            return
        for transceiver in self._pc.getTransceivers():
            if transceiver.receiver.track is track:
                self._receiver = transceiver.receiver
        task = asyncio.get_running_loop().create_task(self._read_track(track))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_track(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        from realtalk.transports.rtc_audio import frame_pcm

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm, rate = frame_pcm(frame)
            if frame.pts is not None and frame.samples:
                # The RTP timestamp counts the server's frames from the first one (aiortc maps
                # it to start at 0): frame n has pts n * samples.
                self._sent = round(frame.pts * frame.time_base * rate / frame.samples) + 1
            else:
                self._sent += 1
            self._on_audio(pcm, rate)

    def _on_audio(self, pcm: bytes, rate: int) -> None:
        self._last_frame = asyncio.get_running_loop().time()
        ms = len(pcm) / 2 / rate * 1000.0
        silent = _silent(pcm)
        if self._held is not None:
            self._held_silence_ms = self._held_silence_ms + ms if silent else 0.0
        target = self._target
        mark = self._stop_mark
        if self._stop_pending:
            if mark is not None and self._sent > mark:
                self._end_of_reply()  # the last frame of the reply never came (dropped)
                window = not silent
            else:
                window = True  # the reply's trailing frames, its pauses included
        else:
            window = self._playing is not None or not silent
        if target is not None and window:
            from realtalk.audio import Converter

            converter = self._in_converters.get(rate)
            if converter is None or converter.to_format != self._out_format:
                converter = self._in_converters[rate] = Converter(
                    AudioFormat.pcm16(rate), self._out_format
                )
            data = converter.process(pcm)
            if data:
                self._inbox.put_nowait(AudioDelta(target[0], target[1], target[2], target[3], data))
        if self._stop_pending and mark is not None and self._sent >= mark:
            self._end_of_reply()
        elif self._held is not None and self._held_silence_ms >= _SILENCE_RELEASE_MS:
            self._release()  # no stopped came, but the reply has long gone quiet


def _call_id(location: str | None) -> str | None:
    if not location:
        return None
    path = urlsplit(location).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or None


def _loopback_host(url: str) -> list[str] | None:
    """A loopback server gets candidates on its own address only; others aioice's discovery."""
    import ipaddress

    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else None
    return [str(address)] if address.is_loopback else None


async def open_call(
    provider: Provider,
    config: SessionConfig,
    *,
    timeout: float = 15.0,
    ice_addresses: Sequence[str] | None = None,
    ice_servers: Sequence[Any] = (),
) -> WebRTCTransport:
    """Open a WebRTC call on ``provider`` with the (validated) initial ``config``."""
    try:
        from aiortc import RTCPeerConnection, RTCSessionDescription
    except ImportError:  # pragma: no cover - the extra is a test dependency
        raise TransportError(
            "the WebRTC transport needs the webrtc extra: pip install 'realtalk[webrtc]'"
        ) from None
    from realtalk import rest
    from realtalk.transports.rtc_audio import OutgoingAudio

    surface = provider.rest_surface()
    headers, credential = await rest.auth_headers(provider)
    if surface.shape == "azure-preview":
        secret = await rest.create_client_secret(provider, config, timeout=timeout)
        calls_url = surface.calls_url
        headers = {"Authorization": f"Bearer {secret.value}"}
        credential = secret.value
        session_part = None
    else:
        calls_url = surface.calls_url
        session_part = (
            None
            if credential is not None and credential.startswith("ek_")
            else rest.session_body(provider, config)
        )
    if calls_url is None:
        raise rest.no_rest(provider.name)
    addresses = ice_addresses if ice_addresses is not None else _loopback_host(calls_url)
    pc = RTCPeerConnection(rtc_configuration(ice_servers))
    outgoing = OutgoingAudio()
    pc.addTrack(outgoing)
    channel = pc.createDataChannel(DATA_CHANNEL_LABEL)
    transport = WebRTCTransport(pc, channel, outgoing, provider.dialect)
    try:
        offer = await pc.createOffer()
        with host_addresses(addresses):
            await pc.setLocalDescription(offer)
        sdp = pc.localDescription.sdp.encode()
        if session_part is None:
            status, answer_headers, answer = await rest.send(
                "POST",
                calls_url,
                {**headers, "Content-Type": "application/sdp"},
                content=sdp,
                timeout=timeout,
                secret=credential,
            )
        else:
            status, answer_headers, answer = await rest.send(
                "POST",
                calls_url,
                headers,
                files={
                    "sdp": (None, sdp, "application/sdp"),
                    "session": (None, json.dumps(session_part).encode(), "application/json"),
                },
                timeout=timeout,
                secret=credential,
            )
        transport.call_id = _call_id(
            {k.lower(): v for k, v in answer_headers.items()}.get("location")
        )
        answer_sdp = answer.decode("utf-8", "replace")
        transport.sdp = (sdp.decode(), answer_sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        transport.watch_ice()
        try:
            async with asyncio.timeout(timeout):
                await transport.opened.wait()
        except TimeoutError:
            raise HandshakeError(
                f"the WebRTC data channel did not open within {timeout:g}s "
                f"(connection state {pc.connectionState})"
            ) from None
        del status
    except BaseException:
        with contextlib.suppress(Exception):
            await transport.close()
        raise
    return transport
