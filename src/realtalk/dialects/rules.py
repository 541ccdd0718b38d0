"""Capability tables: which session fields and values each target accepts.

A target is a provider surface (OpenAI GA, Azure GA, the beta shape, Azure preview). Its
:class:`Rules` are plain data -- one :class:`Rule` per realtalk field or sub-field -- so the
docs generator (``scripts/gen_config_docs.py``) renders the per-provider table from the very
tables :func:`validate` enforces.

:func:`validate` returns every problem; :func:`check` raises one :class:`ConfigError` listing them
all. Each problem names the wire path the server would name (``session.audio.input.turn_detection
.threshold`` on GA, ``session.turn_detection.threshold`` on the beta shape), the value, the
target's rule and the fix. Sources: protocol.md sections 2-5 and 7.

Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from realtalk.config import (
    SessionConfig,
)
from realtalk.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from realtalk.dialects import Dialect
    from realtalk.dialects._checks import _Checker

__all__ = [
    "ALL_RULES",
    "AZURE_GA_RULES",
    "AZURE_PREVIEW_RULES",
    "BETA_RULES",
    "FIELD_KEYS",
    "GA_RULES",
    "Rule",
    "Rules",
    "Support",
    "advise",
    "check",
    "turn_detection_dict_problems",
    "validate",
]

Support = Literal["yes", "no", "undocumented"]
"""``yes``: accepted. ``no``: the target rejects it. ``undocumented``: its docs are silent, so
realtalk treats it as unsupported (the user can still force it through ``extra`` or ``on_send``)."""

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
    """The capability table of one target. Derive variants with :meth:`derive`."""

    key: str
    """Short name, as used by ``realtalk explain --provider`` (``openai``, ``azure-preview``...)."""
    name: str
    """Human name used in error messages (``OpenAI GA``)."""
    dialect: Literal["ga", "beta"]
    fields: Mapping[str, Rule]
    pcm_rates: tuple[int, ...] = (24000,)
    g711_rate: int = 8000
    tool_description_max: int = 1024
    tool_name_pattern: str = r"^[A-Za-z0-9_-]{1,64}$"
    notes: tuple[str, ...] = ()
    """General remarks for the docs (not validated)."""

    def rule(self, key: str) -> Rule:
        """The rule for ``key``; fields without an entry are accepted without further limits."""
        return self.fields.get(key, _ACCEPTED)

    def supports(self, key: str) -> bool:
        return self.rule(key).support == "yes"

    def derive(
        self,
        *,
        key: str,
        name: str,
        dialect: Literal["ga", "beta"] | None = None,
        fields: Mapping[str, Rule] | None = None,
        notes: tuple[str, ...] | None = None,
    ) -> Rules:
        """A copy with ``fields`` overriding this table's entries (one rule override per quirk)."""
        merged = dict(self.fields)
        merged.update(fields or {})
        return replace(
            self,
            key=key,
            name=name,
            dialect=dialect or self.dialect,
            fields=merged,
            notes=self.notes if notes is None else notes,
        )


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
# The tables (protocol.md 2.1, 2.3, 2.4, 2.5, 3, 4, 5)

_GA_VOICES = (
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
_BETA_VOICES = _GA_VOICES[:8]
_GA_TRANSCRIBE = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-realtime-whisper",
)
_BETA_TRANSCRIBE = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
_AZURE_PREVIEW_TRANSCRIBE = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-4o-mini-transcribe-2025-12-15",
)
# Model-specific transcription fields (protocol.md 2.1, from the GA SDK docstrings).
_KEYWORD_MODELS = frozenset({"gpt-transcribe", "gpt-live-transcribe"})
_DELAY_MODELS = frozenset({"gpt-realtime-whisper"})
_NO_PROMPT_MODELS = frozenset({"gpt-realtime-whisper"})

_FORCE_HINT = "to send it anyway, put it in extra={...} or rewrite the event in an on_send hook"

