"""Deterministic brains: a scripted scenario (rules from YAML/JSON) and an echo.

A scenario is a mapping like::

    default: "Sorry, I can only talk about the weather."
    greeting: "Hi! Ask me about the weather."      # said when there is no user text yet
    rules:
      - when: "weather in (?P<city>[a-z ]+)"        # a regex, searched case-insensitively
        call: get_weather                           # call this tool...
        arguments: {"city": "{city}"}               # ...with these arguments (templates)
        then_say: "It is {output.temperature} degrees in {city}."   # once the output is back
        on_error: "Sorry, the weather service is down: {error}"     # if the tool failed
      - keywords: [hello, hi]                       # or: any of these words
        say: "Hello! How can I help?"
      - keywords: [flight]
        preamble: "Let me look that up."            # said first, as its own message
        say: "Your flight leaves at nine."

A rule's ``preamble`` (a template too) is said before the answer or the tool call, in the
same response, as a separate assistant message: gpt-realtime-2's preambles (protocol.md 11.1),
the preamble with ``phase`` ``commentary`` and the answer with ``final_answer``.

Templates fill ``{name}`` from the rule's named regex groups, ``{text}`` (the user's text),
``{output}`` (the tool output as sent) and ``{output.key.subkey}`` / ``{arguments.key}`` from JSON;
a placeholder with no value stays as written. When the tool failed (its output is realtalk's
``{"error": ...}``, e.g. bad arguments, an exception or a rejected approval), ``on_error`` is said
instead of ``then_say``, with ``{error}`` holding the message; without one, a rule whose
``then_say`` is the default ``{output}`` says :data:`DEFAULT_ON_ERROR`, as a model would explain
the failure rather than read the JSON out (a custom ``then_say`` is kept: it may use
``{output.error}``). Rules are tried in order; a rule that calls a tool
the session did not declare (or when ``tool_choice`` is ``"none"``) is skipped, because a real
model cannot call it either.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import yaml

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    Item,
    MessageItem,
)
from realtalk.server.engines.base import Action, Brain, BrainRequest, CallTool, Say

__all__ = ["EchoBrain", "ScriptBrain", "ScriptRule", "chunk_text", "last_user_text"]

DEFAULT_ON_ERROR = "Sorry, that did not work: {error}"
"""What a rule with the default ``then_say`` says after its tool failed (no ``on_error`` given)."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")


def chunk_text(text: str) -> list[str]:
    """Split text into word-sized pieces that concatenate back to it (for text deltas)."""
    return re.findall(r"\s*\S+", text) + ([m] if (m := text[len(text.rstrip()) :]) else [])


def last_user_text(items: Sequence[Item]) -> str | None:
    """The text (or transcript) of the last user message, or ``None`` if there is none."""
    for item in reversed(items):
        if isinstance(item, MessageItem) and item.role == "user":
            return item.text
    return None


