"""Shared fixtures for the engine tests: real engines load once per test session, and skip
cleanly (saying what to install) when the speech extra is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from realtalk import audio
from realtalk.errors import EngineUnavailable

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _load(factory: Any) -> Any:
    try:
        return factory()
    except EngineUnavailable as exc:
        pytest.skip(f"speech extra not installed ({exc})")


@pytest.fixture(scope="session")
def piper() -> Any:
    from realtalk.server.engines import PiperSynthesizer

    return _load(PiperSynthesizer)


@pytest.fixture(scope="session")
def whisper() -> Any:
    from realtalk.server.engines import WhisperTranscriber

    return _load(WhisperTranscriber)


@pytest.fixture(scope="session")
def make_whisper() -> Any:
    """``make_whisper(**options)``: a WhisperTranscriber of its own with these options."""
    from realtalk.server.engines import WhisperTranscriber

    return lambda **options: _load(lambda: WhisperTranscriber(**options))


@pytest.fixture
def silero() -> Any:
    from realtalk.server.engines import SileroVAD

    return _load(SileroVAD.shared)


@pytest.fixture(scope="session")
def speech_fixture() -> tuple[bytes, dict[str, Any]]:
    """Piper saying a sentence (16 kHz PCM16) and where the speech is in it."""
    pcm, rate = audio.read_wav(FIXTURES / "speech_16k.wav")
    meta = json.loads((FIXTURES / "speech_16k.json").read_text())
    assert rate == meta["rate"] == 16000
    return pcm, meta
