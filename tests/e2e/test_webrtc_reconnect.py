"""WebRTC reconnect end to end: a realtalk Session over WebRTC against the local server, over
loopback only. The server side of the call is made to vanish without a hangup (its ICE sockets
closed: the client's consent checks go unanswered, as when the network or the server dies); the
session re-offers a new call with its config, replays the conversation and goes on. A hangup is
not reconnected; a server that refuses every new offer ends the session with a fatal error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import testing
from realtalk.items import MessageItem
from realtalk.transports.ice import candidate_addresses
from realtalk.transports.webrtc import WebRTCTransport
from tests.e2e.test_reconnect import FAST, local, said, until_it_ends

AGENT = rt.Agent("a", instructions="You are the WebRTC agent.")


@pytest.fixture(autouse=True)
def quick_consent(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice checks ICE consent (RFC 7675) every ~5 s and gives up after 6 misses (~30 s):
    real, but too slow for a test. The same mechanism runs here every ~0.1 s."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.1)
    return


def server_call(provider: rt.providers.Local, session: rt.Session) -> Any:
    transport = session._transport
    assert isinstance(transport, WebRTCTransport)
    calls = provider.running.server.rtc_calls.calls
    return calls[transport.call_id]


def vanish(call: Any) -> None:
    """The server's side of the call goes silent: its ICE sockets are closed without a word
    (no SCTP abort, no DTLS close_notify), so only the client's consent checks notice."""
    for transceiver in call.pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        for protocol in connection._protocols:
            protocol.transport.close()


def loopback_only(transport: WebRTCTransport) -> None:
    local_sdp, remote_sdp = transport.sdp
    assert candidate_addresses(local_sdp) == {"127.0.0.1"}
    assert candidate_addresses(remote_sdp) == {"127.0.0.1"}


async def test_a_dropped_call_is_reconnected_with_the_history_and_config() -> None:
    provider, brain = local(transport="webrtc")
    options = rt.SessionOptions(reconnect=FAST)
    async with rt.Runner(AGENT, provider=provider, options=options).connect() as session:
        first = session._transport
        assert isinstance(first, WebRTCTransport)
        loopback_only(first)
        turn = await testing.run_turn(session, "the sea is blue", timeout=20)
        assert turn.transcript
        before = list(session.history)
        vanish(server_call(provider, session))
        seen = await testing.collect(session, ev.Reconnected, timeout=30)
        reconnecting = [e for e in seen if isinstance(e, ev.Reconnecting)]
        assert reconnecting
        assert "WebRTC connection failed" in reconnecting[0].reason
        reconnected = seen[-1]
        assert isinstance(reconnected, ev.Reconnected)
        assert reconnected.replayed == len(before) == 2
        assert reconnected.lost == ()
        second = session._transport
        assert isinstance(second, WebRTCTransport)
        assert second is not first
        assert second.call_id != first.call_id
        loopback_only(second)
        # The new call: the config travelled with the offer, the conversation was replayed.
        call = server_call(provider, session)
        assert call.connection.session.session["instructions"] == "You are the WebRTC agent."
        server_items = call.connection.session.conversation.items()
        assert [item.id for item in server_items] == [i.id for i in before]
        # The next turn works, the brain hears the earlier turn, the history is continuous.
        turn = await testing.run_turn(session, "the sky is grey", timeout=20)
        assert turn.transcript
        history = list(session.history)
    assert history[:2] == before
    assert said(history) == [
        ("user", "the sea is blue"),
        ("assistant", before[1].text if isinstance(before[1], MessageItem) else ""),
        ("user", "the sky is grey"),
        ("assistant", turn.transcript),
    ]
    heard = brain.requests[-1]
    assert heard.instructions == "You are the WebRTC agent."
    assert [getattr(i, "text", None) for i in heard.items][:3] == [
        "the sea is blue",
        before[1].text if isinstance(before[1], MessageItem) else None,
        "the sky is grey",
    ]
    assert first._pc.connectionState != "connected"  # the lost call was closed


