"""Function tools: JSON schema from type hints and docstrings, validated calls, an execution policy.

::

    @function_tool
    async def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
        '''Current weather for a city.

        Args:
            city: The city, e.g. "Paris".
            unit: Temperature unit.
        '''

    get_weather.spec          # ToolSpec(name="get_weather", description=..., parameters={...})
    await get_weather.invoke('{"city": "Paris"}')   # ToolResult(output=..., is_error=False, ...)

What :meth:`FunctionTool.invoke` guarantees, so the session can call it blindly:

* It never raises for anything the model or the tool did wrong. Bad JSON, arguments that do not
  validate, an exception in the tool and a timeout all become a :class:`ToolResult` with
  ``is_error=True`` and an ``output`` like ``{"error": "invalid arguments: city: Field required"}``
  that the model can read and recover from. Argument *values* never appear in these messages.
* It never blocks the event loop: synchronous functions run in a worker thread
  (:func:`asyncio.to_thread`); coroutine functions run on the loop.
* Cancellation propagates: if the session cancels the task running ``invoke`` (the user
  interrupted), :class:`asyncio.CancelledError` is raised out of ``invoke`` as usual. An async tool
  is cancelled at its current ``await``. A synchronous tool already running in a thread cannot be
  stopped by Python; it runs to completion in the background and its result is discarded. The same
  holds after a timeout, and until it returns it occupies a worker of the loop's default executor.
  Give slow synchronous tools their own deadline (e.g. an HTTP timeout), or write them async.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, overload

import pydantic
import pydantic_core
from pydantic.fields import FieldInfo

from realtalk.config import ToolSpec
from realtalk.errors import NO_VALUE, ConfigError, ConfigProblem, ToolError

__all__ = [
    "FunctionTool",
    "ToolContext",
    "ToolRegistry",
    "ToolResult",
    "as_tool",
    "function_tool",
]

_NAME_RE: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# protocol.md §7: the server rejects `session.tools[i].description` longer than 1024 characters.
_MAX_DESCRIPTION: Final = 1024
# Exception messages go to the model; a runaway message (a whole HTTP body) would cost tokens.
_MAX_ERROR_CHARS: Final = 500
_MAX_REPORTED_ERRORS: Final = 5

INVALID_ARGUMENTS: Final = "invalid_arguments"
TIMEOUT: Final = "timeout"
EXCEPTION: Final = "exception"


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may learn about the call it serves.

    Declare it as the *first* parameter (``def f(ctx: ToolContext, city: str)``) and the session
    passes it in; it is not part of the schema the model sees. ``extra`` is filled by the session
    (for example the current agent's name); treat it as read-only.
    """

    call_id: str
    tool_name: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call.

    ``output`` is what goes back to the model as the ``function_call_output``. ``error_type`` is
    ``None`` on success, else one of ``"invalid_arguments"``, ``"timeout"`` or ``"exception"``.
    ``exception`` keeps the exception a failing tool raised, for the application's own logs (it is
    never sent to the model); it is left out of ``repr`` and comparisons.
    """

    output: str
    is_error: bool = False
    error_type: str | None = None
    duration_ms: float = 0.0
    exception: BaseException | None = field(default=None, repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# Docstrings


@dataclass(frozen=True, slots=True)
class _Doc:
    description: str
    params: dict[str, str]


_PARAM_SECTIONS: Final = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "other parameters",
    }
)
_OTHER_SECTIONS: Final = frozenset(
    {
        "returns",
        "return",
        "raises",
        "yields",
        "yield",
        "examples",
        "example",
        "note",
        "notes",
        "warning",
        "warnings",
        "see also",
        "attributes",
        "todo",
        "references",
        "methods",
    }
)
_GOOGLE_HEADER_RE: Final = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_NUMPY_RULE_RE: Final = re.compile(r"^-{3,}\s*$")
_GOOGLE_ITEM_RE: Final = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM_RE: Final = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_SPHINX_PARAM_RE: Final = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(.+?):\s*(.*)$"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _items(body: list[str], item_re: re.Pattern[str], *, numpy: bool) -> dict[str, str]:
    """Items at the body's outer indent start a parameter; deeper lines continue it."""
    lines = [line for line in body if line.strip()]
    if not lines:
        return {}
    outer = min(_indent(line) for line in lines)
    found: dict[str, str] = {}
    names: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        for name in names:
            found[name] = " ".join(parts).strip()

    for line in lines:
        if _indent(line) <= outer:
            flush()
            names, parts = [], []
            m = item_re.match(line.strip())
            if m is None:
                continue
            if numpy:
                names = [n.strip().lstrip("*") for n in m.group(1).split(",")]
            else:
                names, parts = [m.group(1)], [m.group(2)]
        elif names:
            parts.append(line.strip())
    flush()
    return found


