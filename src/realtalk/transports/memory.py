"""An in-memory transport pair, for protocol tests and for users testing their own code.

``client, server = MemoryTransport.pair()``: what one end sends, the other receives. Closing
either end ends both. It is not a stand-in for the end-to-end path: realtalk's own end-to-end
tests run over real loopback sockets against the local server.
"""

from __future__ import annotations

import asyncio

from realtalk.errors import ConnectionClosed

__all__ = ["MemoryTransport"]

_CLOSE = object()


class MemoryTransport:
    """One end of an in-memory connection."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._peer: MemoryTransport | None = None
        self._close_code: int | None = None
        self._close_reason = ""
        self.sent: list[str] = []
        """Every message this end sent, in order (handy for assertions)."""

    @classmethod
    def pair(cls) -> tuple[MemoryTransport, MemoryTransport]:
        a, b = cls(), cls()
        a._peer, b._peer = b, a
        return a, b

    @property
    def close_code(self) -> int | None:
        return self._close_code

    async def send(self, text: str) -> None:
        if self._close_code is not None or self._peer is None:
            raise ConnectionClosed(self._close_code, self._close_reason)
        self.sent.append(text)
        self._peer._inbox.put_nowait(text)

    async def recv(self) -> str:
        if self._close_code is not None and self._inbox.empty():
            raise ConnectionClosed(self._close_code, self._close_reason)
        item = await self._inbox.get()
        if item is _CLOSE:
            self._inbox.put_nowait(_CLOSE)
            raise ConnectionClosed(self._close_code, self._close_reason)
        assert isinstance(item, str)
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        for end in (self, self._peer):
            if end is not None and end._close_code is None:
                end._close_code, end._close_reason = code, reason
                end._inbox.put_nowait(_CLOSE)
