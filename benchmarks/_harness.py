"""The parent's side of the loopback server process, and small shared helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

__all__ = ["ROOT", "LoopbackServer", "PeerMissing"]

ROOT = Path(__file__).resolve().parent.parent


class PeerMissing(Exception):
    """A peer library is not installed; its column is skipped with this note."""


class LoopbackServer:
    """``with LoopbackServer(deflate=False) as server: server.url(mode="stream", n=100)``."""

    def __init__(self, *, deflate: bool = False) -> None:
        self.deflate = deflate
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> LoopbackServer:
        args = [sys.executable, "-m", "benchmarks._loopback"]
        if self.deflate:
            args.append("--deflate")
        self._proc = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self.__exit__()
            raise RuntimeError(f"the loopback server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def url(self, **query: object) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime?{urlencode(query)}"

    def stats(self) -> dict[str, Any]:
        """The server's lateness and CPU share since the previous call."""
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write("stats\n")
        proc.stdin.flush()
        result: dict[str, Any] = json.loads(proc.stdout.readline())
        return result