def _parse_docstring(doc: str | None) -> _Doc:
    """Description and per-parameter text from a Google, NumPy or Sphinx style docstring.

    The description is everything before the first section; parameter text comes from the
    ``Args:``/``Parameters`` sections or ``:param name:`` fields. Anything unrecognised is ignored.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    described: list[str] = []
    params: dict[str, str] = {}
    in_description = True
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        at_margin = bool(stripped) and _indent(line) == 0
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if at_margin and _NUMPY_RULE_RE.match(nxt):
            in_description = False
            header = stripped.lower()
            i += 2
            body: list[str] = []
            while i < len(lines):
                following = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if lines[i].strip() and _indent(lines[i]) == 0 and _NUMPY_RULE_RE.match(following):
                    break
                body.append(lines[i])
                i += 1
            if header in _PARAM_SECTIONS:
                params.update(_items(body, _NUMPY_ITEM_RE, numpy=True))
            continue
        header_match = _GOOGLE_HEADER_RE.match(line) if at_margin else None
        if header_match and header_match.group(1).lower() in _PARAM_SECTIONS | _OTHER_SECTIONS:
            in_description = False
            header = header_match.group(1).lower()
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > 0):
                body.append(lines[i])
                i += 1
            if header in _PARAM_SECTIONS:
                params.update(_items(body, _GOOGLE_ITEM_RE, numpy=False))
            continue
        if at_margin and stripped.startswith(":") and re.match(r"^:\w", stripped):
            in_description = False
            i += 1
            sphinx = _SPHINX_PARAM_RE.match(stripped)
            parts = [sphinx.group(2)] if sphinx else []
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
                parts.append(lines[i].strip())
                i += 1
            if sphinx:
                # ":param str city:" names the type first; the parameter is the last word.
                params[sphinx.group(1).split()[-1].lstrip("*")] = " ".join(parts).strip()
            continue
        if in_description:
            described.append(line)
        i += 1
    return _Doc(description="\n".join(described).strip(), params=params)


# --------------------------------------------------------------------------------------------
# JSON schema

# Keywords whose values are schemas (or maps/lists of schemas). Everything else ("enum",
# "default", "const", "examples") is data and is copied untouched, so a property or enum value
# that happens to be called "title" survives the title stripping below.
_SCHEMA_MAPS: Final = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS: Final = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_ONE: Final = frozenset(
    {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
)
_DEFS_PREFIX: Final = "#/$defs/"


class _Inliner:
    """Replaces ``$ref``s into ``$defs`` by the definitions themselves.

    Realtime tool schemas are sent one tool at a time and should stand alone. A recursive type
    cannot be inlined; its definition stays in a root ``$defs`` and only the inner, recursive
    reference remains a ``$ref``.
    """

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs
        self.stack: list[str] = []
        self.kept: dict[str, Any] = {}

    def schema(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is None:
            return self._keywords(node)
        if not isinstance(ref, str) or not ref.startswith(_DEFS_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r}")
        name = ref[len(_DEFS_PREFIX) :]
        siblings = self._keywords({k: v for k, v in node.items() if k != "$ref"})
        if name in self.stack:
            self.kept.setdefault(name, None)
            return {"$ref": ref, **siblings}
        self.stack.append(name)
        try:
            target = self.schema(self.defs[name])
        finally:
            self.stack.pop()
        # Field-level keywords ("description", "default") override the definition's own.
        return {**target, **siblings}

    def _keywords(self, node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title":
                continue  # pydantic's generated titles ("City") tell the model nothing
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.schema(sub) for sub in value]
            elif key in _SCHEMA_ONE:
                out[key] = self.schema(value)
            else:
                out[key] = value
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out

    def finish(self, root: Any) -> dict[str, Any]:
        top: dict[str, Any] = self.schema(root)
        done: dict[str, Any] = {}
        while pending := [name for name in self.kept if name not in done]:
            for name in pending:
                self.stack = [name]
                done[name] = self.schema(self.defs[name])
        if done:
            top["$defs"] = done
        return top


def _object_schema(raw: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's model schema as a self-contained Realtime function-tool ``parameters``."""
    raw = dict(raw)
    inliner = _Inliner(raw.pop("$defs", {}))
    body = inliner.finish(raw)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": body.pop("properties", {}),
        "required": body.pop("required", []),
        "additionalProperties": False,
    }
    body.pop("type", None)
    body.pop("additionalProperties", None)
    schema.update(body)
    return schema


