"""``realtalk serve`` in a subprocess (the real CLI), for the workers and replica tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

SERVE = [sys.executable, "-m", "realtalk", "serve", "--port", "0"]
TONE = ["--vad", "energy", "--transcriber", "tone", "--synthesizer", "tone"]


class Served:
    """One ``realtalk serve`` (with the tone engines), started and read up to its banner.
    Without ``--api-key`` among ``extra`` it runs with ``--no-auth``; ``env`` adds variables."""

    def __init__(self, *extra: str, env: dict[str, str] | None = None) -> None:
        auth = [] if "--api-key" in extra else ["--no-auth"]
        self.proc = subprocess.Popen(
            [*SERVE, *auth, *TONE, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        while True:
            line = self.proc.stdout.readline()
            assert line, f"the server did not start: {self.proc.stderr.read()}"  # type: ignore[union-attr]
            self.lines.append(line)
            if match := re.search(r"listening on ws://127\.0\.0\.1:(\d+)/", line):
                self.port = int(match.group(1))
            if line.startswith("playground:"):
                break
        if "--workers" in extra:
            line = self.proc.stdout.readline()
            assert line.startswith("workers: "), line
            self.workers = {int(pid) for pid in line.split()[1:]}

    def readyz(self) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
