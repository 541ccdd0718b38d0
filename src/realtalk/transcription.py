"""Transcription-only sessions: speech in, transcripts out, no assistant.

A transcription session is a Realtime connection opened with ``?intent=transcription``
(protocol.md 1a, 2.2): the server transcribes each committed stretch of input audio and never
responds. GA configures it with ``session.update`` carrying ``session.type="transcription"``;
the beta shape (Azure preview) with its own ``transcription_session.update`` (protocol.md 2.3).

The client here is a :class:`~realtalk.session.Session` underneath (the same transport,
protocol, reader, audio conversion, recording and redaction); only the configuration step and
the events the app sees differ::

    async with realtalk.transcribe(provider, TranscriptionConfig(model="whisper-1")) as t:
        await t.send_audio(pcm, rate=16000)
        await t.commit()                     # or let server VAD end the turn
        async for event in t:
            if isinstance(event, InputTranscriptCompleted):
                print(event.transcript)

Per-model rules (protocol.md 2.2, 3, 11.4): ``gpt-realtime-whisper`` and
``gpt-live-transcribe`` take no turn detection and send no ``speech_started`` /
``speech_stopped``: the client commits the buffer itself. They are checked when the config is
built, with the fix in the message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from realtalk.capabilities import (
    NO_PROMPT_MODELS,
    NO_TURN_DETECTION_MODELS,
)
from realtalk.config_parts import (
    UNSET,
    AudioFormat,
    NoiseReduction,
    SemanticVAD,
    ServerVAD,
    Transcription,
    UnsetType,
)
from realtalk.errors import (
    ConfigError,
    ConfigProblem,
    ConnectionClosed,
    ServerError,
    TransportError,
)
from realtalk.events import (
    ErrorEvent,
    Event,
    InputAudioCleared,
    InputAudioCommitted,
    InputTranscriptCompleted,
    InputTranscriptDelta,
    InputTranscriptFailed,
    InputTranscriptSegment,
    SessionCreated,
    SessionError,
    SessionUpdated,
    SessionWarning,
    SpeechStarted,
    SpeechStopped,
    TranscriptionSessionUpdated,
)
from realtalk.options import SessionOptions

if TYPE_CHECKING:
    from realtalk.providers import Provider
    from realtalk.session import Session
    from realtalk.transports import Transport

__all__ = [
    "Transcriber",
    "TranscriptionConfig",
    "TranscriptionEvent",
    "transcribe",
    "transcription_update",
    "transcription_url",
]

TranscriptionEvent: TypeAlias = (
    SpeechStarted
    | SpeechStopped
    | InputAudioCommitted
    | InputAudioCleared
    | InputTranscriptDelta
    | InputTranscriptCompleted
    | InputTranscriptFailed
    | InputTranscriptSegment
    | ErrorEvent
    | SessionError
    | SessionWarning
)
"""What iterating a :class:`Transcriber` yields: per-item transcript pieces and results,
the server VAD's speech marks (where the model sends them), buffer events and errors."""

_DELIVERED = TranscriptionEvent.__args__

_LOGPROBS = "item.input_audio_transcription.logprobs"
_WHERE = "TranscriptionConfig"


@dataclass(frozen=True, slots=True)
class TranscriptionConfig:
    """The configuration of a transcription-only session.

    ``turn_detection`` left unset takes the model's default: server VAD, or none (the app
    commits) for the models that take none. ``None`` turns it off: call
    :meth:`Transcriber.commit` after each utterance. ``include_logprobs`` asks for the
    log-probabilities of the transcript tokens. ``input_format`` is the audio on the wire;
    :meth:`Transcriber.send_audio` converts whatever rate you send to it.
    """

    model: str = "gpt-4o-transcribe"
    language: str | None = None
    prompt: str | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: ServerVAD | SemanticVAD | UnsetType | None = UNSET
    include_logprobs: bool = False
    input_format: AudioFormat = field(default_factory=AudioFormat.pcm16)

    def __post_init__(self) -> None:
        problems = _shape_problems(self)
        if problems:
            raise ConfigError(problems, target="a transcription session")

    def replace(self, **fields: Any) -> TranscriptionConfig:
        """A copy with ``fields`` changed (checked again)."""
        return replace(self, **fields)

    @property
    def effective_turn_detection(self) -> ServerVAD | SemanticVAD | None:
        """The turn detection sent: the model's default when unset."""
        if isinstance(self.turn_detection, UnsetType):
            return None if self.model in NO_TURN_DETECTION_MODELS else ServerVAD()
        return self.turn_detection

    @property
    def speech_events(self) -> bool:
        """Whether the server marks speech start and stop (only with turn detection on)."""
        return self.effective_turn_detection is not None


