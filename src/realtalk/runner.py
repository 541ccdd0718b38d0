"""Runner: the configuration layers and run options, and the door to sessions.

One Runner can open many sessions at once; each gets its own connection and state.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from realtalk._namespace import public_dir
from realtalk.agent import Agent
from realtalk.config import SessionConfig
from realtalk.session import Session, SessionOptions, merge_layers
from realtalk.transports import Transport

if TYPE_CHECKING:
    from realtalk.explain import Explanation
    from realtalk.guardrails import OutputGuardrail
    from realtalk.providers import Provider
    from realtalk.rest import ClientSecret
    from realtalk.transcription import Transcriber, TranscriptionConfig

__all__ = ["Connecting", "Runner"]

_USE_ASYNC_WITH = "open the session with `async with runner.connect() as session:`"


class Connecting:
    """What :meth:`Runner.connect` returns: use it with ``async with``, which gives the
    :class:`~realtalk.session.Session`. Awaiting it, or calling a session method on it, raises a
    :class:`TypeError` that says so (instead of a puzzling attribute error)."""

    def __init__(self, manager: contextlib.AbstractAsyncContextManager[Session]) -> None:
        self._manager = manager

    async def __aenter__(self) -> Session:
        return await self._manager.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._manager.__aexit__(*exc_info)

    def __await__(self) -> Generator[Any, None, Session]:
        raise TypeError(f"runner.connect() cannot be awaited: {_USE_ASYNC_WITH}")

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and hasattr(Session, name):
            raise TypeError(
                f"`.{name}` is a session method, called here on runner.connect() itself: "
                f"{_USE_ASYNC_WITH} and call session.{name}(...) inside the block"
            )
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<runner.connect(): {_USE_ASYNC_WITH}>"


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
        from realtalk.arguments import (
            check_config,
            check_guardrails,
            check_provider,
            check_run_options,
        )

        if not isinstance(agent, Agent):
            raise TypeError(
                f"Runner takes an Agent first, not {type(agent).__name__} {agent!r}: write "
                "Runner(rt.Agent('assistant', instructions='...'))"
            )
        if provider is None:
            from realtalk.providers import OpenAI

            provider = OpenAI()
        from realtalk.providers import Provider

        check_provider(provider, Provider)
        self.agent = agent
        self.provider = provider
        self.config = check_config(config, "Runner(config=)") or SessionConfig()
        self.guardrails = check_guardrails(guardrails, "Runner(guardrails=)")
        if options is not None and not isinstance(options, SessionOptions):
            raise TypeError(
                "Runner(options=) takes rt.SessionOptions(...); or pass the options as keywords, "
                "e.g. Runner(agent, queue_size=256)"
            )
        base = options or SessionOptions()
        check_run_options(option_fields, SessionOptions)
        if option_fields:
            from dataclasses import replace

            base = replace(base, **option_fields)
        self.options = base
        self._connector = connector
        # Invalid settings fail here, where they were written, not at connect. Handoff targets
        # are checked when they take over: a voice there may be held back (it cannot change
        # once the assistant has spoken), so what they send depends on the conversation.
        self.provider.validate(merge_layers(provider, self.config, agent, SessionConfig()).config)

    def __repr__(self) -> str:
        return f"Runner(agent={self.agent.name!r}, provider={self.provider!r})"

    def explain(self, agent: Agent | None = None) -> Explanation:
        """The effective configuration a new session would ask for, with provenance: an
        :class:`~realtalk.config.Effective` (``.config``, ``.source(field)``) that prints as the
        table ``realtalk explain`` shows, with the exact ``session.update`` for this provider.
        Never connects."""
        from realtalk.config import Layer
        from realtalk.explain import explain_app

        chosen = agent or self.agent
        layers = [
            Layer("runner", self.config),
            Layer(f"agent:{chosen.name}", chosen.session_layer()),
        ]
        return explain_app(layers, self.provider)

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

    def transcribe(self, config: TranscriptionConfig | None = None) -> Transcriber:
        """A transcription-only session on this runner's provider, with its run options."""
        from realtalk.transcription import Transcriber

        return Transcriber(self.provider, config, options=self.options)

    def connect(self, *, agent: Agent | None = None) -> Connecting:
        """Open a session: ``async with runner.connect() as session: ...``.

        Raises :class:`~realtalk.errors.ConfigError` before connecting when the configuration is
        invalid for the provider.
        """
        if agent is not None and not isinstance(agent, Agent):
            raise TypeError(f"connect(agent=) takes an Agent, not {type(agent).__name__} {agent!r}")
        return Connecting(self._connect(agent))

    def attach(self, call_id: str, *, agent: Agent | None = None) -> Connecting:
        """Open a session on a SIP call you accepted (``?call_id=``):
        ``async with runner.attach(call.call_id) as session: ...``. The same events, tools and
        handoffs as :meth:`connect`; key presses arrive as
        :class:`~realtalk.events.DtmfReceived`. Raises :class:`~realtalk.errors.ConfigError`
        for a provider without SIP (Azure preview) or a malformed ``call_id``."""
        if agent is not None and not isinstance(agent, Agent):
            raise TypeError(f"attach(agent=) takes an Agent, not {type(agent).__name__} {agent!r}")
        from realtalk.rest import _check_call_id

        _check_call_id(call_id)
        return Connecting(self._connect(agent, call_id))

    @contextlib.asynccontextmanager
    async def _connect(
        self, agent: Agent | None, call_id: str | None = None
    ) -> AsyncIterator[Session]:
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
                call_id=call_id,
            )
            try:
                await session._open()
                yield session
            finally:
                await session.close()
        finally:
            if closer is not None:
                await closer()


__dir__ = public_dir(__all__)
