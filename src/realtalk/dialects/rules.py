"""Capability tables: which session fields and values each target accepts (data only).

A target is a provider surface (OpenAI GA, Azure GA, the beta shape, Azure preview). Its
:class:`Rules` are plain data -- one :class:`Rule` per realtalk field or sub-field -- built from
the shared capability facts (:mod:`realtalk.capabilities`, which the local server's wire shapes
read too), plus the client's own wording for errors and the docs. The docs generator
(``scripts/gen_config_docs.py``) renders the per-provider table from these tables, and
:mod:`realtalk.dialects.checks` (``validate``, ``check``, ``advise``) enforces them.

Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from realtalk import capabilities as caps
from realtalk.capabilities import ProviderFacts, Range, Support

__all__ = [
    "ALL_RULES",
    "AZURE_GA_RULES",
    "AZURE_PREVIEW_RULES",
    "BETA_RULES",
    "FIELD_KEYS",
    "FORCE_HINT",
    "GA_RULES",
    "Rule",
    "Rules",
    "Support",
]

Choices = Literal["strict", "warn", "open"]
"""How ``Rule.choices`` binds: ``strict`` other values are errors; ``warn`` other values are
advice (:func:`advise`); ``open`` the choices are only the documented ones, anything goes."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What one target accepts for one field (``speed``) or sub-field (``turn_detection.x``)."""

    support: Support = "yes"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    choice_policy: Choices = "strict"
    note: str = ""
    """Shown in the docs table and, for unsupported fields, as the rule in the error."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The capability table of one target (built by `_rules` from its provider facts)."""

    key: str
    """Short name, as used by ``realtalk explain --provider`` (``openai``, ``azure-preview``...)."""
    name: str
    """Human name used in error messages (``OpenAI GA``)."""
    dialect: Literal["ga", "beta"]
    fields: Mapping[str, Rule]
    facts: ProviderFacts
    """The shared facts this table was built from (voices, models, field support)."""
    pcm_rates: tuple[int, ...] = (caps.PCM_RATE,)
    g711_rate: int = caps.G711_RATE
    tool_description_max: int = caps.TOOL_DESCRIPTION_MAX
    tool_name_pattern: str = caps.TOOL_NAME_PATTERN
    notes: tuple[str, ...] = ()
    """General remarks for the docs (not validated)."""

    def rule(self, key: str) -> Rule:
        """The rule for ``key``; fields without an entry are accepted without further limits."""
        return self.fields.get(key, _ACCEPTED)

    def supports(self, key: str) -> bool:
        return self.rule(key).support == "yes"


_ACCEPTED = Rule()

FIELD_KEYS: tuple[str, ...] = (
    "model",
    "instructions",
    "output_modalities",
    "voice",
    "speed",
    "input_format",
    "output_format",
    "turn_detection",
    "turn_detection.threshold",
    "turn_detection.prefix_padding_ms",
    "turn_detection.silence_duration_ms",
    "turn_detection.idle_timeout_ms",
    "turn_detection.eagerness",
    "turn_detection.create_response",
    "turn_detection.interrupt_response",
    "noise_reduction",
    "noise_reduction.strength",
    "transcription",
    "transcription.model",
    "transcription.language",
    "transcription.prompt",
    "transcription.languages",
    "transcription.keywords",
    "transcription.delay",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "temperature",
    "tracing",
    "truncation",
    "prompt",
    "reasoning",
    "include",
    "extra",
)
"""Every key a :class:`Rules` table may hold, in the order the docs table lists them."""

# --------------------------------------------------------------------------------------------
# The tables: ranges, lists and field support from realtalk.capabilities; notes are the client's.

FORCE_HINT = "to send it anyway, put it in extra={...} or rewrite the event in an on_send hook"


def _ranged(r: Range, note: str = "") -> Rule:
    return Rule(low=r.low, high=r.high, note=note)