def _shape_problems(config: TranscriptionConfig) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []

    def add(path: str, value: object, rule: str, fix: str) -> None:
        problems.append(ConfigProblem(f"{_WHERE}.{path}", value, rule, fix))

    # Read as plain objects: the annotations say what is meant, not what was passed.
    given: dict[str, object] = {
        name: getattr(config, name)
        for name in ("model", "language", "prompt", "noise_reduction", "turn_detection")
    }
    given["include_logprobs"] = config.include_logprobs
    given["input_format"] = config.input_format
    if not isinstance(given["model"], str) or not given["model"]:
        add("model", given["model"], "must be a model name", "e.g. model='gpt-4o-transcribe'")
    for name in ("language", "prompt"):
        if given[name] is not None and not isinstance(given[name], str):
            add(name, given[name], "must be a string or None", f"e.g. {name}='en'")
    noise = given["noise_reduction"]
    if noise is not None and not isinstance(noise, NoiseReduction):
        add(
            "noise_reduction",
            noise,
            "must be a NoiseReduction or None",
            "e.g. noise_reduction=NoiseReduction(type='near_field')",
        )
    turn = given["turn_detection"]
    if not isinstance(turn, ServerVAD | SemanticVAD | UnsetType) and turn is not None:
        add(
            "turn_detection",
            turn,
            "must be ServerVAD(...), SemanticVAD(...) or None",
            "e.g. turn_detection=ServerVAD(silence_duration_ms=500)",
        )
    elif isinstance(turn, ServerVAD | SemanticVAD):
        if config.model in NO_TURN_DETECTION_MODELS:
            add(
                "turn_detection",
                turn,
                f"{config.model} takes no turn detection and sends no speech_started/stopped "
                "(protocol.md 2.2, 11.4)",
                "pass turn_detection=None (or leave it unset) and call commit() after each "
                "utterance",
            )
        for knob in ("create_response", "interrupt_response"):
            if not isinstance(getattr(turn, knob), UnsetType):
                add(
                    f"turn_detection.{knob}",
                    getattr(turn, knob),
                    "is not available for transcription sessions (nothing responds)",
                    f"remove {knob}",
                )
    if config.prompt and config.model in NO_PROMPT_MODELS:
        add("prompt", config.prompt, f"{config.model} takes no prompt", "remove prompt=")
    if not isinstance(given["include_logprobs"], bool):
        add("include_logprobs", given["include_logprobs"], "must be True or False", "")
    if not isinstance(given["input_format"], AudioFormat):
        add(
            "input_format",
            given["input_format"],
            "must be an AudioFormat",
            "e.g. input_format=AudioFormat.pcm16(24000)",
        )
    return problems


def _target_problems(config: TranscriptionConfig, provider: Provider) -> list[ConfigProblem]:
    """What this provider's wire shape cannot take (checked at the call, before connecting)."""
    problems: list[ConfigProblem] = []
    beta = provider.dialect.name == "beta"
    facts = provider.rules.facts  # the provider's capability facts (realtalk.capabilities)
    models = facts.transcription_models
    strict = facts.transcription_policy == "strict"
    if strict and config.model not in models:
        problems.append(
            ConfigProblem(
                f"{_WHERE}.model",
                config.model,
                f"is not a transcription model {provider.name} documents",
                "use one of " + ", ".join(models),
            )
        )
    if beta:
        noise = config.noise_reduction
        if noise is not None and not isinstance(noise.strength, UnsetType):
            problems.append(
                ConfigProblem(
                    f"{_WHERE}.noise_reduction.strength",
                    noise.strength,
                    "the beta shape has no noise-reduction strength",
                    "remove strength",
                )
            )
        if config.input_format.encoding == "pcm16" and config.input_format.rate != 24000:
            problems.append(
                ConfigProblem(
                    f"{_WHERE}.input_format",
                    config.input_format,
                    "the beta shape takes PCM16 at 24 kHz only",
                    "use AudioFormat.pcm16(24000); send_audio(rate=...) converts your audio",
                )
            )
    if provider.transport != "websocket":
        problems.append(
            ConfigProblem(
                "provider.transport",
                provider.transport,
                "transcription sessions run over a WebSocket here",
                "use a provider with transport='websocket'",
            )
        )
    return problems


