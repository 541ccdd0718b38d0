"""The WebSocket transport's inbox against real websockets servers on loopback: fragmented and
binary messages arrive whole, a text message that is not UTF-8 fails the connection (1007), a
reader's fast handler takes messages in the socket's callback, and a reader that does not read
stops the socket's reading at websockets' marks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from realtalk.errors import ConnectionClosed
from realtalk.transports.websocket import WebSocketTransport, connect_websocket

pytestmark = pytest.mark.asyncio

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def connected(handler: Handler) -> AsyncIterator[WebSocketTransport]:
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        transport = await connect_websocket(f"ws://127.0.0.1:{port}/", {}, max_size=None)
        try:
            yield transport
        finally:
            await transport.close()


async def test_fragmented_and_binary_messages_arrive_whole() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(["frag", "mented ", "text"])
        await ws.send("plain")
        await ws.send([b"bin", b"ary"])
        await ws.send("é" * 5000)
        await ws.wait_closed()

    async with connected(handler) as transport:
        got = [await transport.recv() for _ in range(4)]
        assert got == ["fragmented text", "plain", "binary", "é" * 5000]


async def test_a_text_message_that_is_not_utf8_fails_the_connection_with_1007() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("before")
        async with ws.send_context():
            ws.protocol.send_text(b"bad \xff\xfe bytes")
        await ws.send("after")  # never delivered: the connection failed at the bad one
        await ws.wait_closed()

    async with connected(handler) as transport:
        assert await transport.recv() == "before"
        with pytest.raises(ConnectionClosed) as caught:
            await transport.recv()
        assert caught.value.code == 1007
        assert caught.value.by_client


async def test_a_fast_handler_takes_messages_in_the_socket_callback_in_order() -> None:
    go = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await go.wait()
        for n in range(50):
            await ws.send(f"m{n}")
        await ws.send("slow")
        await ws.send("behind")
        await ws.wait_closed()

    async with connected(handler) as transport:
        inbox = transport.inbox()
        handled: list[object] = []

        def fast(message: str | bytes) -> object:
            handled.append(message)
            return ("left", message) if message == "slow" else None

        inbox.fast = fast
        reader = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        go.set()
        assert await reader == ("left", "slow")  # the first message it did not finish
        assert handled == [f"m{n}" for n in range(50)] + ["slow"]
        assert await inbox.get() == "behind"  # queued behind it, never handled


async def test_a_reader_that_does_not_read_stops_the_socket_at_the_high_mark() -> None:
    sent = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        for n in range(200):
            await ws.send(f"{n:04d}" + "x" * 65_536)
        sent.set()
        await ws.wait_closed()

    async with connected(handler) as transport:
        await asyncio.sleep(0.5)  # the server writes what the socket buffers take, then waits
        held = len(transport.inbox())
        # websockets' default max_queue (16) plus one socket read's messages (256 KiB: ~4)
        assert 16 < held <= 24
        assert not sent.is_set()  # the server is held back: the client stopped reading
        got = [await transport.recv() for _ in range(200)]
        assert [text[:4] for text in got] == [f"{n:04d}" for n in range(200)]
        await asyncio.wait_for(sent.wait(), 5)
