"""``realtalk report REC -o report.html``: one self-contained HTML page drawn from a recording.

The page needs no network: styles, script, data and audio (WAV as ``data:`` URIs) are inside
the file, and the file names no URL at all (``/`` in the embedded data is written ``\\/``, an
endpoint is shown as host and path). It shows the turns (user speech with VAD start and stop,
transcripts, responses, tool calls with arguments, results and durations, handoffs, guardrail
trips, interruptions with the truncation point, reconnects), the waveforms of both sides on one
time axis and playable, the latency split of every turn (end of speech -> transcript -> first
audio -> done), the effective config with the layer that set each field, and the errors.

:func:`build` turns a :class:`~realtalk.recording.Recording` into the page's data (a JSON-ready
dict, handy for tests); :func:`render` writes the page.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from realtalk.config import AudioFormat, SessionConfig
from realtalk.dialects import get_dialect
from realtalk.dialects.recorded import client_kind, text_of_item
from realtalk.events import (
    AudioDelta,
    AudioTranscriptDone,
    ErrorEvent,
    FunctionCallArgumentsDone,
    InputTranscriptCompleted,
    ItemTruncated,
    ProtocolViolation,
    ResponseCreated,
    ResponseDone,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    TextDone,
)
from realtalk.recording import Record, Recording

__all__ = ["PEAKS_PER_SECOND", "build", "render"]

PEAKS_PER_SECOND = 100
"""Waveform resolution: one peak value per 10 ms."""
EMBED_AUDIO_LIMIT = 64 * 1024 * 1024
"""Audio bytes embedded as playable WAV; past it the waveforms are drawn but not playable."""
_GAP_MS = 300.0  # user audio further apart than this starts a new segment

# Wire records shown once per run instead of once per message.
_QUIET_KINDS = ("audio",)


@dataclass
class _Segment:
    track: str
    start_ms: float
    fmt: AudioFormat
    chunks: list[bytes] = field(default_factory=list)
    item_id: str | None = None
    truncated_at_ms: int | None = None

    @property
    def bytes(self) -> int:
        return sum(len(c) for c in self.chunks)

    @property
    def duration_ms(self) -> float:
        return self.fmt.duration_ms(self.bytes)

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms


@dataclass
class _Turn:
    n: int
    start_ms: float
    input: str
    user_text: str = ""
    speech: dict[str, float | None] = field(default_factory=dict)
    transcript: str | None = None
    transcript_ms: float | None = None
    end_of_input_ms: float | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _ms(record: Record) -> float:
    return round(record.t * 1000.0, 3)


def _strip_audio(value: Any) -> Any:
    """The message with audio references as empty base64 strings (the decoders want text)."""
    if isinstance(value, dict):
        if "$audio" in value and "offset" in value:
            return ""
        return {k: _strip_audio(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_audio(v) for v in value]
    return value


def _format(config: SessionConfig, name: str, current: AudioFormat) -> AudioFormat:
    value = getattr(config, name)
    return value if isinstance(value, AudioFormat) else current


class _Builder:
    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.dialect = get_dialect(rec.header.get("dialect", "ga"))
        self.input_format = AudioFormat.pcm16()
        self.output_format = AudioFormat.pcm16()
        self.turns: list[_Turn] = []
        self.segments: list[_Segment] = []
        self.user_cursor_ms = 0.0  # where the user's audio stream has got to on the timeline
        self.user_audio_ms = 0.0  # how much user audio was sent so far (the server's clock)
        self.user_map: list[tuple[float, float]] = []  # (audio ms, timeline ms) at chunk starts
        self.assistant: dict[str, _Segment] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.timeline: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.marks: list[dict[str, Any]] = []
        self.confirmed: Any = None
        self.sessions = 0

    # -- turns ---------------------------------------------------------------------------------

    def turn(self) -> _Turn:
        if not self.turns:
            self.turns.append(_Turn(0, 0.0, "none"))
        return self.turns[-1]

    def new_turn(self, at: float, kind: str) -> _Turn:
        turn = _Turn(sum(1 for t in self.turns if t.n) + 1, at, kind)
        self.turns.append(turn)
        return turn

    def mark(self, at: float, kind: str, label: str) -> None:
        self.marks.append({"t_ms": at, "kind": kind, "label": label})

    # -- the walk ------------------------------------------------------------------------------

    def run(self) -> None:
        quiet: dict[str, Any] | None = None
        for record in self.rec.records:
            at = _ms(record)
            summary = self.record(record, at)
            kind = summary.pop("quiet", None)
            if kind is not None and quiet is not None and quiet["quiet"] == kind:
                quiet["count"] += 1
                quiet["text"] = f"{quiet['count']} x {kind}"
                continue
            row = {"t_ms": at, "from": record.source, "type": record.type, **summary}
            if kind is not None:
                row.update(quiet=kind, count=1)
                quiet = row
            else:
                quiet = None
            self.timeline.append(row)

    def record(self, record: Record, at: float) -> dict[str, Any]:
        if record.msg is not None and record.source == "client":
            return self.client(dict(record.msg), at)
        if record.msg is not None:
            return self.server(dict(record.msg), at)
        if record.event is not None:
            return self.app(dict(record.event), at)
        return self.note(dict(record.note or {}), at)

    def client(self, msg: dict[str, Any], at: float) -> dict[str, Any]:
        kind = client_kind(msg)
        if kind == "audio":
            self.user_audio(msg, at)
            return {"quiet": "user audio", "text": "user audio"}
        if kind == "text":
            item = msg.get("item") or {}
            text = text_of_item(item)
            turn = self.new_turn(at, "text")
            turn.user_text = text
            turn.end_of_input_ms = at
            return {"text": f"user: {text}"}
        if kind == "commit":
            turn = self.turn()
            if turn.input != "audio" or turn.responses:
                turn = self.new_turn(at, "audio")
            turn.end_of_input_ms = turn.end_of_input_ms or at
            return {"text": "commit the input audio"}
        if kind == "tool_output":
            item = msg.get("item") or {}
            call = self.calls.get(str(item.get("call_id")))
            if call is not None:
                call["output"] = str(item.get("output", ""))
                call["end_ms"] = at
                call.setdefault("duration_ms", round(at - call["start_ms"], 1))
            return {"text": f"tool output: {_cut(str(item.get('output', '')))}"}
        if kind == "truncate":
            item_id, end = msg.get("item_id"), msg.get("audio_end_ms")
            segment = self.assistant.get(str(item_id))
            if segment is not None and isinstance(end, int):
                segment.truncated_at_ms = end
            return {"text": f"truncate {item_id} at {end} ms"}
        if kind == "update":
            return {"text": "session.update: " + ", ".join(sorted(msg.get("session", {})))}
        if kind == "response":
            return {"text": "ask for a response"}
        if kind == "cancel":
            return {"text": "cancel the response"}
        return {"text": _cut(json.dumps(_strip_audio(msg)))}

    def user_audio(self, msg: dict[str, Any], at: float) -> None:
        ref = msg.get("audio")
        if not isinstance(ref, dict):
            return
        data = self.rec.audio_of(ref)
        start = max(at, self.user_cursor_ms)
        last = self.segments_of("user")
        if not last or start - last[-1].end_ms > _GAP_MS or last[-1].fmt != self.input_format:
            self.segments.append(_Segment("user", start, self.input_format))
        segment = self.segments_of("user")[-1]
        segment.chunks.append(data)
        self.user_map.append((self.user_audio_ms, start))
        length = self.input_format.duration_ms(len(data))
        self.user_audio_ms += length
        self.user_cursor_ms = start + length

    def segments_of(self, track: str) -> list[_Segment]:
        return [s for s in self.segments if s.track == track]

    def user_position(self, audio_ms: float, fallback: float) -> float:
        """Where the user's stream was at ``audio_ms`` of sent audio, on the timeline."""
        best: tuple[float, float] | None = None
        for sent, placed in self.user_map:
            if sent <= audio_ms:
                best = (sent, placed)
        return round(best[1] + (audio_ms - best[0]), 3) if best else fallback

    def server(self, msg: dict[str, Any], at: float) -> dict[str, Any]:
        event = self.dialect.decode_event(_strip_audio(msg))
        match event:
            case AudioDelta(item_id=item_id, response_id=rid):
                self.assistant_audio(msg, item_id, rid, at)
                return {"quiet": "assistant audio", "text": "assistant audio"}
            case SessionCreated(config=config) | SessionUpdated(config=config):
                self.input_format = _format(config, "input_format", self.input_format)
                self.output_format = _format(config, "output_format", self.output_format)
                self.confirmed = msg.get("session")
                if isinstance(event, SessionCreated):
                    self.sessions += 1
                    if self.sessions > 1 and not any(m["kind"] == "reconnect" for m in self.marks):
                        self.mark(at, "reconnect", "new session (reconnected)")
                created = isinstance(event, SessionCreated)
                return {"text": "session created" if created else "session updated"}
            case SpeechStarted(audio_start_ms=start):
                placed = self.user_position(start, at)
                turn = self.new_turn(placed, "audio")
                turn.speech = {"start_ms": placed, "stop_ms": None, "audio_start_ms": start}
                self.mark(placed, "speech", f"speech started (audio {start} ms)")
                return {"text": f"speech started at audio {start} ms"}
            case SpeechStopped(audio_end_ms=end):
                placed = self.user_position(end, at)
                turn = self.turn()
                turn.speech["stop_ms"] = placed
                turn.speech["audio_end_ms"] = end
                turn.speech["detected_ms"] = at
                turn.end_of_input_ms = at
                self.mark(placed, "speech", f"speech stopped (audio {end} ms)")
                return {"text": f"speech stopped at audio {end} ms"}
            case InputTranscriptCompleted(transcript=text):
                turn = self.turn()
                turn.transcript, turn.transcript_ms = text, at
                return {"text": f"user said: {text}"}
            case ResponseCreated(response=response):
                turn = self.turn()
                info = {
                    "id": response.id,
                    "created_ms": at,
                    "first_audio_ms": None,
                    "first_text_ms": None,
                    "done_ms": None,
                    "status": "in_progress",
                    "text": "",
                }
                self.responses[response.id] = info
                turn.responses.append(info)
                return {"text": f"response {response.id} created"}
            case (
                AudioTranscriptDone(response_id=rid, transcript=text)
                | TextDone(response_id=rid, text=text)
            ):
                if rid in self.responses:
                    self.responses[rid]["text"] = text
                return {"text": f"assistant: {_cut(text)}"}
            case FunctionCallArgumentsDone(call_id=call_id, arguments=args, name=name):
                call: dict[str, Any] = {
                    "call_id": call_id,
                    "name": name or "",
                    "arguments": args,
                    "start_ms": at,
                    "output": None,
                    "error": None,
                    "end_ms": None,
                }
                self.calls[call_id] = call
                self.turn().tool_calls.append(call)
                self.mark(at, "tool", f"tool {name or call_id}")
                return {"text": f"tool call {name or ''}({_cut(args)})"}
            case ResponseDone(response=response):
                done = self.responses.get(response.id)
                if done is not None:
                    reason = f" ({response.status_reason})" if response.status_reason else ""
                    done["done_ms"], done["status"] = at, response.status + reason
                return {"text": f"response {response.id} {response.status}"}
            case ItemTruncated(item_id=item_id, audio_end_ms=end):
                segment = self.assistant.get(item_id)
                if segment is not None:
                    segment.truncated_at_ms = end
                return {"text": f"item {item_id} truncated at {end} ms"}
            case ErrorEvent(error=error):
                entry = {
                    "t_ms": at,
                    "source": "server",
                    "message": error.message,
                    "code": error.code,
                }
                self.errors.append(entry)
                self.turn().errors.append(entry)
                self.mark(at, "error", f"error {error.code or ''}")
                return {"text": f"error {error.code}: {error.message}"}
            case ProtocolViolation(reason=reason):
                entry = {
                    "t_ms": at,
                    "source": "server",
                    "message": f"malformed: {reason}",
                    "code": None,
                }
                self.errors.append(entry)
                return {"text": f"malformed message: {reason}"}
        if msg.get("type", "").endswith(".delta"):
            return {"quiet": msg.get("type", "delta"), "text": msg.get("type", "")}
        return {"text": ""}

    def assistant_audio(self, msg: dict[str, Any], item_id: str, rid: str, at: float) -> None:
        ref = msg.get("delta")
        if not isinstance(ref, dict):
            return
        data = self.rec.audio_of(ref)
        segment = self.assistant.get(item_id)
        if segment is None:
            segment = _Segment("assistant", at, self.output_format, item_id=item_id)
            self.assistant[item_id] = segment
            self.segments.append(segment)
        segment.chunks.append(data)
        info = self.responses.get(rid)
        if info is not None and info["first_audio_ms"] is None:
            info["first_audio_ms"] = at

    def app(self, event: dict[str, Any], at: float) -> dict[str, Any]:
        kind = event.get("type")
        turn = self.turn()
        if kind == "ToolCallStarted":
            call = self.calls.get(str(event.get("call_id")))
            if call is not None and not call["name"]:
                call["name"] = event.get("name", "")
            return {"text": f"tool {event.get('name')} started"}
        if kind in ("ToolCallFinished", "ToolCallFailed"):
            call = self.calls.get(str(event.get("call_id")))
            if call is not None:
                call["duration_ms"] = round(float(event.get("duration_ms", 0.0)), 1)
                if kind == "ToolCallFinished":
                    call["output"] = event.get("output")
                else:
                    call["error"] = event.get("error")
            what = "finished" if kind == "ToolCallFinished" else f"failed: {event.get('error')}"
            return {
                "text": f"tool {event.get('name')} {what} in "
                f"{float(event.get('duration_ms', 0.0)):.0f} ms"
            }
        if kind == "Interrupted":
            entry = {
                "t_ms": at,
                "reason": event.get("reason"),
                "item_id": event.get("item_id"),
                "response_id": event.get("response_id"),
                "audio_end_ms": event.get("audio_end_ms"),
            }
            for past in reversed(self.turns):  # the turn whose response was cut
                if any(r["id"] == entry["response_id"] for r in past.responses):
                    turn = past
                    break
            turn.interruptions.append(entry)
            self.mark(at, "interrupt", f"interrupted ({event.get('reason')})")
            return {
                "text": f"interrupted ({event.get('reason')}), assistant audio cut at "
                f"{event.get('audio_end_ms')} ms"
            }
        if kind == "Handoff":
            entry = {"t_ms": at, "from": event.get("from_agent"), "to": event.get("to_agent")}
            turn.handoffs.append(entry)
            self.mark(at, "handoff", f"handoff to {entry['to']}")
            return {"text": f"handoff {entry['from']} -> {entry['to']}"}
        if kind == "GuardrailTripped":
            entry = {"t_ms": at, "guardrail": event.get("guardrail"), "text": event.get("text")}
            turn.guardrails.append(entry)
            self.mark(at, "guardrail", f"guardrail {entry['guardrail']}")
            return {"text": f"guardrail {entry['guardrail']} tripped"}
        if kind == "SessionError":
            entry = {
                "t_ms": at,
                "source": "client",
                "message": event.get("message"),
                "code": event.get("code"),
                "fatal": event.get("fatal"),
            }
            self.errors.append(entry)
            turn.errors.append(entry)
            return {"text": f"session error: {event.get('message')}"}
        if kind == "TurnMetrics":
            return {
                "text": f"metrics: first audio {_num(event.get('first_audio_ms'))} ms, "
                f"done {_num(event.get('done_ms'))} ms"
            }
        if kind == "Reconnecting":
            self.mark(at, "reconnect", f"reconnecting ({event.get('reason')})")
            return {"text": f"reconnecting, attempt {event.get('attempt')}: {event.get('reason')}"}
        if kind == "Reconnected":
            self.mark(at, "reconnect", "reconnected")
            lost = event.get("lost") or []
            return {
                "text": f"reconnected: {event.get('replayed')} items replayed"
                + (f", lost: {'; '.join(map(str, lost))}" if lost else "")
            }
        if kind == "Warning":
            return {"text": f"warning: {event.get('message')}"}
        return {"text": ""}

    def note(self, note: dict[str, Any], at: float) -> dict[str, Any]:
        kind = str(note.get("note", "?"))
        if kind.startswith("reconnect"):
            self.mark(at, "reconnect", kind)
        if kind == "limit":
            self.errors.append(
                {
                    "t_ms": at,
                    "source": "recorder",
                    "code": "limit",
                    "message": "the recording reached its size cap and stopped",
                }
            )
        return {"text": " ".join(f"{k}={v}" for k, v in note.items() if k != "note")}

    # -- output --------------------------------------------------------------------------------

    def model(self) -> dict[str, Any]:
        embed = sum(s.bytes for s in self.segments) <= EMBED_AUDIO_LIMIT
        end = max(
            [r.t * 1000.0 for r in self.rec.records] + [s.end_ms for s in self.segments] + [0.0]
        )
        header = self.rec.header
        return {
            "summary": _summary(header, end, len(self.rec.records)),
            "duration_ms": round(end, 1),
            "config": _config(header, self.confirmed),
            "segments": [_segment_json(s, embed) for s in self.segments],
            "turns": [_turn_json(t) for t in self.turns if t.n or t.responses],
            "timeline": self.timeline,
            "errors": self.errors,
            "marks": self.marks,
            "audio_embedded": embed,
        }


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _num(value: Any) -> str:
    return f"{float(value):.0f}" if isinstance(value, int | float) else "-"


