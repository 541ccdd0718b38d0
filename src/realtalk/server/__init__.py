"""realtalk's local Realtime server: every dialect, faithful errors, offline speech.

``async with serve() as handle:`` runs it for tests (``handle.url``, ``handle.api_key``);
``realtalk serve`` runs it from the command line. :class:`ServerSession` is the pure
per-connection state machine underneath, usable without sockets. A connection with
``?intent=transcription`` (or a client secret minted for ``"type": "transcription"``) gets a
transcription session: committed audio is transcribed, nothing responds.

Turn latency: every response that ends leaves a :class:`TurnTimings` record saying where the
time went between the end of the user's speech and the first audio delta (VAD decision,
transcription, brain to first text, synthesis to first audio chunk, and the total). The server
keeps the newest :data:`~realtalk.server.app.TIMINGS_KEPT` in ``handle.timings`` (oldest first)
and passes each to ``serve(on_timings=callback)`` on the event loop as the response ends::

    async with serve(on_timings=print) as handle:
        ...  # run a turn
        last = handle.timings[-1]
        last.vad_ms, last.transcription_ms, last.brain_ms, last.synthesis_ms
        last.first_audio_ms, last.other_ms  # the total, and what the stages do not explain

All values are milliseconds of the server's monotonic clock, ``None`` for a stage that did not
happen; see :mod:`realtalk.server.timings` for the exact start and end of each stage.
"""

from realtalk.server.app import ServerConfig, ServerHandle, serve
from realtalk.server.cli import run
from realtalk.server.options import ServerOptions
from realtalk.server.session import ServerSession
from realtalk.server.timings import TurnTimings

__all__ = [
    "ServerConfig",
    "ServerHandle",
    "ServerOptions",
    "ServerSession",
    "TurnTimings",
    "run",
    "serve",
]
