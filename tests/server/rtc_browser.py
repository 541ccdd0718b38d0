"""A real Chromium talks to the local server over WebRTC through the playground, inside a
network namespace whose only interface is ``lo``: ``python -m tests.server.rtc_browser MODE``.

Why a namespace: Chromium gathers ICE candidates on every interface it may use and never on
loopback by default. ``--allow-loopback-in-peer-connection`` adds loopback, but the machine's
other interfaces (eth0) would still be gathered. In a namespace that has only ``lo`` (entered
with ``unshare(CLONE_NEWNET)``: root, or an unprivileged user namespace), loopback is all there
is, so Chromium offers 127.0.0.1 and nothing else, and the server (started here too, in the same
namespace) answers with 127.0.0.1. Nothing leaves the namespace: it has no route anywhere.

The run prints one JSON line: what the page showed, both SDPs, every candidate address each
side saw (the page's ``getStats()`` and the server's ICE connection), for the test to judge.
MODE is ``text`` (a typed message, tone engines) or ``speech`` (a WAV through Chromium's fake
microphone, the real speech engines); an optional ROUTE picks the playground's route
(``openai``, ``azure``, ``azure-preview``). A run that cannot enter a namespace prints
``{"skip": why}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
WEATHER = {"rules": [{"when": "weather", "say": "It is sunny in Paris today."}]}
FIXTURE = Path(__file__).parent.parent / "fixtures" / "speech_16k.wav"

STATS = """async () => {
  const call = window.realtalkCall;
  const report = await call.pc.getStats();
  const seen = {local: [], remote: [], pairs: []};
  report.forEach((s) => {
    if (s.type === "local-candidate") seen.local.push(s.address || s.ip || "");
    if (s.type === "remote-candidate") seen.remote.push(s.address || s.ip || "");
    if (s.type === "candidate-pair" && s.state === "succeeded") seen.pairs.push(
      [report.get(s.localCandidateId).address, report.get(s.remoteCandidateId).address]);
  });
  return {offer: call.offer, answer: call.answer, call_id: call.callId, stats: seen};
}"""


LISTEN = """() => {
  // How loud the remote track is (the reply the page plays), measured by Web Audio.
  const audio = new AudioContext();
  const source = audio.createMediaStreamSource(document.getElementById("player").srcObject);
  const analyser = audio.createAnalyser();
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  window.realtalkPeak = 0;
  setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    for (const x of samples) window.realtalkPeak = Math.max(window.realtalkPeak, Math.abs(x));
  }, 20);
}"""


HEARD = """() => {
  const types = [...document.querySelectorAll('#timeline tbody tr')].map(r => r.dataset.type);
  const stopped = types.lastIndexOf('output_audio_buffer.stopped');
  return window.realtalkPeak > 0.05 && stopped > types.lastIndexOf('output_audio_buffer.started');
}"""


def only_loopback() -> str | None:
    """Enter a new network namespace and bring its ``lo`` up; the reason when that fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        return (
            f"cannot enter a network namespace (unshare: errno {errno}); "
            "needs root or unprivileged user namespaces"
        )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"]:
        return f"the namespace has more than lo: {interfaces}"
    return None


def _microphone(folder: Path) -> Path:
    from realtalk import audio

    pcm, rate = audio.read_wav(FIXTURE)
    wav = folder / "question.wav"
    # Chromium plays the file from the moment the page asks for the microphone (at connect);
    # the track is sent once "Start microphone" is pressed: a long lead-in keeps the question.
    audio.write_wav(wav, audio.silence(5_000, rate) + pcm + audio.silence(12_000, rate), rate)
    return wav


def _server_side(handle: Any, call_id: str) -> dict[str, Any]:
    """What the server's end of the call saw: its SDPs and the addresses of the remote
    candidates its ICE agent checked (peer-reflexive ones included)."""
    calls = handle.server.rtc_calls
    call = calls.calls.get(call_id)
    if call is None:
        return {"found": False}
    remote: list[str] = []
    for transceiver in call.pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        remote.extend(c.ip for c in ice.getRemoteCandidates())
        connection = ice._connection  # the aioice agent: its checked pairs' remote addresses
        remote.extend(pair.remote_addr[0] for pair in connection._check_list)
        local = [c.host for c in connection.local_candidates]
    return {
        "found": True,
        "remote": remote,
        "local": local,
        "offer": call.pc.remoteDescription.sdp,
        "answer": call.pc.localDescription.sdp,
    }


async def run(mode: str, route: str) -> dict[str, Any]:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    from realtalk.server import serve
    from realtalk.server.engines import EngineSpec, load_engines
    from tests.observe.browser import chromium, wait_for_weather_turn

    if mode == "speech":
        spec = EngineSpec(
            vad="silero",
            transcriber="whisper",
            synthesizer="piper",
            brain="script",
            scenario=WEATHER,
        )
    else:
        spec = EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")
    engines = load_engines(spec)
    folder = Path(tempfile.mkdtemp(prefix="realtalk-rtc-browser-"))
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        # Loopback is the only interface here; without this Chromium would gather nothing.
        "--allow-loopback-in-peer-connection",
    ]
    if mode == "speech":
        flags.append(f"--use-file-for-fake-audio-capture={_microphone(folder)}")
    out: dict[str, Any] = {"mode": mode}
    try:
        async with serve(engines=engines) as handle, chromium(flags) as page:
            fragment = f"key={handle.api_key}&transport=webrtc&route={route}&aec=0"
            fragment += "&instructions=Playground%20over%20WebRTC."
            await page.goto(f"http://127.0.0.1:{handle.port}/playground#{fragment}")
            await page.click("#connect")
            await page.wait_for_selector("#status[data-state='open']", timeout=20_000)
            await page.evaluate(LISTEN)
            if mode == "speech":
                await page.click("#mic")
                await wait_for_weather_turn(page)
            else:
                await page.fill("#say", "hello from chromium over webrtc")
                await page.click("#send")
                await page.locator(".line.assistant .text").first.wait_for(timeout=20_000)
            # The reply is played on the remote track: wait until it was heard there and the
            # server said its playback ended. Not merely "a stopped event": in speech mode the
            # pause after "Hello," may end a turn of its own whose reply the question then
            # interrupts, and that reply's stopped event comes before the weather reply is
            # played (CI once read the peak right then: 0.001).
            # On a timeout what was heard by then is reported, and the test judges it.
            with contextlib.suppress(PlaywrightTimeout):
                await page.wait_for_function(HEARD, timeout=60_000)
            out["user"] = await page.locator(".line.user .text").all_inner_texts()
            out["assistant"] = await page.locator(".line.assistant .text").all_inner_texts()
            out["types"] = await page.locator("#timeline tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.type)"
            )
            out["config"] = await page.locator("#config tbody tr").all_inner_texts()
            out["status"] = await page.locator("#status").inner_text()
            out["track"] = await page.evaluate(
                "() => { const s = document.getElementById('player').srcObject;"
                " return s ? s.getAudioTracks().map(t => t.readyState) : []; }"
            )
            out["peak"] = await page.evaluate("() => window.realtalkPeak")
            out["page"] = await page.evaluate(STATS)
            out["server"] = _server_side(handle, out["page"]["call_id"])
            out["interfaces"] = [name for _, name in socket.if_nameindex()]
    finally:
        await engines.aclose()
    return out


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "text"
    route = sys.argv[2] if len(sys.argv) > 2 else "openai"
    why = only_loopback()  # before any thread or socket exists
    if why is not None:
        print(json.dumps({"skip": why}))
        return
    print(json.dumps(asyncio.run(run(mode, route))))


if __name__ == "__main__":
    main()
