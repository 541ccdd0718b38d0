"""Recordings (SessionOptions(record=...)): every wire message both ways, audio in files,
secrets never written, the size cap, the writer thread; and the short reprs."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import recording, testing
from tests.observe.sample import make_runner, run_sample, user_speech


def _delta_audio(text: str) -> bytes:
    message = json.loads(text)
    field = {"input_audio_buffer.append": "audio", "response.output_audio.delta": "delta"}
    key = field.get(message["type"])
    return base64.b64decode(message[key]) if key else b""


async def test_a_recording_holds_every_wire_message_both_ways_with_audio_in_files(
    tmp_path: Path,
) -> None:
    async with make_runner(tmp_path, raw_tap=True).connect() as session:
        seen = await run_sample(session)
        where = session.recording_path
        api_key = session.provider.running.api_key
    assert where is not None
    assert where.parent == tmp_path
    rec = recording.load(tmp_path)  # the folder of recordings: its newest one
    assert rec.path == where
    raw = [e for e in seen if isinstance(e, ev.RawMessage)]
    recorded = list(rec.wire())
    # The raw tap sees what the app has read so far; the recording has at least all of that,
    # in the same order, message for message once the audio is put back.
    sides = {"out": "client", "in": "server"}
    assert [(sides[m.direction], json.loads(m.text)) for m in raw] == [
        (r.source, json.loads(rec.wire_text(r))) for r in recorded[: len(raw)]
    ]
    # Audio is out of the JSON, in the files, byte for byte.
    for record in recorded:
        assert len(json.dumps(record.msg)) < 20_000
    user = b"".join(_delta_audio(rec.wire_text(r)) for r in rec.wire("client"))
    assistant = b"".join(_delta_audio(rec.wire_text(r)) for r in rec.wire("server"))
    assert user == user_speech() == (where / "user.raw").read_bytes()
    assert assistant == (where / "assistant.raw").read_bytes()
    assert len(assistant) > 48_000
    header = rec.header
    assert header["audio"]["user"]["bytes"] == len(user)
    assert header["role"] == "client"
    assert header["dialect"] == "ga"
    assert header["effective_config"]["provenance"]["tools"] == "agent:concierge"
    assert header["effective_config"]["provenance"]["turn_detection"] == "runner"
    assert not header["truncated"]
    assert header["events"] == len(rec.records)
    # Monotonic timestamps, and the runtime's own events between the wire messages.
    times = [r.t for r in rec.records]
    assert times == sorted(times)
    assert times[0] >= 0
    app = [r.type for r in rec.records if r.source == "app"]
    assert {"SessionReady", "ToolCallStarted", "ToolCallFinished", "Interrupted"} <= set(app)
    (finished,) = [r.event for r in rec.records if r.type == "ToolCallFinished"]
    assert finished is not None
    assert "Paris" in finished["output"]
    # The local server's generated key went into the handshake only, never into a file.
    assert api_key
    for file in where.iterdir():
        assert api_key.encode() not in file.read_bytes(), file.name


async def test_secrets_in_messages_are_redacted(tmp_path: Path) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 4
    runner = rt.Runner(rt.Agent("echo"), provider=testing.local(), record=tmp_path)
    async with runner.connect() as session:
        turn = await testing.run_turn(session, f"my key is {key} and ek_abcdef1234567890")
        assert key in turn.transcript  # the session itself is untouched
        # A credential-named key anywhere in a message (here response metadata) is hidden too.
        await session.send_raw(
            {"type": "response.create", "response": {"metadata": {"api_key": "hunter22"}}}
        )
        await testing.collect(session, ev.SessionIdle)
        where = session.recording_path
    text = (where / "events.jsonl").read_text() + (where / "recording.json").read_text()
    assert key not in text
    assert "ek_abcdef1234567890" not in text
    assert "hunter22" not in text
    assert "my key is <redacted> and <redacted>" in text


async def test_the_size_cap_stops_the_recording_not_the_session(tmp_path: Path) -> None:
    runner = rt.Runner(
        rt.Agent("echo"), provider=testing.local(), record=tmp_path, record_limit_bytes=30_000
    )
    async with runner.connect() as session:
        for n in range(3):
            turn = await testing.run_turn(session, f"say something long number {n} " * 5)
            assert turn.transcript
        where = session.recording_path
    rec = recording.load(where)
    assert rec.header["truncated"] is True
    assert rec.header["dropped"] > 0
    assert rec.records[-1].type == "limit"
    written = sum(f.stat().st_size for f in where.iterdir() if f.name != "recording.json")
    assert written <= 30_000 + 200  # the cap, plus the one "limit" line


async def test_recording_runs_on_its_own_thread_and_stops_with_the_session(
    tmp_path: Path,
) -> None:
    def recorders() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("realtalk-recorder")]

    before = recorders()
    async with rt.Runner(rt.Agent("echo"), provider=testing.local()).connect() as session:
        assert recorders() == before
        assert session.recording_path is None
    async with rt.Runner(
        rt.Agent("echo"), provider=testing.local(), record=tmp_path
    ).connect() as session:
        assert len(recorders()) == len(before) + 1
        await testing.run_turn(session, "hello")
    assert recorders() == before
    assert recording.load(tmp_path).records[-1].type == "closed"


def test_a_disk_error_stops_the_recording_and_is_reported(tmp_path: Path) -> None:
    told: list[str] = []
    recorder = recording.Recorder(tmp_path / "r", {"role": "client"}, on_error=told.append)
    recorder._events = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 - a full disk
    recorder.wire("server", '{"type":"session.created"}')
    recorder.close()
    assert told
    assert told[0].startswith("recording stopped:")
    assert json.loads((tmp_path / "r" / "recording.json").read_text())["error"] == told[0]


def test_reprs_are_short() -> None:
    audio = testing.speak("a long answer that goes on and on " * 10)
    delta = ev.AudioDelta("resp_1", "item_1", 0, 0, audio)
    assert "<audio " in repr(delta)
    assert len(repr(delta)) < 200
    item = rt.items.MessageItem("assistant", (rt.items.OutputAudio(audio, "x" * 5000),))
    history = ev.HistoryUpdated("item_1", lambda: (item,) * 50)
    assert len(repr(history)) < 2000
    turn = testing.Turn([delta] * 500, transcript="hi", audio=audio * 10)
    text = repr(turn)
    assert len(text) < 400
    assert "<500 events>" in text
    assert f"{len(audio) * 10 // 48} ms" in text


def _recorded(folder: Path, texts: list[str], *, decoded: bool) -> tuple[list[Any], bytes]:
    from realtalk.dialects import BETA, GA

    recorder = recording.Recorder(folder, {"role": "client"})
    for text in texts:
        dialect = BETA if '"response.audio.delta"' in text else GA
        recorder.wire("server", text, [dialect.decode(text)] if decoded else None)
    recorder.close()
    lines = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return [line["msg"] for line in lines], (folder / "assistant.raw").read_bytes()


def test_a_delta_the_session_decoded_is_recorded_as_the_general_path_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session hands the recorder the events it decoded, so an audio delta's audio comes
    # from its event (not parsed and decoded twice): the files must be the same either way.
    def delta(audio: bytes, **extra: Any) -> dict[str, Any]:
        return {
            "type": "response.output_audio.delta",
            "event_id": "event_1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(audio).decode(),
            **extra,
        }

    def compact(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"))  # as the services send them

    texts = [
        compact(delta(b"\x01\x02" * 2400)),
        compact(delta(b"\x03\x04" * 10, note="see https://x.test/a?api_key=hunter22")),
        compact(delta(b"\x05\x06" * 10, note="Bearer abcdefgh sk-" + "a1B2" * 4)),
        compact(delta(b"\x07\x08" * 10, item={"content": []})),  # the general path, always
        compact({**delta(b"\x09\x0a" * 10), "type": "response.audio.delta"}),  # beta
        compact(delta(b"\xff\xfe" * 10)).replace("/", "\\/"),  # "\/" in base64: whole
        json.dumps(delta(b"\x0d\x0e" * 10)),  # spaces: the general path
        '{"type":"response.output_audio.delta","delta":"AAAA","response_id":"r"}',  # malformed
    ]
    taken: list[bool] = []
    fast_path = recording.Recorder._delta_message

    def counted(self: Any, *args: Any) -> Any:
        message = fast_path(self, *args)
        taken.append(message is not None)
        return message

    monkeypatch.setattr(recording.Recorder, "_delta_message", counted)
    fast = _recorded(tmp_path / "fast", texts, decoded=True)
    general = _recorded(tmp_path / "general", texts, decoded=False)
    assert taken == [True, True, True, False, True, False, False]  # the malformed one: no event
    assert fast == general
    messages, audio = fast
    assert messages[0]["delta"] == {"$audio": "assistant", "offset": 0, "bytes": 4800}
    assert audio.startswith(b"\x01\x02" * 2400)
    assert "hunter22" not in json.dumps(messages)
    assert "Bearer abcdefgh" not in json.dumps(messages)
    assert "sk-a1B2" not in json.dumps(messages)