_GA_FIELDS: dict[str, Rule] = {
    "model": Rule(note="model id; fixed once the session starts"),
    "instructions": Rule(note="string; '' clears"),
    "output_modalities": Rule(
        choices=("audio", "text"),
        note='["audio"] (audio + transcript) or ["text"]; wire: output_modalities',
    ),
    "voice": Rule(
        choices=_GA_VOICES,
        choice_policy="open",
        note="built-in or custom voice id; locked after first audio",
    ),
    "speed": Rule(low=0.25, high=1.5),
    "input_format": Rule(note="pcm16 @ 24 kHz, pcmu, pcma"),
    "output_format": Rule(note="pcm16 @ 24 kHz, pcmu, pcma"),
    "turn_detection": Rule(choices=("server_vad", "semantic_vad"), note="null = manual turns"),
    "turn_detection.threshold": Rule(low=0.0, high=1.0, note="server_vad"),
    "turn_detection.prefix_padding_ms": Rule(low=0, note="server_vad"),
    "turn_detection.silence_duration_ms": Rule(low=0, note="server_vad"),
    "turn_detection.idle_timeout_ms": Rule(low=5000, high=30000, note="server_vad; or null"),
    "turn_detection.eagerness": Rule(
        choices=("low", "medium", "high", "auto"), note="semantic_vad"
    ),
    "noise_reduction": Rule(choices=("near_field", "far_field"), note="null = off"),
    "noise_reduction.strength": Rule(low=0.0, note="defaults to 1 when first enabled"),
    "transcription": Rule(note="null = off"),
    "transcription.model": Rule(choices=_GA_TRANSCRIBE, choice_policy="warn"),
    "transcription.prompt": Rule(note="not with gpt-realtime-whisper"),
    "transcription.languages": Rule(note="gpt-transcribe, gpt-live-transcribe"),
    "transcription.keywords": Rule(note="gpt-transcribe, gpt-live-transcribe"),
    "transcription.delay": Rule(
        choices=("minimal", "low", "medium", "high", "xhigh"), note="gpt-realtime-whisper"
    ),
    "tools": Rule(note="function tools; description <= 1024 chars"),
    "tool_choice": Rule(choices=("auto", "none", "required"), note="or one function"),
    "max_output_tokens": Rule(low=1, high=4096, note='or "inf"'),
    "temperature": Rule(
        support="no", note="the server answers Unknown parameter: 'session.temperature'"
    ),
    "tracing": Rule(note='"auto", settings or null; immutable once enabled'),
    "truncation": Rule(note='"auto", "disabled" or a retention ratio'),
    "prompt": Rule(note="stored prompt id; null clears"),
    "reasoning": Rule(
        choices=("minimal", "low", "medium", "high", "xhigh"), note="reasoning models only"
    ),
    "include": Rule(choices=("item.input_audio_transcription.logprobs",)),
    "extra": Rule(note="sent verbatim, not validated"),
}

GA_RULES = Rules(
    key="openai",
    name="OpenAI GA",
    dialect="ga",
    fields=_GA_FIELDS,
    notes=("Never sends the OpenAI-Beta header; session.type and the PCM rate are always sent.",),
)

AZURE_GA_RULES = GA_RULES.derive(
    key="azure",
    name="Azure OpenAI GA",
    fields={
        "model": Rule(note="the deployment name (the URL already fixes it)"),
        "voice": Rule(
            choices=_GA_VOICES,
            choice_policy="open",
            note="deployment-dependent; GA sample uses marin",
        ),
        "transcription.model": Rule(
            choices=_GA_TRANSCRIBE,
            choice_policy="open",
            note="may have to name an Azure deployment (reported, not documented)",
        ),
        "noise_reduction.strength": Rule(low=0.0, note="assumed as on OpenAI GA (undocumented)"),
        "temperature": Rule(
            support="no", note="the server answers Unknown parameter: 'session.temperature'"
        ),
    },
    notes=("URL has no api-version (it would be a 401); the GA message format as on OpenAI.",),
)

_BETA_ONLY_NOT = "the beta shape has no such field"

