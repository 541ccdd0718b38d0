"""``realtalk report``: the page drawn from a recording alone, checked in a real Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realtalk import recording, report
from tests.observe.browser import chromium
from tests.observe.sample import record_sample, user_speech


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_sample(tmp_path_factory.mktemp("recordings"))


def test_the_model_has_each_turn_the_tool_call_and_the_interruption(sample: Path) -> None:
    model = report.build(recording.load(sample))
    turns = model["turns"]
    assert [t["input"] for t in turns] == ["text", "text", "audio", "text"]
    assert turns[0]["user_text"] == "Tell me about my invoice"
    assert turns[0]["responses"][0]["text"] == "Your invoice is paid."
    (call,) = turns[1]["tool_calls"]
    assert call["name"] == "get_weather"
    assert call["arguments"] == '{"city":"paris"}' or '"paris"' in call["arguments"]
    assert call["output"] == "Sunny and 21 degrees in Paris."
    assert call["duration_ms"] >= 0
    spoken = turns[2]
    assert spoken["transcript"] == "hello there"
    assert spoken["speech"]["stop_ms"] > spoken["speech"]["start_ms"]
    latency = spoken["latency"]
    assert 0 <= latency["transcript_ms"] <= latency["first_audio_ms"] <= latency["done_ms"]
    (cut,) = [i for i in turns[3]["interruptions"] if i["reason"] == "client"]
    assert cut["audio_end_ms"] == 120
    story = [s for s in model["segments"] if s["item_id"] == cut["item_id"]]
    assert story[0]["truncated_at_ms"] == 120
    (user,) = [s for s in model["segments"] if s["track"] == "user"]
    assert user["duration_ms"] == pytest.approx(len(user_speech()) / 48)
    assert model["config"]["rows"]
    assert {r["layer"] for r in model["config"]["rows"]} >= {"runner", "agent:concierge"}


def test_the_cli_writes_a_page_that_names_no_url(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "realtalk", "report", str(sample.parent), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)
    assert "<link" not in html
    assert "@import" not in html
    missing = subprocess.run(
        [sys.executable, "-m", "realtalk", "report", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "no recording at" in missing.stderr


async def test_the_page_in_a_browser_shows_turns_tool_interruption_and_waveforms(
    sample: Path, tmp_path: Path
) -> None:
    rec = recording.load(sample)
    page_file = tmp_path / "report.html"
    page_file.write_text(report.render(rec), encoding="utf-8")
    assistant_bytes: dict[str, int] = {}
    for r in rec.wire("server"):
        delta = r.msg.get("delta") if r.msg else None
        if isinstance(delta, dict):
            item = str(r.msg["item_id"])  # type: ignore[index]
            assistant_bytes[item] = assistant_bytes.get(item, 0) + int(delta["bytes"])
    async with chromium() as page:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.goto(page_file.as_uri())
        await page.wait_for_selector("body[data-ready='1']")
        turns = await page.locator(".turn").all_inner_texts()
        assert len(turns) == 4
        assert "Tell me about my invoice" in turns[0]
        assert "Your invoice is paid." in turns[0]
        assert "get_weather" in turns[1]
        assert "Sunny and 21 degrees in Paris." in turns[1]
        assert "hello there" in turns[2]
        assert "VAD start" in turns[2]
        assert "tell me a story" in turns[3]
        tool = page.locator(".tool-call[data-name='get_weather']")
        assert await tool.count() == 1
        cut = page.locator(".interruption[data-reason='client']")
        assert await cut.get_attribute("data-audio-end-ms") == "120"
        assert "cut at 120 ms" in await cut.inner_text()
        # Waveforms: every segment's own audio decodes to the duration the recording gives,
        # and its box on the shared time axis is that long.
        segments: list[dict[str, Any]] = await page.evaluate(
            """async () => {
              const total = JSON.parse(document.getElementById('data').textContent).duration_ms;
              const out = [];
              for (const seg of document.querySelectorAll('.segment')) {
                const audio = seg.querySelector('audio');
                if (!(audio.duration > 0)) await new Promise(r => audio.addEventListener(
                  'loadedmetadata', r, {once: true}));
                out.push({track: seg.dataset.track, item: seg.dataset.item,
                  ms: +seg.dataset.durationMs, played_s: audio.duration,
                  share: seg.getBoundingClientRect().width /
                         seg.parentElement.getBoundingClientRect().width,
                  total});
              }
              return out;
            }"""
        )
        await page.screenshot(path=str(tmp_path / "report.png"))
        if os.environ.get("REALTALK_SCREENSHOTS"):  # a folder: keep the picture (docs/)
            shots = Path(os.environ["REALTALK_SCREENSHOTS"])
            await page.screenshot(path=str(shots / "observe-report.png"))
    assert requests == [page_file.as_uri()]  # nothing but the file itself
    users = [s for s in segments if s["track"] == "user"]
    assert [round(s["ms"]) for s in users] == [round(len(user_speech()) / 48)]
    assistants = [s for s in segments if s["track"] == "assistant"]
    assert {s["item"]: round(s["ms"], 3) for s in assistants} == {
        item: round(n / 48, 3) for item, n in assistant_bytes.items()
    }
    for s in segments:
        assert s["played_s"] == pytest.approx(s["ms"] / 1000, abs=0.005)
        assert s["share"] == pytest.approx(s["ms"] / s["total"], abs=0.01)
    assert (tmp_path / "report.png").stat().st_size > 10_000