def _endpoint(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "?"
    return f"{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _summary(header: dict[str, Any] | Any, end_ms: float, records: int) -> dict[str, Any]:
    provider = header.get("provider") or {}
    return {
        "role": header.get("role"),
        "provider": provider.get("name") if isinstance(provider, dict) else provider,
        "dialect": header.get("dialect"),
        "endpoint": _endpoint(str(header.get("url", ""))),
        "agent": header.get("agent"),
        "started_at": header.get("started_at"),
        "duration_s": round(end_ms / 1000.0, 2),
        "records": records,
        "truncated": bool(header.get("truncated")),
        "recording_error": header.get("error"),
        "session_id": header.get("session_id"),
    }


def _config(header: Any, confirmed: Any) -> dict[str, Any]:
    effective = header.get("effective_config") or {}
    config = effective.get("config") or {}
    provenance = effective.get("provenance") or {}
    rows = []
    for name, value in config.items():
        if name == "type":
            continue
        rows.append({"field": name, "value": _show(value), "layer": provenance.get(name, "")})
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                key = f"{name}.{sub}"
                if sub != "type" and key in provenance:
                    rows.append(
                        {"field": "  ." + sub, "value": _show(sub_value), "layer": provenance[key]}
                    )
    return {"rows": rows, "requested": effective.get("session"), "confirmed": confirmed}


def _show(value: Any) -> str:
    if isinstance(value, dict) and "type" in value and len(value) > 1:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in value.items() if k != "type")
        return _cut(f"{value['type']}({inner})", 200)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return ", ".join(str(v.get("name", v.get("type", "?"))) for v in value)
    return _cut(json.dumps(value, ensure_ascii=False), 200)


