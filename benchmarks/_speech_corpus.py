"""Real human speech for the turn-latency benchmark, from a package on PyPI.

Provenance: the source distribution of ``pocketsphinx`` 5.1.1 on PyPI (CMU Sphinx, BSD-2-Clause
licence for the package) carries its test recordings under ``test/data``:

* ``librivox/``: five consecutive sentences of *Sense and Sensibility* (Jane Austen, chapter 1)
  read by a LibriVox volunteer; LibriVox recordings are in the public domain. 16 kHz mono, with
  transcripts.
* ``cards/``: five short phrases naming playing cards ("eight of spades four of clubs seven of
  hearts"), a human speaker recorded for CMU Sphinx's grammar tests, with a transcription file;
  covered by the package's BSD-2-Clause licence.

The sdist is fetched with pip itself (``pip download --no-deps --no-binary :all:``, the ordinary
client of the registry), checked against its sha256 and unpacked once into a cache directory
(``$REALTALK_BENCH_CACHE`` or ``~/.cache/realtalk-bench``); only those two folders and the
licence are kept. Nothing comes from a model hub or any other site.

The phrase groups (:data:`GROUPS`) cut sentences at word boundaries (the sdist's own LibriVox
alignments) or join a sentence to the next, with inner pauses of 0.4-0.9 s, as a person pauses
mid-thought; a pause is filled with the recording's own background (its quietest stretch), not
digital silence, so the VAD hears a room. The end of speech of a group is taken from the audio's
energy.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtalk.audio import read_wav

__all__ = ["Group", "corpus_dir", "load_groups", "speech_bounds_ms"]

SDIST = "pocketsphinx==5.1.1"
SDIST_FILE = "pocketsphinx-5.1.1.tar.gz"
SDIST_SHA256 = "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"
PROVENANCE = (
    "human speech: LibriVox reading of Sense and Sensibility (public domain) and CMU Sphinx's "
    "cards phrases (BSD-2-Clause), from the pocketsphinx 5.1.1 sdist on PyPI"
)
RATE = 16000

# A group is pieces of recordings (name, from s, to s; None: the recording's speech bounds)
# with a pause (ms, 0.4-0.9 s, deterministic) after each piece but the last. Most cut one
# sentence at word boundaries (LibriVox alignments in the sdist's .json files): a pause in the
# middle of a thought, where answering is a cut-off. Two go on with the next sentence ("...
# young man. Unless ..."), and one lists cards, as a caller reading items out would.
_L = "librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
Piece = tuple[str, float | None, float | None]
GROUPS: tuple[tuple[tuple[Piece, ...], tuple[int, ...]], ...] = (
    (
        (
            (_L.format("0870"), None, 1.58),
            (_L.format("0870"), 1.58, 3.44),
            (_L.format("0870"), 3.44, 5.46),
            (_L.format("0870"), 5.46, None),
        ),
        (600, 450, 800),
    ),
    (((_L.format("0880"), None, 1.06), (_L.format("0880"), 1.06, None)), (700,)),
    (
        (
            (_L.format("0890"), None, 2.22),
            (_L.format("0890"), 2.22, 3.59),
            (_L.format("0890"), 3.59, None),
        ),
        (500, 850),
    ),
    (
        (
            (_L.format("0920"), None, 2.49),
            (_L.format("0920"), 2.49, 5.0),
            (_L.format("0920"), 5.0, None),
        ),
        (900, 400),
    ),
    (((_L.format("0930"), None, 1.70), (_L.format("0930"), 1.70, None)), (650,)),
    (((_L.format("0880"), None, None), (_L.format("0890"), None, None)), (550,)),
    (((_L.format("0920"), None, None), (_L.format("0930"), None, None)), (750,)),
    ((("cards/002.wav", None, None), ("cards/005.wav", None, None)), (450,)),
)


class CorpusUnavailable(RuntimeError):
    """The recordings could not be had (no network to PyPI, pip failed, a bad checksum)."""


def _cache_root() -> Path:
    base = os.environ.get("REALTALK_BENCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "realtalk-bench"


def corpus_dir() -> Path:
    """The unpacked ``test/data`` folder of the sdist (fetched and checked on first use)."""
    root = _cache_root() / "pocketsphinx-5.1.1"
    done = root / ".complete"
    if done.is_file():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        proc = subprocess.run(
            [*cmd, "-q", "-d", tmp, SDIST], capture_output=True, text=True, timeout=600
        )
        sdist = Path(tmp) / SDIST_FILE
        if proc.returncode != 0 or not sdist.is_file():
            raise CorpusUnavailable(f"pip download {SDIST} failed: {proc.stderr.strip()[-300:]}")
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            raise CorpusUnavailable(f"{SDIST_FILE} has sha256 {digest}, expected {SDIST_SHA256}")
        keep = ("test/data/librivox/", "test/data/cards/", "LICENSE")
        with tarfile.open(sdist) as tar:
            members = []
            for member in tar.getmembers():
                inner = member.name.partition("/")[2]
                if member.isfile() and inner.startswith(keep):
                    member.name = inner.removeprefix("test/data/")
                    members.append(member)
            root.mkdir(parents=True, exist_ok=True)
            tar.extractall(root, members=members, filter="data")
    done.write_text(SDIST_SHA256 + "\n")
    return root


@dataclass(frozen=True)
class Recording:
    pcm16: bytes
    start_ms: float
    """Its first speech frame (by energy)."""
    end_ms: float
    """The end of its last speech frame (by energy)."""
    background: bytes
    """Its quietest 200 ms, to fill pauses with the same room."""


@dataclass(frozen=True)
class Group:
    """One user turn: utterances joined by inner pauses, then the turn's end."""

    name: str
    pcm16: bytes
    speech_end_ms: float
    """The end of the last speech frame, by energy."""
    pauses_ms: tuple[int, ...]
    background: bytes
    aligned_end_ms: float | None = None
    """The end of the last word by the sdist's forced alignment (LibriVox pieces only): a
    ground truth for the end of speech that does not come from the energy."""


