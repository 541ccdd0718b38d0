"""realtalk's local Realtime server: every dialect, faithful errors, offline speech.

``async with serve() as handle:`` runs it for tests (``handle.url``, ``handle.api_key``);
``realtalk serve`` runs it from the command line. :class:`ServerSession` is the pure
per-connection state machine underneath, usable without sockets.
"""

from realtalk.server.app import ServerConfig, ServerHandle, run, serve
from realtalk.server.options import ServerOptions
from realtalk.server.session import ServerSession

__all__ = ["ServerConfig", "ServerHandle", "ServerOptions", "ServerSession", "run", "serve"]
