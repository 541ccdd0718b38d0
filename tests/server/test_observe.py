"""``realtalk serve --record DIR`` (one recording per session, server side) and ``serve -v``'s
line per turn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

import realtalk as rt
from realtalk import recording, report, testing
from realtalk.replay import replay
from realtalk.server.front.cli import add_serve_arguments, config_from_args
from tests.observe.sample import SCENARIO


def _folders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir())


def _files_holding(folder: Path, secret: str) -> list[str]:
    return [f.name for f in folder.iterdir() if secret.encode() in f.read_bytes()]


async def test_the_server_records_each_session(tmp_path: Path) -> None:
    provider = testing.local(SCENARIO, record=str(tmp_path))
    runner = rt.Runner(
        rt.Agent("a"), provider=provider, config=rt.SessionConfig(turn_detection=None)
    )
    for _ in range(2):
        async with runner.connect() as session:
            await testing.run_turn(session, "Tell me about my invoice")
            await session.send_audio(testing.speak("hello there") + testing.silence(800))
            await session.commit_audio(respond=True)
            await testing.collect(session, rt.events.SessionIdle, timeout=20)
            api_key = provider.running.api_key
            session_id = session.session_id
    folders = _folders(tmp_path)
    assert len(folders) == 2
    rec = recording.load(folders[-1])
    assert rec.header["role"] == "server"
    assert rec.header["session_id"] == session_id
    assert rec.header["dialect"] == "ga"
    sources = {r.source for r in rec.records}
    assert {"client", "server", "app"} <= sources
    assert rec.audio("user")
    assert rec.audio("assistant")
    assert [r.type for r in rec.records if r.source == "app"].count("TurnTimings") == 2
    assert not _files_holding(folders[-1], api_key)
    # The same report and replay work on a server-side recording.
    model = report.build(rec)
    assert [t["input"] for t in model["turns"]] == ["text", "audio"]
    assert model["turns"][0]["responses"][0]["text"] == "Your invoice is paid."
    result = await replay(rec)
    assert result.same_types, result.diff()


async def test_serve_v_logs_one_line_per_turn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "realtalk.server")
    async with rt.Runner(rt.Agent("a"), provider=testing.local(SCENARIO)).connect() as session:
        await testing.run_turn(session, "Tell me about my invoice")
        await testing.run_turn(session, "What is the weather in paris")
        session_id = session.session_id
    turns = [r.getMessage() for r in caplog.records if r.getMessage().startswith("turn ")]
    assert len(turns) >= 2
    assert all(f"session={session_id}" in line for line in turns)
    assert "status=completed" in turns[0]
    assert "first_audio_ms=" in turns[0]


def test_serve_takes_record() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    config = config_from_args(parser.parse_args(["--record", "recs", "-v"]))
    assert config.record == "recs"
    assert config.speculative_responses


def test_serve_can_turn_speculation_off() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    config = config_from_args(parser.parse_args(["--no-speculation"]))
    assert not config.speculative_responses
