"""A simulated phone caller for the local server (``realtalk call SERVER_URL ...``).

It dials the server's phone line (``/v1/sip/dial``, :mod:`realtalk.server.front.sip`), waits
for the app to answer, speaks G.711 mu-law at 8 kHz in real time (20 ms frames, as on a phone
line: a WAV file, or text spoken by Piper or, with ``tones=True``, by the deterministic tone
voice), presses DTMF keys, records what it hears, and hangs up when the app refers or ends
the call (or after ``max_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from realtalk.config import AudioFormat
from realtalk.errors import ConfigError, ConfigProblem, TransportError

__all__ = ["CallResult", "place_call"]

LINE = AudioFormat.pcmu()
_FRAME = 160  # 20 ms of mu-law at 8 kHz


@dataclass
class CallResult:
    """How the call went: the id, how it ended, and what the caller heard (mu-law)."""

    call_id: str | None = None
    outcome: str = "no answer"
    """``rejected``, ``referred``, ``ended`` or ``no answer``."""
    detail: dict[str, object] = field(default_factory=dict)
    heard: bytes = b""


def _line_url(server_url: str) -> str:
    parts = urlsplit(server_url if "://" in server_url else "http://" + server_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ConfigError([ConfigProblem("SERVER_URL", server_url, "must be an http(s) URL")])
    return urlunsplit((scheme, parts.netloc, "/v1/sip/dial", "", ""))


def _speech(text: str, tones: bool) -> tuple[bytes, int]:
    from realtalk.server.engines import ToneSynthesizer

    if not tones:
        from realtalk.server.engines.registry import speech_extra_installed

        if speech_extra_installed():
            from realtalk.server.engines import PiperSynthesizer

            piper = PiperSynthesizer()
            return b"".join(piper.synthesize(text)), piper.sample_rate
    synth = ToneSynthesizer(24000)
    return b"".join(synth.synthesize(text)), 24000


def _to_line(pcm: bytes, rate: int) -> bytes:
    from realtalk.audio import convert

    return convert(pcm, AudioFormat.pcm16(rate), LINE)


async def place_call(
    server_url: str,
    *,
    api_key: str | None = None,
    audio: Path | None = None,
    say: str | None = None,
    dtmf: str = "",
    record: Path | None = None,
    tones: bool = False,
    max_s: float = 120.0,
) -> CallResult:
    """Place one call and return how it went (the recording is also written to ``record``)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    from realtalk.audio import read_wav, write_wav

    if audio is not None and say is not None:
        raise ConfigError([ConfigProblem("--audio/--say", NO_ARG, "give one of them, not both")])
    if audio is not None:
        pcm, rate = read_wav(audio)
        speech = _to_line(pcm, rate)
    elif say is not None:
        speech = _to_line(*_speech(say, tones))
    else:
        speech = b""
    bad = [d for d in dtmf if d not in "0123456789*#ABCD"]
    if bad:
        raise ConfigError([ConfigProblem("--dtmf", dtmf, "digits are 0-9, *, # and A-D")])
    key = api_key or os.environ.get("REALTALK_SERVER_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    result = CallResult()
    heard = bytearray()
    try:
        async with connect(_line_url(server_url), additional_headers=headers) as line:
            await line.send(json.dumps({"type": "dial", "from": "sip:+15555550100@realtalk"}))
            answered = asyncio.Event()

            async def listen() -> None:
                async for message in line:
                    if isinstance(message, bytes):
                        heard.extend(message)
                        continue
                    event = json.loads(message)
                    kind = event.get("type")
                    if kind == "ringing":
                        result.call_id = event.get("call_id")
                    elif kind == "answered":
                        answered.set()
                    elif kind in ("rejected", "referred", "ended"):
                        result.outcome = str(kind)
                        result.detail = {k: v for k, v in event.items() if k != "type"}
                        return

            async def speak() -> None:
                await answered.wait()
                loop = asyncio.get_running_loop()
                start = loop.time()
                padded = speech + bytes([0xFF]) * (_FRAME * 50)  # then a second of line silence
                for index in range(0, len(padded), _FRAME):
                    await line.send(padded[index : index + _FRAME])
                    await asyncio.sleep(
                        max(0.0, start + (index // _FRAME + 1) * 0.02 - loop.time())
                    )
                for digit in dtmf:
                    await line.send(json.dumps({"type": "dtmf", "digit": digit}))
                    await asyncio.sleep(0.1)
                while True:  # an open line carries silence until someone hangs up
                    await line.send(bytes([0xFF]) * _FRAME)
                    await asyncio.sleep(0.02)

            listener = asyncio.create_task(listen())
            speaker = asyncio.create_task(speak())
            try:
                async with asyncio.timeout(max_s):
                    with contextlib.suppress(ConnectionClosed):
                        await listener
            except TimeoutError:
                with contextlib.suppress(ConnectionClosed):
                    await line.send(json.dumps({"type": "hangup"}))
            finally:
                speaker.cancel()
                await asyncio.gather(speaker, return_exceptions=True)
    except InvalidStatus as exc:
        raise TransportError(
            f"the server refused the call with HTTP {exc.response.status_code}: "
            + exc.response.body.decode("utf-8", "replace")[:300]
        ) from None
    except OSError as exc:
        raise TransportError(f"could not reach {server_url}: {exc.strerror or exc}") from None
    result.heard = bytes(heard)
    if record is not None:
        from realtalk.audio import decode

        write_wav(record, decode(result.heard, LINE), 8000)
    return result


NO_ARG = "both"
