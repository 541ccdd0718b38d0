"""Replay: a recording's client side sent again yields the same sequence of event types, from a
server scripted by the recording and from the real local server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import realtalk as rt
from realtalk import recording, testing
from realtalk.replay import replay
from tests.observe.sample import SCENARIO, record_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_sample(tmp_path_factory.mktemp("recordings"))


async def test_replay_against_the_recording_gives_the_same_event_types(sample: Path) -> None:
    result = await testing.replay(sample)
    assert result.same_types, result.diff()
    assert len(result.replayed) > 100
    assert {"ResponseDone", "FunctionCallArgumentsDone", "ItemTruncated"} <= set(result.replayed)


async def test_replay_against_the_local_server_gives_the_same_event_types(sample: Path) -> None:
    # The server answers afresh (new ids, mapped into the client's truncate and tool output),
    # at the recorded pace so the interruption lands where it did. Its transcription runs
    # beside the barge-in truncation, so those two may swap: same events, counted by type,
    # and the same order for each response's own events.
    result = await replay(sample, server=testing.local(SCENARIO, realtime_pacing=True))
    assert result.same_events, result.diff()
    lifecycle = {"ResponseCreated", "ResponseDone", "FunctionCallArgumentsDone", "AudioDone"}
    assert [t for t in result.recorded if t in lifecycle] == [
        t for t in result.replayed if t in lifecycle
    ]
    truncated = [m for m in result.messages if m["type"] == "conversation.item.truncated"]
    assert sorted(m["audio_end_ms"] for m in truncated)[0] == 120
    recorded_ids = {
        r.msg["item_id"]  # type: ignore[index]
        for r in recording.load(sample).wire("server")
        if r.type == "conversation.item.truncated"
    }
    assert not recorded_ids & {m["item_id"] for m in truncated}  # ids were mapped, not reused


async def test_a_changed_server_shows_where_the_runs_part(tmp_path: Path) -> None:
    runner = rt.Runner(rt.Agent("a"), provider=testing.local(SCENARIO), record=tmp_path)
    async with runner.connect() as session:
        await testing.run_turn(session, "What is the weather in paris")
    # Against a server whose brain no longer calls the tool, the replay differs, and says where.
    plain = {"default": "No tools today."}
    result = await replay(tmp_path, server=testing.local(plain), timeout=2.0)
    assert not result.same_types
    assert result.diff().startswith("at server message")


def test_the_replay_command(sample: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    for extra in ([], ["--against", "local", "--scenario", str(scenario)]):
        done = subprocess.run(
            [sys.executable, "-m", "realtalk", "replay", str(sample), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "same sequence of event types as recorded" in done.stdout or (
            extra and "same events as recorded, in another interleaving" in done.stdout
        )
    # A recording whose server said something else than the local server says now: exit 1.
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("recording.json", "user.raw", "assistant.raw"):
        (broken / name).write_bytes((sample / name).read_bytes())
    kept = [
        line
        for line in (sample / "events.jsonl").read_text().splitlines()
        if json.loads(line).get("msg", {}).get("type") != "rate_limits.updated"
    ]
    (broken / "events.jsonl").write_text("\n".join(kept) + "\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "realtalk",
            "replay",
            str(broken),
            "--against",
            "local",
            "--scenario",
            str(scenario),
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the event types differ" in done.stdout