# --------------------------------------------------------------------------------------------
# The tool


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - callable instances with async __call__
    return (
        not inspect.isfunction(fn)
        and not inspect.ismethod(fn)
        and call is not None
        and inspect.iscoroutinefunction(call)
    )


def _annotated_callable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where the annotations of ``fn`` live (partials and callable objects hold them elsewhere)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn):
        return fn
    call = getattr(type(fn), "__call__", None)  # noqa: B004
    return call if call is not None else fn


def _problem(path: str, rule: str, fix: str = "", value: Any = None) -> ConfigError:
    return ConfigError(
        [ConfigProblem(path, NO_VALUE if value is None else value, rule, fix)], target="tool"
    )


def _has_description(annotation: Any, default: Any) -> bool:
    metadata = getattr(annotation, "__metadata__", ())
    infos = [m for m in metadata if isinstance(m, FieldInfo)]
    if isinstance(default, FieldInfo):
        infos.append(default)
    return any(info.description for info in infos)


def _render_validation_error(error: pydantic.ValidationError) -> str:
    parts: list[str] = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        message = "unexpected argument" if item["type"] == "extra_forbidden" else item["msg"]
        if not item["loc"]:
            # The whole payload is wrong: not JSON, or JSON but not an object.
            parts.append("expected a JSON object" if item["type"] == "model_type" else message)
            continue
        parts.append(f"{'.'.join(str(p) for p in item['loc'])}: {message}")
    more = len(parts) - _MAX_REPORTED_ERRORS
    text = "; ".join(parts[:_MAX_REPORTED_ERRORS])
    return text + (f"; and {more} more" if more > 0 else "")


