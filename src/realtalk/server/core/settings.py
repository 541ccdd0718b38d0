"""Read the effective settings out of a wire ``session`` object, whatever its shape.

The server keeps the session exactly as the client sees it (GA nested or beta flat, protocol.md
§2.1 / §2.3) so ``session.updated`` can echo it verbatim; this module is the one place that
knows where each setting lives in each shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from realtalk.config import ToolSpec
from realtalk.server.core.codec import WireFormat

__all__ = [
    "END_OF_TURN_THRESHOLD",
    "Settings",
    "TurnSettings",
    "overlay_response_params",
    "read_settings",
    "wire_format",
]

Dialect = Literal["ga", "beta"]

# Semantic VAD: protocol.md §3 gives the maximum waits per eagerness (auto = medium).
SEMANTIC_MAX_WAIT_MS = {"low": 8000, "medium": 4000, "high": 2000}
# Without an end-of-turn model, our heuristic ends a turn after this fraction of the maximum
# wait of silence (documented in turns.py); the cap itself is never exceeded.
SEMANTIC_SILENCE_FRACTION = 0.125
# With an end-of-turn model (engines/turn.py), a pause ends the turn when the model's
# P(complete) reaches the eagerness' threshold; else the turn waits, judged again as the
# silence grows, until the maximum wait. Lower eagerness = surer before answering.
END_OF_TURN_THRESHOLD = {"low": 0.8, "medium": 0.5, "high": 0.3}


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """Turn detection reduced to what the detector needs (both VAD kinds)."""

    kind: Literal["server_vad", "semantic_vad"]
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200
    idle_timeout_ms: int | None = None
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: str = "auto"
    max_wait_ms: int = 0
    """``semantic_vad``: the eagerness' maximum wait (8/4/2 s), the silence rule when an
    end-of-turn model judges the pauses."""

    @property
    def end_of_turn_threshold(self) -> float:
        """``semantic_vad``: the P(complete) at which a judged pause ends the turn."""
        eagerness = self.eagerness if self.eagerness in END_OF_TURN_THRESHOLD else "medium"
        return END_OF_TURN_THRESHOLD[eagerness]


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings a response or a turn needs, dialect-neutral."""

    audio_out: bool
    instructions: str
    voice: str
    speed: float
    input_format: WireFormat
    output_format: WireFormat
    transcription: Mapping[str, Any] | None
    turn: TurnSettings | None
    tools: tuple[ToolSpec, ...]
    tool_choice: str
    max_output_tokens: int | Literal["inf"]
    temperature: float | None


def wire_format(value: Any) -> WireFormat:
    """A GA format object or a beta format string -> our format name (pcm16 by default)."""
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind == "audio/pcmu":
            return "g711_ulaw"
        if kind == "audio/pcma":
            return "g711_alaw"
        return "pcm16"
    if value in ("g711_ulaw", "g711_alaw"):
        return value  # type: ignore[no-any-return]
    return "pcm16"


def _turn(value: Any) -> TurnSettings | None:
    if not isinstance(value, Mapping):
        return None
    if value.get("type") == "semantic_vad":
        eagerness = str(value.get("eagerness") or "auto")
        cap = SEMANTIC_MAX_WAIT_MS.get(eagerness, SEMANTIC_MAX_WAIT_MS["medium"])
        return TurnSettings(
            kind="semantic_vad",
            silence_duration_ms=int(cap * SEMANTIC_SILENCE_FRACTION),
            create_response=bool(value.get("create_response", True)),
            interrupt_response=bool(value.get("interrupt_response", True)),
            eagerness=eagerness,
            max_wait_ms=cap,
        )
    idle = value.get("idle_timeout_ms")
    return TurnSettings(
        kind="server_vad",
        threshold=float(value.get("threshold", 0.5) if value.get("threshold") is not None else 0.5),
        prefix_padding_ms=int(value.get("prefix_padding_ms") or 300),
        silence_duration_ms=int(value.get("silence_duration_ms") or 200),
        idle_timeout_ms=int(idle) if isinstance(idle, int | float) else None,
        create_response=bool(value.get("create_response", True)),
        interrupt_response=bool(value.get("interrupt_response", True)),
    )


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    out: list[ToolSpec] = []
    if isinstance(value, list):
        for tool in value:
            if isinstance(tool, Mapping) and tool.get("type", "function") == "function":
                params = tool.get("parameters")
                out.append(
                    ToolSpec(
                        name=str(tool.get("name", "")),
                        description=str(tool.get("description") or ""),
                        parameters=params
                        if isinstance(params, Mapping)
                        else {"type": "object", "properties": {}},
                    )
                )
    return tuple(out)


