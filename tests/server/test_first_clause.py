"""A reply's first clause is synthesised on its own, so its audio starts sooner."""

from __future__ import annotations

import base64

import pytest

from realtalk.server.core.codec import duration_ms
from realtalk.server.core.work import BrainDone, BrainStep, SynthesisResult, Synthesize, Think
from realtalk.server.engines.base import Say
from realtalk.server.engines.synthesize import SentenceBuffer, ToneSynthesizer
from tests.server.harness import Harness, user_text

SYNTH = ToneSynthesizer()


def pieces(deltas: list[str]) -> list[str]:
    buffer = SentenceBuffer(first_clause=True)
    out = [piece for delta in deltas for piece in buffer.push(delta)]
    rest = buffer.flush()
    return out + ([rest] if rest else [])


@pytest.mark.parametrize(
    ("deltas", "expected"),
    [
        (["Sure, I can help. What day?"], ["Sure,", "I can help.", "What day?"]),
        (["Su", "re,", " I can", " help. ", "What day?"], ["Sure,", "I can help.", "What day?"]),
        (["Yes. Well, maybe."], ["Yes.", "Well, maybe."]),  # a sentence came first
        (["It is 1,000 km away, roughly."], ["It is 1,000 km away,", "roughly."]),
        (["Note: it is 10:30 now."], ["Note:", "it is 10:30 now."]),
        (["Hello, there, you. And, then."], ["Hello,", "there, you.", "And, then."]),
        (["Just one sentence."], ["Just one sentence."]),
    ],
)
def test_the_first_piece_ends_at_the_first_clause(deltas: list[str], expected: list[str]) -> None:
    assert pieces(deltas) == expected


def test_without_first_clause_pieces_are_whole_sentences() -> None:
    buffer = SentenceBuffer()
    assert buffer.push("Sure, I can help. What") == ["Sure, I can help."]


def test_a_clause_waits_for_the_whitespace_that_proves_it() -> None:
    buffer = SentenceBuffer(first_clause=True)
    assert buffer.push("It costs 1,") == []  # "1,000" or "1, then"?
    assert buffer.push("000 euros, or") == ["It costs 1,000 euros,"]


def test_a_reply_speaks_its_first_clause_first_with_the_same_transcript_and_duration() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    think = h.pending.pop(0)
    assert isinstance(think, Think)
    text = "Hello, how are you today? Fine."
    h.feed(BrainStep(think.work_id, Say(text)))
    h.feed(BrainDone(think.work_id))
    h.run_pending()
    [done] = h.of_type("response.done")
    [content] = done["response"]["output"][0]["content"]
    assert content["transcript"] == text
    deltas = h.of_type("response.output_audio_transcript.delta")
    assert [d["delta"] for d in deltas] == ["Hello,", " how are you today?", " Fine."]
    audio = b"".join(base64.b64decode(e["delta"]) for e in h.of_type("response.output_audio.delta"))
    expected = sum(SYNTH.duration_ms(s) for s in ("Hello,", "how are you today?", "Fine."))
    assert abs(duration_ms(len(audio), "pcm16") - expected) < 0.1


def test_the_first_synthesis_asked_is_the_first_clause() -> None:
    h = Harness(auto_work=False)
    h.send(user_text("hi"))
    h.send({"type": "response.create"})
    think = h.pending.pop(0)
    h.feed(BrainStep(think.work_id, Say("Well, let me think about that for a")))
    [synth] = h.pending  # asked before the sentence is complete
    assert isinstance(synth, Synthesize)
    assert synth.text == "Well,"
    h.pending.clear()
    h.feed(SynthesisResult(synth.work_id, audio=b"\x00\x01" * 240))
    h.feed(BrainStep(think.work_id, Say(" moment. Done.")))
    [second] = h.pending
    assert isinstance(second, Synthesize)
    assert second.text == "let me think about that for a moment."
