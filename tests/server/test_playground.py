"""The playground (``realtalk serve`` at /playground, ``realtalk playground``) in a real
headless Chromium: a fake microphone fed from a WAV asks the local server a question; the page
shows the transcript, the reply, the latency, the config and the timeline."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from realtalk import audio, testing
from realtalk.server import serve
from realtalk.server.engines import EngineSpec
from realtalk.server.front.playground import STATIC_FILES
from tests.observe.browser import chromium, wait_for_weather_turn

FIXTURE = Path(__file__).parent.parent / "fixtures" / "speech_16k.wav"
WEATHER = {"rules": [{"when": "weather", "say": "It is sunny in Paris today."}]}
SPOKEN = json.loads(FIXTURE.with_suffix(".json").read_text())["text"]


def _heard(question: str) -> None:
    """The fixture's question came through, to within one word: Whisper tiny.en hears "Paris"
    as "pairs" now and then (through a browser's Opus path, or when its timing moves which audio
    the turn's transcript covers), and nothing else in the test depends on that word."""
    errors, _ = testing.word_errors(SPOKEN, question)
    assert errors <= 1, f"heard {question!r} for {SPOKEN!r}"
    assert "weather" in question  # what the scripted brain answers to


SHOTS = os.environ.get("REALTALK_SCREENSHOTS")  # a folder: keep the screenshots (docs/)


def _fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # loopback only
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def _fake_microphone(folder: Path) -> Path:
    """The question once, then silence: Chromium loops the file, so the loop is long."""
    pcm, rate = audio.read_wav(FIXTURE)
    wav = folder / "question.wav"
    audio.write_wav(wav, audio.silence(800, rate) + pcm + audio.silence(12_000, rate), rate)
    return wav


async def test_the_page_and_its_files_are_served_and_load_nothing_from_elsewhere() -> None:
    async with serve(engines=EngineSpec(vad="energy", transcriber="tone", synthesizer="tone")) as h:
        base = f"http://127.0.0.1:{h.port}/playground"
        status, kind, page = await asyncio.to_thread(_fetch, base)
        assert status == 200
        assert kind.startswith("text/html")
        for name, content_type in STATIC_FILES.items():
            status, kind, body = await asyncio.to_thread(_fetch, f"{base}/{name}")
            assert status == 200, name
            assert kind.startswith(content_type)
            assert "http://" not in body, name
            assert "https://" not in body, name
        assert "http://" not in page
        assert "https://" not in page
        status, kind, body = await asyncio.to_thread(_fetch, f"{base}/../app.py")
        assert status == 404
        status, kind, body = await asyncio.to_thread(_fetch, f"{base}/secrets.txt")
        assert status == 404
        assert kind.startswith("application/json")
        assert json.loads(body)["error"]["code"] == "not_found"


@pytest.mark.parametrize("route", ["openai", "azure", "azure-preview"])
async def test_each_route_shape_in_the_browser(route: str, tmp_path: Path) -> None:
    spec = EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")
    async with serve(engines=spec) as handle, chromium() as page:
        await page.goto(
            f"http://127.0.0.1:{handle.port}/playground#key={handle.api_key}&route={route}"
        )
        await page.click("#connect")
        await page.wait_for_selector("#status[data-state='open']", timeout=15_000)
        await page.fill("#say", "hello from the browser")
        await page.click("#send")
        reply = page.locator(".line.assistant .text")
        await reply.first.wait_for(timeout=15_000)
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#latency tbody tr')].some("
            "r => r.cells[4].textContent.endsWith('ms'))",
            timeout=15_000,
        )
        assert "hello from the browser" in await reply.first.inner_text()
        rows = await page.locator("#config tbody tr").all_inner_texts()
        assert any("playground" in r for r in rows)
        assert any("server default" in r for r in rows)
        types = await page.locator("#timeline tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.type)"
        )
        delta = (
            "response.audio.delta" if route == "azure-preview" else "response.output_audio.delta"
        )
        assert delta in types
        assert "session.updated" in types


