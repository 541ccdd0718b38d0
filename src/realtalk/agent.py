"""Agents: instructions, tools, handoffs and per-agent session settings.

An agent is one layer of the session configuration (above the Runner's, below run-time
updates). Each handoff is offered to the model as a ``transfer_to_<name>`` function tool;
calling it switches the session to that agent by sending only the difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtalk._namespace import public_dir
from realtalk.config import UNSET, SessionConfig, ToolSpec
from realtalk.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from realtalk.guardrails import OutputGuardrail
    from realtalk.tools import FunctionTool

__all__ = ["Agent", "handoff_tool_name"]


def handoff_tool_name(agent_name: str) -> str:
    """The function name the model calls to hand off to ``agent_name``."""
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "_", agent_name.strip()).strip("_").lower()
    return f"transfer_to_{slug}"[:64]


@dataclass(eq=False)
class Agent:
    """A voice agent: who the model is, which tools it may call, whom it can hand off to.

    ``config`` holds per-agent session settings (voice, turn detection...). ``instructions`` and
    the tools (its own plus one ``transfer_to_<name>`` per handoff) are set on top of it.
    """

    name: str
    instructions: str = ""
    tools: Sequence[FunctionTool | Callable[..., Any]] = ()
    handoffs: Sequence[Agent] = ()
    config: SessionConfig | None = None
    handoff_description: str = ""
    """What the model is told about this agent when another agent can hand off to it."""
    output_guardrails: Sequence[OutputGuardrail] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self._check_arguments()
        if self.tools:
            from realtalk.tools import as_tool  # pydantic loads only for agents with tools

            # Plain functions are accepted and wrapped with default tool options.
            self.tools = tuple(as_tool(t) for t in self.tools)
        problems: list[ConfigProblem] = []
        seen: set[str] = set()
        for tool in self.function_tools():
            if tool.name in seen:
                problems.append(
                    ConfigProblem(
                        f"Agent({self.name!r}).tools",
                        tool.name,
                        "two tools share one name",
                        "rename one of them",
                    )
                )
            seen.add(tool.name)
        for other in self.handoffs:
            name = handoff_tool_name(other.name)
            if name in seen:
                problems.append(
                    ConfigProblem(
                        f"Agent({self.name!r}).handoffs",
                        other.name,
                        f"the handoff tool {name!r} clashes with another tool",
                        "rename the agent or the tool",
                    )
                )
            seen.add(name)
        if problems:
            raise ConfigError(problems)

    def _check_arguments(self) -> None:
        """Wrong types fail here, at construction, with the fix (not later, at connect)."""
        from realtalk.arguments import check_agents, check_config, check_guardrails, check_text

        check_text(self.name, "Agent(name=)")
        if not self.name.strip():
            raise ConfigError(
                [ConfigProblem("Agent(name=)", self.name, "must not be empty", "name the agent")]
            )
        check_text(self.instructions, f"Agent({self.name!r}, instructions=)")
        check_text(self.handoff_description, f"Agent({self.name!r}, handoff_description=)")
        self.config = check_config(self.config, f"Agent({self.name!r}, config=)")
        self.handoffs = check_agents(self.handoffs, Agent, f"Agent({self.name!r}, handoffs=)")
        self.output_guardrails = check_guardrails(
            self.output_guardrails, f"Agent({self.name!r}, output_guardrails=)"
        )
        tools: object = self.tools
        if isinstance(tools, str) or callable(tools) or not isinstance(tools, Iterable):
            raise TypeError(f"Agent({self.name!r}, tools=) takes a list: write tools=[...]")
        for tool in tools:
            if not callable(tool):
                raise TypeError(
                    f"Agent({self.name!r}, tools=) takes functions or @function_tool objects, "
                    f"not {type(tool).__name__} {tool!r}: pass the function itself"
                )

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, tools={[t.name for t in self.function_tools()]!r})"

    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """Every function the model sees while this agent is active, handoffs included."""
        specs = [tool.spec for tool in self.function_tools()]
        for other in self.handoffs:
            description = other.handoff_description or f"Hand the conversation to {other.name}."
            specs.append(
                ToolSpec(
                    handoff_tool_name(other.name),
                    description,
                    {"type": "object", "properties": {}, "additionalProperties": False},
                )
            )
        return tuple(specs)

    def session_layer(self) -> SessionConfig:
        """This agent's configuration layer: its config plus instructions and tools."""
        base = self.config or SessionConfig()
        instructions = self.instructions if self.instructions else base.instructions
        if instructions is UNSET:
            instructions = ""
        return base.replace(instructions=instructions, tools=self.tool_specs())

    def find_tool(self, name: str) -> FunctionTool | None:
        for tool in self.function_tools():
            if tool.name == name:
                return tool
        return None

    def function_tools(self) -> tuple[FunctionTool, ...]:
        if not self.tools:
            return ()
        from realtalk.tools import FunctionTool

        return tuple(t for t in self.tools if isinstance(t, FunctionTool))

    def find_handoff(self, tool_name: str) -> Agent | None:
        for other in self.handoffs:
            if handoff_tool_name(other.name) == tool_name:
                return other
        return None


__dir__ = public_dir(__all__)