def _error_output(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def _to_output(value: Any) -> str:
    """The string the model gets: text as is, anything else as JSON (``None`` is ``null``)."""
    if isinstance(value, str):
        return value
    return pydantic_core.to_json(value, fallback=str).decode()


class FunctionTool:
    """A Python function the model can call. Build it with :func:`function_tool`.

    Calling the tool object calls the original function unchanged, so tools stay unit-testable.
    """

    __name__: str  # copied from the function, like functools.wraps does
    fn: Callable[..., Any]
    name: str
    description: str
    parameters: dict[str, Any]
    needs_approval: bool
    timeout: float | None
    strict: bool

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        needs_approval: bool = False,
        timeout: float | None = 30.0,
        strict: bool = False,
    ) -> None:
        if isinstance(fn, FunctionTool):
            fn = fn.fn  # re-decorating a tool re-describes the same function
        self.fn = fn
        self.name = name if name is not None else getattr(fn, "__name__", "")
        self.__name__ = self.name
        doc = _parse_docstring(inspect.getdoc(fn))
        self.description = description if description is not None else doc.description
        self.needs_approval = needs_approval
        self.timeout = timeout
        self.strict = strict
        self._is_async = _is_async(fn)
        self._check_options()
        self._takes_context, self._model, self._positional = self._build_model(doc)
        self._aliases = [info.alias or key for key, info in self._model.model_fields.items()]
        try:
            raw = self._model.model_json_schema(by_alias=True)
            self.parameters = _object_schema(raw)
        except (pydantic.PydanticUserError, ValueError, KeyError) as exc:
            raise _problem(
                f"{self.name}.parameters", f"cannot build a JSON schema: {exc}"
            ) from None
        self.spec = ToolSpec(self.name, self.description, self.parameters)
        # updated=() keeps the function's __dict__ from overwriting this object's attributes.
        functools.update_wrapper(self, fn, updated=())

    def _check_options(self) -> None:
        problems: list[ConfigProblem] = []
        if not _NAME_RE.match(self.name):
            problems.append(
                ConfigProblem(
                    "name",
                    self.name,
                    "must be 1-64 characters of letters, digits, '_' or '-'",
                    "pass name=... to function_tool",
                )
            )
        if len(self.description) > _MAX_DESCRIPTION:
            problems.append(
                ConfigProblem(
                    f"{self.name}.description",
                    f"<{len(self.description)} characters>",
                    f"must be at most {_MAX_DESCRIPTION} characters (the server rejects longer)",
                    "shorten the docstring's description or pass description=...",
                )
            )
        if self.timeout is not None and not self.timeout > 0:
            problems.append(
                ConfigProblem(
                    f"{self.name}.timeout", self.timeout, "must be > 0 seconds, or None for none"
                )
            )
        if problems:
            raise ConfigError(problems, target="tool")

    def _build_model(self, doc: _Doc) -> tuple[bool, type[pydantic.BaseModel], int]:
        """The argument model; returns (takes context, model, number of positional-only params).

        Fields are named ``p0, p1, ...`` with the parameter name as alias, so a parameter called
        ``json``, ``copy`` or ``model_config`` cannot collide with pydantic's own attributes.
        """
        try:
            signature = inspect.signature(self.fn)
            hints = typing.get_type_hints(_annotated_callable(self.fn), include_extras=True)
        except (NameError, TypeError, ValueError) as exc:
            raise _problem(
                f"{self.name}.parameters",
                f"cannot read the signature's type hints ({exc})",
                "define the types used in annotations at module level",
            ) from None
        params = list(signature.parameters.values())
        takes_context = False
        if params:
            first = hints.get(params[0].name)
            if isinstance(first, type) and issubclass(first, ToolContext):
                takes_context = True
                params = params[1:]
        fields: dict[str, Any] = {}
        positional = 0
        for index, param in enumerate(params):
            where = f"{self.name}.parameters.{param.name}"
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise _problem(where, "*args and **kwargs cannot be described to the model")
            annotation = hints.get(param.name, Any)
            if annotation is ToolContext or (
                isinstance(annotation, type) and issubclass(annotation, ToolContext)
            ):
                raise _problem(where, "a ToolContext parameter must come first")
            if param.kind is param.POSITIONAL_ONLY:
                positional += 1
            default = param.default
            info: dict[str, Any] = {"alias": param.name}
            if param.name in doc.params and not _has_description(annotation, default):
                info["description"] = doc.params[param.name]
            if isinstance(default, FieldInfo):
                annotation = typing.Annotated[annotation, default]
            elif default is not param.empty:
                info["default"] = default
            fields[f"p{index}"] = (annotation, pydantic.Field(**info))
        config = pydantic.ConfigDict(
            extra="forbid" if self.strict else "ignore",
            strict=self.strict,
            arbitrary_types_allowed=False,
        )
        try:
            model = pydantic.create_model(f"{self.name}_arguments", __config__=config, **fields)
        except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError) as exc:
            raise _problem(
                f"{self.name}.parameters", f"a parameter type cannot be validated: {exc}"
            ) from None
        return takes_context, model, positional

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, needs_approval={self.needs_approval})"

    async def invoke(
        self, arguments_json: str, *, context: ToolContext | None = None
    ) -> ToolResult:
        """Validate the model's arguments, run the function under the timeout, report the outcome.

        Never raises for bad arguments, tool exceptions or timeouts (see the module docstring);
        raises :class:`asyncio.CancelledError` when the calling task is cancelled.
        """
        started = time.perf_counter()

        def result(
            output: str, error_type: str | None = None, exc: BaseException | None = None
        ) -> ToolResult:
            duration = (time.perf_counter() - started) * 1000.0
            return ToolResult(output, error_type is not None, error_type, duration, exc)

        text = arguments_json if arguments_json.strip() else "{}"
        try:
            parsed = self._model.model_validate_json(text)
        except pydantic.ValidationError as exc:
            message = f"invalid arguments: {_render_validation_error(exc)}"
            return result(_error_output(message), INVALID_ARGUMENTS)

        values = [getattr(parsed, f"p{i}") for i in range(len(self._aliases))]
        args: list[Any] = values[: self._positional]
        kwargs = dict(
            zip(self._aliases[self._positional :], values[self._positional :], strict=True)
        )
        if self._takes_context:
            args.insert(0, context or ToolContext(call_id="", tool_name=self.name))

        timeout_cm = asyncio.timeout(self.timeout)
        try:
            async with timeout_cm:
                value = await self._run(args, kwargs)
            output = _to_output(value)
        except TimeoutError as exc:
            if not timeout_cm.expired():
                return result(_error_output(_describe(exc)), EXCEPTION, exc)
            return result(_error_output(f"timed out after {self.timeout:g}s"), TIMEOUT)
        except Exception as exc:
            return result(_error_output(_describe(exc)), EXCEPTION, exc)
        return result(output)

    async def _run(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn: Callable[..., Any] = self.fn
        if self._is_async:
            return await fn(*args, **kwargs)
        value = await asyncio.to_thread(fn, *args, **kwargs)
        if inspect.isawaitable(value):  # a sync wrapper that hands back a coroutine
            value = await value
        return value


def _describe(exc: BaseException) -> str:
    message = str(exc)
    if len(message) > _MAX_ERROR_CHARS:
        message = message[:_MAX_ERROR_CHARS] + "..."
    if isinstance(exc, ToolError):
        return message  # the tool chose exactly what the model is told
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


# --------------------------------------------------------------------------------------------
# The decorator


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    timeout: float | None = 30.0,
    strict: bool = False,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    timeout: float | None = 30.0,
    strict: bool = False,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a function (sync or async) a tool the model can call. Use bare or with options.

    The name defaults to the function's name, the description to the docstring's text before its
    first section, and each parameter's description to its entry in the docstring's ``Args:``
    (Google), ``Parameters`` (NumPy) or ``:param x:`` (Sphinx) section. An ``Annotated[...,
    Field(description=...)]`` on the parameter wins over the docstring.

    Args:
        name: Tool name, 1-64 of ``[a-zA-Z0-9_-]``.
        description: Overrides the docstring's description (at most 1024 characters).
        needs_approval: The session pauses the call until the application approves or rejects it.
        timeout: Seconds before the call is abandoned with an error output; ``None`` for none.
        strict: Validate arguments strictly: no type coercion (``"3"`` is not an ``int``) and
            unknown argument names are rejected. The default is lenient: it coerces where
            lossless and ignores unknown names. The schema is the same either way; Realtime does
            not constrain the model's decoding to it, so it cannot be made "strict" on the wire.

    Raises:
        ConfigError: At decoration time, for an invalid name, a too-long description, a bad
            timeout, or a parameter whose type has no JSON schema.
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            f,
            name=name,
            description=description,
            needs_approval=needs_approval,
            timeout=timeout,
            strict=strict,
        )

    return wrap if fn is None else wrap(fn)


