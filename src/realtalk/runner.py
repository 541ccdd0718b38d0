"""Runner: the configuration layers and run options, and the door to sessions.

One Runner can open many sessions at once; each gets its own connection and state.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from realtalk.agent import Agent
from realtalk.config import Effective, SessionConfig
from realtalk.session import Session, SessionOptions, merge_layers
from realtalk.transports import Transport

if TYPE_CHECKING:
    from realtalk.guardrails import OutputGuardrail
    from realtalk.providers import Provider
    from realtalk.rest import ClientSecret

__all__ = ["Runner"]


class Runner:
    """Builds sessions for ``agent`` on ``provider``.

    ``config`` is the Runner's session layer (above provider defaults, below the agent);
    ``guardrails`` and the keyword options are run options: they shape how the session runs,
    never what is sent to the model.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        provider: Provider | None = None,
        config: SessionConfig | None = None,
        guardrails: Sequence[OutputGuardrail] = (),
        options: SessionOptions | None = None,
        connector: Callable[[str, Mapping[str, str], Sequence[str]], Awaitable[Transport]]
        | None = None,
        **option_fields: Any,
    ) -> None:
        if provider is None:
            from realtalk.providers import OpenAI

            provider = OpenAI()
        self.agent = agent
        self.provider = provider
        self.config = config or SessionConfig()
        self.guardrails = tuple(guardrails)
        base = options or SessionOptions()
        if option_fields:
            from dataclasses import replace

            base = replace(base, **option_fields)
        self.options = base
        self._connector = connector

    def __repr__(self) -> str:
        return f"Runner(agent={self.agent.name!r}, provider={self.provider!r})"

    def explain(self, agent: Agent | None = None) -> Effective:
        """The effective configuration a new session would ask for, with provenance."""
        return merge_layers(self.provider, self.config, agent or self.agent, SessionConfig())

    async def create_client_secret(
        self,
        *,
        agent: Agent | None = None,
        expires_after: int | None = None,
        timeout: float = 15.0,
    ) -> ClientSecret:
        """Mint an ephemeral client secret carrying the session :meth:`connect` would ask for
        (provider defaults < Runner config < the agent's instructions, tools and config), so a
        browser or phone app that connects with it has the agent from the first moment.

        Validated for the provider before the request; see
        :meth:`realtalk.providers.Provider.create_client_secret`.
        """
        from realtalk.rest import create_client_secret

        effective = self.explain(agent)
        return await create_client_secret(
            self.provider, effective.config, expires_after, timeout=timeout
        )

    @contextlib.asynccontextmanager
    async def connect(self, *, agent: Agent | None = None) -> AsyncIterator[Session]:
        """Open a session: ``async with runner.connect() as session: ...``.

        Raises :class:`~realtalk.errors.ConfigError` before connecting when the configuration is
        invalid for the provider.
        """
        opener = getattr(self.provider, "open", None)
        closer = getattr(self.provider, "aclose", None)
        if opener is not None:
            await opener()
        try:
            session = Session(
                provider=self.provider,
                agent=agent or self.agent,
                runner_config=self.config,
                guardrails=self.guardrails,
                options=self.options,
                connector=self._connector,
            )
            try:
                await session._open()
                yield session
            finally:
                await session.close()
        finally:
            if closer is not None:
                await closer()
