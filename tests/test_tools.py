"""Function tools: schemas from signatures and docstrings, argument validation, execution policy."""

import asyncio
import dataclasses
import enum
import functools
import json
import threading
from typing import Annotated, Any, Literal

import pydantic
import pytest

from realtalk.config import ToolSpec
from realtalk.errors import ConfigError, ToolError
from realtalk.tools import (
    FunctionTool,
    ToolContext,
    ToolRegistry,
    as_tool,
    function_tool,
)

# Types used in annotations live at module level: the schema builder resolves hints by name.


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Address(pydantic.BaseModel):
    """A postal address."""

    street: str = pydantic.Field(description="Street and number.")
    city: str
    postcode: str | None = None


@dataclasses.dataclass
class Coordinates:
    lat: float
    lon: float


class Category(pydantic.BaseModel):
    name: str
    subcategories: list["Category"] = []


class Forecast(pydantic.BaseModel):
    city: str
    high_c: float
    summary: str


def walk(node: Any) -> Any:
    """Every dict key and value in a JSON-like tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)
    else:
        yield node


# --------------------------------------------------------------------------------------------
# Schemas


def test_weather_tool_schema_in_realtime_shape() -> None:
    @function_tool
    async def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
        """Current weather for a city.

        Args:
            city: The city, e.g. "Paris".
            unit: Temperature unit.
        """
        return "sunny"

    assert isinstance(get_weather, FunctionTool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Current weather for a city."
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'The city, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature unit.",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    assert get_weather.spec == ToolSpec(
        "get_weather", get_weather.description, get_weather.parameters
    )
    # What goes on the wire must be plain JSON.
    json.dumps(get_weather.spec.parameters)


def test_scalar_and_container_types() -> None:
    @function_tool
    def book(
        guests: int,
        budget: float,
        breakfast: bool,
        tags: list[str],
        extras: dict[str, int],
        note: str | None = None,
        nights: int = 1,
    ) -> str:
        """Book a room."""
        return "ok"

    props = book.parameters["properties"]
    assert props["guests"] == {"type": "integer"}
    assert props["budget"] == {"type": "number"}
    assert props["breakfast"] == {"type": "boolean"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["extras"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["nights"] == {"type": "integer", "default": 1}
    assert book.parameters["required"] == ["guests", "budget", "breakfast", "tags", "extras"]


def test_enum_nested_model_and_dataclass_are_inlined() -> None:
    @function_tool
    def deliver(address: Address, unit: Unit, where: Coordinates | None = None) -> str:
        """Deliver a parcel."""
        return "ok"

    schema = deliver.parameters
    keys = list(walk(schema))
    assert "$ref" not in keys
    assert "$defs" not in keys
    assert "title" not in keys
    props = schema["properties"]
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"]}
    address = props["address"]
    assert address["type"] == "object"
    assert address["description"] == "A postal address."
    assert address["properties"]["street"] == {
        "type": "string",
        "description": "Street and number.",
    }
    assert address["required"] == ["street", "city"]
    assert address["additionalProperties"] is False
    coords = props["where"]["anyOf"][0]
    assert coords["properties"] == {"lat": {"type": "number"}, "lon": {"type": "number"}}
    assert props["where"]["anyOf"][1] == {"type": "null"}


def test_recursive_model_keeps_only_the_recursive_definition() -> None:
    @function_tool
    def classify(category: Category) -> str:
        """File under a category."""
        return "ok"

    schema = classify.parameters
    inlined = schema["properties"]["category"]
    assert inlined["properties"]["name"] == {"type": "string"}
    assert inlined["properties"]["subcategories"]["items"] == {"$ref": "#/$defs/Category"}
    assert set(schema["$defs"]) == {"Category"}
    assert schema["$defs"]["Category"]["properties"]["subcategories"]["items"] == {
        "$ref": "#/$defs/Category"
    }


def test_property_named_title_survives_title_stripping() -> None:
    @function_tool
    def play(title: str, artist: str = "") -> str:
        """Play a song."""
        return title

    assert set(play.parameters["properties"]) == {"title", "artist"}
    assert play.parameters["required"] == ["title"]


def test_tool_without_parameters() -> None:
    @function_tool
    def get_time() -> str:
        """Current time."""
        return "12:00"

    assert get_time.parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_annotated_field_description_wins_over_docstring() -> None:
    @function_tool
    def search(
        query: Annotated[str, pydantic.Field(description="From Annotated.", min_length=2)],
        limit: int = pydantic.Field(5, description="From the default.", ge=1, le=20),
    ) -> str:
        """Search the catalogue.

        Args:
            query: From the docstring.
            limit: From the docstring.
        """
        return query

    props = search.parameters["properties"]
    assert props["query"] == {"type": "string", "description": "From Annotated.", "minLength": 2}
    assert props["limit"]["description"] == "From the default."
    assert props["limit"]["default"] == 5
    assert props["limit"]["maximum"] == 20


async def test_parameter_names_that_shadow_pydantic_attributes() -> None:
    @function_tool
    def export(json: str, model_config: int = 0, copy: bool = False) -> str:
        """Export."""
        return f"{json}/{model_config}/{copy}"

    assert set(export.parameters["properties"]) == {"json", "model_config", "copy"}
    result = await export.invoke('{"json": "a", "model_config": 2, "copy": true}')
    assert result.output == "a/2/True"


# --------------------------------------------------------------------------------------------
# Docstrings


def test_google_docstring_multiline_and_sections() -> None:
    @function_tool
    def transfer(amount: float, to_account: str) -> str:
        """Move money between the caller's accounts.

        Only accounts owned by the caller are allowed.

        Args:
            amount (float): Amount in euros,
                at most 1000.
            to_account: Target account id.

        Returns:
            A receipt number.
        """
        return "r1"

    assert transfer.description == (
        "Move money between the caller's accounts.\n\n"
        "Only accounts owned by the caller are allowed."
    )
    props = transfer.parameters["properties"]
    assert props["amount"]["description"] == "Amount in euros, at most 1000."
    assert props["to_account"]["description"] == "Target account id."


def test_numpy_docstring() -> None:
    @function_tool
    def convert(value: float, unit: Unit) -> str:
        """Convert a temperature.

        Parameters
        ----------
        value : float
            The temperature
            to convert.
        unit : Unit
            Target unit.

        Returns
        -------
        str
        """
        return "x"

    assert convert.description == "Convert a temperature."
    props = convert.parameters["properties"]
    assert props["value"]["description"] == "The temperature to convert."
    assert props["unit"]["description"] == "Target unit."


def test_sphinx_docstring() -> None:
    @function_tool
    def reserve(restaurant: str, people: int) -> str:
        """Reserve a table.

        :param restaurant: Restaurant name.
        :param int people: Party size,
            children included.
        :returns: Confirmation code.
        """
        return "c"

    assert reserve.description == "Reserve a table."
    props = reserve.parameters["properties"]
    assert props["restaurant"]["description"] == "Restaurant name."
    assert props["people"]["description"] == "Party size, children included."


def test_description_line_ending_with_colon_is_not_a_section() -> None:
    @function_tool
    def lookup(code: str) -> str:
        """Look up an airport by:

        its IATA code.
        """
        return code

    assert lookup.description == "Look up an airport by:\n\nits IATA code."


# --------------------------------------------------------------------------------------------
# Decoration-time checks


def test_decorator_with_options_and_direct_call() -> None:
    @function_tool(
        name="cancel-order", description="Cancel an order.", needs_approval=True, timeout=5
    )
    def cancel(order_id: str) -> str:
        """Ignored docstring."""
        return f"cancelled {order_id}"

    assert cancel.name == "cancel-order"
    assert cancel.description == "Cancel an order."
    assert cancel.needs_approval is True
    assert cancel.timeout == 5
    assert cancel.spec.name == "cancel-order"
    assert cancel("A1") == "cancelled A1"  # still the plain function for unit tests
    assert cancel.__name__ == "cancel"


def test_defaults_of_the_bare_decorator() -> None:
    @function_tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert ping.needs_approval is False
    assert ping.timeout == 30.0


@pytest.mark.parametrize("name", ["get weather", "", "x" * 65, "météo"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match="letters, digits"):
        function_tool(name=name)(lambda: "x")


def test_lambda_needs_an_explicit_name() -> None:
    with pytest.raises(ConfigError, match="pass name="):
        function_tool(lambda: "x")
    assert function_tool(name="now")(lambda: "x").name == "now"


def test_description_limit() -> None:
    assert len(function_tool(name="ok", description="d" * 1024)(lambda: "").description) == 1024
    with pytest.raises(ConfigError, match="at most 1024") as info:
        function_tool(name="long", description="d" * 1025)(lambda: "")
    assert "long.description" in info.value.paths


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        function_tool(name="t", timeout=timeout)(lambda: "")


def test_varargs_and_misplaced_context_are_rejected() -> None:
    def many(*cities: str) -> str:
        return ""

    with pytest.raises(ConfigError, match=r"\*args"):
        function_tool(many)

    def late(city: str, ctx: ToolContext) -> str:
        return ""

    with pytest.raises(ConfigError, match="must come first"):
        function_tool(late)


def test_type_without_schema_is_a_config_error() -> None:
    def dial(line: threading.Lock) -> str:
        return ""

    with pytest.raises(ConfigError, match=r"dial\.parameters"):
        function_tool(dial)


# --------------------------------------------------------------------------------------------
# Invocation: arguments


@function_tool
def get_forecast(city: str, days: int = 1, unit: Unit = Unit.CELSIUS) -> Forecast:
    """Forecast for a city.

    Args:
        city: City name.
        days: Number of days, 1 to 7.
    """
    if city == "Atlantis":
        raise ValueError("unknown city")
    return Forecast(city=city, high_c=21.5 if unit is Unit.CELSIUS else 70.7, summary=f"{days}d")


async def test_valid_call_returns_json_of_model() -> None:
    result = await get_forecast.invoke('{"city": "Paris", "days": 3}')
    assert result.is_error is False
    assert result.error_type is None
    assert json.loads(result.output) == {"city": "Paris", "high_c": 21.5, "summary": "3d"}
    assert result.duration_ms >= 0


async def test_lenient_validation_coerces_numbers_in_strings() -> None:
    result = await get_forecast.invoke(
        '{"city": "Oslo", "days": "2", "unit": "fahrenheit", "x": 1}'
    )
    assert json.loads(result.output) == {"city": "Oslo", "high_c": 70.7, "summary": "2d"}


async def test_strict_validation_rejects_coercion_and_unknown_arguments() -> None:
    @function_tool(strict=True)
    def set_alarm(hour: int, label: str = "") -> str:
        """Set an alarm."""
        return f"{hour}"

    coerced = await set_alarm.invoke('{"hour": "7"}')
    assert coerced.error_type == "invalid_arguments"
    assert "hour:" in json.loads(coerced.output)["error"]
    extra = await set_alarm.invoke('{"hour": 7, "snooze": true}')
    assert json.loads(extra.output) == {"error": "invalid arguments: snooze: unexpected argument"}
    assert (await set_alarm.invoke('{"hour": 7}')).output == "7"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": ', "invalid arguments: Invalid JSON"),
        ("[1, 2]", "invalid arguments: expected a JSON object"),
        ("{}", "invalid arguments: city: Field required"),
        (
            '{"city": "Rome", "days": "many"}',
            "invalid arguments: days: Input should be a valid int",
        ),
        (
            '{"city": "Rome", "unit": "kelvin"}',
            "invalid arguments: unit: Input should be 'celsius'",
        ),
    ],
)
async def test_invalid_arguments_become_recoverable_output(arguments: str, expected: str) -> None:
    result = await get_forecast.invoke(arguments)
    assert result.is_error is True
    assert result.error_type == "invalid_arguments"
    assert json.loads(result.output)["error"].startswith(expected)


async def test_error_text_never_contains_argument_values() -> None:
    @function_tool
    def login(user: str, pin: int) -> str:
        """Log in."""
        return "ok"

    result = await login.invoke('{"user": "ann", "pin": "sk-SECRET-0000"}')
    assert result.error_type == "invalid_arguments"
    assert "pin" in result.output
    assert "SECRET" not in result.output
    assert "SECRET" not in repr(result)


async def test_several_errors_are_all_named() -> None:
    @function_tool
    def route(origin: str, destination: str, stops: list[int]) -> str:
        """Plan a route."""
        return ""

    result = await route.invoke('{"stops": [1, "x"]}')
    error = json.loads(result.output)["error"]
    assert "origin: Field required" in error
    assert "destination: Field required" in error
    assert "stops.1:" in error


async def test_blank_arguments_mean_no_arguments() -> None:
    @function_tool
    def get_time() -> str:
        """Current time."""
        return "12:00"

    assert (await get_time.invoke("")).output == "12:00"


async def test_nested_model_and_enum_arguments_arrive_as_python_objects() -> None:
    seen: dict[str, Any] = {}

    @function_tool
    def ship(address: Address, unit: Unit, at: Coordinates) -> str:
        """Ship."""
        seen.update(address=address, unit=unit, at=at)
        return "ok"

    payload = {
        "address": {"street": "1 Main St", "city": "Lyon"},
        "unit": "fahrenheit",
        "at": {"lat": 45.7, "lon": 4.8},
    }
    assert (await ship.invoke(json.dumps(payload))).output == "ok"
    assert seen["address"] == Address(street="1 Main St", city="Lyon")
    assert seen["unit"] is Unit.FAHRENHEIT
    assert seen["at"] == Coordinates(45.7, 4.8)


# --------------------------------------------------------------------------------------------
# Invocation: outputs and failures


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        ({"temp": 21, "sky": "clear"}, '{"temp":21,"sky":"clear"}'),
        ([1, 2], "[1,2]"),
        (Coordinates(1.5, 2.0), '{"lat":1.5,"lon":2.0}'),
        (None, "null"),
        (Unit.CELSIUS, '"celsius"'),
        (3, "3"),
    ],
)
async def test_return_values_become_strings(value: Any, expected: str) -> None:
    tool = function_tool(name="give")(lambda: value)
    assert (await tool.invoke("{}")).output == expected


async def test_exception_becomes_error_output_without_traceback() -> None:
    result = await get_forecast.invoke('{"city": "Atlantis"}')
    assert result.is_error is True
    assert result.error_type == "exception"
    assert json.loads(result.output) == {"error": "ValueError: unknown city"}
    assert "Traceback" not in result.output
    assert isinstance(result.exception, ValueError)


async def test_tool_error_message_is_told_verbatim() -> None:
    @function_tool
    async def find_flight(number: str) -> str:
        """Find a flight."""
        raise ToolError("No such flight; ask the caller to repeat the number.")

    result = await find_flight.invoke('{"number": "XX1"}')
    assert json.loads(result.output) == {
        "error": "No such flight; ask the caller to repeat the number."
    }


async def test_long_exception_messages_are_cut() -> None:
    @function_tool
    def fetch() -> str:
        """Fetch."""
        raise RuntimeError("x" * 5000)

    result = await fetch.invoke("{}")
    assert len(json.loads(result.output)["error"]) < 600


async def test_async_timeout() -> None:
    never = asyncio.Event()

    @function_tool(timeout=0.01)
    async def slow_lookup(city: str) -> str:
        """Slow."""
        await never.wait()
        return "late"

    result = await slow_lookup.invoke('{"city": "Paris"}')
    assert result.error_type == "timeout"
    assert json.loads(result.output) == {"error": "timed out after 0.01s"}


async def test_sync_timeout_discards_the_late_result() -> None:
    release = threading.Event()
    finished = threading.Event()

    @function_tool(timeout=0.01)
    def blocking_lookup() -> str:
        """Blocking."""
        release.wait(5)
        finished.set()
        return "late"

    result = await blocking_lookup.invoke("{}")
    assert result.error_type == "timeout"
    release.set()
    await asyncio.to_thread(finished.wait, 5)
    assert finished.is_set()


async def test_a_timeout_raised_by_the_tool_itself_is_an_exception() -> None:
    @function_tool(timeout=60)
    async def upstream() -> str:
        """Calls a service that times out."""
        raise TimeoutError("upstream took too long")

    result = await upstream.invoke("{}")
    assert result.error_type == "exception"
    assert json.loads(result.output) == {"error": "TimeoutError: upstream took too long"}


async def test_sync_tool_runs_in_a_thread_and_the_loop_keeps_ticking() -> None:
    ticks = 0
    ticked_enough = threading.Event()
    loop_thread = threading.get_ident()
    tool_thread: list[int] = []

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks == 20:
                ticked_enough.set()
            await asyncio.sleep(0)

    @function_tool
    def wait_for_loop() -> str:
        """Blocks until the event loop has run 20 heartbeats (or 5 s pass)."""
        tool_thread.append(threading.get_ident())
        return "ticked" if ticked_enough.wait(5) else "loop was blocked"

    beat = asyncio.create_task(heartbeat())
    try:
        result = await wait_for_loop.invoke("{}")
    finally:
        beat.cancel()
    assert result.output == "ticked"
    assert ticks >= 20
    assert tool_thread != [loop_thread]


async def test_async_tool_runs_on_the_loop() -> None:
    @function_tool
    async def where() -> str:
        """Where am I."""
        return str(threading.get_ident())

    assert (await where.invoke("{}")).output == str(threading.get_ident())


async def test_cancellation_propagates_into_async_tool() -> None:
    started = asyncio.Event()
    cleaned_up = asyncio.Event()

    @function_tool
    async def long_search(query: str) -> str:
        """Search slowly."""
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()
        return "unreachable"

    task = asyncio.create_task(long_search.invoke('{"query": "hotels"}'))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned_up.is_set()


async def test_cancellation_of_sync_tool_returns_at_once() -> None:
    entered = threading.Event()
    release = threading.Event()

    @function_tool
    def blocking() -> str:
        """Blocks."""
        entered.set()
        release.wait(5)
        return "discarded"

    task = asyncio.create_task(blocking.invoke("{}"))
    await asyncio.to_thread(entered.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()


# --------------------------------------------------------------------------------------------
# Context, callables, registry


async def test_context_is_injected_and_hidden_from_the_schema() -> None:
    seen: list[ToolContext] = []

    @function_tool
    def whoami(ctx: ToolContext, greeting: str) -> str:
        """Greet."""
        seen.append(ctx)
        return f"{greeting} from {ctx.extra['agent']}"

    assert list(whoami.parameters["properties"]) == ["greeting"]
    ctx = ToolContext(call_id="call_1", tool_name="whoami", extra={"agent": "concierge"})
    result = await whoami.invoke('{"greeting": "hi"}', context=ctx)
    assert result.output == "hi from concierge"
    assert seen == [ctx]


async def test_context_defaults_when_the_session_gives_none() -> None:
    @function_tool
    async def name_of(ctx: ToolContext) -> str:
        """Tool name."""
        return f"{ctx.tool_name}:{ctx.call_id!r}"

    assert (await name_of.invoke("{}")).output == "name_of:''"


async def test_positional_only_parameters() -> None:
    @function_tool
    def add(a: int, b: int, /, c: int = 0) -> int:
        """Add."""
        return a + b + c

    assert (await add.invoke('{"a": 1, "b": 2, "c": 3}')).output == "6"


async def test_callable_object_with_async_call() -> None:
    class Lookup:
        __name__ = "lookup_price"

        async def __call__(self, sku: str) -> str:
            return f"{sku}: 9.99"

    tool = function_tool(Lookup())
    assert tool.name == "lookup_price"
    assert (await tool.invoke('{"sku": "A7"}')).output == "A7: 9.99"


async def test_registry() -> None:
    def plain_hello(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    registry = ToolRegistry([get_forecast, plain_hello])
    assert "plain_hello" in registry
    assert len(registry) == 2
    assert [s.name for s in registry.specs()] == ["get_forecast", "plain_hello"]
    assert registry["plain_hello"].description == "Say hello."
    assert (await registry.invoke("plain_hello", '{"name": "Ann"}')).output == "hello Ann"

    unknown = await registry.invoke("get_wether", "{}")
    assert unknown.is_error
    assert json.loads(unknown.output) == {
        "error": "unknown tool 'get_wether'; available tools: get_forecast, plain_hello"
    }
    with pytest.raises(ConfigError, match="share this name"):
        registry.add(function_tool(name="get_forecast")(lambda: ""))
    assert as_tool(get_forecast) is get_forecast
    with pytest.raises(TypeError):
        as_tool(42)  # type: ignore[arg-type]


async def test_partial_keeps_annotations_of_the_wrapped_function() -> None:
    def convert(amount: float, currency: str) -> str:
        return f"{amount:.2f} {currency}"

    tool = function_tool(name="to_eur")(functools.partial(convert, currency="EUR"))
    assert tool.parameters["properties"]["amount"] == {"type": "number"}
    assert (await tool.invoke('{"amount": 3}')).output == "3.00 EUR"


async def test_redecorating_a_tool_wraps_the_same_function() -> None:
    renamed = function_tool(name="forecast", needs_approval=True)(get_forecast)
    assert renamed.fn is get_forecast.fn
    assert (renamed.name, get_forecast.name) == ("forecast", "get_forecast")
    assert renamed.parameters == get_forecast.parameters
    result = await renamed.invoke('{"city": "Nice"}')
    assert json.loads(result.output)["city"] == "Nice"