def transcription_update(config: TranscriptionConfig, dialect: str) -> dict[str, Any]:
    """The client event that configures a transcription session, in ``dialect`` ("ga" or
    "beta"): GA ``session.update`` with ``type: "transcription"``, beta
    ``transcription_session.update`` (protocol.md 2.2, 2.3)."""
    from realtalk.dialects import _common, beta, ga

    transcription = Transcription(
        model=config.model,
        language=config.language if config.language is not None else UNSET,
        prompt=config.prompt if config.prompt is not None else UNSET,
    )
    turn = _common.encode_turn_detection(config.effective_turn_detection)
    noise = _common.encode_noise_reduction(config.noise_reduction)
    # Sent only when asked for: the Azure preview reference is silent on ``include`` (2.4).
    include = {"include": [_LOGPROBS]} if config.include_logprobs else {}
    if dialect == "beta":
        session: dict[str, Any] = {
            "input_audio_format": beta.encode_format(config.input_format),
            "input_audio_transcription": _common.encode_transcription(transcription),
            "turn_detection": turn,
            "input_audio_noise_reduction": noise,
            **include,
        }
        return {"type": "transcription_session.update", "session": session}
    audio_input = {
        "format": ga.encode_format(config.input_format),
        "transcription": _common.encode_transcription(transcription),
        "noise_reduction": noise,
        "turn_detection": turn,
    }
    session = {"type": "transcription", "audio": {"input": audio_input}, **include}
    return {"type": "session.update", "session": session}


