"""The session's lifecycle without sockets: each transition's state and events."""

from __future__ import annotations

import pytest

from p2pchat.protocol import Hello
from p2pchat.session.events import (
    Connected,
    Dialing,
    Disconnected,
    Listening,
    NickChanged,
    PeerInfo,
    Reconnecting,
    SessionState,
    Stopped,
)
from p2pchat.session.handshake.machine import decide
from p2pchat.session.presence import Presence

BOB = "B" * 52
CAROL = "C" * 52
BOB_INFO = PeerInfo("bob", "127.0.0.1:7000", BOB, "BBBB", encrypted=True)


def connected() -> Presence:
    presence = Presence("A" * 52)
    presence.listening("127.0.0.1", 7001)
    presence.activated(BOB_INFO, BOB, "s1", now=10.0)
    return presence


def test_a_new_presence_is_idle_with_nobody():
    presence = Presence("A" * 52)
    assert presence.state is SessionState.IDLE
    assert (presence.peer, presence.peer_id, presence.last_peer_id, presence.session_id) == (None, None, None, None)
    assert not presence.connected and not presence.stopped and not presence.handshaking


def test_listening_then_dialing_a_first_peer():
    presence = Presence("A" * 52)
    assert presence.listening("0.0.0.0", 7001, "note") == [Listening("0.0.0.0", 7001, "note")]
    assert presence.state is SessionState.LISTENING
    assert presence.dialing("bob:7000", 1) == [Dialing("bob:7000", 1)]
    assert presence.state is SessionState.DIALING
    events = presence.retrying("bob:7000", 1, 0.5, "refused")
    assert events == [Dialing("bob:7000", 1, retry_in=0.5, reason="refused")]  # no Reconnecting: nobody yet
    assert presence.refused() == [] and presence.state is SessionState.LISTENING


def test_activated_records_the_peer_and_says_connected_once():
    presence = Presence("A" * 52)
    assert presence.activated(BOB_INFO, BOB, "s1", now=10.0) == [Connected(BOB_INFO, resumed=False)]
    assert presence.state is SessionState.CONNECTED and presence.connected
    assert (presence.peer, presence.peer_id, presence.last_peer_id, presence.session_id) == (BOB_INFO, BOB, BOB, "s1")
    assert presence.activated_at == 10.0
    assert presence.activated(BOB_INFO, BOB, "s1", now=11.0) == []  # a replacement connection: silent


def test_losing_the_peer_with_a_target_reconnects_and_says_so_while_retrying():
    presence = connected()
    events = presence.lost("connection lost: no heartbeat", by_peer=False, redial=True)
    assert events == [Disconnected("connection lost: no heartbeat", by_peer=False, will_reconnect=True)]
    assert presence.state is SessionState.RECONNECTING
    assert presence.peer is None and presence.peer_id is None and presence.last_peer_id == BOB
    assert presence.dialing("bob:7000", 1) == [Dialing("bob:7000", 1)]
    assert presence.state is SessionState.RECONNECTING
    assert presence.retrying("bob:7000", 1, 0.5, "refused")[1:] == [Reconnecting(0.5, 1)]
    assert presence.activated(BOB_INFO, BOB, "s2", now=20.0) == [Connected(BOB_INFO, resumed=True)]


@pytest.mark.parametrize("reason", ["quit", "identity refused"])  # the latter: the codes did not match
def test_a_peer_that_quits_or_refuses_us_is_not_called_again(reason):
    presence = connected()
    assert presence.lost(reason, by_peer=True, redial=True) == [Disconnected(f"bob left ({reason})", by_peer=True)]
    assert presence.state is SessionState.LISTENING


def test_the_peer_renaming_itself():
    presence = connected()
    assert presence.renamed("bob") == []  # the same name: nothing to tell
    assert presence.renamed("robert") == [NickChanged("bob", "robert", by_peer=True)]
    assert presence.peer.nickname == "robert"
    presence.verified()
    assert presence.peer.verified


def test_a_peer_back_under_another_name_is_said_to_be_renamed():
    presence = connected()
    presence.renamed("robert")
    presence.lost("robert left (quit)", by_peer=True, redial=False)
    assert presence.activated(BOB_INFO, BOB, "s2", now=20.0) == [
        Connected(BOB_INFO, resumed=True), NickChanged("robert", "bob", by_peer=True)]


def test_stopped_is_final_and_a_later_loss_says_nothing():
    presence = connected()
    assert presence.stop("quit") == [Stopped("quit")]
    assert presence.state is SessionState.STOPPED and presence.stopped
    assert presence.lost("closed", by_peer=False, redial=True) == []
    assert presence.state is SessionState.STOPPED


def test_the_handshake_decides_by_the_presence_itself_not_a_copy():
    presence = connected()
    presence.claims.add(CAROL)  # a handshake with carol is under way
    assert presence.handshaking
    hello = Hello(version=1, nickname="carol", id="x", caps=(), session=None)
    assert decide(presence.standing, hello, CAROL, now=30.0) is None  # already being set up
    presence.claims.discard(CAROL)
    assert decide(presence.standing, hello, CAROL, now=30.0) is not None
