"""Checking a config against a target's capability table: every problem, with its fix.

The tables are data (:mod:`realtalk.dialects.rules`, built from :mod:`realtalk.capabilities`);
this module is the functions over them. :func:`validate` returns every problem; :func:`check`
raises one :class:`~realtalk.errors.ConfigError` listing them all; :func:`advise` gives the
non-blocking remarks. Each problem names the wire path the server would name
(``session.audio.input.turn_detection.threshold`` on GA, ``session.turn_detection.threshold``
on the beta shape), the value, the target's rule and the fix. Sources: protocol.md 2-5 and 7.

Pure core: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from realtalk.capabilities import (
    DELAY_MODELS,
    GA_TRANSCRIPTION_MODELS,
    KEYWORD_MODELS,
    NO_PROMPT_MODELS,
    SEMANTIC_VAD_FIELDS,
    SERVER_VAD_FIELDS,
    Range,
)
from realtalk.config import (
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
from realtalk.dialects import Dialect, get_dialect
from realtalk.dialects.rules import FORCE_HINT, Rule, Rules
from realtalk.errors import ConfigError, ConfigProblem

__all__ = ["advise", "check", "turn_detection_dict_problems", "validate"]

_VAD_FIELDS = {"server_vad": SERVER_VAD_FIELDS, "semantic_vad": SEMANTIC_VAD_FIELDS}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range_text(rule: Rule) -> str:
    return Range(rule.low, rule.high).text()


def _in_range(value: float, rule: Rule) -> bool:
    return value in Range(rule.low, rule.high)


def turn_detection_dict_problems(data: Mapping[str, Any], path: str) -> list[ConfigProblem]:
    """Problems of a turn-detection *mapping* (from a file or pasted JSON), before it is typed.

    Names each key that belongs to the other VAD type, e.g. ``threshold`` on ``semantic_vad``,
    with the fields the chosen type takes. ``path`` is the wire path of the object.
    """
    kind = data.get("type", "server_vad")
    if kind not in _VAD_FIELDS:
        return [
            ConfigProblem(
                f"{path}.type",
                kind,
                "turn detection type must be 'server_vad' or 'semantic_vad'",
                "use ServerVAD(...), SemanticVAD(...) or None (manual turns)",
            )
        ]
    takes = _VAD_FIELDS[kind]
    other = "server_vad" if kind == "semantic_vad" else "semantic_vad"
    problems = []
    for key, value in data.items():
        if key == "type" or key in takes:
            continue
        where = f" (it belongs to {other})" if key in _VAD_FIELDS[other] else ""
        problems.append(
            ConfigProblem(
                f"{path}.{key}",
                value,
                f"{kind} does not take {key!r}{where}",
                f"{kind} takes {', '.join(takes)}",
            )
        )
    return problems


class _Checker:
    """Collects the problems of one config against one target."""

    def __init__(self, rules: Rules, dialect: Dialect) -> None:
        self.rules = rules
        self.dialect = dialect
        self.problems: list[ConfigProblem] = []
        self.advice: list[ConfigProblem] = []

    # -- helpers ---------------------------------------------------------------------------

    def path(self, key: str) -> str:
        top, _, sub = key.partition(".")
        base = self.dialect.session_path(top)
        return f"{base}.{sub}" if sub else base

    def add(
        self, key: str, value: Any, rule: str, fix: str = "", *, path: str | None = None
    ) -> None:
        self.problems.append(ConfigProblem(path or self.path(key), value, rule, fix))

    def supported(self, key: str, value: Any) -> bool:
        """False (and a problem recorded) when the target does not take ``key`` at all."""
        rule = self.rules.rule(key)
        if rule.support == "yes":
            return True
        name = key.rpartition(".")[2]
        if rule.support == "no":
            text = f"{self.rules.name} rejects {name!r}"
            text += f" ({rule.note})" if rule.note else ""
            fix = "leave it unset for this provider"
        else:
            text = f"{self.rules.name}: {rule.note or 'undocumented'}"
            fix = f"leave it unset for this provider; {FORCE_HINT}"
        self.add(key, value, text, fix)
        return False

    def number(self, key: str, value: Any, *, integer: bool = False) -> None:
        rule = self.rules.rule(key)
        kind = "an integer" if integer else "a number"
        if not (_is_int(value) if integer else _is_number(value)):
            self.add(key, value, f"must be {kind}", f"use {kind} from {_range_text(rule)}")
        elif not _in_range(value, rule):
            self.add(
                key,
                value,
                f"{self.rules.name} takes {_range_text(rule)}",
                f"use a value from {_range_text(rule)}",
            )

    def choice(self, key: str, value: Any) -> None:
        rule = self.rules.rule(key)
        if not isinstance(value, str) or not value:
            self.add(key, value, "must be a non-empty string")
            return
        if not rule.choices or value in rule.choices or rule.choice_policy == "open":
            return
        known = ", ".join(rule.choices)
        if rule.choice_policy == "strict":
            self.add(key, value, f"{self.rules.name} takes one of {known}", f"use one of {known}")
        else:
            self.advice.append(
                ConfigProblem(
                    self.path(key),
                    value,
                    f"not documented for {self.rules.name} (documented: {known})",
                    "check that the service accepts it",
                )
            )

    def strings(self, key: str, value: Any) -> None:
        if not isinstance(value, tuple | list) or not all(isinstance(v, str) for v in value):
            self.add(key, value, "must be a list of strings")

    # -- fields ----------------------------------------------------------------------------

    def field(self, name: str, value: Any) -> None:
        if not self.supported(name, value):
            return
        method = getattr(self, f"f_{name}", None)
        if method is not None:
            method(value)

    def f_model(self, value: Any) -> None:
        if not isinstance(value, str) or not value:
            self.add("model", value, "must be a non-empty string")

    def f_instructions(self, value: Any) -> None:
        if not isinstance(value, str):
            self.add("instructions", value, "must be a string", "use '' to clear the instructions")

    def f_output_modalities(self, value: Any) -> None:
        wire = self.rules.rule("output_modalities").note
        if not isinstance(value, tuple) or value not in (("audio",), ("text",)):
            self.add(
                "output_modalities",
                list(value) if isinstance(value, tuple) else value,
                'output modalities are ["audio"] (audio with its transcript; ["text", "audio"] '
                'means the same) or ["text"] (text only)',
                f"for {self.rules.name}: {wire}",
            )

    def f_voice(self, value: Any) -> None:
        before = len(self.problems)
        self.choice("voice", value)
        if len(self.problems) > before and self.rules.dialect == "ga":
            # A GA custom voice is an object, not a name (protocol.md 2.1); the typed field
            # holds names only, so point at the way to send the object.
            problem = self.problems[-1]
            self.problems[-1] = ConfigProblem(
                problem.path,
                problem.value,
                problem.rule,
                f"{problem.fix}; a custom voice is an object: extra="
                f"{{'{self.dialect.session_paths['voice']}': {{'id': {value!r}}}}}",
            )

    def f_speed(self, value: Any) -> None:
        self.number("speed", value)

    def f_input_format(self, value: Any) -> None:
        self.audio_format("input_format", value)

    def f_output_format(self, value: Any) -> None:
        self.audio_format("output_format", value)

    def audio_format(self, key: str, value: Any) -> None:
        if not isinstance(value, AudioFormat) or value.encoding not in ("pcm16", "pcmu", "pcma"):
            self.add(
                key,
                value,
                "must be an AudioFormat",
                "use AudioFormat.pcm16(), AudioFormat.pcmu() or AudioFormat.pcma()",
            )
        elif value.encoding == "pcm16" and value.rate not in self.rules.pcm_rates:
            rates = ", ".join(str(r) for r in self.rules.pcm_rates)
            self.add(
                key,
                value.rate,
                f"{self.rules.name} takes PCM16 at {rates} Hz only",
                "use AudioFormat.pcm16() and resample locally (realtalk.audio)",
            )
        elif value.encoding != "pcm16" and value.rate != self.rules.g711_rate:
            self.add(
                key,
                value.rate,
                f"G.711 ({value.encoding}) is {self.rules.g711_rate} Hz on the wire",
                f"use AudioFormat.{value.encoding}()",
            )

    def f_turn_detection(self, value: Any) -> None:
        base = "turn_detection"
        if value is None:
            return
        if isinstance(value, Mapping):
            self.problems.extend(turn_detection_dict_problems(value, self.path(base)))
            return
        if not isinstance(value, ServerVAD | SemanticVAD):
            self.add(base, value, "must be ServerVAD(...), SemanticVAD(...) or None (manual turns)")
            return
        for sub, sub_value in value.set_fields().items():
            key = f"{base}.{sub}"
            if not self.supported(key, sub_value):
                continue
            if sub in ("create_response", "interrupt_response"):
                if not isinstance(sub_value, bool):
                    self.add(key, sub_value, "must be true or false")
            elif sub == "eagerness":
                self.choice(key, sub_value)
            elif sub == "threshold":
                self.number(key, sub_value)
            elif sub == "idle_timeout_ms" and sub_value is None:
                continue
            else:
                self.number(key, sub_value, integer=True)

    def f_noise_reduction(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, NoiseReduction):
            self.add("noise_reduction", value, "must be NoiseReduction(...) or None (off)")
            return
        for sub, sub_value in value.set_fields().items():
            key = f"noise_reduction.{sub}"
            if sub == "type":
                self._nr_type(sub_value)
            elif self.supported(key, sub_value):
                self.number(key, sub_value)

    def _nr_type(self, value: Any) -> None:
        rule = self.rules.rule("noise_reduction")
        if value not in rule.choices:
            known = ", ".join(rule.choices)
            self.add("noise_reduction.type", value, f"takes one of {known}", f"use one of {known}")

    def f_transcription(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, Transcription):
            self.add("transcription", value, "must be Transcription(...) or None (off)")
            return
        subs = value.set_fields()
        model = subs.get("model")
        known_model = isinstance(model, str) and model in GA_TRANSCRIPTION_MODELS
        for sub, sub_value in subs.items():
            key = f"transcription.{sub}"
            if not self.supported(key, sub_value):
                continue
            if sub in ("model", "delay"):
                self.choice(key, sub_value)
            elif sub in ("languages", "keywords"):
                self.strings(key, sub_value)
            elif not isinstance(sub_value, str):
                self.add(key, sub_value, "must be a string")
            if not known_model:
                continue
            if sub in ("languages", "keywords") and model not in KEYWORD_MODELS:
                self.add(
                    key,
                    sub_value,
                    f"{sub!r} works with {', '.join(sorted(KEYWORD_MODELS))} only, not {model!r}",
                    f"remove {sub!r} or use one of those models",
                )
            elif sub == "delay" and model not in DELAY_MODELS:
                self.add(
                    key,
                    sub_value,
                    f"'delay' works with gpt-realtime-whisper only, not {model!r}",
                    "remove 'delay'",
                )
            elif sub == "prompt" and model in NO_PROMPT_MODELS:
                self.add(key, sub_value, f"{model!r} does not take a prompt", "remove 'prompt'")

    def f_tools(self, value: Any) -> None:
        if not isinstance(value, tuple):
            self.add("tools", value, "must be a list of ToolSpec")
            return
        base = self.path("tools")
        pattern = re.compile(self.rules.tool_name_pattern)
        seen: set[str] = set()
        limit = self.rules.tool_description_max
        for index, tool in enumerate(value):
            here = f"{base}[{index}]"
            if not isinstance(tool, ToolSpec):
                self.add("tools", tool, "must be a ToolSpec", path=here)
                continue
            if not pattern.fullmatch(tool.name):
                self.add(
                    "tools",
                    tool.name,
                    "a tool name is 1-64 letters, digits, '_' or '-'",
                    "rename the tool",
                    path=f"{here}.name",
                )
            elif tool.name in seen:
                self.add("tools", tool.name, "tool names must be unique", path=f"{here}.name")
            seen.add(tool.name)
            if len(tool.description) > limit:
                self.add(
                    "tools",
                    f"<{len(tool.description)} characters>",
                    f"a tool description is at most {limit} characters",
                    "shorten it; put details in the instructions or parameter descriptions",
                    path=f"{here}.description",
                )
            parameters: object = tool.parameters  # typed as a Mapping; users pass anything
            if not isinstance(parameters, Mapping):
                self.add(
                    "tools",
                    parameters,
                    "parameters must be a JSON schema object",
                    path=f"{here}.parameters",
                )

    def f_tool_choice(self, value: Any) -> None:
        if isinstance(value, FunctionChoice):
            if not value.name:
                self.add("tool_choice", value, "must name a function")
            return
        if value not in self.rules.rule("tool_choice").choices:
            self.add(
                "tool_choice",
                value,
                "takes 'auto', 'none', 'required' or FunctionChoice(name)",
                "use one of those",
            )

    def f_max_output_tokens(self, value: Any) -> None:
        if value == "inf":
            return
        self.number("max_output_tokens", value, integer=True)

    def f_temperature(self, value: Any) -> None:
        self.number("temperature", value)

    def f_tracing(self, value: Any) -> None:
        if value is not None and value != "auto" and not isinstance(value, Tracing):
            self.add("tracing", value, "takes 'auto', Tracing(...) or None")

    def f_truncation(self, value: Any) -> None:
        if value in ("auto", "disabled"):
            return
        if not isinstance(value, RetentionRatio):
            self.add("truncation", value, "takes 'auto', 'disabled' or RetentionRatio(...)")
            return
        if not _is_number(value.retention_ratio) or not 0 <= value.retention_ratio <= 1:
            self.add("truncation.retention_ratio", value.retention_ratio, "must be from 0 to 1")
        tokens = value.post_instructions_tokens
        if tokens is not None and (not _is_int(tokens) or tokens < 0):
            self.add("truncation.token_limits.post_instructions", tokens, "must be an integer >= 0")

    def f_prompt(self, value: Any) -> None:
        if value is not None and (not isinstance(value, Prompt) or not value.id):
            self.add("prompt", value, "takes Prompt(id, ...) or None")

    def f_reasoning(self, value: Any) -> None:
        if not isinstance(value, Reasoning):
            self.add("reasoning", value, "takes Reasoning(effort)")
        else:
            self.choice_strict("reasoning.effort", "reasoning", value.effort)

    def choice_strict(self, key: str, rule_key: str, value: Any) -> None:
        choices = self.rules.rule(rule_key).choices
        if value not in choices:
            known = ", ".join(choices)
            self.add(key, value, f"takes one of {known}", f"use one of {known}")

    def f_include(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, tuple):
            self.add("include", value, "must be a list of strings or None")
            return
        for item in value:
            self.choice_strict("include", "include", item)

    def f_extra(self, value: Any) -> None:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self.add("extra", value, "must be a mapping of wire field names to JSON values")

    def cross_checks(self, config: SessionConfig) -> None:
        choice = config.tool_choice
        tools = config.tools
        if isinstance(choice, FunctionChoice) and isinstance(tools, tuple) and choice.name:
            names = [t.name for t in tools if isinstance(t, ToolSpec)]
            if choice.name not in names:
                self.add(
                    "tool_choice",
                    choice.name,
                    "forces a function that is not among the session's tools",
                    f"use one of {', '.join(names) or '(no tools)'} or add the tool",
                )


def _checker(config: SessionConfig, rules: Rules, dialect: Dialect | None) -> _Checker:
    checker = _Checker(rules, dialect or get_dialect(rules.dialect))
    for name, value in config.set_fields().items():
        checker.field(name, value)
    checker.cross_checks(config)
    return checker


def validate(
    config: SessionConfig, rules: Rules, dialect: Dialect | None = None
) -> list[ConfigProblem]:
    """Every problem ``config`` has on the target ``rules`` describes (empty when it is fine).

    ``dialect`` names the wire paths in the problems; by default the one ``rules.dialect`` names.
    Fields left :data:`~realtalk.config.UNSET` are not checked: the server keeps its own value.
    """
    return _checker(config, rules, dialect).problems


def advise(
    config: SessionConfig, rules: Rules, dialect: Dialect | None = None
) -> list[ConfigProblem]:
    """Non-blocking remarks: values the target does not document but may well accept."""
    return _checker(config, rules, dialect).advice


def check(config: SessionConfig, rules: Rules, dialect: Dialect | None = None) -> None:
    """Raise one :class:`ConfigError` listing every problem of ``config`` on this target."""
    problems = validate(config, rules, dialect)
    if problems:
        raise ConfigError(problems, target=rules.name)
