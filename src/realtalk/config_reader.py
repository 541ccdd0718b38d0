"""Reading a session object in any shape: GA nested, beta flat, or realtalk's own names.

One reader serves two callers with different manners. Both get the ``SessionConfig`` fields as
a dict (field name -> value) and build the config themselves, so this module sits below
``realtalk.config`` and ``realtalk.dialects`` and imports neither (no import cycle):

* :func:`session_fields_from_dict` (behind ``SessionConfig.from_dict``) is *strict*: it reads
  what a user pasted from the docs of either shape and raises one
  :class:`~realtalk.errors.ConfigError` listing every key it cannot map, each with its path,
  value, rule and fix.
* :func:`wire_session_fields` (behind each dialect's ``decode_session``) is *lenient*: it reads
  what a server sent and never raises. Read-only keys (``id``, ``object``, ``expires_at``,
  ``client_secret``, ``type``) are dropped; unknown keys and values realtalk cannot model are
  kept verbatim in ``extra`` (under their dotted wire path); knobs a server echoes for the other
  turn-detection type are dropped, because sending them back would fail the whole update.

It knows both shapes' key names, as ``realtalk.dialects`` does: it is the one place outside that
package where wire names are read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, Final

from realtalk.capabilities import (
    EAGERNESS,
    NOISE_REDUCTION_TYPES,
    REASONING_EFFORTS,
    SEMANTIC_VAD_FIELDS,
    SERVER_VAD_FIELDS,
    TRANSCRIPTION_DELAYS,
)
from realtalk.config_parts import (
    AudioFormat,
    FunctionChoice,
    NoiseReduction,
    Prompt,
    Reasoning,
    RetentionRatio,
    SemanticVAD,
    ServerVAD,
    ToolSpec,
    Tracing,
    Transcription,
)
from realtalk.errors import ConfigError, ConfigProblem

__all__ = ["session_fields_from_dict", "wire_session_fields"]


class _Bad:
    def __repr__(self) -> str:
        return "<bad>"


BAD: Final = _Bad()

READ_ONLY = frozenset({"id", "object", "expires_at", "client_secret", "type"})

# GA nesting: audio.input.* and audio.output.*
AUDIO_INPUT: Mapping[str, str] = {
    "format": "input_format",
    "noise_reduction": "noise_reduction",
    "transcription": "transcription",
    "turn_detection": "turn_detection",
}
AUDIO_OUTPUT: Mapping[str, str] = {"format": "output_format", "voice": "voice", "speed": "speed"}

NULLABLE = frozenset(
    {"turn_detection", "noise_reduction", "transcription", "tracing", "prompt", "include"}
)

_FORMATS: Mapping[str, AudioFormat] = {
    "pcm16": AudioFormat.pcm16(),
    "audio/pcm": AudioFormat.pcm16(),
    "pcmu": AudioFormat.pcmu(),
    "g711_ulaw": AudioFormat.pcmu(),
    "audio/pcmu": AudioFormat.pcmu(),
    "pcma": AudioFormat.pcma(),
    "g711_alaw": AudioFormat.pcma(),
    "audio/pcma": AudioFormat.pcma(),
}
_EXTRA_FIX = "provider-specific fields realtalk does not model go under 'extra'"


class _Reader:
    """Collects problems (strict) or keeps what it cannot model in ``extra`` (lenient)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[ConfigProblem] = []
        self.extra: dict[str, Any] = {}
        self.failed = False

    def bad(self, path: str, value: Any, rule: str, fix: str = "") -> _Bad:
        """A value realtalk cannot use (wrong type, unknown choice)."""
        self.failed = True
        if self.strict:
            self.problems.append(ConfigProblem(path, value, rule, fix))
        return BAD

    def unknown(self, path: str, value: Any, rule: str, fix: str = "") -> None:
        """A key realtalk does not know: an error when strict, kept in ``extra`` when lenient."""
        if self.strict:
            self.problems.append(ConfigProblem(path, value, rule, fix))
        else:
            self.extra[path] = value


Parser = Callable[[_Reader, Any, str], Any]


# -- scalars ---------------------------------------------------------------------------------


def _str(r: _Reader, value: Any, path: str) -> Any:
    return value if isinstance(value, str) else r.bad(path, value, "must be a string")


