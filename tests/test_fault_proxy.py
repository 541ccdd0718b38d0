"""The fault proxy over real loopback sockets: raw TCP peers and websockets peers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from realtalk import testing
from realtalk.events import SessionError
from realtalk.fault_proxy import FaultProxy


@contextlib.asynccontextmanager
async def tcp_server(payload: bytes = b"") -> AsyncIterator[tuple[int, list[bytes]]]:
    """A raw TCP server: sends ``payload`` on accept, then echoes; records what it read
    (an entry ``b"<EOF>"`` or ``b"<RST>"`` marks how the client side ended)."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if payload:
            writer.write(payload)
        try:
            while data := await reader.read(65536):
                received.append(data)
                writer.write(data)
                await writer.drain()
            received.append(b"<EOF>")
        except ConnectionResetError:
            received.append(b"<RST>")
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], received
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def ws_server(script: list[str]) -> AsyncIterator[tuple[int, list[str]]]:
    """A websockets server that sends ``script`` when it receives "go" and records the rest."""
    received: list[str] = []

    async def handle(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                assert isinstance(message, str)
                received.append(message)
                if message == "go":
                    for line in script:
                        await ws.send(line)

    async with serve(handle, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield port, received


async def read_until_end(reader: asyncio.StreamReader) -> tuple[bytes, str]:
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            data += chunk
    except ConnectionResetError:
        return data, "rst"
    return data, "fin"


async def test_bytes_pass_both_ways_and_are_counted() -> None:
    async with tcp_server(b"hello") as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await reader.readexactly(5) == b"hello"
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        [link] = proxy.connections
        assert (link.bytes_to_client, link.bytes_to_server) == (9, 4)
        writer.close()
        await writer.wait_closed()
    assert proxy.accepted == 1
    assert proxy.faults == []


async def test_rst_resets_both_peers() -> None:
    async with tcp_server() as (port, seen), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        assert proxy.cut("rst") == 1
        _, how = await read_until_end(reader)
        assert how == "rst"
        for _ in range(100):
            if seen[-1:] in ([b"<RST>"], [b"<EOF>"]):
                break
            await asyncio.sleep(0.01)
        assert seen[-1] == b"<RST>"
        writer.close()
    assert [f.kind for f in proxy.faults] == ["rst"]


async def test_fin_ends_both_peers_cleanly() -> None:
    async with tcp_server() as (port, seen), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        proxy.cut("fin")
        data, how = await read_until_end(reader)
        assert (data, how) == (b"", "fin")
        writer.close()
        for _ in range(100):
            if seen[-1:] in ([b"<RST>"], [b"<EOF>"]):
                break
            await asyncio.sleep(0.01)
        assert seen[-1] == b"<EOF>"


async def test_stall_holds_bytes_until_resumed_in_order() -> None:
    async with tcp_server() as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"
        proxy.stall()
        writer.write(b"bc")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(1), 0.3)
        assert proxy.connections[0].stalled
        proxy.resume()
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"bc"
        writer.close()


async def test_stall_with_duration_resumes_by_itself() -> None:
    async with tcp_server() as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        loop = asyncio.get_running_loop()
        fault = proxy.schedule("stall", after=0.0, duration=0.3)
        record = await fault.wait(5)
        writer.write(b"late")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"late"
        assert loop.time() - record.at >= 0.3
        assert record.kind == "stall"
        writer.close()


async def test_delay_adds_latency_each_way() -> None:
    async with tcp_server() as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        proxy.delay(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        writer.write(b"1")
        writer.write(b"2")
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"12"
        assert loop.time() - started >= 0.4  # 0.2 s to the server and 0.2 s back
        with pytest.raises(ValueError, match="negative"):
            proxy.delay(-1)
        writer.close()


async def test_after_bytes_forwards_exactly_that_many() -> None:
    payload = bytes(range(256)) * 4
    async with tcp_server(payload) as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        fault = proxy.schedule("fin", after_bytes=300)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        data, how = await read_until_end(reader)
        assert (data, how) == (payload[:300], "fin")
        record = await fault.wait(5)
        assert record.connection == 1
        writer.close()


async def test_on_message_cuts_before_the_matching_message() -> None:
    script = ["one", "two", "three"]
    async with ws_server(script) as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        fault = proxy.schedule("fin", on_message=lambda text: text == "two")
        got: list[str] = []
        async with connect(proxy.url(f"ws://127.0.0.1:{port}/"), compression=None) as ws:
            await ws.send("go")
            closed: ConnectionClosed | None = None
            while closed is None:
                try:
                    message = await asyncio.wait_for(ws.recv(), 5)
                except ConnectionClosed as exc:
                    closed = exc
                else:
                    assert isinstance(message, str)
                    got.append(message)
        assert got == ["one"]
        assert closed.rcvd is None  # no close frame: an abnormal closure (1006)
        record = await fault.wait(1)
        assert record.message == "two"
        assert proxy.connections == []


async def test_on_message_stall_then_resume_delivers_everything_in_order() -> None:
    script = [f"m{i}" for i in range(5)]
    async with ws_server(script) as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        fault = proxy.schedule("stall", on_message=lambda text: text == "m2")
        async with connect(proxy.url(f"ws://127.0.0.1:{port}/"), compression=None) as ws:
            await ws.send("go")
            assert [await ws.recv() for _ in range(2)] == ["m0", "m1"]
            await fault.wait(5)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            proxy.resume()
            assert [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)] == ["m2", "m3", "m4"]


async def test_on_message_to_server_direction() -> None:
    async with ws_server([]) as (port, received), FaultProxy(("127.0.0.1", port)) as proxy:
        fault = proxy.schedule("rst", on_message=lambda t: t == "secret", direction="to_server")
        async with connect(proxy.url(f"ws://127.0.0.1:{port}/"), compression=None) as ws:
            await ws.send("first")
            await ws.send("secret")
            await fault.wait(5)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        assert "secret" not in received
        assert fault.record is not None
        assert fault.record.message == "secret"


async def test_fragmented_messages_are_read_whole() -> None:
    async def handle(ws: ServerConnection) -> None:
        await ws.send(["frag", "mented"])  # one message in two frames
        await ws.send("after")
        await ws.wait_closed()

    async with serve(handle, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with FaultProxy(("127.0.0.1", port)) as proxy:
            fault = proxy.schedule("fin", on_message=lambda t: t == "after")
            async with connect(proxy.url(f"ws://127.0.0.1:{port}/"), compression=None) as ws:
                assert await ws.recv() == "fragmented"
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
            assert (await fault.wait(1)).message == "after"


async def test_compressed_messages_cannot_be_read_and_never_trigger() -> None:
    async def handle(ws: ServerConnection) -> None:
        await ws.send("squeeze me " * 50)
        await ws.wait_closed()

    async with serve(handle, "127.0.0.1", 0, compression="deflate") as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with FaultProxy(("127.0.0.1", port)) as proxy:
            fault = proxy.schedule("rst", on_message=lambda t: "squeeze" in t)
            async with connect(proxy.url(f"ws://127.0.0.1:{port}/"), compression="deflate") as ws:
                assert (await ws.recv()).startswith("squeeze")
            assert fault.pending
            assert proxy.faults == []


async def test_timed_fault_without_a_connection_hits_the_next_one() -> None:
    async with tcp_server() as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        fault = proxy.schedule("rst", after=0.0)
        await asyncio.sleep(0.05)
        assert fault.pending
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        _, how = await read_until_end(reader)
        assert how == "rst"
        assert (await fault.wait(1)).connection == 1
        writer.close()


async def test_a_fault_fires_once_and_can_be_cancelled() -> None:
    async with tcp_server() as (port, _), FaultProxy(("127.0.0.1", port)) as proxy:
        once = proxy.schedule("stall", after_bytes=1, direction="to_server", duration=0.05)
        never = proxy.schedule("rst", after_bytes=1, direction="to_server")
        never.cancel()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        for payload in (b"a", b"b"):
            writer.write(payload)
            assert await asyncio.wait_for(reader.readexactly(1), 5) == payload
        assert once.fired
        assert not never.fired
        assert not never.pending
        assert [f.kind for f in proxy.faults] == ["stall"]
        writer.close()


async def test_upstream_down_resets_the_client() -> None:
    async with tcp_server() as (port, _):
        pass  # the port is free again: nothing listens there
    async with FaultProxy(("127.0.0.1", port)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        _, how = await read_until_end(reader)
        assert how == "rst"
        writer.close()


async def test_schedule_refuses_bad_arguments() -> None:
    async with FaultProxy(("127.0.0.1", 9)) as proxy:
        with pytest.raises(ValueError, match="exactly one trigger"):
            proxy.schedule("rst")
        with pytest.raises(ValueError, match="exactly one trigger"):
            proxy.schedule("rst", after=1, after_bytes=2)
        with pytest.raises(ValueError, match="unknown fault"):
            proxy.schedule("boom", after=1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="duration"):
            proxy.schedule("rst", after=1, duration=2)
        with pytest.raises(ValueError, match="host and port"):
            proxy.url("ws://example/")
    with pytest.raises(RuntimeError, match="not started"):
        _ = FaultProxy().port


async def test_a_realtalk_session_through_the_proxy_ends_when_cut() -> None:
    import realtalk as rt

    provider = testing.local()
    async with FaultProxy() as proxy:
        agent = rt.Agent(name="a", instructions="hi")
        runner = rt.Runner(agent, provider=provider, connector=proxy.connector)
        async with runner.connect() as session:
            turn = await testing.run_turn(session, "hello there")
            assert "hello there" in turn.transcript
            assert proxy.connections[0].messages_to_client > 5
            proxy.cut("rst")
            events = await testing.collect(session, SessionError)
            assert "connection closed" in events[-1].message
            with pytest.raises(rt.RealtalkError):
                await session.next_event(timeout=5)
    assert proxy.accepted == 1


def test_exported_from_testing() -> None:
    assert testing.FaultProxy is FaultProxy
    assert "FaultProxy" in testing.__all__
