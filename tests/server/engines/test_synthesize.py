"""Sentence streaming helpers and synthesis straight into the wire formats."""

from __future__ import annotations

import pytest

from realtalk import audio
from realtalk.config import AudioFormat
from realtalk.server.engines import (
    SentenceBuffer,
    ToneSynthesizer,
    ToneTranscriber,
    split_sentences,
    synthesize_as,
)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello there. How are you?", ["Hello there.", "How are you?"]),
        ("Wait... what?! Really.", ["Wait...", "what?!", "Really."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Line one\nLine two", ["Line one", "Line two"]),
        ("3.14 is pi. e.g. this", ["3.14 is pi.", "e.g. this"]),
        ("  ", []),
        ("no end", ["no end"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_sentence_buffer_releases_sentences_as_deltas_complete_them() -> None:
    buf = SentenceBuffer()
    got: list[str] = []
    for delta in ["Sure", ", I can", " help. Let", " me check", "! One", " moment"]:
        got += buf.push(delta)
    assert got == ["Sure, I can help.", "Let me check!"]
    assert buf.flush() == "One moment"
    assert buf.flush() is None


def test_sentence_buffer_waits_for_the_space_after_a_full_stop() -> None:
    buf = SentenceBuffer()
    assert buf.push("It costs 3.") == []  # could be 3.50
    assert buf.push("50 dollars. OK") == ["It costs 3.50 dollars."]


@pytest.mark.parametrize(
    ("fmt", "width"),
    [
        (AudioFormat.pcm16(), 2),
        (AudioFormat.pcmu(), 1),
        (AudioFormat.pcma(), 1),
        (AudioFormat.pcm16(16000), 2),
    ],
)
def test_synthesize_as_gives_exact_durations_in_each_format(fmt: AudioFormat, width: int) -> None:
    synth = ToneSynthesizer(24000)
    text = "First sentence here. And the second one."
    out = b"".join(synthesize_as(synth, text, fmt))
    # Durations are what clients truncate by: they must match the synthesized audio exactly.
    assert len(out) // width == round(synth.samples(text) * fmt.rate / 24000)
    assert audio.duration_ms(len(out), fmt) == pytest.approx(synth.duration_ms(text), abs=0.2)
    heard = audio.convert(out, fmt, 16000)
    assert ToneTranscriber().transcribe(heard).text == text


def test_synthesize_as_streams_more_than_one_chunk() -> None:
    chunks = list(synthesize_as(ToneSynthesizer(), "One. Two. Three.", AudioFormat.pcmu()))
    assert len(chunks) >= 3
