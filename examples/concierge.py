"""A hotel concierge: two tools, a handoff to billing, and a guardrail, on the local server.

The local server's scripted brain plays the model (``SCENARIO``): it calls the tools, hands
invoice questions to billing, and tries to quote a price, which the concierge's guardrail stops.
Swap ``testing.local(SCENARIO)`` for ``rt.providers.OpenAI()`` (or ``AzureOpenAI(...)``) and a
real model plays it from the instructions alone.

Run: ``python examples/concierge.py``. Tested in ``examples/test_concierge.py``.
"""

from __future__ import annotations

import asyncio

import realtalk as rt
from realtalk import testing

FORECASTS = {"paris": "sunny, 21 degrees", "london": "light rain, 14 degrees"}


@rt.function_tool
def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return f"{city.title()}: {FORECASTS.get(city.lower(), 'mild, 17 degrees')}."


@rt.function_tool(timeout=5.0)
async def book_table(time: str, guests: int) -> dict[str, object]:
    """Book a table in the hotel restaurant.

    Args:
        time: Time of day, HH:MM.
        guests: Number of guests, 1 to 12.
    """
    if not 1 <= guests <= 12:
        raise ValueError("we seat 1 to 12 guests")  # the model is told, and can say so
    return {"time": time, "guests": guests, "confirmation": "T-1042"}


@rt.output_guardrail(every_chars=40)
def no_prices(text: str) -> bool:
    """Tripped (True) when the concierge quotes a price: prices come from billing only."""
    return "$" in text


billing = rt.Agent(
    "billing",
    instructions="You handle invoices and payments. Be brief.",
    handoff_description="Questions about bills, invoices, prices and payments.",
)
concierge = rt.Agent(
    "concierge",
    instructions="You are the concise concierge of Hotel Aurora. Use the tools; never quote "
    "prices, hand price and invoice questions to billing.",
    tools=[get_weather, book_table],
    handoffs=[billing],
    output_guardrails=[no_prices],
)

SCENARIO = {
    "default": "I can tell you the weather, book a table, or pass you to billing.",
    "rules": [
        {
            "when": r"weather in (?P<city>[a-z]+)",
            "call": "get_weather",
            "arguments": {"city": "{city}"},
            "then_say": "{output} Anything else?",
        },
        {
            "when": r"table for (?P<guests>\d+) at (?P<time>\d\d?:\d\d)",
            "call": "book_table",
            "arguments": {"guests": "{guests}", "time": "{time}"},
            "then_say": "Booked for {output.guests} at {output.time}, "
            "confirmation {output.confirmation}.",
        },
        {"keywords": ["suite"], "say": "The sea-view suite is $900 a night, breakfast included."},
        {
            "keywords": ["invoice", "bill"],
            "call": "transfer_to_billing",
            "then_say": "Billing here. What would you like to know about your invoice?",
        },
    ],
}

CONVERSATION = [
    "What's the weather in Paris?",
    "A table for 2 at 19:30, please.",
    "How much is the suite?",
    "Then I have a question about my invoice.",
]


async def main() -> None:
    runner = rt.Runner(concierge, provider=testing.local(SCENARIO))
    async with runner.connect() as session:
        for question in CONVERSATION:
            print(f"user: {question}")
            turn = await testing.run_turn(session, question)
            stopped = False
            for event in turn.events:
                match event:
                    case rt.events.ToolCallStarted(name=name, arguments=arguments):
                        print(f"  tool call: {name}({arguments})")
                    case rt.events.Handoff(from_agent=old, to_agent=new):
                        print(f"  handoff: {old} -> {new}")
                    case rt.events.GuardrailTripped(guardrail=name):
                        print(f"  guardrail {name} tripped: the reply was stopped")
                        stopped = True
            if not stopped:
                print(f"{session.agent.name}: {turn.transcript}")


if __name__ == "__main__":
    asyncio.run(main())
