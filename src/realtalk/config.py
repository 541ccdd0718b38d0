"""Session configuration: one model, three states per field, layers with provenance.

Every field of :class:`SessionConfig` has three states, kept apart on purpose:

* ``UNSET`` (the default): this layer says nothing; a lower layer or the server decides.
* ``None``: send ``null``. For the nullable fields this switches the feature off
  (``turn_detection=None`` means manual turns, ``noise_reduction=None`` means no noise reduction).
* a value: send that value.

Layers are merged low to high (provider defaults < Runner < Agent < run-time update) by
:func:`merge`, which also records which layer set each field. :func:`diff` gives the minimal
update from what the server confirmed to what is wanted.

This module is part of the pure core: standard library only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, NamedTuple

from realtalk.config_parts import (
    UNSET,
    AudioFormat,
    FunctionChoice,
    Modality,
    NoiseReduction,
    Part,
    Prompt,
    Reasoning,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    ToolSpec,
    Tracing,
    Transcription,
    TurnDetection,
    UnsetType,
    is_set,
)
from realtalk.config_reader import session_fields_from_dict

__all__ = [
    "UNSET",
    "AudioFormat",
    "Effective",
    "FunctionChoice",
    "Layer",
    "NoiseReduction",
    "Prompt",
    "Reasoning",
    "RetentionRatio",
    "SemanticVAD",
    "ServerVAD",
    "SessionConfig",
    "ToolSpec",
    "Tracing",
    "Transcription",
    "TurnDetection",
    "UnsetType",
    "apply_update",
    "diff",
    "is_set",
    "merge",
    "overlay",
]


# --------------------------------------------------------------------------------------------
# The session config


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the model does in a session. Every field defaults to :data:`UNSET`.

    ``output_modalities`` is an intent, not a wire value: ``["audio"]`` and ``["text", "audio"]``
    both mean "audio with its transcript" and are stored as ``("audio",)``; ``["text"]`` is text
    only. Each dialect writes the intent in the form its provider accepts.
    """

    model: str | UnsetType = UNSET
    instructions: str | UnsetType = UNSET
    output_modalities: tuple[Modality, ...] | UnsetType = UNSET
    voice: str | UnsetType = UNSET
    speed: float | UnsetType = UNSET
    input_format: AudioFormat | UnsetType = UNSET
    output_format: AudioFormat | UnsetType = UNSET
    turn_detection: TurnDetection | UnsetType | None = UNSET
    noise_reduction: NoiseReduction | UnsetType | None = UNSET
    transcription: Transcription | UnsetType | None = UNSET
    tools: tuple[ToolSpec, ...] | UnsetType = UNSET
    tool_choice: Literal["auto", "none", "required"] | FunctionChoice | UnsetType = UNSET
    max_output_tokens: int | Literal["inf"] | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    tracing: Literal["auto"] | Tracing | UnsetType | None = UNSET
    truncation: Literal["auto", "disabled"] | RetentionRatio | UnsetType = UNSET
    prompt: Prompt | UnsetType | None = UNSET
    reasoning: Reasoning | UnsetType = UNSET
    include: tuple[str, ...] | UnsetType | None = UNSET
    extra: Mapping[str, Any] | UnsetType = UNSET

    def __post_init__(self) -> None:
        # Normalise list-ish inputs to tuples so configs compare and hash by value.
        mods = self.output_modalities
        if is_set(mods) and not isinstance(mods, tuple):
            object.__setattr__(self, "output_modalities", tuple(mods))  # type: ignore[arg-type]
        mods = self.output_modalities
        if isinstance(mods, tuple) and set(mods) == {"audio", "text"}:
            object.__setattr__(self, "output_modalities", ("audio",))
        for name in ("tools", "include"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    # -- introspection -----------------------------------------------------------------------

    def set_fields(self) -> dict[str, Any]:
        """The fields this config sets (``None`` included), by name."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if is_set(getattr(self, f.name))
        }

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.set_fields().items())
        return f"SessionConfig({inner})"

    def replace(self, **changes: Any) -> SessionConfig:
        """A copy with ``changes`` applied (``UNSET`` un-sets a field)."""
        return replace(self, **changes)

    # -- construction from user data ---------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionConfig:
        """Build from a mapping in the GA shape, the beta shape, or realtalk's own field names.

        Accepts what users paste from the docs, e.g. ``{"modalities": [...], "turn_detection":
        {...}, "input_audio_noise_reduction": {...}}`` or ``{"type": "realtime", "audio":
        {"input": {...}}}``. Raises :class:`~realtalk.errors.ConfigError` naming every key it
        cannot map.
        """
        return cls(**session_fields_from_dict(data))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# --------------------------------------------------------------------------------------------
# Layers, merge, diff


class Layer(NamedTuple):
    """A named configuration layer, e.g. ``Layer("runner", SessionConfig(...))``."""

    name: str
    config: SessionConfig


@dataclass(frozen=True, slots=True)
class Effective:
    """The result of :func:`merge`: the effective config and, per field, the layer that set it."""

    config: SessionConfig
    provenance: Mapping[str, str]

    def source(self, field_name: str) -> str | None:
        """Name of the layer that set ``field_name`` (``None`` when no layer did)."""
        return self.provenance.get(field_name)


def _overlay_value(base: Any, top: Any) -> Any:
    if not is_set(top):
        return base
    if isinstance(top, Part) and type(base) is type(top):
        return base.overlay(top)
    if isinstance(top, Mapping) and isinstance(base, Mapping):
        merged = dict(base)
        merged.update(top)
        return merged
    return top


def overlay(base: SessionConfig, top: SessionConfig) -> SessionConfig:
    """``top`` over ``base``: each field ``top`` sets wins.

    Parts of the same type (two ``ServerVAD``, two ``NoiseReduction``...) merge sub-field by
    sub-field, so a higher layer can change ``eagerness`` without restating the rest; a part of
    another type (``SemanticVAD`` over ``ServerVAD``) or ``None`` replaces the whole part.
    ``extra`` merges key by key.
    """
    changes = {
        name: _overlay_value(getattr(base, name), value) for name, value in top.set_fields().items()
    }
    return replace(base, **changes)


def merge(*layers: Layer | SessionConfig | None) -> Effective:
    """Merge layers, lowest first, into the effective config with provenance.

    Unnamed layers are called ``layer0``, ``layer1``... ``None`` layers are skipped.
    """
    result = SessionConfig()
    provenance: dict[str, str] = {}
    for index, item in enumerate(layers):
        if item is None:
            continue
        layer = item if isinstance(item, Layer) else Layer(f"layer{index}", item)
        result = overlay(result, layer.config)
        for name in layer.config.set_fields():
            provenance[name] = layer.name
    return Effective(result, provenance)


def apply_update(confirmed: SessionConfig, update: SessionConfig) -> SessionConfig:
    """What a server holding ``confirmed`` holds after accepting ``update``.

    Mirrors the servers' merge rules (protocol.md 2.6): fields absent from an update are left as
    they are; ``null`` clears; a part is replaced by the full object realtalk always sends (the
    sources leave partial nested merges undocumented, so :func:`diff` never relies on them).
    """
    changes = update.set_fields()
    if "extra" in changes and isinstance(confirmed.extra, Mapping):
        changes["extra"] = {**confirmed.extra, **changes["extra"]}
    return replace(confirmed, **changes)


def diff(confirmed: SessionConfig, desired: SessionConfig) -> SessionConfig:
    """The minimal update that takes a server from ``confirmed`` to ``desired``.

    Only fields ``desired`` sets and that differ from ``confirmed`` are included. A part is sent
    whole: sub-fields ``desired`` leaves unset are filled from ``confirmed`` when it holds a part
    of the same type, so nothing the server had is silently reset. ``extra`` keeps only the keys
    that change. ``apply_update(confirmed, diff(confirmed, desired))`` equals
    ``overlay(confirmed, desired)``.
    """
    target = overlay(confirmed, desired)
    changes: dict[str, Any] = {}
    for name in desired.set_fields():
        before = getattr(confirmed, name)
        after = getattr(target, name)
        if name == "extra" and isinstance(after, Mapping):
            base = before if isinstance(before, Mapping) else {}
            delta = {k: v for k, v in after.items() if k not in base or base[k] != v}
            if delta:
                changes[name] = delta
            continue
        if before is UNSET or before != after or type(before) is not type(after):
            changes[name] = after
    return SessionConfig(**changes)
