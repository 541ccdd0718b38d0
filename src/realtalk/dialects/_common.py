"""Helpers shared by the GA and beta codecs: JSON values, paths, and the session parts.

The parts (turn detection, noise reduction, transcription, tools...) have the same inner shape
in both dialects; only where they sit in the ``session`` object and a few value spellings
(audio formats, modalities, ``tool_choice``) differ, and those live in ``ga.py`` / ``beta.py``.
Encoders never raise: a value of an unexpected type is written in the closest JSON form, and
the capability rules (``rules.py``) are what reject it before sending.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from realtalk.capabilities import SEMANTIC_VAD_FIELDS, SERVER_VAD_FIELDS
from realtalk.config import (
    UNSET,
    FunctionChoice,
    NoiseReduction,
    Prompt,
    Reasoning,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    ToolSpec,
    Tracing,
    Transcription,
    is_set,
)
from realtalk.config_reader import wire_session_fields

FLOAT_DECIMALS = 6
"""Floats go on the wire rounded to this many decimals: GA rejects a float that serialises with
17 digits (``max decimal places exceeded``, protocol.md 3)."""


SessionEncoder = Callable[[SessionConfig], dict[str, Any]]


def decode_wire_session(data: Any) -> SessionConfig:
    """A ``SessionConfig`` from a server's ``session`` object, of either shape. Never raises."""
    return SessionConfig(**wire_session_fields(data))


def num(value: Any) -> Any:
    """A number as it goes on the wire: floats rounded (protocol.md 3), ints untouched."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, FLOAT_DECIMALS)
        return rounded if rounded != 0 else 0.0
    return value


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64 -> bytes; raises ``ValueError`` on anything else."""
    try:
        # strict_mode validates in C; b64decode(validate=True) runs a regex over every delta.
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def jsonable(value: Any) -> Any:
    """Best-effort JSON form of a value the typed encoders did not expect (never raises)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return num(value)
    if isinstance(value, bytes):
        return b64encode(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if is_set(getattr(value, f.name))
        }
        kind = getattr(type(value), "type", None)
        if isinstance(kind, str) and "type" not in out:
            out = {"type": kind, **out}
        return out
    if value is UNSET:
        return None
    return repr(value)


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted ``path``, creating (or deep-merging into) nested objects."""
    *parents, leaf = path.split(".")
    node = target
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    if isinstance(value, dict) and isinstance(node.get(leaf), dict):
        for key, item in value.items():
            set_path(node[leaf], key, item)
    else:
        node[leaf] = value


def merge_extra(session: dict[str, Any], extra: Any) -> None:
    """Merge ``SessionConfig.extra`` into a wire session, verbatim.

    Keys are top-level wire keys; a dotted key (``"audio.input.foo"``) names a nested path,
    which is unambiguous because no wire key contains a dot. Extra wins over modelled fields.
    """
    if not isinstance(extra, Mapping):
        return
    for key, value in extra.items():
        set_path(session, str(key), jsonable(value))


def encode_fields(
    config: SessionConfig,
    paths: Mapping[str, str],
    encoders: Mapping[str, Callable[[Any], Any]],
    session: dict[str, Any],
) -> dict[str, Any]:
    """Write every field ``config`` sets at its path, then ``extra``."""
    for name, value in config.set_fields().items():
        if name == "extra":
            continue
        encoder = encoders.get(name, jsonable)
        try:
            wire = encoder(value)
        except (TypeError, ValueError, AttributeError):
            wire = jsonable(value)
        set_path(session, paths.get(name, name), wire)
    merge_extra(session, config.extra)
    return session


# -- the parts (same inner shape in both dialects) -------------------------------------------


def _part_fields(part: Any) -> dict[str, Any]:
    return {k: num(jsonable(v)) for k, v in part.set_fields().items()}


def encode_turn_detection(value: Any) -> Any:
    """The full object, ``type`` first and only the knobs its type takes (protocol.md 3)."""
    if value is None:
        return None
    if isinstance(value, ServerVAD | SemanticVAD):
        allowed = SERVER_VAD_FIELDS if isinstance(value, ServerVAD) else SEMANTIC_VAD_FIELDS
        fields = _part_fields(value)
        return {"type": value.type, **{k: fields[k] for k in allowed if k in fields}}
    return jsonable(value)


def encode_noise_reduction(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, NoiseReduction):
        return _part_fields(value)
    return jsonable(value)


def encode_transcription(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Transcription):
        return _part_fields(value)
    return jsonable(value)


def encode_tracing(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Tracing):
        return _part_fields(value)
    return jsonable(value)


def encode_truncation(value: Any) -> Any:
    if isinstance(value, RetentionRatio):
        out: dict[str, Any] = {
            "type": "retention_ratio",
            "retention_ratio": num(value.retention_ratio),
        }
        if value.post_instructions_tokens is not None:
            out["token_limits"] = {"post_instructions": value.post_instructions_tokens}
        return out
    return jsonable(value)


def encode_prompt(value: Any) -> Any:
    if isinstance(value, Prompt):
        out: dict[str, Any] = {"id": value.id}
        if value.version is not None:
            out["version"] = value.version
        if value.variables is not None:
            out["variables"] = jsonable(value.variables)
        return out
    return jsonable(value)


def encode_reasoning(value: Any) -> Any:
    if isinstance(value, Reasoning):
        return {"effort": value.effort}
    return jsonable(value)


def encode_tool(tool: Any) -> Any:
    if isinstance(tool, ToolSpec):
        return {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": jsonable(tool.parameters),
        }
    return jsonable(tool)


def encode_tools(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [encode_tool(tool) for tool in value]
    return jsonable(value)


def encode_include(value: Any) -> Any:
    return None if value is None else jsonable(value)


def encode_float(value: Any) -> Any:
    return num(value)


def encode_tool_choice_ga(value: Any) -> Any:
    if isinstance(value, FunctionChoice):
        return {"type": "function", "name": value.name}
    return jsonable(value)


def encode_tool_choice_beta(value: Any) -> Any:
    # The beta SDK types tool_choice as ``str``, but its own docstring, Azure's preview reference
    # and protocol.md 2.3/8 give the function form as {"type":"function","function":{"name"}}.
    if isinstance(value, FunctionChoice):
        return {"type": "function", "function": {"name": value.name}}
    return jsonable(value)


COMMON_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "speed": encode_float,
    "temperature": encode_float,
    "turn_detection": encode_turn_detection,
    "noise_reduction": encode_noise_reduction,
    "transcription": encode_transcription,
    "tools": encode_tools,
    "tracing": encode_tracing,
    "truncation": encode_truncation,
    "prompt": encode_prompt,
    "reasoning": encode_reasoning,
    "include": encode_include,
}