def as_tool(obj: FunctionTool | Callable[..., Any]) -> FunctionTool:
    """A :class:`FunctionTool` as is; a plain function wrapped with default options."""
    if isinstance(obj, FunctionTool):
        return obj
    if callable(obj):
        return FunctionTool(obj)
    raise TypeError(f"not a tool or a function: {type(obj).__name__}")


# --------------------------------------------------------------------------------------------
# The registry


class ToolRegistry:
    """The tools one agent offers, by name. Names are unique; a duplicate is a ConfigError."""

    def __init__(self, tools: Iterable[FunctionTool | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, FunctionTool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: FunctionTool | Callable[..., Any]) -> FunctionTool:
        """Register a tool (plain functions are wrapped); returns the registered tool."""
        wrapped = as_tool(tool)
        if wrapped.name in self._tools:
            raise _problem(
                f"tools.{wrapped.name}",
                "two tools share this name",
                "pass name=... to function_tool to tell them apart",
            )
        self._tools[wrapped.name] = wrapped
        return wrapped

    def get(self, name: str) -> FunctionTool | None:
        return self._tools.get(name)

    def __getitem__(self, name: str) -> FunctionTool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[FunctionTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools as the session config carries them, in registration order."""
        return tuple(tool.spec for tool in self._tools.values())

    async def invoke(
        self, name: str, arguments_json: str, *, context: ToolContext | None = None
    ) -> ToolResult:
        """Call a tool by name; an unknown name (the model invented one) is an error output."""
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            message = f"unknown tool {name!r}; available tools: {known}"
            return ToolResult(_error_output(message), True, INVALID_ARGUMENTS)
        return await tool.invoke(arguments_json, context=context)
