"""The shapes each provider accepts: session objects, items, response parameters (schema nodes).

One table per wire shape, built from protocol.md §2-§6 and cross-checked against the official
``openai`` 3.52 types (a test asserts every SDK field is known here). Where a provider accepts
less than the SDK types allow, the narrower rule wins and the reason is given in a comment.

Pure: standard library only.
"""

from __future__ import annotations

from typing import Any, Literal

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
    "AZURE_PREVIEW_UNDOCUMENTED",
    "BETA_VOICES",
    "GA_VOICES",
    "PCM_RATE",
    "TRANSCRIPTION_MODELS",
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
]

Dialect = Literal["ga", "beta"]
Flavor = Literal["openai", "azure"]
Error = dict[str, Any]

PCM_RATE = 24000
"""protocol.md §5: "Only a 24kHz sample rate is supported"."""

GA_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
)  # fmt: skip
"""protocol.md §2.1. The SDK also types "any string"; we enumerate, as the service does (ours)."""

BETA_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse")
"""protocol.md §2.3/§2.4: the beta SDK and Azure's reference list 8 voices."""

OPENAI_BETA_VOICES = (*BETA_VOICES, "marin", "cedar")
"""protocol.md §2.3: the spec adds marin and cedar for the OpenAI beta shape."""

TRANSCRIPTION_MODELS = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-realtime-whisper",
)
"""protocol.md §2.1. Azure names deployments instead (§2.5), so Azure accepts any string."""

AZURE_PREVIEW_UNDOCUMENTED = ("speed", "tracing", "include", "prompt", "truncation")
"""protocol.md §2.4/§9.12: Azure's preview reference is silent on these (and on
``turn_detection.idle_timeout_ms``). The safe assumption for a stand-in is that Azure preview
rejects them as unknown parameters, so a payload that passes locally passes there too."""

_STATUS = Str(enum=("completed", "incomplete", "in_progress"))
_OBJECT = Str(enum=("realtime.item",))
_NOISE_TYPES = ("near_field", "far_field")
_EAGERNESS = ("low", "medium", "high", "auto")
_ITEM_ID_MAX = 32
_TOOL_DESCRIPTION_MAX = 1024


def item_id_node() -> Node:
    """Client item ids: at most 32 characters (protocol.md §6.6)."""
    return Str(max_len=_ITEM_ID_MAX)


# --- shared pieces ---------------------------------------------------------------------------


def _pcm_rate(value: Any, path: str) -> Error | None:
    # protocol.md §5: SDK and spec mark `rate` optional, live GA probes require it.
    if value.get("rate") is None:
        return E.missing_required_parameter(f"{path}.rate")
    if value["rate"] != PCM_RATE:
        return E.invalid_value(f"{path}.rate", value["rate"], [PCM_RATE])
    return None


def _ga_format() -> Node:
    return Disc(
        {
            "audio/pcm": Custom(Obj({"type": Str(), "rate": Int()}), _pcm_rate),
            "audio/pcmu": Obj({"type": Str()}),
            "audio/pcma": Obj({"type": Str()}),
        }
    )


_BETA_FORMAT = Str(enum=("pcm16", "g711_ulaw", "g711_alaw"))


def _modalities(combos: list[list[str]]) -> Node:
    """Modalities: elements checked first, then the combination (protocol.md §4)."""
    allowed = [sorted(c) for c in combos]

    def combination(value: Any, path: str) -> Error | None:
        if len(value) != len(set(value)) or sorted(value) not in allowed:
            return E.invalid_modalities(path, list(value), combos)
        return None

    return Custom(Arr(Str(enum=("text", "audio"))), combination)


GA_MODALITIES = _modalities([["text"], ["audio"]])
BETA_MODALITIES = _modalities([["text"], ["audio", "text"]])

_MAX_TOKENS = Alt(string=Str(enum=("inf",)), integer=Int(1, 4096), expected='an integer or "inf"')


