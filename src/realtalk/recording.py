"""Session recordings: every wire message both ways, with the audio moved out to files.

A recording is one directory per session::

    20261201-114501-client-001/
      recording.json     header: role, provider, dialect, effective config with provenance,
                         start time, limits; rewritten at the end with counts and totals
      events.jsonl       one JSON object a line, in order (see below)
      user.raw           the user's audio as sent on the wire (the session's input format)
      assistant.raw      the assistant's audio as received (the session's output format)

Each line of ``events.jsonl`` has ``t`` (seconds since the recording started, monotonic clock)
and ``from``: ``"client"`` or ``"server"`` for a wire message (``msg``, the JSON object with
each base64 audio string replaced by ``{"$audio": "user", "offset": 0, "bytes": 4800}``),
``"app"`` for an event of realtalk's runtime (``event``: tool calls, handoffs, guardrail trips,
interruptions with the truncation point, errors, turn metrics), ``"recorder"`` for a ``note``
(connected, closed, the size cap reached).

Secrets are never written: handshake headers are not recorded, the URL is recorded with
secret-looking query values hidden, the session's own credentials and anything shaped like an
OpenAI key (``sk-...``), a client secret (``ek_...``) or a bearer token is replaced by
``<redacted>``, and so is the string value of any key named like a credential.

The size cap (``limit_bytes``, :data:`DEFAULT_LIMIT_BYTES` = 512 MiB, about 45 minutes of
24 kHz PCM16 both ways) bounds the bytes written; past it the recording stops with a
``"limit"`` note and ``truncated: true`` in the header, and the session goes on.

Writing happens on a thread: the event loop only puts ``(time, source, text)`` on a queue, so
the audio path never waits on the disk. A disk error stops the recording (``on_error`` is
told) and never the session.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import enum
import itertools
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, urlsplit

# The decoder's own cut (base64 located, the short rest parsed): one rule for both.
from realtalk.dialects.dialect import _audio_delta_data as audio_delta_data
from realtalk.dialects.recorded import AUDIO_FIELDS, audio_parts
from realtalk.events import AudioDelta, HistoryUpdated, RawMessage, RuntimeEvent
from realtalk.options import RECORD_LIMIT_BYTES as DEFAULT_LIMIT_BYTES
from realtalk.redact import REDACTED, _remembered, is_sensitive_name, redact_url

__all__ = [
    "DEFAULT_LIMIT_BYTES",
    "FORMAT",
    "RECORDED_EVENTS",
    "Record",
    "Recorder",
    "Recording",
    "client_recorder",
    "find",
    "load",
    "server_recorder",
    "to_json",
]

FORMAT = "realtalk-recording/1"
HEADER = "recording.json"
EVENTS = "events.jsonl"
AUDIO_FILES = {"user": "user.raw", "assistant": "assistant.raw"}

Source = Literal["client", "server", "app", "recorder"]

# Shaped like a credential wherever it appears (base64 audio has no '-', '_' or space).
_SECRET_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{8,}|ek_[A-Za-z0-9_-]{8,})|Bearer\s+[^\s\"']+")
# Exact names only: the wire is full of harmless "*token*" fields (max_output_tokens: "inf").
_SECRET_KEYS = frozenset(
    {
        "api_key",
        "api-key",
        "apikey",
        "authorization",
        "client_secret",
        "password",
        "secret",
        "token",
        "access_token",
        "refresh_token",
    }
)
_STOP = object()

RECORDED_EVENTS: frozenset[type] = frozenset(get_args(RuntimeEvent)) - {HistoryUpdated, RawMessage}
"""The runtime events a client recording keeps (the wire has the rest; history is derived)."""
_counter = itertools.count(1)


def to_json(value: Any) -> Any:
    """A JSON-ready form of an event, item or config: dataclasses as objects with their
    ``type`` name, ``bytes`` as their length, UNSET fields left out."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"audio_bytes": len(value)}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, enum.Enum) and item.name == "UNSET":
                continue
            out[f.name] = to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    return repr(value)


