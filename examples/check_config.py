"""One session config, checked for OpenAI, Azure GA and Azure preview before anything connects.

Each provider validates the config against what its service accepts and shows the exact
``session.update`` it would send, in its own wire shape (GA nested, or the beta shape's flat
fields on Azure preview). A field one of them refuses is reported with the fix, here the
``speed`` that Azure preview does not document. Then the config is sent for real to the local
server on each of the three routes, which validates as each service does. No credentials, no
network.

The same check from the command line, for the layered file beside this one:

    realtalk explain examples/config/concierge.toml -p openai -p azure -p azure-preview

Run: ``python examples/check_config.py``
"""

from __future__ import annotations

import asyncio
import json

import realtalk as rt
from realtalk import testing

CONFIG = rt.SessionConfig(
    instructions="You are the concierge of Hotel Aurora.",
    voice="alloy",
    output_modalities=["audio"],
    turn_detection=rt.SemanticVAD(eagerness="low"),
    transcription=rt.Transcription(model="gpt-4o-mini-transcribe", language="en"),
)
ENDPOINT = "https://my-resource.openai.azure.com"  # only used to build URLs; never contacted

PROVIDERS = [
    rt.providers.OpenAI(),
    rt.providers.AzureOpenAI(ENDPOINT, "gpt-realtime"),
    rt.providers.AzureOpenAI(ENDPOINT, "gpt-realtime", api_version="2025-04-01-preview"),
]


def check(config: rt.SessionConfig) -> bool:
    ok = True
    for provider in PROVIDERS:
        print(f"== {provider.name}: {provider.url}")
        try:
            print(json.dumps(provider.session_update(config), indent=2))
        except rt.ConfigError as error:
            print(error)
            ok = False
    return ok


async def confirm_on_local_server(config: rt.SessionConfig) -> None:
    for flavor in ("openai", "azure", "azure-preview"):
        runner = rt.Runner(
            rt.Agent("concierge"), provider=testing.local(flavor=flavor), config=config
        )
        async with runner.connect() as session:
            confirmed = session.confirmed_config
            assert confirmed is not None
            print(
                f"local server ({flavor}) confirmed: voice={confirmed.voice}, "
                f"turn_detection={type(confirmed.turn_detection).__name__}"
            )


def main() -> None:
    assert check(CONFIG)
    print()
    print("-- the same config with speed=1.1:")
    assert not check(CONFIG.replace(speed=1.1))
    print()
    asyncio.run(confirm_on_local_server(CONFIG))


if __name__ == "__main__":
    main()
