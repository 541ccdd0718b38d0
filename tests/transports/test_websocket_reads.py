"""The WebSocket transport's read path, against real websockets servers on loopback.

The transport reads the socket into one buffer of its own and hands websockets' parser at most
64 KiB at a time (transports/websocket.py): messages that span many feeds, many messages in one
read, a backlog, TLS, and the memory a read allocates.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from realtalk.transports.websocket import connect_websocket

pytestmark = pytest.mark.asyncio


def _messages() -> list[str]:
    # Sizes around the 64 KiB feed and the 256 KiB read: a frame split across feeds and reads,
    # and runs of small frames many to a read; each one's content differs so a mix-up shows.
    sizes = [10, 6_500, 65_535, 65_536, 65_537, 300_000, 1, 1_300, 2_000_000, 5]
    sizes += [1_300] * 400 + [6_500] * 100
    return [f"{i:06d}" + chr(65 + i % 26) * size for i, size in enumerate(sizes)]


async def _flood(ws: ServerConnection) -> None:
    for text in _messages():
        await ws.send(text)
    await ws.wait_closed()


async def _served(tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    async with serve(_flood, "127.0.0.1", 0, max_size=None, compression=None, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/"


async def _receive_all(url: str, *, wait_first: float = 0.0) -> list[str]:
    transport = await connect_websocket(url, {}, max_size=None)
    try:
        if wait_first:
            await asyncio.sleep(wait_first)  # let a backlog pile up in the socket first
        return [await transport.recv() for _ in _messages()]
    finally:
        await transport.close()


async def test_every_message_arrives_whole_and_in_order() -> None:
    async for url in _served():
        assert await _receive_all(url) == _messages()


async def test_a_backlog_read_in_full_reads_arrives_whole() -> None:
    async for url in _served():
        assert await _receive_all(url, wait_first=0.3) == _messages()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_reads_into_the_same_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wss:// goes through asyncio's TLS layer, which fills a buffered protocol's buffer itself.
    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    # The client's default context (system CAs) trusts this one certificate through the
    # variable OpenSSL reads for its default verify file.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    async for url in _served(server_tls):
        assert await _receive_all(url, wait_first=0.3) == _messages()


async def _small_flood(ws: ServerConnection) -> None:
    for i in range(600):
        await ws.send(f"{i:06d}" + "x" * 6_500)
    await ws.wait_closed()


async def test_a_read_allocates_no_block_of_its_own() -> None:
    # asyncio's plain read path allocates a 256 KiB bytes per socket read and websockets copies
    # it whole into its parser's buffer; here the socket is read into the connection's own
    # buffer and the parser fed 64 KiB at a time. The app reads each message as it comes, so
    # what a backlog of 600 x 6.5 KB costs at its peak is the read path's own memory.
    async with serve(_small_flood, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        transport = await connect_websocket(f"ws://127.0.0.1:{port}/", {}, max_size=None)
        try:
            await asyncio.sleep(0.3)  # a backlog in the socket: reads come back full
            tracemalloc.start()
            try:
                base, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                received: list[Any] = []
                for _ in range(600):
                    received.append(len(await transport.recv()))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        finally:
            await transport.close()
    assert received == [6_506] * 600
    # The peak holds one read's worth of parsed messages (up to 256 KiB, queued by websockets
    # until the app takes them) and the parser's buffer (a feed plus a partial frame): ~365 KB
    # here. asyncio's plain path adds a 256 KiB bytes per read and the parser's 256 KiB copy of
    # it: ~825 KB.
    assert peak - base < 512 * 1024, f"the read path peaked at {peak - base} bytes"
