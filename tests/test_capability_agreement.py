"""The client's rules and the local server agree on every session update, for every provider.

Both read one copy of the capability facts (:mod:`realtalk.capabilities`) but through their own
code: the client's :func:`realtalk.dialects.checks.validate` on a ``SessionConfig``, the
server's ``session.update`` validation on the JSON the client would send (parsed as the server
parses a frame). Hypothesis generates updates per provider -- every field either left out or
drawn from a pool of good, boundary and bad values -- and each one must be accepted by both or
refused by both. The one intended difference is :data:`INTENDED`, with its reason.

Generation is direct: Hypothesis draws bytes and each field reads its value from its own
bytes out of a small pool (no ``builds``, filters or ``assume``), a batch of updates per
example, so the time goes into the two validations, not into Hypothesis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtalk import capabilities as caps
from realtalk.commands import UpdateSession
from realtalk.config import (
    UNSET,
    AudioFormat,
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
)
from realtalk.dialects import get_dialect
from realtalk.dialects.checks import validate
from realtalk.dialects.rules import (
    AZURE_GA_RULES,
    AZURE_PREVIEW_RULES,
    BETA_RULES,
    GA_RULES,
    Rule,
    Rules,
)
from realtalk.server.wire.events import parse_client_message, validate_client_event
from realtalk.server.wire.session import default_session

EXAMPLES_PER_PROVIDER = 10_000

PROVIDERS: dict[str, tuple[Rules, str]] = {
    "openai-ga": (GA_RULES, "openai"),
    "azure-ga": (AZURE_GA_RULES, "azure"),
    "openai-beta": (BETA_RULES, "openai"),
    "azure-preview": (AZURE_PREVIEW_RULES, "azure"),
}


@dataclass(frozen=True)
class Intended:
    """A difference between client and server that is meant, and why."""

    applies: Callable[[SessionConfig], bool]
    reason: str


def _forces_an_absent_tool(config: SessionConfig) -> bool:
    choice, tools = config.tool_choice, config.tools
    if not isinstance(choice, FunctionChoice):
        return False
    names = [t.name for t in tools] if isinstance(tools, tuple) else []
    return choice.name not in names


def _pcm16_off_rate_on_the_beta_shape(config: SessionConfig) -> bool:
    formats = (config.input_format, config.output_format)
    return any(
        isinstance(f, AudioFormat) and f.encoding == "pcm16" and f.rate != caps.PCM_RATE
        for f in formats
    )


INTENDED: dict[str, Intended] = {
    "PCM16 at a rate other than 24 kHz on the beta shape": Intended(
        _pcm16_off_rate_on_the_beta_shape,
        'The beta wire says only "pcm16", which is 24 kHz by definition (protocol.md 5): '
        "the rate never reaches the server, so only the client can see that the app means "
        "another rate, and it refuses (the audio would play at the wrong speed).",
    ),
    "tool_choice names a function that is not among the session's tools": Intended(
        _forces_an_absent_tool,
        "The client refuses it (the model could never satisfy it). protocol.md does not say "
        "that the service refuses it, and the tools may be sent in a later update or per "
        "response, so the stand-in server accepts it as the SDK types do.",
    ),
}


# -- generation: one byte string from Hypothesis, read directly into a config ---------------
#
# Building a config with st.builds/one_of over twenty fields costs about 15 ms per example in
# Hypothesis; drawing one fixed-size byte string and reading each field from its own bytes costs
# well under a millisecond, and still shrinks (bytes towards zero = fields left out).

UNSET_BYTES = 205
"""A field's byte below this leaves it UNSET (about 80%): real updates set a few fields."""


