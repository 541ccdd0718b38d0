"""Early transcription: the turn is transcribed at the last pause in the speech, during the
silence rule, so its transcript is ready (or nearly) when the turn ends."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from realtalk.server.core.codec import duration_ms
from realtalk.server.core.session import ServerSession
from realtalk.server.core.settings import TurnSettings
from realtalk.server.core.turns import (
    DRAFT_PAUSE_MS,
    JUDGE_PAUSE_MS,
    Drafts,
    TurnDetector,
    TurnEvent,
)
from realtalk.server.core.work import Think, Transcribe, TranscriptionResult
from realtalk.server.engines.synthesize import ToneSynthesizer
from realtalk.server.engines.vad import EnergyVAD
from tests.server.harness import Harness

SYNTH = ToneSynthesizer()
SILENCE_RULE_MS = 500


def speech(text: str) -> bytes:
    return b"".join(SYNTH.synthesize(text))


def silence(ms: float) -> bytes:
    return bytes(int(24000 * ms / 1000) * 2)


def early_harness(*, auto_work: bool) -> Harness:
    h = Harness(auto_work=auto_work)
    h.session = ServerSession(vad=h.engines.new_vad(), early_transcription=True)
    h.events.clear()
    h.session.start(h.now)
    h.pump()
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {
                            "type": "server_vad",
                            "silence_duration_ms": SILENCE_RULE_MS,
                        },
                    }
                },
            },
        }
    )
    return h


def stream(h: Harness, audio: bytes, *, until_stopped: bool = False) -> list[dict[str, Any]]:
    """Append ``audio`` in 20 ms pieces, each when it would have been fully spoken."""
    mark = len(h.events)
    step = 960
    for offset in range(0, len(audio), step):
        piece = audio[offset : offset + step]
        h.now += duration_ms(len(piece), "pcm16")
        events = h.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
        )
        if until_stopped and "input_audio_buffer.speech_stopped" in h.types(events):
            break
    return h.events[mark:]


def transcribes(h: Harness) -> list[Transcribe]:
    return [w for w in h.pending if isinstance(w, Transcribe)]


# --- the detector -------------------------------------------------------------------------------


def test_the_detector_reports_pauses_and_resumptions_only_when_asked() -> None:
    audio = silence(200) + speech("one") + silence(300) + speech("two") + silence(700)
    turn = TurnSettings(kind="server_vad", silence_duration_ms=SILENCE_RULE_MS)
    kinds = {}
    for pause_ms in (None, 160.0):
        detector = TurnDetector(EnergyVAD(), "pcm16")
        events = detector.feed(audio, turn, pause_ms)
        kinds[pause_ms] = [e.kind for e in events]
    assert kinds[None] == ["started", "stopped"]
    assert kinds[160.0] == ["started", "paused", "resumed", "paused", "stopped"]


def test_a_pause_comes_pause_ms_after_the_last_speech() -> None:
    turn = TurnSettings(kind="server_vad", silence_duration_ms=SILENCE_RULE_MS)
    detector = TurnDetector(EnergyVAD(), "pcm16")
    events = detector.feed(silence(200) + speech("one") + silence(700), turn, 160.0)
    _started, paused, stopped = events
    speech_end = stopped.at_ms - SILENCE_RULE_MS
    # frame-aligned: within one 32 ms VAD frame of the 160 ms pause
    assert 160 <= paused.at_ms - speech_end < 160 + 32


def test_a_silent_check_comes_first_at_first_check_ms_then_each_recheck_ms() -> None:
    turn = TurnSettings(kind="server_vad", silence_duration_ms=2000)
    detector = TurnDetector(EnergyVAD(), "pcm16")
    events = detector.feed(
        silence(200) + speech("one") + silence(1000), turn, DRAFT_PAUSE_MS, 320.0, JUDGE_PAUSE_MS
    )
    paused, *silent = (e for e in events if e.kind in ("paused", "silent"))
    assert paused.kind == "paused"
    assert [e.kind for e in silent] == ["silent", "silent", "silent"]
    # the first check at JUDGE_PAUSE_MS of the pause's silence, the next ones 320 ms apart
    first = silent[0].at_ms - paused.at_ms + DRAFT_PAUSE_MS
    assert JUDGE_PAUSE_MS <= first < JUDGE_PAUSE_MS + 32
    assert [b.at_ms - a.at_ms for a, b in itertools.pairwise(silent)] == [320, 320]


# --- the session --------------------------------------------------------------------------------


def test_the_draft_made_at_the_last_pause_is_the_turns_transcription() -> None:
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("hello there") + silence(250))
    [draft] = transcribes(h)  # asked during the silence rule, before the turn ended
    assert h.of_type("input_audio_buffer.speech_stopped") == []
    stream(h, silence(600), until_stopped=True)
    assert len(h.of_type("input_audio_buffer.speech_stopped")) == 1
    assert transcribes(h) == [draft]  # the turn waits for the draft: no second transcription
    h.run_next(after_ms=30)
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    [committed] = h.of_type("input_audio_buffer.committed")
    assert completed["transcript"] == "hello there"
    assert completed["item_id"] == committed["item_id"]
    # the rest of the silence rule was digital silence: the draft heard the committed audio
    item = h.session.conversation.get(committed["item_id"])
    assert item is not None
    assert draft.audio == bytes(item.audio[0])
    assert isinstance(h.pending[0], Think)
    h.run_pending()
    [timings] = h.timings
    assert timings.early_transcription
    assert timings.transcription_ms == 30  # only the draft's time after the commit counts


def test_the_draft_starts_at_the_short_draft_pause_not_the_judges() -> None:
    assert DRAFT_PAUSE_MS < JUDGE_PAUSE_MS
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("hello there"))
    assert transcribes(h) == []
    # one VAD frame past the draft pause, still short of the judge's: the draft is asked
    stream(h, silence(DRAFT_PAUSE_MS + 40))
    [draft] = transcribes(h)
    assert JUDGE_PAUSE_MS > DRAFT_PAUSE_MS + 40
    assert h.of_type("input_audio_buffer.speech_stopped") == []
    # padded with digital silence to where the 500 ms rule ends the turn
    assert duration_ms(len(draft.audio), "pcm16") > 300 + 0.9 * SILENCE_RULE_MS


def test_a_draft_done_before_the_turn_ends_answers_at_once() -> None:
    h = early_harness(auto_work=True)
    stream(h, silence(300) + speech("what time is it") + silence(800))
    kinds = h.types()
    stopped = kinds.index("input_audio_buffer.speech_stopped")
    completed = kinds.index("conversation.item.input_audio_transcription.completed")
    created = kinds.index("response.created")
    assert stopped < completed < created
    [completed_event] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed_event["transcript"] == "what time is it"
    assert h.of_type("response.done")[0]["response"]["status"] == "completed"
    [timings] = h.timings
    assert timings.early_transcription
    assert timings.transcription_ms == 0


def test_speech_after_a_pause_makes_the_draft_stale_and_the_next_pause_waits_for_it() -> None:
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("one two") + silence(300))
    [stale] = transcribes(h)
    stream(h, speech("three four") + silence(250))
    # a second pause, but the engine is still busy with the stale draft: no second request
    assert transcribes(h) == [stale]
    h.run_next()
    assert h.of_type("conversation.item.input_audio_transcription.completed") == []
    [draft] = transcribes(h)  # the waiting pause's draft, asked once the engine is free
    assert len(draft.audio) > len(stale.audio)
    stream(h, silence(600))
    assert transcribes(h) == [draft]
    h.run_next()
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "one two three four"


def test_a_turn_that_ends_while_its_pause_waits_gets_its_own_transcription() -> None:
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("one two") + silence(300))
    [stale] = transcribes(h)
    stream(h, speech("three") + silence(800))
    assert len(h.of_type("input_audio_buffer.speech_stopped")) == 1
    stale_again, final = transcribes(h)
    assert stale_again is stale
    assert len(final.audio) > len(stale.audio)  # the whole committed turn
    h.run_next()
    h.run_next()
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "one two three"
    h.run_pending()
    assert not h.timings[0].early_transcription


def test_a_failed_draft_is_not_the_turns_transcription() -> None:
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("hello") + silence(250))
    [draft] = transcribes(h)
    h.pending.clear()
    h.feed(TranscriptionResult(draft.work_id, error="the engine failed"))
    stream(h, silence(600))
    [again] = transcribes(h)
    assert again.work_id != draft.work_id
    assert h.of_type("conversation.item.input_audio_transcription.failed") == []
    h.run_next()
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "hello"


def test_a_cleared_buffer_drops_the_draft() -> None:
    h = early_harness(auto_work=False)
    stream(h, silence(300) + speech("hello") + silence(250))
    [draft] = transcribes(h)
    h.send({"type": "input_audio_buffer.clear"})
    h.run_next()
    stream(h, silence(300) + speech("bye") + silence(800))
    [final] = transcribes(h)
    assert final.work_id != draft.work_id
    h.run_next()
    [completed] = h.of_type("conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "bye"


def test_without_early_transcription_nothing_is_transcribed_before_the_turn_ends() -> None:
    h = Harness(auto_work=False)
    h.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 500}}
                },
            },
        }
    )
    stream(h, silence(300) + speech("hello there") + silence(400))
    assert transcribes(h) == []
    stream(h, silence(400))
    assert len(transcribes(h)) == 1


# --- the bookkeeping ----------------------------------------------------------------------------


def paused(at_ms: float) -> TurnEvent:
    return TurnEvent("paused", at_ms, turn_end_ms=at_ms + 340)


def test_drafts_keep_one_in_flight_and_hand_over_only_a_fresh_one() -> None:
    ids = iter(f"work_{i}" for i in range(10))
    drafts = Drafts()
    first = drafts.pause(0.0, paused(1000.0), lambda: next(ids))
    assert first is not None
    drafts.reset()  # speech resumed
    assert drafts.pause(0.0, paused(2000.0), lambda: next(ids)) is None  # waits for the engine
    assert drafts.owns(first.work_id)
    second = drafts.finished(TranscriptionResult(first.work_id, text="one"), lambda: next(ids))
    assert first.result is None  # stale: its result is dropped
    assert second is not None
    assert second.end_ms == 2000.0
    assert drafts.adopt(start_ms=500.0) is None  # another turn's audio
    third = drafts.pause(0.0, paused(3000.0), lambda: next(ids))
    assert third is None  # the second is still running (the failed adopt did not take it)
    fourth = drafts.finished(TranscriptionResult(second.work_id, text="x"), lambda: next(ids))
    assert fourth is not None
    assert drafts.adopt(start_ms=0.0) is fourth
    assert not drafts.owns(fourth.work_id)  # its result is now the turn's