@pytest.mark.speech
async def test_a_spoken_question_through_a_fake_microphone(tmp_path: Path) -> None:
    spec = EngineSpec(
        vad="silero", transcriber="whisper", synthesizer="piper", brain="script", scenario=WEATHER
    )
    try:
        from realtalk.server.engines import load_engines

        engines = load_engines(spec)
    except Exception as exc:  # the speech extra is missing: the real engines cannot run
        pytest.skip(f"real speech engines unavailable: {exc}")
    wav = _fake_microphone(tmp_path)
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    try:
        async with serve(engines=engines) as handle, chromium(flags) as page:
            await page.goto(f"http://127.0.0.1:{handle.port}/playground#key={handle.api_key}&aec=0")
            await page.click("#connect")
            await page.wait_for_selector("#status[data-state='open']", timeout=15_000)
            await page.click("#mic")
            # The pause after "Hello," may end a turn of its own: wait for the question.
            await wait_for_weather_turn(page)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('#latency tbody tr')].some("
                "r => r.cells[4].textContent.endsWith('ms'))",
                timeout=60_000,
            )
            question = " ".join(await page.locator(".line.user .text").all_inner_texts()).lower()
            answer = " ".join(await page.locator(".line.assistant .text").all_inner_texts())
            latency: list[Any] = await page.locator("#latency tbody tr").evaluate_all(
                "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
            )
            types = await page.locator("#timeline tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.type)"
            )
            shot = Path(SHOTS) / "observe-playground.png" if SHOTS else tmp_path / "page.png"
            await page.screenshot(path=str(shot))
    finally:
        await engines.aclose()
    _heard(question)
    assert "It is sunny in Paris today." in answer
    assert {row[1] for row in latency} == {"speech"}
    assert any(all(cell.endswith("ms") for cell in row[2:]) for row in latency)
    assert "input_audio_buffer.speech_started" in types
    assert "input_audio_buffer.append" in types
    assert shot.stat().st_size > 10_000


def test_realtalk_playground_prints_the_page_url() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "realtalk",
            "playground",
            "--port",
            "0",
            "--vad",
            "energy",
            "--transcriber",
            "tone",
            "--synthesizer",
            "tone",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("playground: "):
                url = line.split(" ", 1)[1].strip()
                break
        assert url.startswith("http://127.0.0.1:")
        assert "/playground#key=" in url
        status, _kind, page = _fetch(url.split("#")[0])
        assert status == 200
        assert "realtalk playground" in page
    finally:
        process.terminate()
        process.wait(timeout=20)


def _webrtc_in_chromium(mode: str, route: str = "openai") -> dict[str, Any]:
    """Run tests/server/rtc_browser.py (server + Chromium in a namespace with only ``lo``)."""
    from tests.observe.browser import need_browser

    need_browser()
    root = Path(__file__).parent.parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "tests.server.rtc_browser", mode, route],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    return result


def _only_loopback(result: dict[str, Any]) -> None:
    """Both SDPs as each side holds them, every candidate the page's getStats() knows, and every
    remote address the server's ICE agent checked: 127.0.0.1 and nothing else."""
    from realtalk.transports.ice import candidate_addresses

    assert result["interfaces"] == ["lo"]
    page, server = result["page"], result["server"]
    assert server["found"], "the server has no call with the page's call id"
    for sdp in (page["offer"], page["answer"], server["offer"], server["answer"]):
        assert "a=candidate" in sdp
        assert candidate_addresses(sdp) == {"127.0.0.1"}, sdp
    stats = page["stats"]
    assert stats["pairs"], "no ICE candidate pair succeeded"
    seen = {*stats["local"], *stats["remote"], *(a for pair in stats["pairs"] for a in pair)}
    assert seen == {"127.0.0.1"}
    assert set(server["remote"]) == {"127.0.0.1"}
    assert set(server["local"]) == {"127.0.0.1"}


@pytest.mark.parametrize("route", ["openai", "azure", "azure-preview"])
def test_chromium_over_webrtc_types_a_message_and_hears_the_reply(route: str) -> None:
    result = _webrtc_in_chromium("text", route)
    _only_loopback(result)
    assert result["page"]["call_id"].startswith("rtc_")
    assert "over WebRTC" in result["status"]
    assert result["user"] == ["hello from chromium over webrtc"]
    assert result["assistant"] == ["hello from chromium over webrtc"]
    types = result["types"]
    # Events on the data channel, audio on the tracks: no audio events on the channel.
    assert "response.output_audio.delta" not in types
    assert "response.audio.delta" not in types
    assert "input_audio_buffer.append" not in types
    assert types.index("output_audio_buffer.started") < types.index("output_audio_buffer.stopped")
    assert result["track"] == ["live"]
    assert result["peak"] > 0.05, types  # the reply was heard on the remote track
    # The config travelled in the client secret the page minted: no session.update was sent.
    assert "session.update" not in types
    assert "instructions\tPlayground over WebRTC.\tplayground" in result["config"]


@pytest.mark.speech
def test_chromium_over_webrtc_speaks_a_wav_and_hears_the_reply() -> None:
    try:
        import faster_whisper  # noqa: F401
        import piper  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"real speech engines unavailable: {exc}")
    result = _webrtc_in_chromium("speech")
    _only_loopback(result)
    _heard(" ".join(result["user"]).lower())
    assert "It is sunny in Paris today." in " ".join(result["assistant"])
    types = result["types"]
    assert "input_audio_buffer.speech_started" in types
    assert "conversation.item.input_audio_transcription.completed" in types
    assert "input_audio_buffer.append" not in types  # the microphone went on the track
    assert result["peak"] > 0.05, types
