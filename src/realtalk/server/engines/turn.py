"""End-of-turn models: at a short pause, does the speaker sound finished?

``semantic_vad`` asks one of these at each pause (protocol.md §3: "a model judges whether the user
has finished"); the answer is a probability that the turn is complete, compared with the
eagerness' threshold (:data:`realtalk.server.core.settings.END_OF_TURN_THRESHOLD`).

:class:`SmartTurn` runs the smart-turn v3.2 CPU model (an 8 MB ONNX audio classifier on Whisper
log-mel features, BSD-2-Clause) that ships inside the ``pipecat-ai`` wheel on PyPI, under
``pipecat/audio/turn/smart_turn/data/``: the file is read in place, ``pipecat`` itself is never
imported, and nothing is downloaded. The features come from faster-whisper's own log-mel
extractor (the speech extra), over the last 8 s of the turn, zero-padded in front.

Threading: like a transcriber, :meth:`EndOfTurnModel.probability` is blocking (~50-80 ms on
this 2-core machine) and runs in a worker thread; one instance is shared by every session.
"""

from __future__ import annotations

import abc
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from realtalk.errors import EngineUnavailable

__all__ = ["EndOfTurnModel", "ScriptedEndOfTurn", "SmartTurn", "smart_turn_model_path"]

TURN_EXTRA = "pip install 'realtalk[turn]'"
SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"


class EndOfTurnModel(abc.ABC):
    """Judges 16 kHz PCM16 mono audio that ends at a pause: P(the turn is complete)."""

    sample_rate: int = 16000

    @abc.abstractmethod
    def probability(self, pcm16: bytes) -> float:
        """Blocking: the probability, in [0, 1], that the speaker has finished."""


class ScriptedEndOfTurn(EndOfTurnModel):
    """Deterministic judgements for tests: each call returns the next probability (the last
    one repeats), and the audio of every call is kept in :attr:`heard`."""

    def __init__(self, probabilities: tuple[float, ...] = (1.0,)) -> None:
        self._probabilities = probabilities or (1.0,)
        self._next = 0
        self.heard: list[bytes] = []

    def probability(self, pcm16: bytes) -> float:
        self.heard.append(pcm16)
        value = self._probabilities[min(self._next, len(self._probabilities) - 1)]
        self._next += 1
        return value

    def __repr__(self) -> str:
        return f"ScriptedEndOfTurn({self._probabilities})"


def smart_turn_model_path() -> Path:
    """Where the pipecat-ai wheel keeps the smart-turn model (found without importing pipecat,
    whose import pulls in its whole framework)."""
    spec = importlib.util.find_spec("pipecat")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"the smart-turn end-of-turn model needs pipecat-ai: {TURN_EXTRA}")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "audio" / "turn" / "smart_turn" / "data" / SMART_TURN_FILE
    if not path.is_file():
        raise EngineUnavailable(
            f"pipecat-ai is installed but has no {SMART_TURN_FILE} at {path}: {TURN_EXTRA}"
        )
    return path


class SmartTurn(EndOfTurnModel):
    """smart-turn v3.2 (CPU, int8) on onnxruntime: 8 s of audio -> P(complete)."""

    WINDOW_S = 8

    def __init__(self, path: str | Path | None = None) -> None:
        try:
            import onnxruntime as ort
            from faster_whisper.feature_extractor import FeatureExtractor
        except ImportError as exc:
            raise EngineUnavailable(
                f"the smart-turn model needs onnxruntime and faster-whisper: "
                f"pip install 'realtalk[speech,turn]' ({exc})"
            ) from exc
        model = Path(path) if path is not None else smart_turn_model_path()
        opts = ort.SessionOptions()
        # One thread: the server runs other sessions' engines on the other core.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._features = FeatureExtractor(feature_size=80, chunk_length=self.WINDOW_S)
        self._lock = threading.Lock()

    def probability(self, pcm16: bytes) -> float:
        n = self.WINDOW_S * self.sample_rate
        samples = np.frombuffer(
            pcm16[len(pcm16) - 2 * n :] if len(pcm16) > 2 * n else pcm16, dtype="<i2"
        )
        audio = np.zeros(n, dtype=np.float32)
        audio[n - len(samples) :] = samples.astype(np.float32) / np.float32(32768.0)
        # The model was trained on zero-mean, unit-variance audio (Whisper's do_normalize).
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        # 8 s at a 160-sample hop is exactly the model's 800 frames without end padding.
        features: Any = self._features(audio, padding=0)[None, :, :].astype(np.float32)
        with self._lock:
            (out,) = self._session.run(None, {"input_features": features})
        value = float(np.asarray(out).reshape(-1)[0])
        return min(1.0, max(0.0, value)) if value == value else 0.0

    def __repr__(self) -> str:
        return "SmartTurn(v3.2-cpu)"
