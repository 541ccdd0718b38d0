"""The transport seam: the only place realtalk's client touches a socket.

A transport moves complete text messages; it knows nothing of the protocol. Two ship with
realtalk: :class:`~realtalk.transports.websocket.WebSocketTransport` (the real one) and
:class:`~realtalk.transports.memory.MemoryTransport` (an in-memory pair for protocol tests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from realtalk.events import AudioDelta

__all__ = ["Connector", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """One open connection carrying text messages."""

    async def send(self, text: str) -> None:
        """Send one complete message. Raises :class:`~realtalk.errors.ConnectionClosed`."""

    async def recv(self) -> str | AudioDelta:
        """The next complete message; :class:`~realtalk.errors.ConnectionClosed` at the end.

        A media transport (WebRTC) may also return a neutral
        :class:`~realtalk.events.AudioDelta` built from its incoming audio track; it then has
        ``send_audio(audio, format)`` too, which ``Session.send_audio`` uses instead of
        ``input_audio_buffer.append`` events."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (idempotent)."""

    @property
    def close_code(self) -> int | None:
        """The close code once closed, else None."""


# Optional, looked up with getattr so a custom transport needs only the four members above:
#   async def ping(self) -> Awaitable[float]        a ping; awaiting the result waits for its pong
#   def abort(self) -> None                          drop the connection now, no handshake
#   def inbox(self) -> Inbox                         messages pushed in as they arrive, instead
#                                                    of recv (transports/inbox.py: the reader
#                                                    handles an audio delta on arrival)
# The session's keepalive uses the first two when present, its reader the third.

Connector = Callable[[str, Mapping[str, str], Sequence[str]], Awaitable[Transport]]
"""Opens a transport: ``await connector(url, headers, subprotocols)``."""