class Draw:
    """Reads choices from Hypothesis' bytes, one byte per choice."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        value = self.data[self.at % len(self.data)]
        self.at += 1
        return value

    def pick(self, pool: tuple[Any, ...]) -> Any:
        return pool[self.byte() % len(pool)]

    def maybe(self, pool: tuple[Any, ...], unset: int = UNSET_BYTES) -> Any:
        value = self.byte()
        return UNSET if value < unset else pool[(value - unset) % len(pool)]


def pool(good: tuple[Any, ...], bad: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """Good values three times as likely as bad ones, so both outcomes are common."""
    return good * 3 + bad


_ALL_TRANSCRIPTION_MODELS = tuple(
    dict.fromkeys(
        (
            *caps.GA_TRANSCRIPTION_MODELS,
            *caps.BETA_TRANSCRIPTION_MODELS,
            *caps.AZURE_PREVIEW_TRANSCRIPTION_MODELS,
        )
    )
)
_HALF = 128  # sub-fields of a part are set about half the time

_FIELDS: dict[str, tuple[Any, ...]] = {
    # `model` is left out: whether it may change is session state (the server compares it with
    # the session's model), not a capability fact.
    "instructions": pool(("", "Be brief.")),
    "output_modalities": pool((("audio",), ("text",)), (("audio", "text"), ())),
    "voice": pool(caps.GA_VOICES, ("voice_1234", "Alloy")),
    "speed": pool((0.25, 1.0, 1.5), (0.2, 1.51, 2)),
    "input_format": pool(
        (AudioFormat.pcm16(), AudioFormat.pcmu(), AudioFormat.pcma()), (AudioFormat.pcm16(16000),)
    ),
    "output_format": pool((AudioFormat.pcm16(), AudioFormat.pcmu()), (AudioFormat.pcm16(48000),)),
    "tool_choice": pool((*caps.TOOL_CHOICE_MODES, FunctionChoice("get_time")), ("sometimes",)),
    "max_output_tokens": pool(("inf", 1, 4096), (0, 4097)),
    "temperature": pool((0.6, 0.8, 1.2), (0.5, 1.3)),
    "tracing": pool((None, "auto", Tracing(workflow_name="support"))),
    "truncation": pool(("auto", "disabled", RetentionRatio(0.5)), (RetentionRatio(1.5),)),
    "prompt": pool((None, Prompt(id="pmpt_123"))),
    "reasoning": pool((Reasoning("low"),), (Reasoning("max"),)),  # type: ignore[arg-type]
    "include": pool((None, caps.INCLUDE_VALUES), (("everything",),)),
}


def _turn_detection(d: Draw) -> Any:
    kind = d.byte() % 3
    if kind == 0:
        return None
    if kind == 1:
        return ServerVAD(
            threshold=d.maybe(pool((0.0, 0.5, 1.0), (1.01, -0.1)), _HALF),
            prefix_padding_ms=d.maybe(pool((0, 300), (-1,)), _HALF),
            silence_duration_ms=d.maybe(pool((0, 200, 500), (-5,)), _HALF),
            idle_timeout_ms=d.maybe(pool((None, 5000, 12000, 30000), (4999, 30001)), _HALF),
            create_response=d.maybe((True, False), _HALF),
            interrupt_response=d.maybe((True, False), _HALF),
        )
    return SemanticVAD(
        eagerness=d.maybe(pool(caps.EAGERNESS, ("fast",)), _HALF),
        create_response=d.maybe((True, False), _HALF),
        interrupt_response=d.maybe((True, False), _HALF),
    )


def _noise_reduction(d: Draw) -> Any:
    if d.byte() % 3 == 0:
        return None
    return NoiseReduction(
        type=d.pick(caps.NOISE_REDUCTION_TYPES),
        strength=d.maybe(pool((0.0, 0.7, 1.0), (-0.5,)), _HALF),
    )


def _transcription(d: Draw) -> Any:
    if d.byte() % 3 == 0:
        return None
    return Transcription(
        model=d.maybe((*_ALL_TRANSCRIPTION_MODELS, "my-transcribe-deployment"), 64),
        language=d.maybe(("en", "de"), _HALF),
        prompt=d.maybe(("", "names of people"), 192),
        languages=d.maybe((("en",), ("en", "de")), 224),
        keywords=d.maybe((("realtalk",),), 224),
        delay=d.maybe(("low", "xhigh", "soon"), 224),
    )


_TOOL_NAMES = pool(("get_time", "lookup", "get-weather"), ("bad name", "x" * 65))
_DESCRIPTIONS = pool(("", "Current time", "d" * caps.TOOL_DESCRIPTION_MAX), ("d" * 1025,))


def _tools(d: Draw) -> tuple[ToolSpec, ...]:
    return tuple(
        ToolSpec(name=d.pick(_TOOL_NAMES), description=d.pick(_DESCRIPTIONS))
        for _ in range(d.byte() % 3)
    )


_PARTS: dict[str, Callable[[Draw], Any]] = {
    "turn_detection": _turn_detection,
    "noise_reduction": _noise_reduction,
    "transcription": _transcription,
    "tools": _tools,
}
BYTES_PER_UPDATE = len(_FIELDS) + len(_PARTS) * 8


def read_config(data: bytes) -> SessionConfig:
    """The session update these bytes describe (deterministic: same bytes, same config)."""
    d = Draw(data)
    fields = {name: d.maybe(values) for name, values in _FIELDS.items()}
    for name, part in _PARTS.items():
        fields[name] = part(d) if d.byte() >= UNSET_BYTES else UNSET
    return SessionConfig(**fields)


BATCH = 50
"""Updates per Hypothesis example. Hypothesis' own cost is ~1-2 ms per example on a busy
machine, so each example is a batch of updates (one byte string, cut into BATCH configs)."""


def read_batch(data: bytes) -> list[SessionConfig]:
    size = BYTES_PER_UPDATE
    return [read_config(data[i : i + size]) for i in range(0, len(data), size)]


batches = st.binary(min_size=BYTES_PER_UPDATE * BATCH, max_size=BYTES_PER_UPDATE * BATCH).map(
    read_batch
)


# -- the two sides --------------------------------------------------------------------------


def client_accepts(config: SessionConfig, rules: Rules) -> bool:
    return validate(config, rules) == []


_CURRENT: dict[tuple[str, str], dict[str, Any]] = {}


def server_error(config: SessionConfig, rules: Rules, flavor: Any) -> dict[str, Any] | None:
    """What the local server answers to the ``session.update`` the client would send."""
    dialect = get_dialect(rules.dialect)
    key = (rules.dialect, flavor)
    if key not in _CURRENT:
        _CURRENT[key] = default_session(
            rules.dialect, flavor, "gpt-realtime", session_id="sess_1", now_s=0
        )
    event, error = parse_client_message(dialect.encode(UpdateSession(config), "evt_1"))
    assert error is None
    return validate_client_event(rules.dialect, flavor, event, current=_CURRENT[key])


@dataclass
class Tally:
    examples: int = 0
    both_accept: int = 0
    both_refuse: int = 0
    intended: int = 0
    seconds: float = 0.0


TALLIES: dict[str, Tally] = {}


def _check_one(name: str, config: SessionConfig) -> None:
    rules, flavor = PROVIDERS[name]
    tally = TALLIES.setdefault(name, Tally())
    tally.examples += 1
    client = client_accepts(config, rules)
    error = server_error(config, rules, flavor)
    server = error is None
    if client == server:
        if client:
            tally.both_accept += 1
        else:
            tally.both_refuse += 1
        return
    reasons = [label for label, i in INTENDED.items() if i.applies(config)]
    if reasons and not client and server:
        tally.intended += 1
        return
    problems = validate(config, rules)
    raise AssertionError(
        f"{rules.name}: the client {'accepts' if client else 'refuses'} and the server "
        f"{'accepts' if server else 'refuses'} {config!r}\n"
        f"client problems: {problems}\nserver error: {error}"
    )


def _agreement_test(name: str) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES_PER_PROVIDER // BATCH,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=batches)
    def run(batch: list[SessionConfig]) -> None:
        for config in batch:
            _check_one(name, config)

    return run


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_client_and_server_accept_the_same_session_updates(name: str) -> None:
    TALLIES.pop(name, None)
    started = time.perf_counter()
    _agreement_test(name)()
    tally = TALLIES[name]
    tally.seconds = time.perf_counter() - started
    print(
        f"[figures] agreement {name}: {tally.examples} updates in {tally.seconds:.1f} s; "
        f"both accept {tally.both_accept}, both refuse {tally.both_refuse}, "
        f"intended differences {tally.intended}"
    )
    # Hypothesis runs every example when the space is this large (a failure would have raised
    # above). Both outcomes must be common, or the test proves little.
    assert tally.examples >= EXAMPLES_PER_PROVIDER
    assert tally.both_accept >= tally.examples // 10
    assert tally.both_refuse >= tally.examples // 10


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_the_agreement_check_can_fail(name: str) -> None:
    # A value the server refuses but a loosened client table would accept is caught.
    rules, flavor = PROVIDERS[name]
    config = SessionConfig(speed=2.0)
    assert not client_accepts(config, rules)
    assert server_error(config, rules, flavor) is not None
    loose = Rules(
        key=rules.key,
        name=rules.name,
        dialect=rules.dialect,
        fields={**rules.fields, "speed": Rule()},
        facts=rules.facts,
    )
    assert client_accepts(config, loose)
    PROVIDERS["loose"] = (loose, flavor)
    try:
        with pytest.raises(AssertionError, match="the client accepts and the server refuses"):
            _check_one("loose", config)
    finally:
        del PROVIDERS["loose"]
        TALLIES.pop("loose", None)


WITNESSES: dict[str, tuple[str, SessionConfig]] = {
    "PCM16 at a rate other than 24 kHz on the beta shape": (
        "openai-beta",
        SessionConfig(input_format=AudioFormat.pcm16(16000)),
    ),
    "tool_choice names a function that is not among the session's tools": (
        "openai-ga",
        SessionConfig(tools=(), tool_choice=FunctionChoice("get_time")),
    ),
}


@pytest.mark.parametrize("label", list(INTENDED))
def test_every_intended_difference_is_real(label: str) -> None:
    # Each listed difference still exists (else it is stale and must go), and is the one kind
    # allowed: the client refuses what the server accepts, never the reverse.
    name, config = WITNESSES[label]
    rules, flavor = PROVIDERS[name]
    assert INTENDED[label].applies(config)
    assert not client_accepts(config, rules)
    assert server_error(config, rules, flavor) is None
