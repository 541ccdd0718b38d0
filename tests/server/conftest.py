"""Fixtures of the server tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.served import Served


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Append each :class:`Served` here; all are ended after the test, whatever happens."""
    started: list[Served] = []
    yield started
    for one in started:
        one.end()