def transcription_url(provider: Provider, url: str) -> str:
    """``url`` with ``intent=transcription``; the model is dropped where the service rejects it
    (api.openai.com answers a transcription update on a ``?model=`` connection with
    ``invalid_model``) and kept where the route needs it: gateways route by it, Azure by the
    deployment (protocol.md 11.3)."""
    # By name, not class: realtalk.providers imports this module (Provider.transcribe).
    drop_model = provider.name == "openai" or (
        provider.name == "local" and getattr(provider, "flavor", None) == "openai"
    )
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query)
        if k != "intent" and not (drop_model and k == "model")
    ]
    query.append(("intent", "transcription"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _session_class() -> type[Session]:
    from realtalk.session import Session

    class TranscriptionSession(Session):
        """A Session whose opening step configures a transcription session instead of
        syncing an assistant's configuration."""

        transcription_config: TranscriptionConfig
        update_event_id: str

        async def _configure_on_open(self) -> None:
            event = transcription_update(self.transcription_config, self.provider.dialect.name)
            event["event_id"] = self.update_event_id
            await self.send_raw(event)

    return TranscriptionSession


class Transcriber:
    """A live transcription session. Open it with :func:`transcribe` (or
    ``provider.transcribe(...)``); iterate it for :data:`TranscriptionEvent` s."""

    def __init__(
        self,
        provider: Provider,
        config: TranscriptionConfig | None = None,
        *,
        options: SessionOptions | None = None,
    ) -> None:
        from realtalk.agent import Agent

        # Duck-typed: realtalk.providers imports this module (Provider.transcribe).
        if not all(hasattr(provider, a) for a in ("handshake", "dialect", "rules", "name")):
            raise TypeError(
                "transcribe(provider) takes a provider such as realtalk.providers.OpenAI() or "
                f"testing.local(), not {provider!r}"
            )
        config = TranscriptionConfig() if config is None else config
        if not isinstance(config, TranscriptionConfig):
            raise TypeError(
                "transcribe(config=) takes a TranscriptionConfig(model=..., language=...), "
                f"not {type(config).__name__}"
            )
        if options is not None and not isinstance(options, SessionOptions):
            raise TypeError(
                f"transcribe(options=) takes a SessionOptions, not {type(options).__name__}"
            )
        problems = _target_problems(config, provider)
        if problems:
            raise ConfigError(problems, target=provider.name)
        self.provider = provider
        self.config = config
        self._options = options or SessionOptions()
        self._agent = Agent(name="transcription")
        self._session: Session | None = None
        self._confirmed = False
        self._early: list[Event] = []
        self.transcripts: dict[str, str] = {}
        """Completed transcripts by item id, in the order they completed."""

    def __repr__(self) -> str:
        session = getattr(self, "_session", None)
        state = "open" if session is not None and not session.closed else "closed"
        return f"Transcriber(provider={type(self.provider).__name__}, {state})"

    @property
    def session(self) -> Session:
        """The underlying :class:`~realtalk.session.Session` (recording path, session id)."""
        if self._session is None:
            raise ConnectionClosed(None, "the transcription session is not open")
        return self._session

    async def _connect(
        self, url: str, headers: Mapping[str, str], subprotocols: Sequence[str]
    ) -> Transport:
        from realtalk.transports.websocket import connect_websocket

        return await connect_websocket(
            transcription_url(self.provider, url),
            headers,
            subprotocols,
            open_timeout=self._options.connect_timeout,
        )

    async def __aenter__(self) -> Transcriber:
        opener = getattr(self.provider, "open", None)
        if opener is not None:
            await opener()
        try:
            session = _session_class()(
                provider=self.provider,
                agent=self._agent,
                options=self._options,
                connector=self._connect,
            )
            session.transcription_config = self.config  # type: ignore[attr-defined]
            session.update_event_id = "rt_transcription_1"  # type: ignore[attr-defined]
            self._session = session
            await session._open()
            await self._wait_confirmed()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (and a local server this opened). Idempotent."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            closer = getattr(self.provider, "aclose", None)
            if closer is not None:
                await closer()

    async def _wait_confirmed(self) -> None:
        """Wait for the server's answer to the transcription update: raise its error."""
        session = self.session
        timeout = self._options.update_timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TransportError(
                    f"the server did not confirm the transcription session within {timeout:g}s"
                )
            event = await session.next_event(left)
            if isinstance(event, SessionUpdated | TranscriptionSessionUpdated):
                self._confirmed = True
                return
            if isinstance(event, ErrorEvent) and event.error.event_id == "rt_transcription_1":
                error = event.error
                raise ServerError(
                    f"the server refused the transcription session: {error.message}",
                    code=error.code,
                    type=error.type,
                    param=error.param,
                    event_id=error.event_id,
                )
            if not isinstance(event, SessionCreated | SessionError) or (
                isinstance(event, SessionError) and event.fatal
            ):
                self._early.append(event)

    # -- sending ------------------------------------------------------------------------------

    async def send_audio(
        self, audio: bytes, *, rate: int | None = None, format: AudioFormat | None = None
    ) -> None:
        """Append audio to the input buffer, converted to the session's input format as
        :meth:`Session.send_audio <realtalk.session.Session.send_audio>` does (PCM16 at any
        ``rate``, G.711, WAV bytes, numpy arrays). Without ``rate=``, PCM16 is taken as 24 kHz."""
        await self.session.send_audio(audio, rate=rate, format=format)

    async def commit(self) -> None:
        """End the current utterance: the server transcribes the buffer as one item. Needed
        without turn detection (``turn_detection=None`` and the models that take none)."""
        await self.session.commit_audio(respond=False)

    async def clear(self) -> None:
        """Drop the audio in the input buffer that is not committed yet."""
        await self.session.clear_audio()

    # -- events -------------------------------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> TranscriptionEvent:
        """The next transcription event; raises :class:`ConnectionClosed` once it has ended
        and :class:`TimeoutError` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._early:
                event = self._early.pop(0)
            else:
                left = None if deadline is None else max(0.0, deadline - loop.time())
                event = await self.session.next_event(left)
            if isinstance(event, InputTranscriptCompleted):
                self.transcripts[event.item_id] = event.transcript
            if isinstance(event, _DELIVERED):
                return event  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncIterator[TranscriptionEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[TranscriptionEvent]:
        while True:
            try:
                event = await self.next_event()
            except ConnectionClosed:
                return
            yield event

    async def transcript(self, timeout: float | None = 30.0) -> InputTranscriptCompleted:
        """Wait for the next completed transcript (other events are skipped); a failed
        transcription raises :class:`ServerError`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.next_event()
                    if isinstance(event, InputTranscriptCompleted):
                        return event
                    if isinstance(event, InputTranscriptFailed):
                        error = event.error
                        raise ServerError(error.message, code=error.code, type=error.type)
        raise TimeoutError(f"no transcript within {timeout:g}s")


def transcribe(
    provider: Provider,
    config: TranscriptionConfig | None = None,
    *,
    options: SessionOptions | None = None,
) -> Transcriber:
    """Open a transcription-only session on ``provider``: ``async with transcribe(p, cfg) as
    t: ...``. Arguments are checked here, before anything connects."""
    return Transcriber(provider, config, options=options)
