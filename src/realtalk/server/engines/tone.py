"""A deterministic "speech" codec: text carried in tones, so tests round-trip without ML.

Each word becomes a burst of tones: a marker tone, then two tones per UTF-8 byte (high nibble,
low nibble), each one symbol long (30 ms at speed 1). Words are separated by silence (60 ms at
speed 1); a piece of speech that another may follow ends with that silence too
(``trailing_gap``), so words never run together where pieces join. Durations are exact
functions of the text (:func:`tone_samples`), tones stay between 300 and 3,500 Hz so they
survive resampling to 8 kHz and G.711, and the decoder reads symbols in the middle of each slot
so a few milliseconds of misalignment (resampler filters, fades) do not matter. A burst only
counts if it starts with the marker and every slot holds one clean tone at a steady level, so
real speech, noise and silence decode to nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decode_tones", "encode_tones", "tone_samples"]

SYMBOL_MS = 30.0
GAP_MS = 60.0
AMPLITUDE = 0.25
MARKER_HZ = 300.0
NIBBLE_HZ = tuple(500.0 + 200.0 * k for k in range(16))
_FADE_MS = 2.0
_ACTIVE_RMS = 0.07  # the tones' RMS is 0.177; noise 8 dB below it still reads as silence
_ONSET_LEVEL = 0.1  # first sample of a burst: past the fade-in, above any such noise
_BLOCK_MS = 2.0


def _symbol_len(rate: int, speed: float) -> int:
    return max(1, round(rate * SYMBOL_MS / 1000.0 / speed))


def _gap_len(rate: int, speed: float) -> int:
    return max(1, round(rate * GAP_MS / 1000.0 / speed))


def tone_samples(text: str, rate: int, speed: float = 1.0, *, trailing_gap: bool = False) -> int:
    """The exact number of samples :func:`encode_tones` makes for ``text``."""
    words = text.split()
    if not words:
        return 0
    n_bytes = sum(len(w.encode("utf-8")) for w in words)
    sym = _symbol_len(rate, speed)
    gaps = len(words) - 1 + (1 if trailing_gap else 0)
    return (len(words) + 2 * n_bytes) * sym + gaps * _gap_len(rate, speed)


def _word_frequencies(word: str) -> list[float]:
    freqs = [MARKER_HZ]
    for byte in word.encode("utf-8"):
        freqs += [NIBBLE_HZ[byte >> 4], NIBBLE_HZ[byte & 0x0F]]
    return freqs


def encode_tones(
    text: str,
    rate: int,
    speed: float = 1.0,
    *,
    leading_gap: bool = False,
    trailing_gap: bool = False,
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Float32 samples in [-0.25, 0.25] carrying ``text`` (see the module docstring).

    ``leading_gap`` prepends one word gap, for a sentence that follows another;
    ``trailing_gap`` appends one, for a piece that another may follow.
    """
    sym = _symbol_len(rate, speed)
    gap = np.zeros(_gap_len(rate, speed), dtype=np.float64)
    fade = min(sym // 2, max(1, round(rate * _FADE_MS / 1000.0)))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    pieces: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    for i, word in enumerate(text.split()):
        if i > 0 or leading_gap:
            pieces.append(gap)
        freqs = np.repeat(np.asarray(_word_frequencies(word)), sym)
        # Continuous phase across symbols: no clicks at the frequency changes.
        phase = 2.0 * np.pi * np.cumsum(freqs) / rate
        burst = AMPLITUDE * np.sin(phase)
        burst[:fade] *= ramp
        burst[-fade:] *= ramp[::-1]
        pieces.append(burst)
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    if trailing_gap:
        pieces.append(gap)
    return np.concatenate(pieces).astype(np.float32)


def _bursts(x: np.ndarray[Any, Any], rate: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of sound separated by silence."""
    block = max(1, round(rate * _BLOCK_MS / 1000.0))
    n_blocks = len(x) // block
    if n_blocks == 0:
        return []
    env = np.sqrt(np.mean(x[: n_blocks * block].reshape(n_blocks, block) ** 2, axis=1))
    active = env > _ACTIVE_RMS
    runs: list[tuple[int, int]] = []
    start = None
    for i, on in enumerate(active):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, n_blocks))
    # Merge runs split by a block or two of near-silence inside a burst (quantisation noise).
    merged: list[tuple[int, int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] <= 2:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    # Refine the start to the first sample above the level, so symbol slots line up.
    out = []
    for s, e in merged:
        seg = x[s * block : e * block]
        first = int(np.argmax(np.abs(seg) > _ONSET_LEVEL))
        out.append((s * block + first, min(len(x), e * block)))
    return out


def decode_tones(samples: np.ndarray[Any, Any], rate: int) -> str:
    """Recover the text of :func:`encode_tones` audio; words are joined by single spaces."""
    x = np.asarray(samples, dtype=np.float64)
    words: list[str] = []
    for start, end in _bursts(x, rate):
        word = _decode_burst(x[start:end], rate)
        if word is not None:
            words.append(word)
    return " ".join(words)


_ALL_HZ = np.asarray((MARKER_HZ, *NIBBLE_HZ))
_WINDOW_MS = 10.0
_MIN_SYMBOL_MS = SYMBOL_MS / 1.5 * 0.8  # speed is at most 1.5 (Realtime ``speed`` range)
_MAX_SYMBOL_MS = SYMBOL_MS / 0.25 * 1.25


def _decode_burst(burst: np.ndarray[Any, Any], rate: int) -> str | None:
    """The word in one burst, or ``None`` if the burst is not tone-coded audio.

    The speed (hence the symbol length) is unknown, but a burst is exactly ``1 + 2n`` symbols
    long. Each byte count ``n`` giving a plausible symbol length is tried; the right one is where
    every slot holds one clean tone, the first being the marker. Spectra are computed once on a
    1 ms grid, so trying a candidate is only table look-ups.
    """
    length = len(burst)
    win = max(8, round(rate * _WINDOW_MS / 1000.0))
    hop = max(1, round(rate / 1000.0))
    if length < win:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(burst, win)[::hop]
    t = np.arange(win) / rate
    basis = np.exp(-2j * np.pi * _ALL_HZ[None, :] * t[:, None]) * np.hanning(win)[:, None]
    spectra = np.abs(frames @ basis) ** 2  # (n_frames, 17)
    last = spectra.shape[0] - 1
    best: tuple[float, list[int]] | None = None
    for n_bytes in range(1, length // 2 + 1):
        n_slots = 1 + 2 * n_bytes
        sym = length / n_slots
        sym_ms = sym * 1000.0 / rate
        if sym_ms > _MAX_SYMBOL_MS:
            continue
        if sym_ms < _MIN_SYMBOL_MS:
            break
        # Three analysis windows inside each slot, centred at 30 %, 50 % and 70 % of it.
        centres = (np.arange(n_slots)[:, None] + np.array([0.3, 0.5, 0.7])[None, :]) * sym
        idx = np.clip(np.rint((centres - win / 2) / hop).astype(int), 0, last)
        power = spectra[idx].sum(axis=1)  # (n_slots, 17)
        symbols = np.argmax(power, axis=1)
        if symbols[0] != 0 or np.any(symbols[1:] == 0):
            continue
        top = power.max(axis=1)
        purity = top / np.maximum(power.sum(axis=1), 1e-30)
        # Tone slots are one clean tone each (purity near 1) at a constant level; speech that
        # happens to fit the frame is neither (measured: purity 0.56-0.68, level ratio 0.1).
        if purity.min() < 0.8 or top.min() < 0.5 * top.max():
            continue
        score = float(purity.mean())
        if best is None or score > best[0]:
            best = (score, [int(s) - 1 for s in symbols[1:]])
    if best is None:
        return None
    nibbles = best[1]
    data = bytes((hi << 4) | lo for hi, lo in zip(nibbles[0::2], nibbles[1::2], strict=True))
    return data.decode("utf-8", errors="replace")
