"""Whisper's decoder on its own single-threaded copy of the model (speech extra): the split
changes where the work runs, never the words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wer import word_error_rate

pytestmark = pytest.mark.speech


def test_the_decoder_gets_one_thread_by_default_and_the_same_words(
    whisper: Any, make_whisper: Any, speech_fixture: tuple[bytes, dict[str, Any]]
) -> None:
    pcm, meta = speech_fixture
    assert whisper.decode_threads == 1  # the default: encoder on 2 threads, decoder on 1
    unsplit = make_whisper(decode_threads=2)
    assert unsplit.decode_threads == 2
    for audio in (pcm, pcm + bytes(16000), pcm[: len(pcm) // 4 * 2]):
        assert whisper.transcribe(audio).text == unsplit.transcribe(audio).text
    assert word_error_rate(meta["text"], whisper.transcribe(pcm).text) <= 0.2
    assert whisper.transcribe(bytes(32000)).text == ""  # silence stays silent


def test_one_thread_in_all_needs_no_copy(make_whisper: Any) -> None:
    single = make_whisper(cpu_threads=1)
    assert single.decode_threads == 1
    assert type(single._model.model).__name__ == "Whisper"  # CTranslate2's own, unwrapped


@pytest.mark.parametrize("bad", [0, -1])
def test_a_decoder_without_a_thread_is_refused_at_the_call(bad: int) -> None:
    from realtalk.server.engines import WhisperTranscriber

    with pytest.raises(ValueError, match="decode_threads must be at least 1"):
        WhisperTranscriber(decode_threads=bad)


@pytest.mark.parametrize("bad", [1.5, True, "1"])
def test_a_thread_count_that_is_not_an_int_is_refused(bad: object) -> None:
    from realtalk.server.engines import WhisperTranscriber

    with pytest.raises(TypeError, match="decode_threads must be an int"):
        WhisperTranscriber(decode_threads=bad)  # type: ignore[arg-type]
