"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def piper() -> object:
    from realtalk.server.engines.registry import speech_extra_installed

    if not speech_extra_installed():
        pytest.skip("needs the speech extra: pip install 'realtalk[speech]'")
    from realtalk.server.engines import PiperSynthesizer

    return PiperSynthesizer()