def _frame_levels(samples: np.ndarray, frame: int) -> np.ndarray:
    n = len(samples) // frame
    frames = samples[: n * frame].astype(np.float64).reshape(n, frame) / 32768.0
    return 10.0 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-12))


def speech_bounds_ms(pcm16: bytes, rate: int = RATE) -> tuple[float, float]:
    """First and last 10 ms frame of speech by energy: (start, end) in ms.

    A frame is speech when it is 12 dB above the noise floor (the 10th percentile of the frame
    levels) and within 35 dB of the loudest frame.
    """
    samples = np.frombuffer(pcm16, dtype="<i2")
    frame = rate // 100
    levels = _frame_levels(samples, frame)
    floor = float(np.percentile(levels, 10))
    loud = np.nonzero(levels >= max(levels.max() - 35.0, floor + 12.0))[0]
    if len(loud) == 0:
        return 0.0, 0.0
    return float(loud[0] * 10), float((loud[-1] + 1) * 10)


def _recording(root: Path, name: str) -> Recording:
    pcm, rate = read_wav(root / name)
    if rate != RATE:
        raise CorpusUnavailable(f"{name} is {rate} Hz, expected {RATE}")
    start_ms, end_ms = speech_bounds_ms(pcm)
    frame = RATE // 100
    levels = _frame_levels(np.frombuffer(pcm, dtype="<i2"), frame)
    # The quietest 200 ms window (20 frames) of the recording is its room noise.
    window = 20
    sums = np.convolve(levels, np.ones(window), mode="valid")
    quiet = int(np.argmin(sums)) * frame * 2
    return Recording(pcm, start_ms, end_ms, pcm[quiet : quiet + window * frame * 2])


def _piece(recording: Recording, from_s: float | None, to_s: float | None) -> bytes:
    bps = RATE * 2 // 1000
    start = recording.start_ms if from_s is None else from_s * 1000
    end = recording.end_ms if to_s is None else to_s * 1000
    samples = np.frombuffer(recording.pcm16[int(start) * bps : int(end) * bps], dtype="<i2")
    # 5 ms fades: a cut between two words must not click (a click is "speech" to a VAD).
    fade = min(len(samples) // 2, RATE // 200)
    ramp = np.linspace(0.0, 1.0, fade) if fade else np.zeros(0)
    out = samples.astype(np.float64)
    if fade:
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out.astype("<i2").tobytes()


def _fill(background: bytes, ms: float) -> bytes:
    need = int(ms) * RATE * 2 // 1000
    reps = need // max(1, len(background)) + 1
    return (background * reps)[:need]


def load_groups() -> list[Group]:
    """The phrase groups, built from the cached recordings."""
    root = corpus_dir()
    recordings: dict[str, Recording] = {}
    groups = []
    for pieces, pauses in GROUPS:
        pcm = b""
        aligned: float | None = None
        for i, (name, from_s, to_s) in enumerate(pieces):
            if name not in recordings:
                recordings[name] = _recording(root, name)
            words = _word_end_ms(root, name, recordings[name], from_s, to_s)
            aligned = None if words is None else len(pcm) / (RATE * 2 / 1000) + words
            pcm += _piece(recordings[name], from_s, to_s)
            if i < len(pauses):
                pcm += _fill(recordings[pieces[0][0]].background, pauses[i])
        names = dict.fromkeys(Path(name).stem.rsplit("-", 1)[-1] for name, _, _ in pieces)
        label = " + ".join(names) + f" ({len(pieces)} pieces)"
        _, end_ms = speech_bounds_ms(pcm)
        background = recordings[pieces[0][0]].background
        groups.append(Group(label, pcm, end_ms, pauses, background, aligned))
    return groups


def _word_end_ms(
    root: Path, name: str, recording: Recording, from_s: float | None, to_s: float | None
) -> float | None:
    """Where the last aligned word of a piece ends, from the piece's start (None: no
    alignment, as for the cards)."""
    path = root / name.replace(".wav", ".json")
    if not path.exists():
        return None
    start = recording.start_ms if from_s is None else from_s * 1000
    end = recording.end_ms if to_s is None else to_s * 1000
    words = [w for w in json.loads(path.read_text())["w"] if not w["t"].startswith("<")]
    ends = [(w["b"] + w["d"]) * 1000 for w in words if w["b"] * 1000 < end]
    return (min(max(ends), end) - start) if ends else None


def background_fill(group: Group, ms: float) -> bytes:
    """``ms`` of the group's room noise (the live silence after the turn)."""
    return _fill(group.background, ms)