def _peaks(segment: _Segment) -> tuple[list[float], bytes]:
    from realtalk import audio

    pcm = audio.decode(b"".join(segment.chunks), segment.fmt)
    samples = audio.pcm16_to_float32(pcm)
    per = max(1, segment.fmt.rate // PEAKS_PER_SECOND)
    count = math.ceil(len(samples) / per)
    peaks = []
    for n in range(count):
        window = samples[n * per : (n + 1) * per]
        peaks.append(round(float(abs(window).max()) if len(window) else 0.0, 3))
    return peaks, pcm


def _segment_json(segment: _Segment, embed: bool) -> dict[str, Any]:
    from realtalk import audio

    peaks, pcm = _peaks(segment)
    wav = audio.wav_bytes(pcm, segment.fmt.rate) if embed else b""
    return {
        "track": segment.track,
        "start_ms": round(segment.start_ms, 3),
        "duration_ms": round(segment.duration_ms, 3),
        "format": f"{segment.fmt.encoding} {segment.fmt.rate} Hz",
        "item_id": segment.item_id,
        "truncated_at_ms": segment.truncated_at_ms,
        "peaks": peaks,
        "wav": "data:audio/wav;base64," + base64.b64encode(wav).decode() if embed else None,
    }


def _turn_json(turn: _Turn) -> dict[str, Any]:
    start = turn.end_of_input_ms
    first_audio = min(
        (r["first_audio_ms"] for r in turn.responses if r["first_audio_ms"]), default=None
    )
    done = max((r["done_ms"] for r in turn.responses if r["done_ms"]), default=None)

    def since(value: float | None) -> float | None:
        return round(value - start, 1) if value is not None and start is not None else None

    return {
        "n": turn.n,
        "start_ms": turn.start_ms,
        "input": turn.input,
        "user_text": turn.user_text,
        "speech": turn.speech or None,
        "transcript": turn.transcript,
        "responses": turn.responses,
        "tool_calls": turn.tool_calls,
        "interruptions": turn.interruptions,
        "handoffs": turn.handoffs,
        "guardrails": turn.guardrails,
        "errors": turn.errors,
        "latency": {
            "end_of_input_ms": start,
            "transcript_ms": since(turn.transcript_ms),
            "first_audio_ms": since(first_audio),
            "done_ms": since(done),
        },
    }


def build(rec: Recording) -> dict[str, Any]:
    """The report's data: summary, config, turns, waveform segments, timeline, errors."""
    builder = _Builder(rec)
    builder.run()
    return builder.model()


def render(rec: Recording) -> str:
    """The self-contained HTML page for ``rec``."""
    data = json.dumps(build(rec), ensure_ascii=True, separators=(",", ":"))
    # "\/" keeps "</script>" and any "://" out of the page; JSON.parse reads it back as "/".
    data = data.replace("/", "\\/")
    page = resources.files("realtalk").joinpath("report.html").read_text(encoding="utf-8")
    title = f"realtalk report: {rec.path.name}".replace("<", "&lt;")
    return page.replace("{{TITLE}}", title).replace("{{DATA}}", data)
