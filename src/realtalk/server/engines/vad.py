"""Voice activity detectors: Silero (ONNX, from the faster-whisper wheel) and an energy VAD.

Both take PCM16 mono at 16 kHz in 32 ms frames (512 samples), so turn timing computed from
frame counts is the same whichever one runs.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from realtalk.errors import EngineUnavailable
from realtalk.server.engines.base import VAD
from realtalk.server.engines.device import onnx_providers

__all__ = ["EnergyVAD", "SileroVAD", "silero_model_path"]

_SPEECH_EXTRA = "install the speech extra: pip install 'realtalk[speech]'"


class _FrameBuffer:
    """Cuts a byte stream into whole frames of ``frame_samples`` int16 samples."""

    def __init__(self, frame_samples: int) -> None:
        self.frame_bytes = frame_samples * 2
        self._pending = bytearray()

    def frames(self, pcm16: bytes) -> np.ndarray[Any, np.dtype[np.float32]]:
        """New complete frames as a float32 array of shape (n, frame_samples)."""
        self._pending += pcm16
        n = len(self._pending) // self.frame_bytes
        if n == 0:
            return np.zeros((0, self.frame_bytes // 2), dtype=np.float32)
        cut = n * self.frame_bytes
        raw = bytes(self._pending[:cut])
        del self._pending[:cut]
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        return samples.reshape(n, -1)

    def clear(self) -> None:
        self._pending.clear()


class EnergyVAD(VAD):
    """A deterministic VAD from frame loudness: no model, no extra dependency.

    The probability is a logistic curve of the frame's RMS level in dBFS, 0.5 at
    ``threshold_dbfs``; ``slope_db`` dB above it gives about 0.73. Any sound louder than the
    threshold counts as speech, so steady noise above it is "speech": use Silero for real rooms.
    """

    def __init__(self, *, threshold_dbfs: float = -40.0, slope_db: float = 3.0) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.slope_db = slope_db
        self._buffer = _FrameBuffer(self.frame_samples)

    def process(self, pcm16: bytes) -> list[float]:
        frames = self._buffer.frames(pcm16)
        if frames.shape[0] == 0:
            return []
        power = np.mean(frames.astype(np.float64) ** 2, axis=1)
        level = 10.0 * np.log10(np.maximum(power, 1e-12))
        z = np.clip((level - self.threshold_dbfs) / self.slope_db, -60.0, 60.0)
        return [float(p) for p in 1.0 / (1.0 + np.exp(-z))]

    def reset(self) -> None:
        self._buffer.clear()

    def __repr__(self) -> str:
        return f"EnergyVAD(threshold_dbfs={self.threshold_dbfs})"


def silero_model_path() -> Path:
    """Where the faster-whisper wheel keeps its Silero VAD model (without importing it)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or spec.origin is None:
        raise EngineUnavailable(f"the Silero VAD needs faster-whisper: {_SPEECH_EXTRA}")
    path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise EngineUnavailable(
            f"faster-whisper is installed but has no Silero model at {path}: "
            "reinstall it (pip install --force-reinstall 'faster-whisper>=1.1,<2')"
        )
    return path


class SileroVAD(VAD):
    """Silero VAD v6 on onnxruntime, streaming one 32 ms frame at a time.

    The model reads each 512-sample frame together with the 64 samples before it and carries an
    LSTM state (``h``, ``c``) between frames; both are kept per instance, while the ONNX session
    (1.2 MB, loaded once) is shared by every instance made with :meth:`shared`.
    """

    _CONTEXT = 64
    _session_lock = threading.Lock()
    _shared_session: Any = None
    _shared_device = "cpu"

    def __init__(self, session: Any = None) -> None:
        self._session = session if session is not None else self.load_session()
        self._buffer = _FrameBuffer(self.frame_samples)
        self._h: np.ndarray[Any, np.dtype[np.float32]] = np.zeros((1, 1, 128), dtype=np.float32)
        self._c: np.ndarray[Any, np.dtype[np.float32]] = np.zeros((1, 1, 128), dtype=np.float32)
        self._context: np.ndarray[Any, np.dtype[np.float32]] = np.zeros(
            self._CONTEXT, dtype=np.float32
        )

    @classmethod
    def load_session(cls, path: str | Path | None = None, device: str = "cpu") -> Any:
        """An onnxruntime session for the model (one thread: frames are tiny), on ``device``
        (``cuda``: onnxruntime's CUDA provider first, the CPU behind it)."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EngineUnavailable(f"the Silero VAD needs onnxruntime: {_SPEECH_EXTRA}") from exc
        model = Path(path) if path is not None else silero_model_path()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(str(model), sess_options=opts, providers=onnx_providers(device))

    @classmethod
    def shared(cls, device: str = "cpu") -> SileroVAD:
        """A new detector sharing the process-wide model session (on ``device``)."""
        with cls._session_lock:
            if cls._shared_session is None or cls._shared_device != device:
                cls._shared_session = cls.load_session(device=device)
                cls._shared_device = device
            session = cls._shared_session
        return cls(session)

    def process(self, pcm16: bytes) -> list[float]:
        frames = self._buffer.frames(pcm16)
        n = frames.shape[0]
        if n == 0:
            return []
        # Each row is [64 samples of context | 512 new samples]; the context of row i is the
        # tail of row i-1, and of row 0 the tail of the previous call.
        tails = np.concatenate([self._context[None, :], frames[:-1, -self._CONTEXT :]], axis=0)
        rows = np.concatenate([tails, frames], axis=1).astype(np.float32)
        probs, self._h, self._c = self._session.run(
            None, {"input": rows, "h": self._h, "c": self._c}
        )
        self._context = frames[-1, -self._CONTEXT :].copy()
        return [float(p) if math.isfinite(p) else 0.0 for p in np.asarray(probs).reshape(-1)]

    def reset(self) -> None:
        self._buffer.clear()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self._CONTEXT, dtype=np.float32)

    def __repr__(self) -> str:
        return "SileroVAD(v6)"