def _tool_choice(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        name = value.get("name")
        if name is None and isinstance(value.get("function"), Mapping):
            name = value["function"].get("name")
        if isinstance(name, str):
            return name
    return "auto"


def read_settings(dialect: Dialect, session: Mapping[str, Any]) -> Settings:
    """The effective settings of a wire session object in ``dialect``'s shape."""
    max_tokens_raw = session.get(
        "max_output_tokens" if dialect == "ga" else "max_response_output_tokens", "inf"
    )
    max_tokens: int | Literal["inf"] = (
        int(max_tokens_raw) if isinstance(max_tokens_raw, int | float) else "inf"
    )
    if dialect == "ga":
        audio = session.get("audio") or {}
        inp: Mapping[str, Any] = audio.get("input") or {}
        out: Mapping[str, Any] = audio.get("output") or {}
        modalities = session.get("output_modalities") or ["audio"]
        default_voice = "marin"
        temperature = None
    else:
        # The beta shape is flat: gather its audio fields under the GA names.
        inp = {
            "format": session.get("input_audio_format"),
            "transcription": session.get("input_audio_transcription"),
            "turn_detection": session.get("turn_detection"),
        }
        out = {
            "format": session.get("output_audio_format"),
            "voice": session.get("voice"),
            "speed": session.get("speed"),
        }
        modalities = session.get("modalities") or ["text", "audio"]
        default_voice = "alloy"
        temperature = session.get("temperature")
    voice = out.get("voice") or default_voice
    return Settings(
        audio_out="audio" in modalities,
        instructions=str(session.get("instructions") or ""),
        # A GA voice may be a custom voice object: {"id": ...}.
        voice=voice if isinstance(voice, str) else str(voice.get("id", default_voice)),
        speed=float(out.get("speed") or 1.0),
        input_format=wire_format(inp.get("format")),
        output_format=wire_format(out.get("format")),
        transcription=inp.get("transcription"),
        turn=_turn(inp.get("turn_detection")),
        tools=_tools(session.get("tools")),
        tool_choice=_tool_choice(session.get("tool_choice")),
        max_output_tokens=max_tokens,
        temperature=float(temperature) if isinstance(temperature, int | float) else None,
    )


def overlay_response_params(
    dialect: Dialect, session: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The session with a ``response.create``'s overrides applied (for this response only)."""
    merged = dict(session)
    if dialect == "ga":
        for key in (
            "output_modalities",
            "instructions",
            "tools",
            "tool_choice",
            "max_output_tokens",
        ):
            if key in params:
                merged[key] = params[key]
        output = (
            (params.get("audio") or {}).get("output")
            if isinstance(params.get("audio"), Mapping)
            else None
        )
        if isinstance(output, Mapping):
            audio = dict(merged.get("audio") or {})
            audio["output"] = {**dict(audio.get("output") or {}), **dict(output)}
            merged["audio"] = audio
    else:
        for key in (
            "modalities",
            "instructions",
            "voice",
            "output_audio_format",
            "tools",
            "tool_choice",
            "temperature",
            "max_response_output_tokens",
        ):
            if key in params:
                merged[key] = params[key]
    return merged
