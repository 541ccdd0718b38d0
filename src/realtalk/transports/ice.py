"""Which local addresses WebRTC offers as ICE candidates, and no STUN/TURN by default.

aioice (aiortc's ICE) gathers host candidates from every interface *except* 127.0.0.1, and
aiortc adds Google's public STUN server unless told otherwise. Neither suits realtalk: the local
server must offer exactly the address it serves on (loopback by default), and tests must never
send a packet to this machine's other addresses or to the internet.

:func:`host_addresses` replaces aioice's address discovery for the code that runs inside it
(a :mod:`contextvars` scope, so two peers in one process may use different addresses):
``with host_addresses(["127.0.0.1"]): await pc.setLocalDescription(offer)``. Outside any such
scope aioice's own discovery applies. :func:`rtc_configuration` is an ``RTCConfiguration``
with the given ICE servers and none by default. :func:`candidate_addresses` lists the
addresses an SDP offers, which the tests use to prove the rule.

aioice looks ``get_host_addresses`` up in its module at gathering time, so the scoped
replacement is installed once, on first use, as that module attribute.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

__all__ = ["LOOPBACK", "candidate_addresses", "host_addresses", "rtc_configuration"]

LOOPBACK = ("127.0.0.1",)

_chosen: ContextVar[tuple[str, ...] | None] = ContextVar("realtalk_ice_hosts", default=None)
_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    import aioice.ice

    discover = aioice.ice.get_host_addresses

    def scoped(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        fixed = _chosen.get()
        if fixed is None:
            return list(discover(use_ipv4, use_ipv6))
        return [
            a
            for a in fixed
            if (use_ipv4 and ipaddress.ip_address(a).version == 4)
            or (use_ipv6 and ipaddress.ip_address(a).version == 6)
        ]

    aioice.ice.get_host_addresses = scoped
    _installed = True


@contextlib.contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Gather ICE host candidates on exactly ``addresses`` inside this block (``None``: aioice's
    own discovery). Each address must be an IP literal."""
    if addresses is None:
        yield
        return
    for address in addresses:
        ipaddress.ip_address(address)  # ValueError for a host name: candidates are IPs
    _install()
    token = _chosen.set(tuple(addresses))
    try:
        yield
    finally:
        _chosen.reset(token)


def rtc_configuration(ice_servers: Sequence[Any] = ()) -> Any:
    """An ``RTCConfiguration`` with exactly ``ice_servers`` (``RTCIceServer`` objects): none by
    default, where aiortc would otherwise add a public STUN server."""
    from aiortc import RTCConfiguration

    return RTCConfiguration(iceServers=list(ice_servers))


_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+", re.MULTILINE)
_CONNECTION = re.compile(r"^c=IN IP[46] (\S+)", re.MULTILINE)


def candidate_addresses(sdp: str) -> set[str]:
    """Every address an SDP names: its ``a=candidate`` lines and its ``c=`` lines."""
    return set(_CANDIDATE.findall(sdp)) | set(_CONNECTION.findall(sdp))
