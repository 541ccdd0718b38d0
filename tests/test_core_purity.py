"""The protocol core is pure: importing it loads no asyncio, websockets or sockets.

The local server's ``wire`` and ``core`` layers are held to the same rule; ``core`` may load
numpy (its audio arithmetic goes through :mod:`realtalk.audio`), never the event loop or sockets.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE = [
    "realtalk.config",
    "realtalk.errors",
    "realtalk.items",
    "realtalk.events",
    "realtalk.commands",
    "realtalk.conversation",
    "realtalk.protocol",
    "realtalk.reconnect",
    "realtalk.responses",
    "realtalk.dialects",
    "realtalk.dialects.ga",
    "realtalk.dialects.beta",
    "realtalk.dialects.rules",
    "realtalk.dialects.checks",
    "realtalk.capabilities",
    "realtalk.config_parts",
    "realtalk.config_reader",
]
FORBIDDEN = ["asyncio", "websockets", "socket", "ssl", "numpy", "pydantic"]
SERVER_WIRE = [
    "realtalk.server.wire",
    "realtalk.server.wire.errors",
    "realtalk.server.wire.events",
    "realtalk.server.wire.schema",
    "realtalk.server.wire.session",
    "realtalk.server.wire.shapes",
]
SERVER_CORE = [
    "realtalk.server",
    "realtalk.server.core",
    "realtalk.server.core.session",
    "realtalk.server.core.secrets",
]
SERVER_CORE_FORBIDDEN = ["asyncio", "websockets", "aiohttp", "socket", "ssl", "pydantic"]


def loaded(module: str, forbidden: list[str]) -> list[str]:
    """Which of ``forbidden`` a fresh interpreter has loaded after importing ``module``."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {forbidden!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    found: list[str] = json.loads(out)
    return found


@pytest.mark.parametrize("module", CORE + SERVER_WIRE)
def test_core_module_imports_nothing_impure(module: str) -> None:
    assert loaded(module, FORBIDDEN) == [], module


@pytest.mark.parametrize("module", SERVER_CORE)
def test_server_core_loads_no_event_loop_or_sockets(module: str) -> None:
    assert loaded(module, SERVER_CORE_FORBIDDEN) == [], module
