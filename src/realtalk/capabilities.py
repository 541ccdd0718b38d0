"""Capability facts: the one copy of every voice list, model list, range and field-support fact.

Two readers, no second copy anywhere:

* the client's capability tables (:mod:`realtalk.dialects.rules`), which turn a bad config
  into a :class:`~realtalk.errors.ConfigError` at the call;
* the local server's wire shapes (:mod:`realtalk.server.wire.shapes`), which reject a bad
  ``session.update`` the way the provider would.

``tests/test_capability_agreement.py`` generates session updates for every provider and checks
that both readers accept exactly the same ones. Every fact comes from
``/work/shared/reference/protocol.md`` (section numbers below); where it is silent the safe
choice is made and the comment says so.

Pure data: standard library only, and no other realtalk module (so both sides can read it
without an import between them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "AZURE_GA",
    "AZURE_PREVIEW",
    "BETA",
    "BETA_AUDIO_FORMATS",
    "BETA_MODALITIES",
    "BETA_TRANSCRIPTION_FIELDS",
    "BETA_VOICES",
    "DELAY_MODELS",
    "EAGERNESS",
    "G711_RATE",
    "GA_MODALITIES",
    "GA_TRANSCRIPTION_MODELS",
    "GA_VOICES",
    "IDLE_TIMEOUT_MS",
    "INCLUDE_VALUES",
    "ITEM_ID_MAX",
    "KEYWORD_MODELS",
    "MAX_OUTPUT_TOKENS",
    "METADATA_KEY_MAX",
    "METADATA_PAIRS_MAX",
    "METADATA_VALUE_MAX",
    "NOISE_REDUCTION_STRENGTH",
    "NOISE_REDUCTION_TYPES",
    "NO_PROMPT_MODELS",
    "NO_TURN_DETECTION_MODELS",
    "OPENAI_GA",
    "PCM_RATE",
    "POST_INSTRUCTIONS_TOKENS",
    "PREFIX_PADDING_MS",
    "PROVIDERS",
    "REASONING_EFFORTS",
    "RETENTION_RATIO",
    "SEMANTIC_VAD_FIELDS",
    "SERVER_VAD_FIELDS",
    "SILENCE_DURATION_MS",
    "SPEED",
    "TEMPERATURE",
    "TOOL_CHOICE_MODES",
    "TOOL_DESCRIPTION_MAX",
    "TOOL_NAME_PATTERN",
    "TRANSCRIPTION_DELAYS",
    "TURN_DETECTION_TYPES",
    "VAD_THRESHOLD",
    "Policy",
    "ProviderFacts",
    "Range",
    "Support",
]


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive numeric range; ``None`` is an open end."""

    low: float | None = None
    high: float | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def text(self) -> str:
        """The range in words, for error messages (``0.25 to 1.5``)."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return "any number"


# -- audio (protocol.md 5) --------------------------------------------------------------------

PCM_RATE = 24000
"""GA: "Only a 24kHz sample rate is supported"; beta ``pcm16`` is 24 kHz by definition."""
G711_RATE = 8000
"""G.711 is 8 kHz mono by telephony convention (protocol.md 5: OpenAI and Azure are silent)."""
BETA_AUDIO_FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")

# -- modalities (protocol.md 4) ---------------------------------------------------------------

GA_MODALITIES: tuple[tuple[str, ...], ...] = (("text",), ("audio",))
"""GA ``output_modalities``: never both (``["audio"]`` is audio plus its transcript)."""
BETA_MODALITIES: tuple[tuple[str, ...], ...] = (("text",), ("audio", "text"))
"""Beta / Azure preview ``modalities``: any order; ``["audio"]`` alone is rejected."""

# -- voices (protocol.md 2.1, 2.3, 2.4, 8 #14) ------------------------------------------------

GA_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
"""GA built-in voices. A custom voice is an object ``{"id": "voice_..."}`` (SDK docstring), so a
voice *string* outside this list is rejected on every provider: the SDK types "any string", but
the services reject a voice they do not have and the whole update fails with it (protocol.md
2.6, atomicity). Strict is the safe choice on both sides."""
BETA_VOICES = GA_VOICES[:8]
"""The beta SDK type and Azure's preview reference list 8 (no marin, cedar)."""

# -- transcription (protocol.md 2.1, 2.3, 2.4) ------------------------------------------------

