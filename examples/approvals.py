"""Tools that wait for the app's approval: ``needs_approval=True``, then approve or reject.

The session yields ``ApprovalRequired`` and runs the tool only after ``session.approve(call_id)``;
``session.reject(call_id, reason)`` tells the model the call was refused, and why, so it can say
so. Here the app approves refunds up to 50 and rejects larger ones. The local server's scripted
brain plays the model.

Run: ``python examples/approvals.py``
"""

from __future__ import annotations

import asyncio
import json

import realtalk as rt
from realtalk import testing

LIMIT = 50.0


@rt.function_tool(needs_approval=True)
def refund(amount: float) -> str:
    """Refund an amount to the guest's card.

    Args:
        amount: The amount to refund.
    """
    return f"Refunded {amount:.2f} to the card on file."


SCENARIO = {
    "rules": [
        {
            "when": r"refund (?P<amount>\d+(?:\.\d+)?)",
            "call": "refund",
            "arguments": {"amount": "{amount}"},
            "then_say": "{output}",
            "on_error": "I could not refund {amount}: {error}.",  # said when the call failed
        }
    ]
}


async def main() -> None:
    cashier = rt.Agent("cashier", instructions="You handle refunds.", tools=[refund])
    async with rt.Runner(cashier, provider=testing.local(SCENARIO)).connect() as session:
        for request in ["Please refund 12.50", "Please refund 900"]:
            print(f"user: {request}")
            await session.send_text(request)
            async for event in session:
                match event:
                    case rt.events.ApprovalRequired(call_id=call_id, arguments=arguments):
                        amount = float(json.loads(arguments)["amount"])
                        if amount <= LIMIT:
                            print(f"  app: approved a refund of {amount:.2f}")
                            session.approve(call_id)
                        else:
                            print(f"  app: rejected a refund of {amount:.2f}")
                            session.reject(call_id, f"refunds over {LIMIT:.0f} need a manager")
                    case rt.events.ToolCallFailed(error=error):
                        print(f"  the model is told: {error}")
                    case rt.events.AudioTranscriptDone(transcript=text):
                        print(f"assistant: {text}")
                    case rt.events.SessionIdle():
                        break


if __name__ == "__main__":
    asyncio.run(main())
