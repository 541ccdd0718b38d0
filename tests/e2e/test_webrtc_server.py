"""The local server's WebRTC routes with a plain aiortc peer (not realtalk's transport), over
loopback only: every SDP either side produces names 127.0.0.1 and nothing else."""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from realtalk.server import ServerHandle, serve
from realtalk.server.engines import ToneSynthesizer
from realtalk.transports.ice import LOOPBACK, candidate_addresses, host_addresses, rtc_configuration
from realtalk.transports.rtc_audio import frame_pcm
from tests.oracle import assert_valid_server_event
from tests.server.harness import tone_engines

SYNTH = ToneSynthesizer(24000)


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    async with serve(engines=tone_engines()) as handle:
        yield handle


def write_wav(path: Path, pcm: bytes, rate: int = 24000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


class Peer:
    """A plain aiortc peer: a data channel, a file played as its microphone, a recorder."""

    def __init__(self, audio: Path | None) -> None:
        self.pc = RTCPeerConnection(rtc_configuration())
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.heard = bytearray()
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("close", self.closed.set)
        self.channel.on("message", lambda m: self.events.put_nowait(json.loads(m)))
        self._tasks: list[asyncio.Task[None]] = []
        self.player = MediaPlayer(str(audio)) if audio else None
        if self.player is not None:
            self.pc.addTrack(self.player.audio)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        async def record() -> None:
            while True:
                try:
                    frame = await track.recv()
                except Exception:
                    return
                pcm, _ = frame_pcm(frame)
                self.heard.extend(pcm)

        self._tasks.append(asyncio.ensure_future(record()))

    async def offer(self) -> str:
        offer = await self.pc.createOffer()
        with host_addresses(LOOPBACK):  # aioice would skip 127.0.0.1 and use eth0
            await self.pc.setLocalDescription(offer)
        return str(self.pc.localDescription.sdp)

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await asyncio.wait_for(self.opened.wait(), 10)

    async def next(self, kind: str, timeout: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                assert event["type"] != "error", event
                if event["type"] == kind:
                    return event

    async def until(self, kind: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Every event up to and including the first ``kind``."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not seen or seen[-1]["type"] != kind:
                seen.append(await self.events.get())
                assert seen[-1]["type"] != "error", seen[-1]
        return seen

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.player is not None and self.player.audio is not None:
            self.player.audio.stop()
        await self.pc.close()


async def post_offer(
    handle: ServerHandle, sdp: str, *, key: str | None = None, session: dict[str, Any] | None = None
) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {key or handle.api_key}"}
    async with httpx2.AsyncClient(timeout=10) as client:
        if session is None:
            return await client.post(
                f"{handle.http_url}/realtime/calls",
                content=sdp.encode(),
                headers={**headers, "Content-Type": "application/sdp"},
            )
        return await client.post(
            f"{handle.http_url}/realtime/calls",
            headers=headers,
            files={
                "sdp": (None, sdp.encode(), "application/sdp"),
                "session": (None, json.dumps(session).encode(), "application/json"),
            },
        )


async def test_plain_aiortc_peer_holds_a_turn(server: ServerHandle, tmp_path: Path) -> None:
    question = b"".join(SYNTH.synthesize("hello there")) + bytes(48 * 1500)
    peer = Peer(write_wav(tmp_path / "q.wav", bytes(48 * 300) + question))
    try:
        sdp = await peer.offer()
        assert candidate_addresses(sdp) == {"127.0.0.1"}
        session = {
            "type": "realtime",
            "instructions": "Echo me.",
            "audio": {"input": {"transcription": {"model": "whisper-1"}}},
        }
        response = await post_offer(server, sdp, session=session)
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/sdp")
        location = response.headers["location"]
        assert location.startswith("/v1/realtime/calls/rtc_")
        assert candidate_addresses(response.text) == {"127.0.0.1"}
        await peer.answer(response.text)
        created = await peer.next("session.created")
        assert_valid_server_event("ga", created)
        assert created["session"]["instructions"] == "Echo me."
        transcript = await peer.next("conversation.item.input_audio_transcription.completed")
        assert transcript["transcript"] == "hello there"
        seen = await peer.until("output_audio_buffer.stopped")
        for event in seen:
            assert_valid_server_event("ga", event)
        said = [e for e in seen if e["type"] == "response.output_audio_transcript.done"]
        assert said[0]["transcript"] == "hello there"  # the echo brain repeats the question
        done = next(e for e in seen if e["type"] == "response.done")
        assert done["response"]["status"] == "completed"
        started = next(e for e in seen if e["type"] == "output_audio_buffer.started")
        assert seen[-1]["response_id"] == done["response"]["id"] == started["response_id"]
        # Audio travels on the track only, never as deltas on the data channel.
        assert not [e for e in seen if e["type"] == "response.output_audio.delta"]
        await asyncio.sleep(0.3)  # the last frames trail the data channel on RTP
        heard = np.frombuffer(bytes(peer.heard), dtype="<i2")
        assert heard.size
        assert np.abs(heard).max() > 2000
        async with httpx2.AsyncClient(timeout=10) as client:
            hung = await client.post(
                f"http://127.0.0.1:{server.port}{location}/hangup",
                headers={"Authorization": f"Bearer {server.api_key}"},
            )
        assert hung.status_code == 200
        await asyncio.wait_for(peer.closed.wait(), 10)  # the server ended the call
    finally:
        await peer.close()


async def test_offer_needs_a_key_and_an_sdp(server: ServerHandle) -> None:
    peer = Peer(None)
    try:
        sdp = await peer.offer()
        refused = await post_offer(server, sdp, key="sk-wrong")
        assert refused.status_code == 401
        async with httpx2.AsyncClient(timeout=10) as client:
            bad = await client.post(
                f"{server.http_url}/realtime/calls",
                content=b"{}",
                headers={
                    "Authorization": f"Bearer {server.api_key}",
                    "Content-Type": "application/json",
                },
            )
        assert bad.status_code == 400
        assert "application/sdp" in bad.json()["error"]["message"]
        invalid = await post_offer(server, sdp, session={"type": "realtime", "voice": 3})
        assert invalid.status_code == 400
        assert invalid.json()["error"]["param"].startswith("session.")
    finally:
        await peer.close()


async def _slots_free(handle: ServerHandle) -> None:
    async with asyncio.timeout(10):
        while not handle.server.accepting:  # noqa: ASYNC110 - the call ends in the server
            await asyncio.sleep(0.05)


async def test_a_call_takes_a_session_slot_at_its_offer(tmp_path: Path) -> None:
    async with serve(engines=tone_engines(), max_sessions=1) as handle:
        first, second = Peer(None), Peer(None)
        try:
            answered = await post_offer(handle, await first.offer())
            assert answered.status_code == 201
            # Answered, its channel not open yet: the call already holds the only slot.
            refused = await post_offer(handle, await second.offer())
            assert refused.status_code == 503
            error = refused.json()["error"]
            assert error["code"] == "too_many_sessions"
            assert "limit of 1 concurrent sessions" in error["message"]
            ready = await asyncio.to_thread(
                lambda: httpx2.get(f"http://127.0.0.1:{handle.port}/readyz", timeout=10)
            )
            assert ready.status_code == 503
            await first.answer(answered.text)
            await first.next("session.created")
            # A WebSocket session is refused too: one limit for every kind of session.
            async with httpx2.AsyncClient(timeout=10) as client:
                ws = await client.get(
                    f"{handle.http_url}/realtime?model=gpt-realtime",
                    headers={"Authorization": f"Bearer {handle.api_key}"},
                )
            assert ws.status_code == 503
            await first.close()  # the peer hangs up: the slot is free again
            await _slots_free(handle)
            third = Peer(None)
            try:
                again = await post_offer(handle, await third.offer())
                assert again.status_code == 201
                await third.answer(again.text)
                await third.next("session.created")
            finally:
                await third.close()
        finally:
            await first.close()
            await second.close()


async def test_an_answered_call_that_never_connects_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realtalk.server.front import rtc

    monkeypatch.setattr(rtc, "CONNECT_TIMEOUT_S", 0.5)
    async with serve(engines=tone_engines(), max_sessions=1) as handle:
        peer = Peer(None)
        try:
            answered = await post_offer(handle, await peer.offer())
            assert answered.status_code == 201
            assert not handle.server.accepting
            # The peer never applies the answer: no ICE, no channel. The server gives up.
            await _slots_free(handle)
            assert handle.server.rtc_calls.calls == {}
        finally:
            await peer.close()