def _lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """Replace ``{name}`` / ``{a.b}`` placeholders; unknown ones stay as written."""

    def replace(match: re.Match[str]) -> str:
        value = _lookup(variables, match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    return _PLACEHOLDER.sub(replace, template)


def _fill_json(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return fill(value, variables)
    if isinstance(value, list):
        return [_fill_json(v, variables) for v in value]
    if isinstance(value, Mapping):
        return {k: _fill_json(v, variables) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class ScriptRule:
    """One rule of a scenario (see the module docstring)."""

    pattern: re.Pattern[str]
    say: str | None = None
    call: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    then_say: str = "{output}"
    on_error: str | None = None
    preamble: str | None = None

    def match(self, text: str) -> dict[str, Any] | None:
        found = self.pattern.search(text)
        if found is None:
            return None
        groups = {k: v.strip() for k, v in found.groupdict().items() if v is not None}
        return {"text": text, **groups}


def _parse_rule(raw: Any, where: str, problems: list[ConfigProblem]) -> ScriptRule | None:
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(where, raw, "a rule must be a mapping"))
        return None
    known = {"when", "keywords", "say", "call", "arguments", "then_say", "on_error", "preamble"}
    for key in raw:
        if key not in known:
            problems.append(
                ConfigProblem(
                    f"{where}.{key}", raw[key], "unknown rule key", f"use {sorted(known)}"
                )
            )
    pattern: re.Pattern[str] | None = None
    if "when" in raw and "keywords" in raw:
        problems.append(
            ConfigProblem(where, dict(raw), "give either 'when' or 'keywords', not both")
        )
    elif "when" in raw:
        try:
            pattern = re.compile(str(raw["when"]), re.IGNORECASE)
        except re.error as exc:
            problems.append(
                ConfigProblem(f"{where}.when", raw["when"], f"not a valid regex: {exc}")
            )
    elif "keywords" in raw:
        words = raw["keywords"]
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not words:
            problems.append(ConfigProblem(f"{where}.keywords", words, "must be a list of words"))
        else:
            alternatives = "|".join(re.escape(str(w)) for w in words)
            pattern = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
    else:
        pattern = re.compile("")  # a rule with no condition matches everything
    say, call = raw.get("say"), raw.get("call")
    if (say is None) == (call is None):
        problems.append(
            ConfigProblem(where, dict(raw), "a rule needs exactly one of 'say' or 'call'")
        )
    arguments = raw.get("arguments", {})
    if not isinstance(arguments, Mapping):
        problems.append(ConfigProblem(f"{where}.arguments", arguments, "must be a mapping"))
    if pattern is None or (say is None) == (call is None) or not isinstance(arguments, Mapping):
        return None
    return ScriptRule(
        pattern=pattern,
        say=None if say is None else str(say),
        call=None if call is None else str(call),
        arguments=dict(arguments),
        then_say=str(raw.get("then_say", "{output}")),
        on_error=None if raw.get("on_error") is None else str(raw["on_error"]),
        preamble=None if raw.get("preamble") is None else str(raw["preamble"]),
    )


class ScriptBrain(Brain):
    """Answers from a scenario of rules; see the module docstring for the format."""

    DEFAULT_REPLY = "Sorry, I did not understand that."

    def __init__(self, scenario: Mapping[str, Any] | None = None) -> None:
        scenario = scenario or {}
        problems: list[ConfigProblem] = []
        if not isinstance(scenario, Mapping):
            raise ConfigError([ConfigProblem("scenario", scenario, "must be a mapping")])
        for key in scenario:
            if key not in {"default", "greeting", "rules"}:
                problems.append(
                    ConfigProblem(
                        key, scenario[key], "unknown scenario key", "use default, greeting, rules"
                    )
                )
        raw_rules = scenario.get("rules", [])
        if not isinstance(raw_rules, list):
            problems.append(ConfigProblem("rules", raw_rules, "must be a list"))
            raw_rules = []
        rules = [_parse_rule(r, f"rules[{i}]", problems) for i, r in enumerate(raw_rules)]
        if problems:
            raise ConfigError(problems, target="the script brain scenario")
        self.rules: tuple[ScriptRule, ...] = tuple(r for r in rules if r is not None)
        self.default = str(scenario.get("default", self.DEFAULT_REPLY))
        self.greeting = str(scenario.get("greeting", self.default))

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> ScriptBrain:
        """Load a YAML or JSON scenario file (YAML is a superset of JSON)."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(
                [ConfigProblem(str(path), None, f"cannot read scenario: {exc}")]
            ) from exc
        return cls(data)

    def decide(self, request: BrainRequest) -> list[Action]:
        """The whole response at once (:meth:`respond` streams it)."""
        items = request.items
        # After tool outputs, finish the rule that called the tool.
        outputs: list[FunctionCallOutputItem] = []
        for item in reversed(items):
            if not isinstance(item, FunctionCallOutputItem):
                break
            outputs.insert(0, item)
        if outputs:
            return self._after_tools(items, outputs)
        text = last_user_text(items)
        if text is None:
            return [Say(self.greeting)]
        declared = {t.name for t in request.tools}
        for rule in self.rules:
            variables = rule.match(text)
            if variables is None:
                continue
            if rule.call is not None:
                if request.tool_choice == "none" or rule.call not in declared:
                    continue
                arguments = _fill_json(rule.arguments, variables)
                return [*_preamble(rule, variables), CallTool(rule.call, json.dumps(arguments))]
            if rule.preamble is not None:
                answer = Say(fill(rule.say or "", variables), phase="final_answer")
                return [*_preamble(rule, variables), answer]
            return [Say(fill(rule.say or "", variables))]
        return [Say(self.default)]

    def _after_tools(
        self, items: Sequence[Item], outputs: list[FunctionCallOutputItem]
    ) -> list[Action]:
        calls = {i.call_id: i for i in items if isinstance(i, FunctionCallItem) and i.call_id}
        replies: list[str] = []
        phase: Literal["final_answer"] | None = None
        for out in outputs:
            call = calls.get(out.call_id)
            if call is None:
                continue
            # The user text that led to the call is the last user message before it.
            before = list(items[: items.index(call)])
            text = last_user_text(before) or ""
            rule, variables = self._rule_for(call.name, text)
            if rule is not None and rule.preamble is not None:
                phase = "final_answer"  # the answer that follows a preamble and a tool call
            variables["output"] = _maybe_json(out.output)
            variables["arguments"] = _maybe_json(call.arguments)
            template = rule.then_say if rule is not None else "{output}"
            output = variables["output"]
            failed = isinstance(output, Mapping) and set(output) == {"error"}
            if failed:
                variables["error"] = str(output["error"])
            if failed and rule is not None and rule.on_error is not None:
                template = rule.on_error
            elif failed and template == "{output}":  # never read the error JSON out
                template = DEFAULT_ON_ERROR
            elif isinstance(output, Mapping | list) and template == "{output}":
                variables["output"] = out.output  # show the raw text, not re-serialised JSON
            replies.append(fill(template, variables))
        return [Say(" ".join(r for r in replies if r) or self.default, phase)]

    def _rule_for(self, tool: str, text: str) -> tuple[ScriptRule | None, dict[str, Any]]:
        for rule in self.rules:
            if rule.call == tool and (variables := rule.match(text)) is not None:
                return rule, variables
        for rule in self.rules:
            if rule.call == tool:
                return rule, {"text": text}
        return None, {"text": text}

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        for action in self.decide(request):
            if isinstance(action, Say):
                for piece in chunk_text(action.text):
                    yield Say(piece, action.phase)
            else:
                yield action

    def __repr__(self) -> str:
        return f"ScriptBrain({len(self.rules)} rules)"


def _has_image(items: Sequence[Item]) -> bool:
    """Whether the last user message carries an ``input_image``."""
    for item in reversed(items):
        if isinstance(item, MessageItem) and item.role == "user":
            return any(isinstance(part, InputImage) for part in item.content)
    return False


def _preamble(rule: ScriptRule, variables: Mapping[str, Any]) -> list[Action]:
    if rule.preamble is None:
        return []
    return [Say(fill(rule.preamble, variables), phase="commentary")]


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


class EchoBrain(Brain):
    """Says back what the user said (``prefix`` first); ``empty`` when there is nothing to echo."""

    HINT = (
        "brain=echo: the assistant says back what it hears. For real answers: --brain script "
        "--scenario FILE, or --brain openai-chat --chat-base-url URL --chat-model NAME "
        "(any OpenAI-compatible chat server: llama.cpp, vLLM, Ollama...)"
    )
    """Said by ``realtalk serve`` and ``realtalk talk`` when they run this brain."""

    def __init__(self, *, prefix: str = "", empty: str = "I did not hear anything.") -> None:
        self.prefix = prefix
        self.empty = empty

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        text = (last_user_text(request.items) or "").strip()
        reply = self.prefix + text if text else self.empty
        if _has_image(request.items):  # pixels are not looked at; that one arrived is said
            reply = "I see an image." + (f" {self.prefix}{text}" if text else "")
        for piece in chunk_text(reply):
            yield Say(piece)

    def __repr__(self) -> str:
        return "EchoBrain()"