async def test_a_hangup_is_not_reconnected() -> None:
    provider, _ = local(transport="webrtc")
    options = rt.SessionOptions(reconnect=FAST)
    async with rt.Runner(AGENT, provider=provider, options=options).connect() as session:
        await testing.run_turn(session, "hello", timeout=20)
        transport = session._transport
        assert isinstance(transport, WebRTCTransport)
        assert transport.call_id is not None
        await provider.hangup_call(transport.call_id)
        seen, raised = await until_it_ends(session)
    assert isinstance(raised, rt.ConnectionClosed)
    assert raised.code == 1000
    assert not [e for e in seen if isinstance(e, ev.Reconnecting)]
    errors = [e for e in seen if isinstance(e, ev.SessionError)]
    assert errors
    assert errors[-1].fatal
    assert errors[-1].code == "connection_closed"


async def test_giving_up_is_a_fatal_error_the_app_sees() -> None:
    provider, _ = local(transport="webrtc")
    policy = rt.Reconnect(initial_delay=0.05, max_delay=0.2, max_attempts=3)
    options = rt.SessionOptions(reconnect=policy)
    async with rt.Runner(AGENT, provider=provider, options=options).connect() as session:
        await testing.run_turn(session, "hello", timeout=20)
        provider.running.server.draining = True  # every new offer: 503
        vanish(server_call(provider, session))
        seen, raised = await until_it_ends(session)
    attempts = [e.attempt for e in seen if isinstance(e, ev.Reconnecting)]
    assert attempts == [1, 2, 3]
    assert not [e for e in seen if isinstance(e, ev.Reconnected)]
    final = seen[-1]
    assert isinstance(final, ev.SessionError)
    assert final.fatal
    assert final.code == "reconnect_failed"
    assert "3 attempt(s)" in final.message
    assert "concurrent sessions" in final.message
    assert isinstance(raised, rt.ConnectionClosed)


def test_auto_is_on_over_webrtc_as_over_websocket() -> None:
    from realtalk.recovery import resolve_policy

    # The provider decides, not the transport: remote providers on, the local server off.
    for name in ("openai", "azure", "azure-preview"):
        assert resolve_policy("auto", name) == rt.Reconnect()
    assert resolve_policy("auto", "local") is None


async def test_a_call_cut_mid_reply_asks_for_the_reply_again_once() -> None:
    # Paced in real time, the server is still producing the reply when its side vanishes.
    provider, brain = local(transport="webrtc", realtime_pacing=True)
    options = rt.SessionOptions(reconnect=FAST)
    words = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    async with rt.Runner(AGENT, provider=provider, options=options).connect() as session:
        await session.send_text(words)
        # The reply is playing on the track (its response.done is held until it has played).
        await testing.collect(session, ev.AudioDelta, timeout=20)
        vanish(server_call(provider, session))
        seen = await testing.collect(session, ev.SessionIdle, timeout=40)
        history = list(session.history)
    reconnected = [e for e in seen if isinstance(e, ev.Reconnected)]
    assert len(reconnected) == 1
    assert reconnected[0].resent == 1  # the cut response, asked for once more
    done = [e for e in seen if isinstance(e, ev.ResponseDone)]
    assert len(done) == 1  # the new call's reply; the cut one never completed
    assert len(brain.requests) == 2
    assert said(history) == [("user", words), ("assistant", done[0].response.output[0].text)]


async def test_a_data_channel_closed_on_a_live_call_is_a_loss() -> None:
    provider, _ = local(transport="webrtc")
    options = rt.SessionOptions(reconnect=FAST)
    async with rt.Runner(AGENT, provider=provider, options=options).connect() as session:
        await testing.run_turn(session, "hello", timeout=20)
        call = server_call(provider, session)
        # A scripted peer: the server closes the event channel and keeps the call up (its own
        # reaction, ending the call, is muzzled), as a peer whose SCTP stream was reset.
        call.data_channel.remove_all_listeners("close")
        call.data_channel.close()
        seen = await testing.collect(session, ev.Reconnected, timeout=30)
        reasons = [e.reason for e in seen if isinstance(e, ev.Reconnecting)]
        assert reasons
        assert "data channel closed while the call was up" in reasons[0]
        turn = await testing.run_turn(session, "still there", timeout=20)
        assert turn.transcript
