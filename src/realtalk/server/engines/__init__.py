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

Imports are lazy (PEP 562): the server's pure core reads the interfaces in :mod:`.base`
without loading every engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realtalk._namespace import lazy_getattr

if TYPE_CHECKING:
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

_HOMES = {
    "Action": "realtalk.server.engines.base",
    "Brain": "realtalk.server.engines.base",
    "BrainRequest": "realtalk.server.engines.base",
    "CallTool": "realtalk.server.engines.base",
    "EchoBrain": "realtalk.server.engines.brain",
    "EnergyVAD": "realtalk.server.engines.vad",
    "EngineError": "realtalk.server.engines.base",
    "EngineMissing": "realtalk.server.engines.base",
    "EngineSpec": "realtalk.server.engines.registry",
    "Engines": "realtalk.server.engines.registry",
    "OpenAIChatBrain": "realtalk.server.engines.openai_chat",
    "PiperSynthesizer": "realtalk.server.engines.synthesize",
    "Say": "realtalk.server.engines.base",
    "ScriptBrain": "realtalk.server.engines.brain",
    "ScriptedTranscriber": "realtalk.server.engines.transcribe",
    "SentenceBuffer": "realtalk.server.engines.synthesize",
    "SileroVAD": "realtalk.server.engines.vad",
    "Synthesizer": "realtalk.server.engines.base",
    "ToneSynthesizer": "realtalk.server.engines.synthesize",
    "ToneTranscriber": "realtalk.server.engines.transcribe",
    "Transcriber": "realtalk.server.engines.base",
    "Transcript": "realtalk.server.engines.base",
    "UnavailableTranscriber": "realtalk.server.engines.transcribe",
    "VAD": "realtalk.server.engines.base",
    "WhisperTranscriber": "realtalk.server.engines.transcribe",
    "load_engines": "realtalk.server.engines.registry",
    "speech_extra_installed": "realtalk.server.engines.registry",
    "split_sentences": "realtalk.server.engines.synthesize",
    "synthesize_as": "realtalk.server.engines.synthesize",
}


__getattr__ = lazy_getattr(__name__, _HOMES, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