def _function_tool() -> Obj:
    # The SDK types `name` optional; a service cannot call a nameless tool, so it is required
    # here (our choice, not observed).
    fields: dict[str, Node] = {
        "type": Str(enum=("function",)),
        "name": Str(),
        "description": Str(max_len=_TOOL_DESCRIPTION_MAX),
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


def _ga_tools() -> Node:
    return Arr(Disc({"function": _function_tool(), "mcp": _mcp_tool()}, default="function"))


def _beta_tools() -> Node:
    return Arr(Disc({"function": _function_tool()}, default="function"))


def _ga_tool_choice() -> Node:
    return Alt(
        string=Str(enum=("auto", "none", "required")),
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


def _beta_tool_choice(flavor: Flavor) -> Node:
    # The OpenAI beta SDK types tool_choice as any string ("auto", "none", "required" or a
    # function name); Azure preview documents the three keywords plus the object form.
    string = Str() if flavor == "openai" else Str(enum=("auto", "none", "required"))
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


_REASONING = Obj({"effort": Str(enum=("minimal", "low", "medium", "high", "xhigh"))})


def _server_vad(*, idle_timeout: bool) -> Obj:
    fields: dict[str, Node] = {
        "type": Str(),
        "threshold": Num(0.0, 1.0),
        "prefix_padding_ms": Int(0),
        "silence_duration_ms": Int(0),
        "create_response": Bool(),
        "interrupt_response": Bool(),
    }
    if idle_timeout:
        fields["idle_timeout_ms"] = Int(5000, 30000)
    return Obj(fields)


def _semantic_vad() -> Obj:
    return Obj(
        {
            "type": Str(),
            "eagerness": Str(enum=_EAGERNESS),
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


def _transcription_model(flavor: Flavor) -> Node:
    return Str() if flavor == "azure" else Str(enum=TRANSCRIPTION_MODELS)


# --- GA --------------------------------------------------------------------------------------


def _ga_audio_input(flavor: Flavor) -> Obj:
    return Obj(
        {
            "format": _ga_format(),
            "noise_reduction": Obj({"type": Str(enum=_NOISE_TYPES), "strength": Num(0.0)}),
            "transcription": Obj(
                {
                    "model": _transcription_model(flavor),
                    "language": Str(),
                    "languages": Arr(Str()),
                    "keywords": Arr(Str()),
                    "prompt": Str(),
                    "delay": Str(enum=("minimal", "low", "medium", "high", "xhigh")),
                }
            ),
            "turn_detection": _turn_detection(idle_timeout=True, default=None),
        }
    )


def _ga_voice() -> Node:
    return Alt(
        string=Str(enum=GA_VOICES),
        obj=Obj({"id": Str()}, required=frozenset({"id"})),
        expected="one of a string or an object",
    )


def ga_session(flavor: Flavor) -> Node:
    """The GA ``session`` of ``session.update``: realtime or transcription (protocol.md §2.1f)."""
    realtime = Obj(
        {
            "type": Str(),
            "model": Str(),
            "instructions": Str(),
            "output_modalities": GA_MODALITIES,
            "audio": Obj(
                {
                    "input": _ga_audio_input(flavor),
                    "output": Obj(
                        {"format": _ga_format(), "voice": _ga_voice(), "speed": Num(0.25, 1.5)}
                    ),
                }
            ),
            "include": Arr(Str(enum=("item.input_audio_transcription.logprobs",))),
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
                                "retention_ratio": Num(0.0, 1.0),
                                "token_limits": Obj({"post_instructions": Int(0)}),
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
            "audio": Obj({"input": _ga_audio_input(flavor)}),
            "include": Arr(Str(enum=("item.input_audio_transcription.logprobs",))),
        }
    )
    return Disc({"realtime": realtime, "transcription": transcription})


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


def ga_response_params() -> Obj:
    """GA ``response.create`` ``response`` (protocol.md §6.7)."""
    return Obj(
        {
            "audio": Obj({"output": Obj({"format": _ga_format(), "voice": _ga_voice()})}),
            "conversation": Str(enum=("auto", "none")),
            "input": Arr(ga_item(references=True)),
            "instructions": Str(),
            "max_output_tokens": _MAX_TOKENS,
            "metadata": Map(Str(max_len=512), max_pairs=16, max_key_len=64),
            "output_modalities": GA_MODALITIES,
            "parallel_tool_calls": Bool(),
            "prompt": _prompt(),
            "reasoning": _REASONING,
            "tool_choice": _ga_tool_choice(),
            "tools": _ga_tools(),
        }
    )


# --- beta / Azure preview --------------------------------------------------------------------


def beta_session(flavor: Flavor) -> Obj:
    """The beta ``session`` of ``session.update`` (protocol.md §2.3; Azure preview §2.4)."""
    fields: dict[str, Node] = {
        "model": Str(),
        "instructions": Str(),
        "modalities": BETA_MODALITIES,
        "voice": Str(enum=OPENAI_BETA_VOICES if flavor == "openai" else BETA_VOICES),
        "input_audio_format": _BETA_FORMAT,
        "output_audio_format": _BETA_FORMAT,
        "input_audio_noise_reduction": Obj({"type": Str(enum=_NOISE_TYPES)}),
        "input_audio_transcription": Obj(
            {"model": _transcription_model(flavor), "language": Str(), "prompt": Str()}
        ),
        "turn_detection": _turn_detection(idle_timeout=flavor == "openai", default="server_vad"),
        "tools": _beta_tools(),
        "tool_choice": _beta_tool_choice(flavor),
        "temperature": Num(0.6, 1.2),
        "max_response_output_tokens": _MAX_TOKENS,
        "speed": Num(0.25, 1.5),
        "tracing": _tracing(),
        "include": Arr(Str(enum=("item.input_audio_transcription.logprobs",))),
    }
    # `client_secret` is in the beta SDK type but belongs to the REST create call; over the
    # WebSocket it is rejected with param session.client_secret (protocol.md §2.3). The code is
    # not reported; unknown_parameter is our choice. Absent from `fields` => unknown_parameter.
    obj = Obj(fields)
    if flavor == "azure":
        obj = obj.without(*AZURE_PREVIEW_UNDOCUMENTED)
    return obj


def beta_transcription_session(flavor: Flavor) -> Obj:
    """The ``session`` of beta ``transcription_session.update`` (protocol.md §2.3)."""
    fields: dict[str, Node] = {
        "input_audio_format": _BETA_FORMAT,
        "input_audio_transcription": Obj(
            {"model": _transcription_model(flavor), "language": Str(), "prompt": Str()}
        ),
        "input_audio_noise_reduction": Obj({"type": Str(enum=_NOISE_TYPES)}),
        "turn_detection": _turn_detection(idle_timeout=False, default="server_vad"),
        "include": Arr(Str(enum=("item.input_audio_transcription.logprobs",))),
        "modalities": BETA_MODALITIES,
    }
    obj = Obj(fields)
    if flavor == "azure":
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
            "metadata": Map(Str(max_len=512), max_pairs=16, max_key_len=64),
            "modalities": BETA_MODALITIES,
            "output_audio_format": _BETA_FORMAT,
            "temperature": Num(0.6, 1.2),
            "tool_choice": _beta_tool_choice(flavor),
            "tools": _beta_tools(),
            "voice": Str(enum=OPENAI_BETA_VOICES if flavor == "openai" else BETA_VOICES),
        }
    )
