"""The parent's side of the loopback server process, and small shared helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

__all__ = ["MISSING_EXIT", "ROOT", "LoopbackServer", "PeerMissing", "child_main", "run_child"]

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


MISSING_EXIT = 3
"""The exit status of a child run whose library is not installed (its reason on stdout)."""


def run_child(module: str, name: str, *args: str) -> str:
    """The last line ``python -m module name args...`` printed, run in a fresh interpreter: an
    app runs one SDK, and a process that imported every client (openai-agents leaves a far
    bigger heap) is not what any of them runs in. Raises PeerMissing as the child did."""
    argv = [sys.executable, "-m", module, name, *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode == MISSING_EXIT:
        raise PeerMissing(done.stdout.strip())
    if done.returncode != 0:
        raise RuntimeError(f"the {name!r} run failed:\n{done.stderr[-3000:]}")
    return done.stdout.splitlines()[-1]


def child_main(run: Callable[[], str]) -> int:
    """The child side of :func:`run_child`: print what ``run`` returns, or why it cannot run."""
    try:
        print(run())
    except PeerMissing as exc:
        print(exc)
        return MISSING_EXIT
    return 0
