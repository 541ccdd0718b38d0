"""The protocol core is pure: importing it loads no asyncio, websockets or sockets."""

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
    "realtalk.dialects",
    "realtalk.dialects.ga",
    "realtalk.dialects.beta",
    "realtalk.dialects.rules",
]
FORBIDDEN = ["asyncio", "websockets", "socket", "ssl", "numpy", "pydantic"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_nothing_impure(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [], f"{module} loaded {out.strip()}"