GA_TRANSCRIPTION_MODELS = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-realtime-whisper",
)
BETA_TRANSCRIPTION_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""protocol.md 2.3: the beta ``input_audio_transcription.model`` lists these three. The newer
GA models (``gpt-transcribe``, ``gpt-realtime-whisper``...) came after the beta shape retired."""
AZURE_PREVIEW_TRANSCRIPTION_MODELS = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-4o-mini-transcribe-2025-12-15",
)
"""protocol.md 2.4: the Azure preview reference's list."""
BETA_TRANSCRIPTION_FIELDS = ("model", "language", "prompt")
"""The beta shape's ``input_audio_transcription`` takes these only (protocol.md 2.3)."""
KEYWORD_MODELS = frozenset({"gpt-transcribe", "gpt-live-transcribe"})
"""``languages`` and ``keywords`` work with these models only (GA SDK docstrings)."""
DELAY_MODELS = frozenset({"gpt-realtime-whisper"})
"""``delay`` works with this model only."""
NO_PROMPT_MODELS = frozenset({"gpt-realtime-whisper"})
"""``prompt`` is not supported with these models."""
NO_TURN_DETECTION_MODELS = frozenset({"gpt-realtime-whisper", "gpt-live-transcribe"})
"""These reject ``turn_detection`` (it must be ``null``) and send no ``speech_started`` /
``speech_stopped``: the client commits the buffer itself (protocol.md 2.2, 3, 11.4)."""
TRANSCRIPTION_DELAYS = ("minimal", "low", "medium", "high", "xhigh")

# -- turn detection (protocol.md 3) -----------------------------------------------------------

TURN_DETECTION_TYPES = ("server_vad", "semantic_vad")
SERVER_VAD_FIELDS = (
    "threshold",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
    "create_response",
    "interrupt_response",
)
SEMANTIC_VAD_FIELDS = ("eagerness", "create_response", "interrupt_response")
"""The two types take disjoint knobs (besides the two flags): a knob of the other type fails
the whole update (``Unknown parameter: 'session.audio.input.turn_detection.threshold'``)."""
VAD_THRESHOLD = Range(0.0, 1.0)
PREFIX_PADDING_MS = Range(0)
SILENCE_DURATION_MS = Range(0)
IDLE_TIMEOUT_MS = Range(5000, 30000)
"""server_vad only, or null."""
EAGERNESS = ("low", "medium", "high", "auto")

# -- the rest of the session (protocol.md 2.1, 2.3) -------------------------------------------

NOISE_REDUCTION_TYPES = ("near_field", "far_field")
NOISE_REDUCTION_STRENGTH = Range(0.0)
"""GA only ("Defaults to 1 when noise reduction is first enabled"); no upper bound is given."""
SPEED = Range(0.25, 1.5)
TEMPERATURE = Range(0.6, 1.2)
"""Beta shape only; GA rejects ``temperature`` as an unknown parameter."""
MAX_OUTPUT_TOKENS = Range(1, 4096)
"""An integer in this range, or the string ``"inf"``."""
TOOL_CHOICE_MODES = ("auto", "none", "required")
TOOL_DESCRIPTION_MAX = 1024
"""``string_above_max_length`` past 1024 characters (protocol.md 7.2)."""
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Function names as the Responses/Chat APIs take them. protocol.md is silent for Realtime, so
both sides enforce the documented function-name rule (the safe choice)."""
ITEM_ID_MAX = 32
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
INCLUDE_VALUES = ("item.input_audio_transcription.logprobs",)
RETENTION_RATIO = Range(0.0, 1.0)
POST_INSTRUCTIONS_TOKENS = Range(0)
METADATA_PAIRS_MAX = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512

# -- per provider -----------------------------------------------------------------------------

Support = Literal["yes", "no", "undocumented"]
"""``yes``: accepted. ``no``: the provider rejects it. ``undocumented``: its docs are silent, so
both sides treat it as unsupported (a payload that passes locally must pass there too)."""

Policy = Literal["strict", "open"]
"""``strict``: a value outside the list is rejected. ``open``: the list is only the documented
values; the provider takes names of its own (Azure deployment names).

