"""The console commands, run as a user runs them (subprocesses on the real local server)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest


def realtalk(
    *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realtalk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def test_demo_with_deterministic_engines(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    done = realtalk("demo", "--engines", "deterministic", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tool call: get_weather" in done.stdout
    assert "assistant: In Paris it is sunny and 21 degrees." in done.stdout
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 24000
        assert wav.getnframes() > 24000


@pytest.mark.speech
def test_demo_with_real_speech(tmp_path: Path) -> None:
    from realtalk.server.engines.registry import speech_extra_installed

    if not speech_extra_installed():
        pytest.skip("needs the speech extra: pip install 'realtalk[speech]'")
    done = realtalk("demo", "--out", str(tmp_path / "reply.wav"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "you said: What's the weather in Paris?" in done.stdout
    assert "assistant: In Paris it is sunny and 21 degrees." in done.stdout


def test_talk_reads_lines_and_prints_answers() -> None:
    done = realtalk("talk", stdin="hello there\nsecond line\n/quit\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("realtalk talk: provider=local")  # the banner (test_talk_demo.py)
    assert lines[-2:] == ["assistant: hello there", "assistant: second line"]


def test_serve_help_comes_from_the_server() -> None:
    done = realtalk("serve", "--help")
    assert done.returncode == 0
    assert "--retire-beta" in done.stdout


def test_explain_needs_no_credentials(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "config" / "concierge.toml"
    done = realtalk("explain", str(example), "--provider", "all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for provider in ("== openai", "== azure", "== azure-preview"):
        assert provider in done.stdout
