"""ICE addresses: realtalk.transports.ice replaces aioice's host discovery inside a scope, so
WebRTC peers in tests offer 127.0.0.1 only (aioice leaves it out), and adds no STUN server."""

from __future__ import annotations

import asyncio

import aioice
import aioice.ice
import pytest

from realtalk.transports.ice import (
    LOOPBACK,
    candidate_addresses,
    host_addresses,
    rtc_configuration,
)


def test_aioice_alone_never_offers_loopback() -> None:
    # Why the replacement exists: aioice's own discovery skips 127.0.0.1.
    with host_addresses(None):
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


async def test_gathering_inside_the_scope_uses_exactly_the_given_addresses() -> None:
    connection = aioice.Connection(ice_controlling=True, use_ipv6=False)
    try:
        with host_addresses(LOOPBACK):
            await connection.gather_candidates()
        hosts = {c.host for c in connection.local_candidates}
        assert hosts == {"127.0.0.1"}
        assert {c.type for c in connection.local_candidates} == {"host"}  # no STUN, no TURN
    finally:
        await connection.close()


async def test_the_scope_is_per_task() -> None:
    seen: dict[str, list[str]] = {}

    async def gather(name: str, addresses: tuple[str, ...] | None) -> None:
        with host_addresses(addresses):
            await asyncio.sleep(0)
            seen[name] = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)

    await asyncio.gather(gather("loopback", LOOPBACK), gather("other", ("127.0.0.2",)))
    assert seen == {"loopback": ["127.0.0.1"], "other": ["127.0.0.2"]}
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


def test_host_names_are_refused() -> None:
    with pytest.raises(ValueError, match="IPv4 or IPv6"), host_addresses(["localhost"]):
        pass


def test_no_ice_servers_by_default() -> None:
    assert rtc_configuration().iceServers == []


def test_candidate_addresses_reads_candidates_and_connection_lines() -> None:
    sdp = (
        "v=0\r\nc=IN IP4 127.0.0.1\r\n"
        "a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r\n"
        "a=candidate:2 1 UDP 1694498815 203.0.113.9 50001 typ srflx raddr 127.0.0.1 rport 1\r\n"
    )
    assert candidate_addresses(sdp) == {"127.0.0.1", "203.0.113.9"}