Transcription models are ``strict`` where protocol.md lists them: the SDK types the field as
"any string", but a model the service does not have fails the whole ``session.update``, so
the client says so at the call and the local server refuses it as the service would. (Before
this module the client only warned, and the server checked the OpenAI GA list of 8 on the beta
shape, whose documented list is 3: both were wrong.)"""


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    """What one provider surface accepts, keyed by realtalk's field names.

    Field keys are realtalk's (``speed``, ``turn_detection.idle_timeout_ms``); each reader maps
    them to its own names (the client's rules, the server's wire paths).
    """

    key: str
    name: str
    dialect: Literal["ga", "beta"]
    voices: tuple[str, ...]
    """Voice strings this provider takes (always strict, see :data:`GA_VOICES`)."""
    transcription_models: tuple[str, ...]
    transcription_policy: Policy
    support: Mapping[str, Support] = field(default_factory=dict)
    """Fields this provider does not take (``no`` / ``undocumented``); others are ``yes``."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Why, for each entry of ``support``: shown in errors and the docs table."""

    def supports(self, key: str) -> bool:
        return self.support.get(key, "yes") == "yes"

    def unsupported(self) -> tuple[str, ...]:
        """Every field key this provider does not take, in table order."""
        return tuple(k for k, v in self.support.items() if v != "yes")


_GA_REJECTS_TEMPERATURE = "the server answers Unknown parameter: 'session.temperature'"
_BETA_HAS_NO = "the beta shape has no such field"
_AZURE_SILENT = "Azure preview does not document it, so realtalk treats it as unsupported"

OPENAI_GA = ProviderFacts(
    key="openai",
    name="OpenAI GA",
    dialect="ga",
    voices=GA_VOICES,
    transcription_models=GA_TRANSCRIPTION_MODELS,
    transcription_policy="strict",
    support={"temperature": "no"},
    reasons={"temperature": _GA_REJECTS_TEMPERATURE},
)

# OpenAI GA's facts, with two differences. Voices: protocol.md 8 #14 says "deployment-dependent";
# the GA list is the most any deployment has. Transcription models: protocol.md 2.5 (3P) says
# the model may have to name an Azure deployment, so any name is let through.
AZURE_GA = replace(OPENAI_GA, key="azure", name="Azure OpenAI GA", transcription_policy="open")

BETA = ProviderFacts(
    key="beta",
    name="beta shape",
    dialect="beta",
    # protocol.md 2.3: the beta SDK lists 8, the spec adds marin and cedar; gateways that speak
    # the beta shape front GA models, which have all 10.
    voices=GA_VOICES,
    transcription_models=BETA_TRANSCRIPTION_MODELS,
    transcription_policy="strict",
    support={
        "turn_detection.idle_timeout_ms": "no",
        "noise_reduction.strength": "no",
        "transcription.languages": "no",
        "transcription.keywords": "no",
        "transcription.delay": "no",
        "truncation": "no",
        "prompt": "no",
        "reasoning": "no",
        "include": "no",
    },
    reasons={
        "turn_detection.idle_timeout_ms": _BETA_HAS_NO,
        "noise_reduction.strength": "the beta shape takes only the noise reduction type",
        "transcription.languages": "GA only",
        "transcription.keywords": "GA only",
        "transcription.delay": "GA only",
        "truncation": _BETA_HAS_NO,
        "prompt": _BETA_HAS_NO,
        "reasoning": _BETA_HAS_NO,
        "include": "only transcription sessions take it in the beta shape",
    },
)

AZURE_PREVIEW = ProviderFacts(
    key="azure-preview",
    name="Azure OpenAI preview",
    dialect="beta",
    voices=BETA_VOICES,
    transcription_models=AZURE_PREVIEW_TRANSCRIPTION_MODELS,
    transcription_policy="strict",
    support={
        **BETA.support,
        # protocol.md 2.4 / 9.12: the Azure reference is silent on these.
        "speed": "undocumented",
        "turn_detection.idle_timeout_ms": "undocumented",
        "tracing": "undocumented",
        "include": "undocumented",
        "prompt": "undocumented",
        "truncation": "undocumented",
    },
    reasons={
        **BETA.reasons,
        "speed": _AZURE_SILENT,
        "turn_detection.idle_timeout_ms": _AZURE_SILENT,
        "tracing": _AZURE_SILENT,
        "include": _AZURE_SILENT,
        "prompt": _AZURE_SILENT,
        "truncation": _AZURE_SILENT,
    },
)

PROVIDERS: tuple[ProviderFacts, ...] = (OPENAI_GA, AZURE_GA, BETA, AZURE_PREVIEW)