BETA_RULES = GA_RULES.derive(
    key="beta",
    name="beta shape",
    dialect="beta",
    fields={
        "output_modalities": Rule(
            choices=("audio", "text"),
            note='["audio"] (audio + transcript) or ["text"]; wire: modalities ["audio","text"]'
            ' or ["text"]',
        ),
        # The beta shape's servers reject a voice outside their list (the whole update fails,
        # leaving the session on its old config): an error here, not a warning.
        "voice": Rule(choices=_GA_VOICES, choice_policy="strict", note="locked after first audio"),
        "turn_detection.idle_timeout_ms": Rule(support="no", note=_BETA_ONLY_NOT),
        "noise_reduction.strength": Rule(
            support="no", note="the beta shape takes only the noise reduction type"
        ),
        "transcription.model": Rule(choices=_BETA_TRANSCRIBE, choice_policy="warn"),
        "transcription.prompt": Rule(),
        "transcription.languages": Rule(support="no", note="GA only"),
        "transcription.keywords": Rule(support="no", note="GA only"),
        "transcription.delay": Rule(support="no", note="GA only"),
        "max_output_tokens": Rule(
            low=1, high=4096, note='or "inf"; wire: max_response_output_tokens'
        ),
        "temperature": Rule(low=0.6, high=1.2, note="default 0.8"),
        # The beta SDK type declares tracing, so the beta shape keeps it (Azure preview does not).
        "tracing": Rule(note='"auto", settings or null'),
        "truncation": Rule(support="no", note=_BETA_ONLY_NOT),
        "prompt": Rule(support="no", note=_BETA_ONLY_NOT),
        "reasoning": Rule(support="no", note=_BETA_ONLY_NOT),
        "include": Rule(support="no", note="only transcription sessions take it in the beta shape"),
    },
    notes=(
        "The retired OpenAI beta shape, as beta-shape gateways speak it "
        "(Compatible(dialect='beta')).",
    ),
)

_AZURE_SILENT = "Azure preview does not document it, so realtalk treats it as unsupported"

AZURE_PREVIEW_RULES = BETA_RULES.derive(
    key="azure-preview",
    name="Azure OpenAI preview",
    fields={
        "model": Rule(note="the deployment name (the URL already fixes it)"),
        "voice": Rule(
            choices=_BETA_VOICES, choice_policy="strict", note="locked after first audio"
        ),
        "speed": Rule(support="undocumented", note=_AZURE_SILENT),
        "turn_detection.idle_timeout_ms": Rule(support="undocumented", note=_AZURE_SILENT),
        "transcription.model": Rule(choices=_AZURE_PREVIEW_TRANSCRIBE, choice_policy="warn"),
        "tracing": Rule(support="undocumented", note=_AZURE_SILENT),
        "include": Rule(support="undocumented", note=_AZURE_SILENT),
        "prompt": Rule(support="undocumented", note=_AZURE_SILENT),
        "truncation": Rule(support="undocumented", note=_AZURE_SILENT),
    },
    notes=(
        "Deprecated by Microsoft from 2026-04-30; speaks the beta shape: no type, "
        "output_modalities or audio keys.",
    ),
)

ALL_RULES: tuple[Rules, ...] = (GA_RULES, AZURE_GA_RULES, BETA_RULES, AZURE_PREVIEW_RULES)

# --------------------------------------------------------------------------------------------
# Validation (the checks themselves are in _checks)


def turn_detection_dict_problems(data: Mapping[str, Any], path: str) -> list[ConfigProblem]:
    """Problems of a turn-detection *mapping* (from a file or pasted JSON), before it is typed.

    Names each key that belongs to the other VAD type, e.g. ``threshold`` on ``semantic_vad``,
    with the fields the chosen type takes. ``path`` is the wire path of the object.
    """
    from realtalk.dialects._checks import turn_detection_dict_problems as problems

    return problems(data, path)


def _checker(config: SessionConfig, rules: Rules, dialect: Dialect | None) -> _Checker:
    from realtalk.dialects._checks import _Checker

    if dialect is None:
        from realtalk.dialects import get_dialect

        dialect = get_dialect(rules.dialect)
    checker = _Checker(rules, dialect)
    for name, value in config.set_fields().items():
        checker.field(name, value)
    checker.cross_checks(config)
    return checker


def validate(
    config: SessionConfig, rules: Rules, dialect: Dialect | None = None
) -> list[ConfigProblem]:
    """Every problem ``config`` has on the target ``rules`` describes (empty when it is fine).

    ``dialect`` names the wire paths in the problems; by default the one ``rules.dialect`` names.
    Fields left :data:`~realtalk.config.UNSET` are not checked: the server keeps its own value.
    """
    return _checker(config, rules, dialect).problems


def advise(
    config: SessionConfig, rules: Rules, dialect: Dialect | None = None
) -> list[ConfigProblem]:
    """Non-blocking remarks: values the target does not document but may well accept
    (a voice or transcription model outside the documented list)."""
    return _checker(config, rules, dialect).advice


def check(config: SessionConfig, rules: Rules, dialect: Dialect | None = None) -> None:
    """Raise one :class:`ConfigError` listing every problem of ``config`` on this target."""
    problems = validate(config, rules, dialect)
    if problems:
        raise ConfigError(problems, target=rules.name)
