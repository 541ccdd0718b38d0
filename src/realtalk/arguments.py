"""Argument checks at the call site, in realtalk's words and with the fix.

Every public constructor and method checks what it was given when it is called, not when the
session connects: a wrong type is a :class:`TypeError` and a wrong value a
:class:`~realtalk.errors.ConfigError`, each saying what to write instead. The messages never
name an internal class or attribute.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, get_args

from realtalk._namespace import public_dir
from realtalk.config import SessionConfig
from realtalk.errors import NO_VALUE, ConfigError, ConfigProblem

__all__ = [
    "check_agents",
    "check_callable",
    "check_config",
    "check_guardrails",
    "check_optional_text",
    "check_provider",
    "check_run_options",
    "check_text",
    "check_update",
    "did_you_mean",
]

_PROVIDER_HINTS = {
    "openai": "rt.providers.OpenAI()",
    "azure": "rt.providers.AzureOpenAI(endpoint, deployment) or AzureOpenAI.from_env()",
    "azure-preview": "rt.providers.AzureOpenAI(endpoint, deployment, api_version=...)",
    "local": "rt.providers.Local()",
    "compatible": "rt.providers.Compatible(url)",
}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for a close match, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _kind(value: object) -> str:
    return type(value).__name__


def check_config(value: object, where: str) -> SessionConfig | None:
    """``value`` if it is a SessionConfig (or None); a dict gets the line that converts it."""
    if value is None or isinstance(value, SessionConfig):
        return value
    if isinstance(value, Mapping):
        raise TypeError(
            f"{where} takes a SessionConfig, not a {_kind(value)}: write "
            f"SessionConfig.from_dict({dict(value)!r}) or SessionConfig(field=value, ...)"
        )
    raise TypeError(
        f"{where} takes a SessionConfig, not {_kind(value)} {value!r}: write "
        "SessionConfig(voice=..., instructions=..., ...)"
    )


def check_provider(value: object, provider: type, where: str = "Runner(provider=)") -> None:
    """``value`` is an instance of ``provider`` (the Provider class, passed in by the caller so
    that this module imports neither providers nor agent: they import it)."""
    if isinstance(value, provider):
        return
    if isinstance(value, type) and issubclass(value, provider):
        raise TypeError(f"{where} takes a provider object: call it, e.g. {value.__name__}()")
    hint = _PROVIDER_HINTS.get(str(value).lower()) if isinstance(value, str) else None
    raise TypeError(
        f"{where} takes a provider object, not {_kind(value)} {value!r}: pass "
        + (hint or "rt.providers.OpenAI(), AzureOpenAI(...), Compatible(url) or Local()")
    )


def check_agents(values: object, agent: type, where: str) -> tuple[Any, ...]:
    """A sequence of ``agent`` (Agent) objects (a string names no agent: the object is needed)."""
    if isinstance(values, agent):
        name = getattr(values, "name", "other")
        raise TypeError(f"{where} takes a list of agents: write [{name}_agent]")
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"{where} takes a list of Agent objects, not {_kind(values)} {values!r}")
    items = tuple(values)
    for item in items:
        if not isinstance(item, agent):
            named = f"Agent({item!r}, ...)" if isinstance(item, str) else "Agent(...)"
            raise TypeError(
                f"{where} takes Agent objects, not {_kind(item)} {item!r}: build the agent with "
                f"{named} and pass that object"
            )
    return items


def check_guardrails(values: object, where: str) -> tuple[Any, ...]:
    """A sequence of output guardrails: OutputGuardrail objects or functions ``(text) -> bool``."""
    from realtalk.guardrails import OutputGuardrail

    if callable(values) and not isinstance(values, Sequence):
        name = getattr(values, "name", None) or getattr(values, "__name__", "check")
        raise TypeError(f"{where} takes a list: write [{name}]")
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(
            f"{where} takes a list of guardrails, not {_kind(values)} {values!r}: write "
            "[check] where check(text) -> bool returns True when the text must be stopped"
        )
    items = tuple(values)
    for item in items:
        if not (isinstance(item, OutputGuardrail) or callable(item)):
            raise TypeError(
                f"{where} takes guardrail functions, not {_kind(item)} {item!r}: write a "
                "function check(text) -> bool (True = tripped) and pass [check], or decorate "
                "it with @rt.output_guardrail"
            )
    return items


def check_run_options(given: Mapping[str, Any], options_type: type) -> None:
    """Run options passed as keywords: known names, and values of the right kind."""
    known = {f.name: f for f in fields(options_type)}
    problems: list[ConfigProblem] = []
    for name, value in given.items():
        if name not in known:
            problems.append(
                ConfigProblem(
                    name,
                    NO_VALUE,
                    "is not a Runner option",
                    did_you_mean(name, known) + "the options are: " + ", ".join(sorted(known)),
                )
            )
            continue
        default = known[name].default
        problem = _option_problem(name, value, default, known[name].type)
        if problem:
            problems.append(problem)
    if problems:
        raise ConfigError(problems, target="Runner")


def _option_problem(name: str, value: Any, default: Any, annotation: Any) -> ConfigProblem | None:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            return ConfigProblem(name, value, "must be True or False")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            return ConfigProblem(name, value, "must be a number > 0")
        if isinstance(default, int) and not isinstance(value, int):
            return ConfigProblem(name, value, "must be a whole number > 0")
    elif isinstance(default, str):
        choices = _literal_choices(annotation)
        if choices and value not in choices:
            return ConfigProblem(
                name, value, "must be one of " + ", ".join(repr(c) for c in choices)
            )
    return None


def _literal_choices(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, str):  # postponed annotations: resolve the Overflow alias by name
        from realtalk import event_queue

        annotation = getattr(event_queue, annotation, None)
    return tuple(a for a in get_args(annotation) if isinstance(a, str))


def check_update(config: object, fields: Mapping[str, Any]) -> None:
    """``session.update(config, **fields)``: a SessionConfig and/or known field names."""
    check_config(config, "session.update(config)")
    known = SessionConfig.field_names()
    problems = [
        ConfigProblem(
            name,
            NO_VALUE,
            "is not a session setting",
            did_you_mean(name, known) + "see SessionConfig for the settings",
        )
        for name in fields
        if name not in known
    ]
    if problems:
        raise ConfigError(problems, target="session.update")


def check_text(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{where} takes a str, not {_kind(value)} {value!r}")


def check_optional_text(value: object, where: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{where} takes a str (or None), not {_kind(value)}")


def check_callable(value: object, where: str) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{where} takes a function, not {_kind(value)} {value!r}")


__dir__ = public_dir(__all__)
