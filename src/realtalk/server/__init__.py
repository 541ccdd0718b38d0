"""realtalk's local Realtime server: every dialect, faithful errors, offline speech.

``async with serve() as handle:`` runs it for tests (``handle.url``, ``handle.api_key``);
``realtalk serve`` runs it from the command line. :class:`ServerSession` is the pure
per-connection state machine underneath, usable without sockets. A connection with
``?intent=transcription`` (or a client secret minted for ``"type": "transcription"``) gets a
transcription session: committed audio is transcribed, nothing responds.

Turn latency: every response that ends leaves a :class:`TurnTimings` record saying where the
time went between the end of the user's speech and the first audio delta (VAD decision,
transcription, brain to first text, synthesis to first audio chunk, and the total). The server
keeps the newest :data:`~realtalk.server.front.app.TIMINGS_KEPT` in ``handle.timings``
(oldest first) and passes each to ``serve(on_timings=callback)`` on the event loop as the
response ends::

    async with serve(on_timings=print) as handle:
        ...  # run a turn
        last = handle.timings[-1]
        last.vad_ms, last.transcription_ms, last.brain_ms, last.synthesis_ms
        last.first_audio_ms, last.other_ms  # the total, and what the stages do not explain

All values are milliseconds of the server's monotonic clock, ``None`` for a stage that did not
happen; see :mod:`realtalk.server.core.timings` for the exact start and end of each stage.

The package imports lazily (PEP 562): ``import realtalk.server.core`` or ``realtalk.server.wire``
loads the pure layers without asyncio or websockets; a name below is imported when first used.

Layout: ``wire/`` (pure: provider shapes, schema, errors, event encoders), ``core/`` (pure:
:class:`ServerSession` and its turns, responses, items, timings, work), ``front/`` (asyncio: the
HTTP + WebSocket app, the connection worker, the CLI), ``engines/`` (VAD, transcription,
synthesis, the brain).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realtalk._namespace import lazy_getattr

if TYPE_CHECKING:
    from realtalk.server.core.config import ServerConfig
    from realtalk.server.core.session import ServerSession
    from realtalk.server.core.timings import TurnTimings
    from realtalk.server.front.app import ServerHandle, serve
    from realtalk.server.front.cli import run

__all__ = [
    "ServerConfig",
    "ServerHandle",
    "ServerSession",
    "TurnTimings",
    "run",
    "serve",
]

_HOMES = {
    "ServerConfig": "realtalk.server.core.config",
    "ServerHandle": "realtalk.server.front.app",
    "ServerSession": "realtalk.server.core.session",
    "TurnTimings": "realtalk.server.core.timings",
    "run": "realtalk.server.front.cli",
    "serve": "realtalk.server.front.app",
}


__getattr__ = lazy_getattr(__name__, _HOMES, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
