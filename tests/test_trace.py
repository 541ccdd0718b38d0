"""``talk --trace`` and ``demo --trace``: the event timeline on stderr, in short reprs."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from realtalk import events as ev
from realtalk.items import Response
from realtalk.trace import Tracer


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realtalk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_run_of_deltas_is_one_line_and_history_is_left_out() -> None:
    out = io.StringIO()
    tracer = Tracer(out)
    for _ in range(5):
        tracer.event(ev.AudioDelta("r", "i", 0, 0, b"\0" * 4800))
    tracer.event(ev.HistoryUpdated(()))
    tracer.event(ev.ResponseDone(Response("r", "completed")))
    tracer.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "<audio 100 ms" in lines[0]
    assert "(+4 more AudioDelta)" in lines[0]
    assert "ResponseDone(" in lines[1]


def test_talk_trace() -> None:
    done = _run("talk", "--trace", stdin="what about my invoice\n")
    assert done.returncode == 0, done.stderr
    assert "assistant: what about my invoice" in done.stdout
    assert "[trace" not in done.stdout
    trace = [line for line in done.stderr.splitlines() if line.startswith("[trace")]
    assert any("SessionReady(" in line for line in trace)
    assert any("AudioDelta(" in line and "more AudioDelta)" in line for line in trace)
    assert any("ResponseDone(" in line for line in trace)
    assert all(len(line) < 500 for line in trace)


def test_demo_trace(tmp_path: Path) -> None:
    done = _run("demo", "--engines", "deterministic", "--trace", "--out", str(tmp_path / "r.wav"))
    assert done.returncode == 0, done.stdout + done.stderr
    trace = [line for line in done.stderr.splitlines() if line.startswith("[trace")]
    assert any("ToolCallStarted(" in line for line in trace)
    assert any("SpeechStopped(" in line for line in trace)
