"""The scripted brain (rules, tool calls, templates, scenario validation) and the echo brain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtalk.config import ToolSpec
from realtalk.errors import ConfigError
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputText,
    Item,
    MessageItem,
    OutputText,
)
from realtalk.server.engines import (
    Action,
    Brain,
    BrainRequest,
    CallTool,
    EchoBrain,
    Say,
    ScriptBrain,
)
from realtalk.server.engines.brain import chunk_text

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)

SCENARIO = {
    "default": "Sorry, I only know about the weather.",
    "greeting": "Hi! Ask me about the weather.",
    "rules": [
        {
            "when": r"weather in (?P<city>[a-z ]+?)(?:\?|$| today)",
            "call": "get_weather",
            "arguments": {"city": "{city}", "units": "celsius"},
            "then_say": "It is {output.temperature} degrees and {output.sky} in {city}.",
        },
        {"keywords": ["hello", "hi"], "say": "Hello! How can I help?"},
        {"when": "my name is (?P<name>\\w+)", "say": "Nice to meet you, {name}. {missing} stays."},
    ],
}


def user(text: str) -> MessageItem:
    return MessageItem("user", (InputText(text),))


async def collect(brain: Brain, request: BrainRequest) -> list[Action]:
    return [a async for a in brain.respond(request)]


def said(actions: list[Action]) -> str:
    return "".join(a.text for a in actions if isinstance(a, Say))


async def test_keyword_rule_streams_word_pieces() -> None:
    actions = await collect(ScriptBrain(SCENARIO), BrainRequest((user("well hello there"),)))
    assert said(actions) == "Hello! How can I help?"
    assert [a.text for a in actions if isinstance(a, Say)] == [
        "Hello!",
        " How",
        " can",
        " I",
        " help?",
    ]


async def test_keywords_match_whole_words_only() -> None:
    actions = await collect(ScriptBrain(SCENARIO), BrainRequest((user("this is a thing"),)))
    assert said(actions) == "Sorry, I only know about the weather."  # "this" contains "hi"


async def test_regex_groups_fill_the_reply_and_unknown_placeholders_stay() -> None:
    actions = await collect(ScriptBrain(SCENARIO), BrainRequest((user("My name is Ada"),)))
    assert said(actions) == "Nice to meet you, Ada. {missing} stays."


async def test_audio_transcripts_count_as_user_text() -> None:
    item = MessageItem("user", (InputAudio(audio=b"\x00\x00", transcript="hi"),))
    assert (
        said(await collect(ScriptBrain(SCENARIO), BrainRequest((item,))))
        == "Hello! How can I help?"
    )


async def test_greeting_when_there_is_no_user_text() -> None:
    assert (
        said(await collect(ScriptBrain(SCENARIO), BrainRequest(())))
        == "Hi! Ask me about the weather."
    )


async def test_tool_call_then_reply_from_the_output() -> None:
    brain = ScriptBrain(SCENARIO)
    history: list[Item] = [user("What's the weather in Paris today?")]
    first = await collect(brain, BrainRequest(tuple(history), tools=(WEATHER,)))
    assert first == [CallTool("get_weather", json.dumps({"city": "Paris", "units": "celsius"}))]
    # The server gives the call an id; the client runs the tool and sends its output back.
    history += [
        FunctionCallItem("get_weather", first[0].arguments, call_id="call_1"),  # type: ignore[union-attr]
        FunctionCallOutputItem("call_1", json.dumps({"temperature": 21, "sky": "sunny"})),
    ]
    second = await collect(brain, BrainRequest(tuple(history), tools=(WEATHER,)))
    assert said(second) == "It is 21 degrees and sunny in Paris."


async def test_raw_output_when_the_rule_has_no_then_say() -> None:
    brain = ScriptBrain({"rules": [{"when": "time", "call": "clock"}]})
    history = (
        user("what time is it"),
        FunctionCallItem("clock", "{}", call_id="c"),
        FunctionCallOutputItem("c", '{"now": "12:00"}'),
    )
    assert (
        said(await collect(brain, BrainRequest(history, tools=(ToolSpec("clock"),))))
        == '{"now": "12:00"}'
    )


async def test_undeclared_tools_and_tool_choice_none_skip_the_call_rule() -> None:
    brain = ScriptBrain(SCENARIO)
    request = BrainRequest((user("weather in Oslo"),))
    assert said(await collect(brain, request)) == "Sorry, I only know about the weather."
    request = BrainRequest((user("weather in Oslo"),), tools=(WEATHER,), tool_choice="none")
    assert said(await collect(brain, request)) == "Sorry, I only know about the weather."


async def test_only_the_last_user_message_counts() -> None:
    history = (
        user("hello"),
        MessageItem("assistant", (OutputText("Hello! How can I help?"),)),
        user("nothing"),
    )
    assert said(await collect(ScriptBrain(SCENARIO), BrainRequest(history))) == SCENARIO["default"]


def test_invalid_scenarios_list_every_problem_with_its_path() -> None:
    bad = {
        "rules": [
            {"when": "(unclosed", "say": "x"},
            {"keywords": ["a"], "say": "x", "call": "y"},
            {"say": "x", "colour": "red"},
            "not a mapping",
        ],
        "extra": 1,
    }
    with pytest.raises(ConfigError) as err:
        ScriptBrain(bad)
    assert set(err.value.paths) == {
        "rules[0].when",
        "rules[1]",
        "rules[2].colour",
        "rules[3]",
        "extra",
    }
    assert "not a valid regex" in str(err.value)


def test_scenario_files_in_yaml_and_json(tmp_path: Path) -> None:
    yml = tmp_path / "s.yaml"
    yml.write_text("default: nope\nrules:\n  - keywords: [ping]\n    say: pong\n")
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"rules": [{"keywords": ["ping"], "say": "pong"}]}))
    for path in (yml, js):
        brain = ScriptBrain.from_file(path)
        assert brain.decide(BrainRequest((user("ping"),))) == [Say("pong")]
    with pytest.raises(ConfigError, match="cannot read scenario"):
        ScriptBrain.from_file(tmp_path / "missing.yaml")


async def test_echo_brain() -> None:
    assert (
        said(await collect(EchoBrain(), BrainRequest((user("  say this back "),))))
        == "say this back"
    )
    assert (
        said(await collect(EchoBrain(prefix="You said: "), BrainRequest((user("hi"),))))
        == "You said: hi"
    )
    assert said(await collect(EchoBrain(), BrainRequest(()))) == "I did not hear anything."


@pytest.mark.parametrize("text", ["", "one", "  lead and trail  ", "a\nb\tc", "x  y"])
def test_chunk_text_pieces_join_back(text: str) -> None:
    assert "".join(chunk_text(text)) == text
