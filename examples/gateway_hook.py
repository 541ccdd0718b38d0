"""Talk to a gateway that clones the GA shape but wants its own extra field, with no subclass.

The ``on_send`` hook sees every outgoing wire event last and may rewrite it (or drop it by
returning ``None``). Here it tags every ``session.update`` for a hypothetical gateway and drops
``input_audio_buffer.clear``, which that gateway does not implement. The local server stands in
for the gateway; it accepts the known fields and would reject an unknown one, so the hook also
shows how to strip a field a provider refuses.

Run: ``python examples/gateway_hook.py``
"""

from __future__ import annotations

import asyncio
from typing import Any

import realtalk as rt
from realtalk import testing


def gateway_hook(event: dict[str, Any]) -> dict[str, Any] | None:
    if event["type"] == "input_audio_buffer.clear":
        return None  # not implemented by this gateway: drop it
    if event["type"] == "session.update":
        event["session"].pop("tracing", None)  # this gateway rejects tracing
    return event


async def main() -> None:
    provider = testing.local()  # stands in for rt.providers.Compatible("wss://gateway/...")
    provider.on_send = gateway_hook
    runner = rt.Runner(
        rt.Agent("echo", instructions="Repeat what you hear."),
        provider=provider,
        config=rt.SessionConfig(tracing="auto"),
        raw_tap=True,
    )
    async with runner.connect() as session:
        await session.clear_audio()
        turn = await testing.run_turn(session, "hello gateway")
        sent = [e.text for e in turn.events if isinstance(e, rt.events.RawMessage)]
        sent = [t for t in sent if '"type":"session.update"' in t or "buffer.clear" in t]
        print("assistant:", turn.transcript)
        print(
            "updates sent:", len(sent), "| tracing on the wire:", any("tracing" in t for t in sent)
        )


if __name__ == "__main__":
    asyncio.run(main())
