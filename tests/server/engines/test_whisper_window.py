"""Whisper's opt-in short encoder window (speech extra): same words, silence still silent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wer import word_error_rate

pytestmark = pytest.mark.speech


@pytest.fixture(scope="module")
def short_whisper(make_whisper: Any) -> Any:
    return make_whisper(window_s=20)


def test_a_short_window_hears_the_recorded_question(
    short_whisper: Any, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    transcript = short_whisper.transcribe(pcm)
    assert word_error_rate(meta["text"], transcript.text) <= 0.2
    assert short_whisper.full_window_runs == 0  # decoded in the short window


def test_a_short_window_leaves_silence_to_the_full_window(short_whisper: Any) -> None:
    before = short_whisper.full_window_runs
    assert short_whisper.transcribe(bytes(32000)).text == ""
    assert short_whisper.full_window_runs == before + 1


def test_audio_too_long_for_the_window_uses_the_full_window(
    short_whisper: Any, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    before = short_whisper.full_window_runs
    long = pcm + bytes(32000 * 16) + pcm  # 21.5 s: does not fit 20 s with 3 s to spare
    transcript = short_whisper.transcribe(long)
    assert short_whisper.full_window_runs == before + 1
    assert word_error_rate(meta["text"] + " " + meta["text"], transcript.text) <= 0.2
