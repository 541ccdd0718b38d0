"""The local server's engines: voice activity detection, transcription, synthesis, the brain.

The interfaces (:class:`VAD`, :class:`Transcriber`, :class:`Synthesizer`, :class:`Brain`) are small
and stable; :func:`load_engines` picks implementations by name at start-up. Importing this package
loads no model and needs no optional dependency: real engines import their libraries when built.

==============  ==========================================  ==================================
role            real engine (``realtalk[speech]`` extra)    deterministic engine (always)
==============  ==========================================  ==================================
VAD             ``SileroVAD`` (ONNX from faster-whisper)    ``EnergyVAD``
transcription   ``WhisperTranscriber`` (tiny.en)            ``ToneTranscriber``,
                                                            ``ScriptedTranscriber``
synthesis       ``PiperSynthesizer`` (joe, GPL-3)           ``ToneSynthesizer``
brain           ``OpenAIChatBrain`` (any chat endpoint)     ``ScriptBrain``, ``EchoBrain``
==============  ==========================================  ==================================
"""

from __future__ import annotations

from realtalk.server.engines.base import (
    VAD,
    Action,
    Brain,
    BrainRequest,
    CallTool,
    EngineError,
    EngineMissing,
    Say,
    Synthesizer,
    Transcriber,
    Transcript,
)
from realtalk.server.engines.brain import EchoBrain, ScriptBrain
from realtalk.server.engines.openai_chat import OpenAIChatBrain
from realtalk.server.engines.registry import (
    Engines,
    EngineSpec,
    load_engines,
    speech_extra_installed,
)
from realtalk.server.engines.synthesize import (
    PiperSynthesizer,
    SentenceBuffer,
    ToneSynthesizer,
    split_sentences,
    synthesize_as,
)
from realtalk.server.engines.transcribe import (
    ScriptedTranscriber,
    ToneTranscriber,
    UnavailableTranscriber,
    WhisperTranscriber,
)
from realtalk.server.engines.vad import EnergyVAD, SileroVAD

__all__ = [
    "VAD",
    "Action",
    "Brain",
    "BrainRequest",
    "CallTool",
    "EchoBrain",
    "EnergyVAD",
    "EngineError",
    "EngineMissing",
    "EngineSpec",
    "Engines",
    "OpenAIChatBrain",
    "PiperSynthesizer",
    "Say",
    "ScriptBrain",
    "ScriptedTranscriber",
    "SentenceBuffer",
    "SileroVAD",
    "Synthesizer",
    "ToneSynthesizer",
    "ToneTranscriber",
    "Transcriber",
    "Transcript",
    "UnavailableTranscriber",
    "WhisperTranscriber",
    "load_engines",
    "speech_extra_installed",
    "split_sentences",
    "synthesize_as",
]
