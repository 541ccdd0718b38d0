"""The shapes each provider accepts: session objects, items, response parameters (schema nodes).

One table per wire shape, built from protocol.md §2-§6 and cross-checked against the official
``openai`` 3.52 types (a test asserts every SDK field is known here). Where a provider accepts
less than the SDK types allow, the narrower rule wins and the reason is given in a comment.

Every capability fact (voices, transcription models, ranges, limits, which fields a provider
takes) is read from :mod:`realtalk.capabilities`, the copy the client's rules read too;
``tests/test_capability_agreement.py`` checks that both accept the same session updates.

Pure: standard library only.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from realtalk import capabilities as caps
from realtalk.capabilities import ProviderFacts
from realtalk.server.wire import errors as E
from realtalk.server.wire.schema import (
    Alt,
    AnyJSON,
    Arr,
    Bool,
    Custom,
    Disc,
    Int,
    Map,
    Node,
    Num,
    Obj,
    Str,
)

__all__ = [
    "Dialect",
    "Flavor",
    "beta_item",
    "beta_response_params",
    "beta_session",
    "beta_transcription_session",
    "ga_item",
    "ga_response_params",
    "ga_session",
    "item_id_node",
    "provider_facts",
]

Dialect = Literal["ga", "beta"]
Flavor = Literal["openai", "azure"]
Error = dict[str, Any]

_PROVIDERS: dict[tuple[str, str], ProviderFacts] = {
    ("ga", "openai"): caps.OPENAI_GA,
    ("ga", "azure"): caps.AZURE_GA,
    ("beta", "openai"): caps.BETA,
    ("beta", "azure"): caps.AZURE_PREVIEW,
}


def provider_facts(dialect: Dialect, flavor: Flavor) -> ProviderFacts:
    """The shared capability facts of the provider this route stands in for."""
    return _PROVIDERS[(dialect, flavor)]


_METADATA = Map(
    Str(max_len=caps.METADATA_VALUE_MAX),
    max_pairs=caps.METADATA_PAIRS_MAX,
    max_key_len=caps.METADATA_KEY_MAX,
)
_STATUS = Str(enum=("completed", "incomplete", "in_progress"))
_OBJECT = Str(enum=("realtime.item",))


def _num(r: caps.Range) -> Num:
    return Num(r.low, r.high)


def _int(r: caps.Range) -> Int:
    return Int(None if r.low is None else int(r.low), None if r.high is None else int(r.high))


def item_id_node() -> Node:
    """Client item ids: at most 32 characters (protocol.md §6.6)."""
    return Str(max_len=caps.ITEM_ID_MAX)


# --- shared pieces ---------------------------------------------------------------------------


def _pcm_rate(value: Any, path: str) -> Error | None:
    # protocol.md §5: SDK and spec mark `rate` optional, live GA probes require it.
    if value.get("rate") is None:
        return E.missing_required_parameter(f"{path}.rate")
    if value["rate"] != caps.PCM_RATE:
        return E.invalid_value(f"{path}.rate", value["rate"], [caps.PCM_RATE])
    return None


def _ga_format() -> Node:
    return Disc(
        {
            "audio/pcm": Custom(Obj({"type": Str(), "rate": Int()}), _pcm_rate),
            "audio/pcmu": Obj({"type": Str()}),
            "audio/pcma": Obj({"type": Str()}),
        }
    )


_BETA_FORMAT = Str(enum=caps.BETA_AUDIO_FORMATS)


def _modalities(combos: tuple[tuple[str, ...], ...]) -> Node:
    """Modalities: elements checked first, then the combination (protocol.md §4)."""
    allowed = [sorted(c) for c in combos]

    def combination(value: Any, path: str) -> Error | None:
        if len(value) != len(set(value)) or sorted(value) not in allowed:
            return E.invalid_modalities(path, list(value), [list(c) for c in combos])
        return None

    return Custom(Arr(Str(enum=("text", "audio"))), combination)


GA_MODALITIES = _modalities(caps.GA_MODALITIES)
BETA_MODALITIES = _modalities(caps.BETA_MODALITIES)

_MAX_TOKENS = Alt(
    string=Str(enum=("inf",)), integer=_int(caps.MAX_OUTPUT_TOKENS), expected='an integer or "inf"'
)


def _function_tool() -> Obj:
    # The SDK types `name` optional; a service cannot call a nameless tool, so it is required
    # here (our choice, not observed).
    fields: dict[str, Node] = {
        "type": Str(enum=("function",)),
        "name": Str(),
        "description": Str(max_len=caps.TOOL_DESCRIPTION_MAX),
        "parameters": AnyJSON(),
    }
    return Obj(fields, required=frozenset({"name"}))


def _mcp_filter() -> Node:
    return Obj({"read_only": Bool(), "tool_names": Arr(Str())})


def _mcp_tool() -> Obj:
    return Obj(
        {
            "type": Str(),
            "server_label": Str(),
            "server_url": Str(),
            "connector_id": Str(),
            "tunnel_id": Str(),
            "authorization": Str(),
            "headers": Map(Str()),
            "allowed_tools": Alt(array=Arr(Str()), obj=_mcp_filter(), expected="an array"),
            "require_approval": Alt(
                string=Str(enum=("always", "never")),
                obj=Obj({"always": _mcp_filter(), "never": _mcp_filter()}),
                expected="a string or an object",
            ),
            "server_description": Str(),
            "defer_loading": Bool(),
            "allowed_callers": Arr(Str(enum=("direct", "programmatic"))),
        },
        required=frozenset({"server_label"}),
    )


_TOOL_NAME = re.compile(caps.TOOL_NAME_PATTERN)


def _function_names(value: Any, path: str) -> Error | None:
    """Function tool names: the documented function-name pattern, and each name once.

    protocol.md is silent on both for Realtime; a model cannot call a tool by an ambiguous or
    malformed name, so the stand-in refuses them as the client does (wording ours).
    """
    seen: set[str] = set()
    for index, tool in enumerate(value):
        if tool.get("type", "function") != "function" or not isinstance(tool.get("name"), str):
            continue
        name, where = tool["name"], f"{path}[{index}].name"
        if not _TOOL_NAME.fullmatch(name):
            return E.make_error(
                "invalid_value",
                f"Invalid '{where}': a function name is 1-64 letters, digits, '_' or '-'.",
                where,
            )
        if name in seen:
            return E.make_error(
                "invalid_value", f"Invalid '{where}': duplicate function name '{name}'.", where
            )
        seen.add(name)
    return None


def _ga_tools() -> Node:
    return Custom(
        Arr(Disc({"function": _function_tool(), "mcp": _mcp_tool()}, default="function")),
        _function_names,
    )


def _beta_tools() -> Node:
    return Custom(Arr(Disc({"function": _function_tool()}, default="function")), _function_names)


def _ga_tool_choice() -> Node:
    return Alt(
        string=Str(enum=caps.TOOL_CHOICE_MODES),
        obj=Disc(
            {
                "function": Obj({"type": Str(), "name": Str()}, required=frozenset({"name"})),
                "mcp": Obj(
                    {"type": Str(), "server_label": Str(), "name": Str()},
                    required=frozenset({"server_label"}),
                ),
            }
        ),
        expected="one of a string or an object",
    )


def _beta_tool_choice() -> Node:
    # The OpenAI beta SDK types tool_choice as any string, but protocol.md 2.3 and Azure's
    # reference (2.4) document the three keywords, and a function as the object form: a
    # stand-in takes those (the client refuses any other string too).
    string = Str(enum=caps.TOOL_CHOICE_MODES)
    function_obj = Obj(
        {
            "type": Str(),
            "function": Obj({"name": Str()}, required=frozenset({"name"})),
            "name": Str(),
        }
    )
    return Alt(string=string, obj=Disc({"function": function_obj}), expected="a string")


def _tracing() -> Node:
    return Alt(
        string=Str(enum=("auto",)),
        obj=Obj({"workflow_name": Str(), "group_id": Str(), "metadata": AnyJSON()}),
        expected="one of a string or an object",
    )


def _prompt() -> Node:
    return Obj(
        {"id": Str(), "version": Str(), "variables": Map(AnyJSON())}, required=frozenset({"id"})
    )


_REASONING = Obj({"effort": Str(enum=caps.REASONING_EFFORTS)})


def _server_vad(*, idle_timeout: bool) -> Obj:
    fields: dict[str, Node] = {
        "type": Str(),
        "threshold": _num(caps.VAD_THRESHOLD),
        "prefix_padding_ms": _int(caps.PREFIX_PADDING_MS),
        "silence_duration_ms": _int(caps.SILENCE_DURATION_MS),
        "create_response": Bool(),
        "interrupt_response": Bool(),
    }
    if idle_timeout:
        fields["idle_timeout_ms"] = _int(caps.IDLE_TIMEOUT_MS)
    return Obj(fields)


def _semantic_vad() -> Obj:
    return Obj(
        {
            "type": Str(),
            "eagerness": Str(enum=caps.EAGERNESS),
            "create_response": Bool(),
            "interrupt_response": Bool(),
        }
    )


def _turn_detection(*, idle_timeout: bool, default: str | None) -> Node:
    # A discriminated union on both shapes: the beta SDK type is flat, but the service rejects
    # server_vad knobs on semantic_vad and vice versa (protocol.md §3).
    return Disc(
        {"server_vad": _server_vad(idle_timeout=idle_timeout), "semantic_vad": _semantic_vad()},
        default=default,
    )


def _transcription_model(facts: ProviderFacts) -> Node:
    # Azure GA names deployments (protocol.md 2.5); elsewhere the documented list is strict
    # (the reason is at realtalk.capabilities.Policy).
    if facts.transcription_policy == "open":
        return Str()
    return Str(enum=facts.transcription_models)


def _transcription_per_model(value: Any, path: str) -> Error | None:
    """The GA fields that only some transcription models take (protocol.md 2.1, SDK docs).

    The service's wording is not reported; the code and message are our choice. A model the
    lists do not know (an Azure deployment name) is not checked: its capabilities are unknown.
    """
    model = value.get("model")
    if model not in caps.GA_TRANSCRIPTION_MODELS:
        return None
    for key in ("languages", "keywords"):
        if value.get(key) is not None and model not in caps.KEYWORD_MODELS:
            return _not_with_model(path, key, model)
    if value.get("delay") is not None and model not in caps.DELAY_MODELS:
        return _not_with_model(path, "delay", model)
    if value.get("prompt") is not None and model in caps.NO_PROMPT_MODELS:
        return _not_with_model(path, "prompt", model)
    return None


def _not_with_model(path: str, key: str, model: str) -> Error:
    return E.make_error(
        "invalid_value",
        f"Invalid '{path}.{key}': not supported with the transcription model '{model}'.",
        f"{path}.{key}",
    )


def _drop_unsupported(obj: Obj, facts: ProviderFacts, prefix: str = "") -> Obj:
    """``obj`` without the fields (under ``prefix``) this provider does not take.

    Unsupported fields are unknown parameters to the service, so leaving them out of the
    schema gives the service's own ``unknown_parameter`` error (protocol.md 2.4, 7.2).
    """
    names = [
        key.removeprefix(prefix)
        for key in facts.unsupported()
        if key.startswith(prefix) and "." not in key.removeprefix(prefix)
    ]
    return obj.without(*(n for n in names if n in obj.fields))


# --- GA --------------------------------------------------------------------------------------


def _ga_audio_input(facts: ProviderFacts) -> Obj:
    transcription = Obj(
        {
            "model": _transcription_model(facts),
            "language": Str(),
            "languages": Arr(Str()),
            "keywords": Arr(Str()),
            "prompt": Str(),
            "delay": Str(enum=caps.TRANSCRIPTION_DELAYS),
        }
    )
    noise_reduction = Obj(
        {
            "type": Str(enum=caps.NOISE_REDUCTION_TYPES),
            "strength": _num(caps.NOISE_REDUCTION_STRENGTH),
        }
    )
    return Obj(
        {
            "format": _ga_format(),
            "noise_reduction": _drop_unsupported(noise_reduction, facts, "noise_reduction."),
            "transcription": Custom(
                _drop_unsupported(transcription, facts, "transcription."),
                _transcription_per_model,
            ),
            "turn_detection": _turn_detection(
                idle_timeout=facts.supports("turn_detection.idle_timeout_ms"), default=None
            ),
        }
    )


def _ga_voice(facts: ProviderFacts) -> Node:
    return Alt(
        string=Str(enum=facts.voices),
        obj=Obj({"id": Str()}, required=frozenset({"id"})),
        expected="one of a string or an object",
    )


@functools.cache
def ga_session(flavor: Flavor) -> Node:
    """The GA ``session`` of ``session.update``: realtime or transcription (protocol.md §2.1f)."""
    facts = provider_facts("ga", flavor)
    realtime = Obj(
        {
            "type": Str(),
            "model": Str(),
            "instructions": Str(),
            "output_modalities": GA_MODALITIES,
            "audio": Obj(
                {
                    "input": _ga_audio_input(facts),
                    "output": Obj(
                        {
                            "format": _ga_format(),
                            "voice": _ga_voice(facts),
                            "speed": _num(caps.SPEED),
                        }
                    ),
                }
            ),
            "include": Arr(Str(enum=caps.INCLUDE_VALUES)),
            "tracing": _tracing(),
            "tools": _ga_tools(),
            "tool_choice": _ga_tool_choice(),
            "max_output_tokens": _MAX_TOKENS,
            "truncation": Alt(
                string=Str(enum=("auto", "disabled")),
                obj=Disc(
                    {
                        "retention_ratio": Obj(
                            {
                                "type": Str(),
                                "retention_ratio": _num(caps.RETENTION_RATIO),
                                "token_limits": Obj(
                                    {"post_instructions": _int(caps.POST_INSTRUCTIONS_TOKENS)}
                                ),
                            },
                            required=frozenset({"retention_ratio"}),
                        )
                    }
                ),
                expected="one of a string or an object",
            ),
            "prompt": _prompt(),
            "parallel_tool_calls": Bool(),
            "reasoning": _REASONING,
        }
    )
    transcription = Obj(
        {
            "type": Str(),
            "audio": Obj({"input": _ga_audio_input(facts)}),
            "include": Arr(Str(enum=caps.INCLUDE_VALUES)),
        }
    )
    return Disc(
        {
            "realtime": _drop_unsupported(realtime, facts),
            "transcription": _drop_unsupported(transcription, facts),
        }
    )


def _ga_content(role: str) -> Node:
    text = Obj({"type": Str(), "text": Str()})
    if role == "system":
        return Disc({"input_text": text}, default="input_text")
    if role == "user":
        return Disc(
            {
                "input_text": text,
                "input_audio": Obj({"type": Str(), "audio": Str(), "transcript": Str()}),
                "input_image": Obj(
                    {
                        "type": Str(),
                        "image_url": Str(),
                        "detail": Str(enum=("auto", "low", "high")),
                    }
                ),
            }
        )

    def no_audio(value: Any, path: str) -> Error | None:
        # The SDK: clients cannot create assistant audio. Wording not observed; our choice.
        if value.get("audio") is not None:
            return E.make_error(
                "invalid_value",
                "Assistant messages cannot carry audio; send the transcript instead.",
                f"{path}.audio",
            )
        return None

    return Disc(
        {
            "output_text": text,
            "output_audio": Custom(
                Obj({"type": Str(), "audio": Str(), "transcript": Str()}), no_audio
            ),
        }
    )


def _ga_message() -> Node:
    def message(role: str) -> Obj:
        return Obj(
            {
                "type": Str(),
                "role": Str(),
                "content": Arr(_ga_content(role)),
                "id": item_id_node(),
                "object": _OBJECT,
                "status": _STATUS,
            },
            required=frozenset({"content"}),
        )

    return Disc(
        {"system": message("system"), "user": message("user"), "assistant": message("assistant")},
        key="role",
    )


def ga_item(*, references: bool = False) -> Node:
    """A GA conversation item (protocol.md §6.6); with ``references`` also ``item_reference``."""
    common = {"id": item_id_node(), "object": _OBJECT, "status": _STATUS}
    mcp_error = Disc(
        {
            "protocol_error": Obj({"type": Str(), "code": Int(), "message": Str()}),
            "tool_execution_error": Obj({"type": Str(), "message": Str()}),
            "http_error": Obj({"type": Str(), "code": Int(), "message": Str()}),
        }
    )
    variants: dict[str, Node] = {
        "message": _ga_message(),
        "function_call": Obj(
            {"type": Str(), "name": Str(), "arguments": Str(), "call_id": Str(), **common},
            required=frozenset({"name", "arguments"}),
        ),
        "function_call_output": Obj(
            {"type": Str(), "call_id": Str(), "output": Str(), **common},
            required=frozenset({"call_id", "output"}),
        ),
        "mcp_approval_response": Obj(
            {
                "type": Str(),
                "id": item_id_node(),
                "approval_request_id": Str(),
                "approve": Bool(),
                "reason": Str(),
            },
            required=frozenset({"id", "approval_request_id", "approve"}),
        ),
        "mcp_list_tools": Obj(
            {
                "type": Str(),
                "id": item_id_node(),
                "server_label": Str(),
                "tools": Arr(
                    Obj(
                        {
                            "name": Str(),
                            "input_schema": AnyJSON(),
                            "annotations": AnyJSON(),
                            "description": Str(),
                        },
                        required=frozenset({"name", "input_schema"}),
                    )
                ),
            },
            required=frozenset({"server_label", "tools"}),
        ),
        "mcp_call": Obj(
            {
                "type": Str(),
                "id": item_id_node(),
                "arguments": Str(),
                "name": Str(),
                "server_label": Str(),
                "approval_request_id": Str(),
                "error": mcp_error,
                "output": Str(),
            },
            required=frozenset({"id", "arguments", "name", "server_label"}),
        ),
        "mcp_approval_request": Obj(
            {
                "type": Str(),
                "id": item_id_node(),
                "arguments": Str(),
                "name": Str(),
                "server_label": Str(),
            },
            required=frozenset({"id", "arguments", "name", "server_label"}),
        ),
    }
    if references:
        variants["item_reference"] = Obj(
            {"type": Str(), "id": Str(), "object": _OBJECT}, required=frozenset({"id"})
        )
    return Disc(variants)


def ga_response_params(flavor: Flavor = "openai") -> Obj:
    """GA ``response.create`` ``response`` (protocol.md §6.7)."""
    facts = provider_facts("ga", flavor)
    return Obj(
        {
            "audio": Obj({"output": Obj({"format": _ga_format(), "voice": _ga_voice(facts)})}),
            "conversation": Str(enum=("auto", "none")),
            "input": Arr(ga_item(references=True)),
            "instructions": Str(),
            "max_output_tokens": _MAX_TOKENS,
            "metadata": _METADATA,
            "output_modalities": GA_MODALITIES,
            "parallel_tool_calls": Bool(),
            "prompt": _prompt(),
            "reasoning": _REASONING,
            "tool_choice": _ga_tool_choice(),
            "tools": _ga_tools(),
        }
    )


# --- beta / Azure preview --------------------------------------------------------------------


def _beta_transcription(facts: ProviderFacts) -> Obj:
    return Obj({"model": _transcription_model(facts), **{k: Str() for k in ("language", "prompt")}})


@functools.cache
def beta_session(flavor: Flavor) -> Obj:
    """The beta ``session`` of ``session.update`` (protocol.md §2.3; Azure preview §2.4)."""
    facts = provider_facts("beta", flavor)
    fields: dict[str, Node] = {
        "model": Str(),
        "instructions": Str(),
        "modalities": BETA_MODALITIES,
        "voice": Str(enum=facts.voices),
        "input_audio_format": _BETA_FORMAT,
        "output_audio_format": _BETA_FORMAT,
        "input_audio_noise_reduction": Obj({"type": Str(enum=caps.NOISE_REDUCTION_TYPES)}),
        "input_audio_transcription": _beta_transcription(facts),
        "turn_detection": _turn_detection(
            idle_timeout=facts.supports("turn_detection.idle_timeout_ms"), default="server_vad"
        ),
        "tools": _beta_tools(),
        "tool_choice": _beta_tool_choice(),
        "temperature": _num(caps.TEMPERATURE),
        "max_response_output_tokens": _MAX_TOKENS,
        "speed": _num(caps.SPEED),
        "tracing": _tracing(),
        "include": Arr(Str(enum=caps.INCLUDE_VALUES)),
    }
    # `client_secret` is in the beta SDK type but belongs to the REST create call; over the
    # WebSocket it is rejected with param session.client_secret (protocol.md §2.3). The code is
    # not reported; unknown_parameter is our choice. Absent from `fields` => unknown_parameter.
    # The provider's unsupported fields (realtalk.capabilities) are unknown parameters: on the
    # beta shape `include` (the beta SDK's update type has none; it is only in the read shape and
    # in transcription sessions), and on Azure preview the six its reference is silent on.
    return _drop_unsupported(Obj(fields), facts)


@functools.cache
def beta_transcription_session(flavor: Flavor) -> Obj:
    """The ``session`` of beta ``transcription_session.update`` (protocol.md §2.3)."""
    facts = provider_facts("beta", flavor)
    fields: dict[str, Node] = {
        "input_audio_format": _BETA_FORMAT,
        "input_audio_transcription": _beta_transcription(facts),
        "input_audio_noise_reduction": Obj({"type": Str(enum=caps.NOISE_REDUCTION_TYPES)}),
        "turn_detection": _turn_detection(idle_timeout=False, default="server_vad"),
        "include": Arr(Str(enum=caps.INCLUDE_VALUES)),
        "modalities": BETA_MODALITIES,
    }
    obj = Obj(fields)
    if facts.support.get("include") == "undocumented":
        # Azure's reference is silent on include (protocol.md 2.4); the beta shape's own
        # transcription sessions take it (2.3), so only the undocumented case drops it here.
        obj = obj.without("include")
    return obj


def beta_item(*, references: bool = False) -> Node:
    """The flat beta ConversationItem (protocol.md §6.6), with a few service-side requirements."""
    item_types = ["message", "function_call", "function_call_output"]
    part_types = ["input_text", "input_audio", "item_reference", "text", "audio"]
    if references:
        item_types.append("item_reference")
        part_types.remove("audio")
    part = Obj(
        {
            "type": Str(enum=tuple(part_types)),
            "id": Str(),
            "audio": Str(),
            "text": Str(),
            "transcript": Str(),
        }
    )
    flat = Obj(
        {
            "id": item_id_node(),
            "type": Str(enum=tuple(item_types)),
            "object": _OBJECT,
            "status": _STATUS,
            "role": Str(enum=("user", "assistant", "system")),
            "content": Arr(part),
            "call_id": Str(),
            "name": Str(),
            "arguments": Str(),
            "output": Str(),
        }
    )

    def requirements(value: Any, path: str) -> Error | None:
        # The beta SDK type leaves every key optional; the service cannot act on a message
        # without a role, or on a tool result without call_id and output (our choice to check).
        kind = value.get("type", "message")
        needed: tuple[str, ...] = ()
        if kind == "message":
            needed = ("role",)
        elif kind == "function_call":
            needed = ("name",)
        elif kind == "function_call_output":
            needed = ("call_id", "output")
        elif kind == "item_reference":
            needed = ("id",)
        for key in needed:
            if value.get(key) is None:
                return E.missing_required_parameter(f"{path}.{key}")
        return None

    return Custom(flat, requirements)


def beta_response_params(flavor: Flavor) -> Obj:
    """Beta ``response.create`` ``response`` (protocol.md §6.7)."""
    return Obj(
        {
            "conversation": Str(enum=("auto", "none")),
            "input": Arr(beta_item(references=True)),
            "instructions": Str(),
            "max_response_output_tokens": _MAX_TOKENS,
            "metadata": _METADATA,
            "modalities": BETA_MODALITIES,
            "output_audio_format": _BETA_FORMAT,
            "temperature": _num(caps.TEMPERATURE),
            "tool_choice": _beta_tool_choice(),
            "tools": _beta_tools(),
            "voice": Str(enum=provider_facts("beta", flavor).voices),
        }
    )