def _number(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return r.bad(path, value, "must be a number")


def _int(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return r.bad(path, value, "must be an integer")


def _bool(r: _Reader, value: Any, path: str) -> Any:
    return value if isinstance(value, bool) else r.bad(path, value, "must be true or false")


def _choice(*choices: str) -> Parser:
    def parse(r: _Reader, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            return r.bad(path, value, f"must be one of {_list(choices)}")
        if r.strict and value not in choices:
            return r.bad(path, value, f"must be one of {_list(choices)}")
        return value

    return parse


def _str_tuple(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return r.bad(path, value, "must be a list of strings")


def _list(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(items)


# -- parts -----------------------------------------------------------------------------------


def _part(cls: type, spec: Mapping[str, Parser], keep_none: frozenset[str] = frozenset()) -> Parser:
    name = cls.__name__

    def parse(r: _Reader, value: Any, path: str) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            return r.bad(path, value, f"must be an object ({name})")
        kwargs: dict[str, Any] = {}
        for key, raw in value.items():
            sub = f"{path}.{key}"
            parser = spec.get(key)
            if parser is None:
                r.unknown(sub, raw, f"{name} has no '{key}'", f"{name} takes {_list(list(spec))}")
            elif raw is None and key not in keep_none:
                continue  # servers echo unset knobs as null
            elif raw is None:
                kwargs[key] = None
            else:
                parsed = parser(r, raw, sub)
                if parsed is not BAD:
                    kwargs[key] = parsed
        return cls(**kwargs)

    return parse


_noise_reduction = _part(
    NoiseReduction, {"type": _choice(*NOISE_REDUCTION_TYPES), "strength": _number}
)
_transcription = _part(
    Transcription,
    {
        "model": _str,
        "language": _str,
        "prompt": _str,
        "languages": _str_tuple,
        "keywords": _str_tuple,
        "delay": _choice(*TRANSCRIPTION_DELAYS),
    },
)
_tracing_part = _part(
    Tracing,
    {
        "workflow_name": _str,
        "group_id": _str,
        "metadata": lambda r, v, p: (
            dict(v) if isinstance(v, Mapping) else r.bad(p, v, "must be an object")
        ),
    },
)

_VAD_SPECS: Mapping[str, Mapping[str, Parser]] = {
    "server_vad": {
        "threshold": _number,
        "prefix_padding_ms": _int,
        "silence_duration_ms": _int,
        "idle_timeout_ms": _int,
        "create_response": _bool,
        "interrupt_response": _bool,
    },
    "semantic_vad": {
        "eagerness": _choice(*EAGERNESS),
        "create_response": _bool,
        "interrupt_response": _bool,
    },
}
_VAD_KEYS = {"server_vad": SERVER_VAD_FIELDS, "semantic_vad": SEMANTIC_VAD_FIELDS}


def _turn_detection(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, ServerVAD | SemanticVAD):
        return value
    if not isinstance(value, Mapping):
        return r.bad(path, value, "must be an object with a 'type' (server_vad or semantic_vad)")
    kind = value.get("type")
    if kind is None:
        # The beta SDK's flat type defaults to server_vad; eagerness only exists on semantic_vad.
        kind = "semantic_vad" if "eagerness" in value else "server_vad"
    if kind not in _VAD_SPECS:
        return r.bad(f"{path}.type", kind, "must be 'server_vad' or 'semantic_vad'")
    other = "semantic_vad" if kind == "server_vad" else "server_vad"
    spec = _VAD_SPECS[kind]
    kwargs: dict[str, Any] = {}
    for key, raw in value.items():
        sub = f"{path}.{key}"
        if key == "type":
            continue
        if key not in spec:
            if key in _VAD_SPECS[other]:
                if r.strict:
                    r.problems.append(
                        ConfigProblem(
                            sub,
                            raw,
                            f"{kind} does not take '{key}' (it belongs to {other})",
                            f"{kind} takes {_list(_VAD_KEYS[kind])}",
                        )
                    )
                continue
            r.unknown(sub, raw, f"{kind} has no '{key}'", f"{kind} takes {_list(_VAD_KEYS[kind])}")
            continue
        if raw is None:
            if key == "idle_timeout_ms":
                kwargs[key] = None
            continue
        parsed = spec[key](r, raw, sub)
        if parsed is not BAD:
            kwargs[key] = parsed
    return ServerVAD(**kwargs) if kind == "server_vad" else SemanticVAD(**kwargs)


# -- fields ----------------------------------------------------------------------------------


def _modalities(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return r.bad(path, value, 'must be a list such as ["audio"] or ["text"]')
    for item in value:
        if item not in ("audio", "text"):
            return r.bad(path, value, 'may contain only "audio" and "text"')
    return tuple(value)


def _format(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, AudioFormat):
        return value
    if isinstance(value, str) and value in _FORMATS:
        return _FORMATS[value]
    if isinstance(value, Mapping):
        kind = value.get("type", value.get("encoding"))
        if isinstance(kind, str) and kind in _FORMATS:
            base = _FORMATS[kind]
            rate = value.get("rate")
            if rate is None:
                return base
            if isinstance(rate, int) and not isinstance(rate, bool):
                return AudioFormat(base.encoding, rate)
            return r.bad(f"{path}.rate", rate, "must be an integer sample rate")
    return r.bad(
        path,
        value,
        "is not an audio format",
        'use {"type": "audio/pcm", "rate": 24000}, "pcm16", "g711_ulaw" or "g711_alaw"',
    )


def _tool(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, ToolSpec):
        return value
    if not isinstance(value, Mapping):
        return r.bad(path, value, "must be a function tool object")
    kind = value.get("type", "function")
    if kind != "function":
        return r.bad(f"{path}.type", kind, "only function tools are modelled")
    kwargs: dict[str, Any] = {}
    for key, raw in value.items():
        sub = f"{path}.{key}"
        if key == "type":
            continue
        if key in ("name", "description"):
            parsed = _str(r, raw, sub)
        elif key == "parameters":
            parsed = (
                dict(raw)
                if isinstance(raw, Mapping)
                else r.bad(sub, raw, "must be a JSON schema object")
            )
        else:
            r.unknown(
                sub,
                raw,
                f"a function tool has no '{key}'",
                "tools take name, description, parameters",
            )
            continue
        if parsed is not BAD:
            kwargs[key] = parsed
    if "name" not in kwargs:
        return r.bad(f"{path}.name", value.get("name"), "a function tool needs a name")
    return ToolSpec(**kwargs)


def _tools(r: _Reader, value: Any, path: str) -> Any:
    if not isinstance(value, list | tuple):
        return r.bad(path, value, "must be a list of tools")
    tools = [_tool(r, item, f"{path}[{i}]") for i, item in enumerate(value)]
    return BAD if any(t is BAD for t in tools) else tuple(tools)


def _tool_choice(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, FunctionChoice) or value in ("auto", "none", "required"):
        return value
    if isinstance(value, Mapping) and value.get("type") == "function":
        name = value.get("name")
        inner = value.get("function")
        if name is None and isinstance(inner, Mapping):
            name = inner.get("name")
        if isinstance(name, str):
            return FunctionChoice(name)
    return r.bad(
        path,
        value,
        "must be auto, none, required or a function",
        '{"type": "function", "name": ...}',
    )


def _max_tokens(r: _Reader, value: Any, path: str) -> Any:
    if value == "inf":
        return "inf"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return r.bad(path, value, 'must be an integer or "inf"')


def _tracing(r: _Reader, value: Any, path: str) -> Any:
    if value == "auto":
        return "auto"
    return _tracing_part(r, value, path)


def _truncation(r: _Reader, value: Any, path: str) -> Any:
    if value in ("auto", "disabled") or isinstance(value, RetentionRatio):
        return value
    if isinstance(value, Mapping) and value.get("type", "retention_ratio") == "retention_ratio":
        ratio = _number(r, value.get("retention_ratio"), f"{path}.retention_ratio")
        limits = value.get("token_limits")
        post = None
        if isinstance(limits, Mapping) and limits.get("post_instructions") is not None:
            post = _int(r, limits["post_instructions"], f"{path}.token_limits.post_instructions")
        elif "post_instructions_tokens" in value:
            post = _int(r, value["post_instructions_tokens"], f"{path}.post_instructions_tokens")
        if ratio is BAD or post is BAD:
            return BAD
        return RetentionRatio(ratio, post)
    return r.bad(path, value, 'must be "auto", "disabled" or a retention_ratio object')


def _prompt(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, Prompt):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        version = value.get("version")
        variables = value.get("variables")
        if version is not None and not isinstance(version, str):
            return r.bad(f"{path}.version", version, "must be a string")
        if variables is not None and not isinstance(variables, Mapping):
            return r.bad(f"{path}.variables", variables, "must be an object")
        return Prompt(value["id"], version, dict(variables) if variables is not None else None)
    return r.bad(path, value, "must be an object with a string 'id'")


def _reasoning(r: _Reader, value: Any, path: str) -> Any:
    if isinstance(value, Reasoning):
        return value
    if isinstance(value, Mapping):
        effort = _choice(*REASONING_EFFORTS)(r, value.get("effort"), f"{path}.effort")
        return BAD if effort is BAD else Reasoning(effort)
    return r.bad(path, value, "must be an object with 'effort'")


def _extra(r: _Reader, value: Any, path: str) -> Any:
    return dict(value) if isinstance(value, Mapping) else r.bad(path, value, "must be an object")


PARSERS: Mapping[str, Parser] = {
    "model": _str,
    "instructions": _str,
    "output_modalities": _modalities,
    "voice": _str,
    "speed": _number,
    "input_format": _format,
    "output_format": _format,
    "turn_detection": _turn_detection,
    "noise_reduction": _noise_reduction,
    "transcription": _transcription,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "max_output_tokens": _max_tokens,
    "temperature": _number,
    "tracing": _tracing,
    "truncation": _truncation,
    "prompt": _prompt,
    "reasoning": _reasoning,
    "include": _str_tuple,
    "extra": _extra,
}

# Every top-level name realtalk understands -> its SessionConfig field (own names, GA, beta).
# Own names are the fields PARSERS reads (a test checks that they are SessionConfig's fields).
TOP_LEVEL: Mapping[str, str] = {
    **{name: name for name in PARSERS if name != "extra"},
    "modalities": "output_modalities",
    "input_audio_format": "input_format",
    "output_audio_format": "output_format",
    "input_audio_noise_reduction": "noise_reduction",
    "input_audio_transcription": "transcription",
    "max_response_output_tokens": "max_output_tokens",
}


# -- the session -----------------------------------------------------------------------------


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return hint + _EXTRA_FIX


def _read(data: Any, strict: bool) -> dict[str, Any]:
    r = _Reader(strict)
    if not isinstance(data, Mapping):
        r.bad("session", data, "must be a mapping of session fields")
        raise ConfigError(r.problems)
    found: dict[str, tuple[str, Any]] = {}

    def offer(field: str, path: str, raw: Any) -> None:
        if field in found:
            first = found[field][0]
            r.unknown(
                path, raw, f"sets '{field}' a second time (also set as '{first}')", "keep one"
            )
            return
        found[field] = (path, raw)

    def nested(prefix: str, value: Any, table: Mapping[str, str]) -> None:
        if not isinstance(value, Mapping):
            r.unknown(prefix, value, "must be an object")
            return
        for key, raw in value.items():
            path = f"{prefix}.{key}"
            if key in table:
                offer(table[key], path, raw)
            else:
                r.unknown(path, raw, f"unknown key '{key}'", f"{prefix} takes {_list(list(table))}")

    for key, raw in data.items():
        if not isinstance(key, str):
            r.unknown(str(key), raw, "keys must be strings")
        elif key in READ_ONLY:
            if key == "type" and strict and raw not in ("realtime", "transcription"):
                r.bad("type", raw, "must be 'realtime' or 'transcription'")
        elif key == "audio":
            if not isinstance(raw, Mapping):
                r.unknown("audio", raw, "must be an object with 'input' and/or 'output'")
                continue
            for side, sub in raw.items():
                if side == "input":
                    nested("audio.input", sub, AUDIO_INPUT)
                elif side == "output":
                    nested("audio.output", sub, AUDIO_OUTPUT)
                else:
                    r.unknown(
                        f"audio.{side}", sub, f"unknown key '{side}'", "audio takes input, output"
                    )
        elif key == "extra" and strict:
            offer("extra", key, raw)
        elif key in TOP_LEVEL:
            offer(TOP_LEVEL[key], key, raw)
        else:
            r.unknown(
                key, raw, f"unknown key '{key}'", _suggest(key, [*TOP_LEVEL, "audio", "extra"])
            )

    values: dict[str, Any] = {}
    for field, (path, raw) in found.items():
        if raw is None and field not in NULLABLE:
            if strict:
                r.bad(path, raw, "cannot be null", "leave the key out to keep the current value")
            continue
        if raw is None:
            values[field] = None
            continue
        r.failed = False
        parsed = PARSERS[field](r, raw, path)
        if r.failed or parsed is BAD:
            if not strict:
                r.extra[path] = raw
            continue
        values[field] = parsed

    if r.problems:
        raise ConfigError(r.problems)
    if r.extra:
        values["extra"] = {**r.extra, **values.get("extra", {})}
    return values


def session_fields_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """``SessionConfig`` fields from a mapping in the GA shape, the beta shape or realtalk's names.

    Raises :class:`~realtalk.errors.ConfigError` listing every key it cannot map and every value
    of the wrong type, each with its path (as written in ``data``) and a fix.
    """
    return _read(data, strict=True)


def wire_session_fields(data: Any) -> dict[str, Any]:
    """``SessionConfig`` fields from a server's ``session`` object (either shape). Never raises."""
    if not isinstance(data, Mapping):
        return {"extra": {"session": data}}
    try:
        return _read(data, strict=False)
    except ConfigError:  # pragma: no cover - lenient reading records nothing as a problem
        return {"extra": dict(data)}