_GA_FIELDS: dict[str, Rule] = {
    "model": Rule(note="model id; fixed once the session starts"),
    "instructions": Rule(note="string; '' clears"),
    "output_modalities": Rule(
        choices=("audio", "text"),
        note='["audio"] (audio + transcript) or ["text"]; wire: output_modalities',
    ),
    "voice": Rule(choices=caps.GA_VOICES, note="locked after first audio"),
    "speed": _ranged(caps.SPEED),
    "input_format": Rule(note="pcm16 @ 24 kHz, pcmu, pcma"),
    "output_format": Rule(note="pcm16 @ 24 kHz, pcmu, pcma"),
    "turn_detection": Rule(choices=caps.TURN_DETECTION_TYPES, note="null = manual turns"),
    "turn_detection.threshold": _ranged(caps.VAD_THRESHOLD, "server_vad"),
    "turn_detection.prefix_padding_ms": _ranged(caps.PREFIX_PADDING_MS, "server_vad"),
    "turn_detection.silence_duration_ms": _ranged(caps.SILENCE_DURATION_MS, "server_vad"),
    "turn_detection.idle_timeout_ms": _ranged(caps.IDLE_TIMEOUT_MS, "server_vad; or null"),
    "turn_detection.eagerness": Rule(choices=caps.EAGERNESS, note="semantic_vad"),
    "noise_reduction": Rule(choices=caps.NOISE_REDUCTION_TYPES, note="null = off"),
    "noise_reduction.strength": _ranged(
        caps.NOISE_REDUCTION_STRENGTH, "defaults to 1 when first enabled"
    ),
    "transcription": Rule(note="null = off"),
    "transcription.model": Rule(),  # choices from the provider's facts, below
    "transcription.prompt": Rule(note="not with " + ", ".join(sorted(caps.NO_PROMPT_MODELS))),
    "transcription.languages": Rule(note=", ".join(sorted(caps.KEYWORD_MODELS))),
    "transcription.keywords": Rule(note=", ".join(sorted(caps.KEYWORD_MODELS))),
    "transcription.delay": Rule(
        choices=caps.TRANSCRIPTION_DELAYS, note=", ".join(sorted(caps.DELAY_MODELS))
    ),
    "tools": Rule(note=f"function tools; description <= {caps.TOOL_DESCRIPTION_MAX} chars"),
    "tool_choice": Rule(choices=caps.TOOL_CHOICE_MODES, note="or one function"),
    "max_output_tokens": _ranged(caps.MAX_OUTPUT_TOKENS, 'or "inf"'),
    "temperature": _ranged(caps.TEMPERATURE, "default 0.8"),
    "tracing": Rule(note='"auto", settings or null; immutable once enabled'),
    "truncation": Rule(note='"auto", "disabled" or a retention ratio'),
    "prompt": Rule(note="stored prompt id; null clears"),
    "reasoning": Rule(choices=caps.REASONING_EFFORTS, note="reasoning models only"),
    "include": Rule(choices=caps.INCLUDE_VALUES),
    "extra": Rule(note="sent verbatim, not validated"),
}

# What the beta shape spells or explains differently (the values are the same facts).
_BETA_NOTES: dict[str, Rule] = {
    "output_modalities": Rule(
        choices=("audio", "text"),
        note='["audio"] (audio + transcript) or ["text"]; wire: modalities ["audio","text"]'
        ' or ["text"]',
    ),
    "transcription.prompt": Rule(),
    "max_output_tokens": _ranged(
        caps.MAX_OUTPUT_TOKENS, 'or "inf"; wire: max_response_output_tokens'
    ),
    "tracing": Rule(note='"auto", settings or null'),
}

_MODEL_NOTES = {
    "azure": "the deployment name (the URL already fixes it)",
    "azure-preview": "the deployment name (the URL already fixes it)",
}
_TRANSCRIPTION_NOTES = {
    "azure": "may have to name an Azure deployment (reported, not documented)",
}


def _rules(provider: ProviderFacts, notes: tuple[str, ...]) -> Rules:
    """One target's table: the shared rules, with this provider's facts filled in."""
    fields = dict(_GA_FIELDS)
    if provider.dialect == "beta":
        fields.update(_BETA_NOTES)
    if provider.key in _MODEL_NOTES:
        fields["model"] = Rule(note=_MODEL_NOTES[provider.key])
    fields["voice"] = Rule(choices=provider.voices, note="locked after first audio")
    fields["transcription.model"] = Rule(
        choices=provider.transcription_models,
        choice_policy=provider.transcription_policy,
        note=_TRANSCRIPTION_NOTES.get(provider.key, ""),
    )
    for key, support in provider.support.items():
        fields[key] = Rule(support=support, note=provider.reasons.get(key, ""))
    return Rules(
        key=provider.key,
        name=provider.name,
        dialect=provider.dialect,
        fields=fields,
        facts=provider,
        notes=notes,
    )


GA_RULES = _rules(
    caps.OPENAI_GA,
    ("Never sends the OpenAI-Beta header; session.type and the PCM rate are always sent.",),
)
AZURE_GA_RULES = _rules(
    caps.AZURE_GA,
    ("URL has no api-version (it would be a 401); the GA message format as on OpenAI.",),
)
BETA_RULES = _rules(
    caps.BETA,
    (
        "The retired OpenAI beta shape, as beta-shape gateways speak it "
        "(Compatible(dialect='beta')).",
    ),
)
AZURE_PREVIEW_RULES = _rules(
    caps.AZURE_PREVIEW,
    (
        "Deprecated by Microsoft from 2026-04-30; speaks the beta shape: no type, "
        "output_modalities or audio keys.",
    ),
)

ALL_RULES: tuple[Rules, ...] = (GA_RULES, AZURE_GA_RULES, BETA_RULES, AZURE_PREVIEW_RULES)