class Recorder:
    """Writes one session's recording on its own thread. Create with :meth:`create`.

    The loop-side methods (:meth:`wire`, :meth:`event`, :meth:`note`) only enqueue; :meth:`close`
    (blocking: run it in a thread from async code) drains the queue and finishes the header.
    """

    def __init__(
        self,
        path: Path,
        header: Mapping[str, Any],
        *,
        secrets: Sequence[str] = (),
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        if limit_bytes <= 0:
            raise ValueError(f"limit_bytes must be positive, not {limit_bytes}")
        self.path = path
        self.limit_bytes = limit_bytes
        self._secrets = tuple(s for s in secrets if s and len(s) >= 4)
        self._on_error = on_error
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._t0 = time.monotonic()
        self._header = dict(header)
        self._header.update(
            format=FORMAT,
            started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            limit_bytes=limit_bytes,
            truncated=False,
        )
        self._written = 0
        self._lines = 0
        self._dropped = 0
        self._audio_bytes = {"user": 0, "assistant": 0}
        self._truncated = False
        self._closed = False
        self.error: str | None = None
        path.mkdir(parents=True, exist_ok=True)
        self._write_header(final=False)
        self._events = open(path / EVENTS, "w", encoding="utf-8")  # noqa: SIM115 - closed by the thread
        self._audio = {k: open(path / name, "wb") for k, name in AUDIO_FILES.items()}  # noqa: SIM115
        self._thread = threading.Thread(
            target=self._run, name=f"realtalk-recorder-{path.name}", daemon=True
        )
        self._thread.start()

    @classmethod
    def create(
        cls, parent: str | os.PathLike[str], role: str, header: Mapping[str, Any], **options: Any
    ) -> Recorder:
        """A recorder in a new directory under ``parent``: ``<UTC time>-<role>-<n>``."""
        base = Path(parent)
        base.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        while True:
            path = base / f"{stamp}-{role}-{os.getpid()}-{next(_counter):03d}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path, {"role": role, **header}, **options)

    # -- loop side: enqueue only -------------------------------------------------------------

    def wire(
        self,
        source: Literal["client", "server"],
        text: str | bytes,
        decoded: Sequence[Any] | None = None,
    ) -> None:
        """One wire message, as sent or received; ``decoded``: the events the session decoded
        it to, so that an audio delta's audio is taken from its event, not decoded again."""
        self._queue.put((time.monotonic(), source, text, decoded))

    def event(self, event: Any) -> None:
        """One runtime event (a frozen dataclass; serialised on the writer thread)."""
        self._queue.put((time.monotonic(), "app", event))

    def note(self, kind: str, **fields: Any) -> None:
        """A note of the recorder's own (``connected``, ``reconnecting``, ``closed`` ...)."""
        self._queue.put((time.monotonic(), "recorder", {"note": kind, **fields}))

    def update_header(self, **fields: Any) -> None:
        """Fields for the final header (written at close), e.g. the session id."""
        self._queue.put((time.monotonic(), "header", fields))

    def close(self) -> None:
        """Write everything queued, finish the header. Blocking; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    # -- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if self.error is not None:
                    continue
                try:
                    self._write(*item)
                    if self._queue.empty():
                        self._events.flush()  # readable while the session runs
                except Exception as exc:  # disk full, file gone: reported, never the session's end
                    self._fail(exc)
        finally:
            for handle in (self._events, *self._audio.values()):
                try:
                    handle.close()  # flushes: a full disk shows here too
                except Exception as exc:
                    self._fail(exc)
            try:
                self._write_header(final=True)
            except Exception as exc:
                self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = f"recording stopped: {type(exc).__name__}: {exc}"
            if self._on_error is not None:
                self._on_error(self.error)

    def _write(
        self, at: float, source: str, payload: Any, decoded: Sequence[Any] | None = None
    ) -> None:
        if source == "header":
            self._header.update(payload)
            return
        if self._truncated:
            self._dropped += 1
            return
        record: dict[str, Any] = {"t": round(at - self._t0, 6), "from": source}
        audio: list[tuple[str, bytes]] = []
        if source in ("client", "server"):
            record["msg"] = self._message(payload, audio, decoded)
        elif source == "app":
            record["event"] = to_json(payload)
        else:
            record.update(payload)
        line = self._scrub(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        size = len(line) + 1 + sum(len(data) for _, data in audio)
        if self._written + size > self.limit_bytes:
            self._truncated = True
            self._dropped += 1
            note = {
                "t": record["t"],
                "from": "recorder",
                "note": "limit",
                "limit_bytes": self.limit_bytes,
            }
            self._events.write(json.dumps(note) + "\n")
            self._lines += 1
            return
        for speaker, data in audio:
            self._audio[speaker].write(data)
            self._audio_bytes[speaker] += len(data)
        self._events.write(line + "\n")
        self._written += size
        self._lines += 1

    def _message(
        self,
        text: str | bytes,
        audio: list[tuple[str, bytes]],
        decoded: Sequence[Any] | None = None,
    ) -> Any:
        if decoded is not None and len(decoded) == 1 and type(decoded[0]) is AudioDelta:
            message = self._delta_message(text, decoded[0], audio)
            if message is not None:
                return message
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        try:
            message = json.loads(raw)
        except ValueError:
            return {"$unparsed": raw[:100_000]}
        if not isinstance(message, dict):
            return {"$unparsed": raw[:100_000]}
        offsets = dict(self._audio_bytes)
        for container, key, speaker in list(audio_parts(message)):
            try:
                data = base64.b64decode(container[key])
            except (binascii.Error, ValueError):
                continue  # kept as it came: the report shows the server's own bad frame
            container[key] = {"$audio": speaker, "offset": offsets[speaker], "bytes": len(data)}
            offsets[speaker] += len(data)
            audio.append((speaker, data))
        if not audio:
            _redact_keys(message)
        return message

    def _delta_message(
        self, text: str | bytes, event: AudioDelta, audio: list[tuple[str, bytes]]
    ) -> dict[str, Any] | None:
        """An audio delta the session decoded: the message as the general path makes it, from
        the short rest of the text (its base64 cut out before parsing) and the event's audio
        (the bytes that base64 decodes to), or None (the general path then)."""
        if not isinstance(text, str):
            return None
        message = audio_delta_data(text)
        if message is None or "item" in message or "response" in message:
            return None  # audio_parts would look inside these too
        speaker = AUDIO_FIELDS[message["type"]][1]
        data = event.audio
        message["delta"] = {
            "$audio": speaker,
            "offset": self._audio_bytes[speaker],
            "bytes": len(data),
        }
        audio.append((speaker, data))
        return message

    def _scrub(self, line: str) -> str:
        # This session's credentials and every one realtalk remembered at a handshake; not
        # redact_text's "name: value" patterns, which would hide max_output_tokens: "inf".
        for secret in (*self._secrets, *_remembered()):
            if secret in line:
                line = line.replace(secret, REDACTED)
        # The patterns only where they can match (what each needs to find is looked for
        # first, in C): most lines are audio placeholders and ids, and the regexes cost more
        # than everything else a line needs.
        if "://" in line or ("=" in line and ("?" in line or "&" in line or ";" in line)):
            line = redact_url(line)
        if "sk-" in line or "ek_" in line or "Bearer" in line:
            line = _SECRET_SHAPES.sub(REDACTED, line)
        return line

    def _write_header(self, *, final: bool) -> None:
        header = dict(self._header)
        if final:
            header.update(
                ended_after_s=round(time.monotonic() - self._t0, 6),
                events=self._lines,
                dropped=self._dropped,
                truncated=self._truncated,
                bytes=self._written,
                error=self.error,
            )
        header["audio"] = {
            speaker: {"file": AUDIO_FILES[speaker], "bytes": self._audio_bytes[speaker]}
            for speaker in AUDIO_FILES
        }
        text = self._scrub(json.dumps(to_json(header), indent=2, ensure_ascii=False))
        tmp = self.path / (HEADER + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(self.path / HEADER)


def _redact_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key.lower() in _SECRET_KEYS:
                value[key] = REDACTED
            else:
                _redact_keys(item)
    elif isinstance(value, list):
        for item in value:
            _redact_keys(item)


# --------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a recording."""

    t: float
    source: Source
    msg: Mapping[str, Any] | None = None
    event: Mapping[str, Any] | None = None
    note: Mapping[str, Any] | None = None

    @property
    def type(self) -> str:
        """The wire type, the runtime event's class name, or the note's kind."""
        if self.msg is not None:
            return str(self.msg.get("type", "?"))
        if self.event is not None:
            return str(self.event.get("type", "?"))
        return str((self.note or {}).get("note", "?"))


@dataclass
class Recording:
    """A recording read back: the header, the records in order, the audio files."""

    path: Path
    header: Mapping[str, Any]
    records: list[Record]
    _audio: dict[str, bytes] = field(default_factory=dict, repr=False)

    def audio(self, speaker: str) -> bytes:
        """All of ``speaker``'s audio (``"user"`` or ``"assistant"``), as on the wire."""
        if speaker not in self._audio:
            name = AUDIO_FILES.get(speaker)
            path = self.path / name if name else None
            self._audio[speaker] = path.read_bytes() if path and path.exists() else b""
        return self._audio[speaker]

    def audio_of(self, ref: Mapping[str, Any]) -> bytes:
        """The bytes an ``{"$audio": ...}`` reference points at."""
        data = self.audio(str(ref["$audio"]))
        start = int(ref["offset"])
        return data[start : start + int(ref["bytes"])]

    def wire_text(self, record: Record) -> str:
        """A wire record as the JSON text that went over the wire (audio put back)."""
        assert record.msg is not None
        return json.dumps(self._restore(record.msg), separators=(",", ":"))

    def _restore(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "$audio" in value and "offset" in value:
                return base64.b64encode(self.audio_of(value)).decode("ascii")
            return {k: self._restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._restore(v) for v in value]
        return value

    def wire(self, source: str | None = None) -> Iterator[Record]:
        """The wire records, optionally only those ``from`` one side."""
        for record in self.records:
            if record.msg is not None and (source is None or record.source == source):
                yield record

    def __repr__(self) -> str:
        return (
            f"Recording({str(self.path)!r}, role={self.header.get('role')!r}, "
            f"records={len(self.records)})"
        )


def find(path: str | os.PathLike[str]) -> Path:
    """The recording at ``path``, or the newest one under it."""
    base = Path(path)
    if (base / HEADER).is_file():
        return base
    if base.is_dir():
        found = sorted(p.parent for p in base.glob(f"*/{HEADER}"))
        if found:
            return max(found, key=lambda p: (p / HEADER).stat().st_mtime)
    raise FileNotFoundError(f"no recording at {str(base)!r} (expected a folder with {HEADER})")


def load(path: str | os.PathLike[str]) -> Recording:
    """Read a recording (a recording folder, or a folder of them: the newest is taken)."""
    where = find(path)
    header = json.loads((where / HEADER).read_text(encoding="utf-8"))
    records: list[Record] = []
    events = where / EVENTS
    if events.exists():
        with open(events, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except ValueError:
                    break  # a line cut short by a crash: everything before it stands
                source = data.get("from", "recorder")
                t = float(data.get("t", 0.0))
                if "msg" in data:
                    records.append(Record(t, source, msg=data["msg"]))
                elif "event" in data:
                    records.append(Record(t, source, event=data["event"]))
                else:
                    note = {k: v for k, v in data.items() if k not in ("t", "from")}
                    records.append(Record(t, "recorder", note=note))
    return Recording(where, header, records)


# --------------------------------------------------------------------------------------------
# The client side


def client_recorder(
    session: Any, url: str, headers: Mapping[str, str], on_error: Callable[[str], None]
) -> Recorder:
    """The recorder of a client :class:`~realtalk.session.Session` (``SessionOptions(record=)``).

    The header names the provider, dialect, agent and the effective config with the layer
    that set each field; the credentials in ``headers`` and the URL are scrubbed everywhere.
    """
    secrets: list[str] = []
    for name, value in headers.items():
        if is_sensitive_name(name):
            secrets += [value, value.split()[-1] if value.split() else value]
    for name, value in parse_qsl(urlsplit(url).query):
        if is_sensitive_name(name):
            secrets.append(value)
    provider = session.provider
    effective = session.effective_config
    options = session.options
    header = {
        "provider": {"name": provider.name, "repr": repr(provider)},
        "dialect": provider.dialect.name,
        "url": redact_url(url),
        "agent": session.agent.name,
        "effective_config": {
            "config": to_json(effective.config),
            "provenance": dict(effective.provenance),
            "session": provider.dialect.encode_session(effective.config),
        },
    }
    return Recorder.create(
        options.record,
        "client",
        header,
        secrets=secrets,
        limit_bytes=options.record_limit_bytes,
        on_error=on_error,
    )


def server_recorder(config: Any, route: Any) -> Recorder:
    """The recorder of one local-server session (``realtalk serve --record DIR``). The
    server's API keys are scrubbed wherever they would appear."""
    header = {
        "provider": {"name": "realtalk local server"},
        "dialect": route.dialect,
        "flavor": route.flavor,
        "url": route.path,
        "model": route.model,
        "session_type": route.session_type,
    }
    options: dict[str, Any] = {"secrets": tuple(config.api_keys)}
    if config.record_limit_bytes is not None:
        options["limit_bytes"] = config.record_limit_bytes
    return Recorder.create(config.record, "server", header, **options)
