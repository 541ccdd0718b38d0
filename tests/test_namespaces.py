"""Clean module namespaces: ``dir()`` of each public module shows its ``__all__`` and nothing
else (no ``Any``, ``Mapping``, ``TypeAlias`` or imported helpers), and no public name shadows a
builtin (issue 12, item 7)."""

from __future__ import annotations

import builtins
import importlib
import typing

import pytest

import realtalk
from realtalk import events

MODULES = [
    "realtalk.agent",
    "realtalk.arguments",
    "realtalk.audio",
    "realtalk.events",
    "realtalk.explain",
    "realtalk.items",
    "realtalk.providers",
    "realtalk.redact",
    "realtalk.runner",
]


@pytest.mark.parametrize("name", MODULES)
def test_dir_is_all(name: str) -> None:
    module = importlib.import_module(name)
    public = {n for n in dir(module) if not n.startswith("_")}
    assert public == set(module.__all__)
    assert not public & {"Any", "Mapping", "TypeAlias", "Literal", "dataclass", "annotations"}
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    assert {n for n in namespace if n != "__builtins__"} == set(module.__all__)


def test_the_package_shows_its_api_and_submodules() -> None:
    public = {n for n in dir(realtalk) if not n.startswith("_")}
    assert {n for n in realtalk.__all__ if not n.startswith("_")} <= public
    assert not public & {"TYPE_CHECKING", "importlib", "Any"}
    for extra in public - set(realtalk.__all__):
        assert extra in ("audio", "dialects", "protocol", "server", "testing"), extra


@pytest.mark.parametrize("name", MODULES)
def test_no_public_name_shadows_a_builtin(name: str) -> None:
    module = importlib.import_module(name)
    assert not set(module.__all__) & set(dir(builtins))


def test_warning_is_session_warning_with_a_compatibility_alias() -> None:
    assert "Warning" not in events.__all__
    assert events.Warning is events.SessionWarning
    from realtalk.events import Warning as old_name

    assert old_name is events.SessionWarning
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        events.Nope  # noqa: B018


def test_string_enums_are_literal_types() -> None:
    hints = typing.get_type_hints(events.RawMessage)
    assert typing.get_args(hints["direction"]) == ("in", "out")
    assert typing.get_args(events.InterruptCause) == ("client", "barge-in", "guardrail")
    assert events.Interrupted(None, None, None, "guardrail:no_prices").cause == "guardrail"
    assert events.Interrupted(None, None, None, "guardrail:no_prices").guardrail == "no_prices"
    assert events.Interrupted(None, None, None, "barge-in").cause == "barge-in"
    assert events.Interrupted(None, None, None, "push-to-talk").cause == "client"
    assert events.Interrupted(None, None, None, "client").guardrail is None


def test_session_conversation_is_typed_and_approve_is_plain() -> None:
    import inspect

    from realtalk.conversation import Conversation
    from realtalk.session import Session

    annotation = inspect.signature(Session.conversation.fget).return_annotation
    assert annotation == Conversation.__name__  # postponed annotations: the name, not Any
    assert not inspect.iscoroutinefunction(Session.approve)
    assert not inspect.iscoroutinefunction(Session.reject)
