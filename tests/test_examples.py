"""Every runnable example runs as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_gateway_hook_example() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "gateway_hook.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "assistant: hello gateway" in done.stdout
    assert "tracing on the wire: False" in done.stdout
