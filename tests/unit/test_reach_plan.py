"""What to try to reach a peer, in what order, and the backoff between attempts: pure functions."""

from __future__ import annotations

from p2pchat.net.address import PeerAddress
from p2pchat.protocol.invite import Invite, relay_token
from p2pchat.protocol.transit import RelayAddress, derived_token
from p2pchat.reach.backoff import backoff
from p2pchat.reach.plan import RelayToken, plan
from p2pchat.reach.target import DialTarget

OWN = "A" * 52
PEER = "B" * 52
RELAY = RelayAddress("127.0.0.1", 4001)
OTHER_RELAY = RelayAddress("127.0.0.1", 4002)
NOW = 1_000_000.0


def no_lan(_peer: str) -> list[PeerAddress]:
    return []


def test_an_address_alone_is_dialed_directly_and_pins_nothing():
    target = DialTarget((PeerAddress("10.0.0.2", 7000),))
    routes = plan(target, own_id=OWN, tls=True, last_peer=None, lan=no_lan, relays=[RELAY], now=NOW)
    assert [(a.host, a.port) for a in routes.direct] == [("10.0.0.2", 7000)]
    assert routes.relays == [] and routes.tokens == []  # no identity to find on a relay
    assert routes.expected(relayed=False, host="10.0.0.2", port=7000) is None


def test_a_named_peer_is_looked_for_on_every_relay_with_the_derived_token():
    target = DialTarget((PeerAddress("10.0.0.2", 7000, PEER),), PEER, (OTHER_RELAY,))
    routes = plan(target, own_id=OWN, tls=True, last_peer=None, lan=no_lan, relays=[RELAY, OTHER_RELAY], now=NOW)
    assert routes.relays == [OTHER_RELAY, RELAY]  # the target's first, each once
    assert routes.tokens == [RelayToken(derived_token(OWN, PEER), True)]  # OWN sorts lower: TLS client
    assert routes.expected(relayed=False, host="10.0.0.2", port=7000) == PEER


def test_the_last_peer_is_found_on_the_lan_first_and_pinned_there():
    lan_address = PeerAddress("192.168.1.9", 7100, PEER)
    target = DialTarget((PeerAddress("10.0.0.2", 7000),))
    routes = plan(target, own_id=OWN, tls=True, last_peer=PEER, lan=lambda fp: [lan_address] if fp == PEER else [],
                  relays=[RELAY], now=NOW)
    assert [(a.host, a.port) for a in routes.direct] == [("192.168.1.9", 7100), ("10.0.0.2", 7000)]
    assert routes.expected(relayed=False, host="192.168.1.9", port=7100) == PEER
    assert routes.expected(relayed=True, host="127.0.0.1", port=4001) == PEER
    assert routes.expected(relayed=False, host="10.0.0.2", port=7000) is None  # what the user typed


def test_an_unexpired_invite_adds_its_token_and_an_expired_one_does_not():
    invite = Invite(PEER, "ab" * 16, expires=int(NOW) + 60, relays=(RELAY,))
    target = DialTarget((), PEER, (RELAY,), invite)
    fresh = plan(target, own_id=OWN, tls=True, last_peer=None, lan=no_lan, relays=[], now=NOW)
    assert RelayToken(relay_token(invite.secret), True) in fresh.tokens
    late = plan(target, own_id=OWN, tls=True, last_peer=None, lan=no_lan, relays=[], now=NOW + 60)
    assert [t.token for t in late.tokens] == [derived_token(OWN, PEER)]


def test_without_tls_or_with_our_own_identity_no_relay_is_used():
    target = DialTarget((PeerAddress("10.0.0.2", 7000),), PEER)
    assert plan(target, own_id=OWN, tls=False, last_peer=None, lan=no_lan, relays=[RELAY], now=NOW).relays == []
    own = DialTarget((PeerAddress("10.0.0.2", 7000),), OWN)
    assert plan(own, own_id=OWN, tls=True, last_peer=None, lan=no_lan, relays=[RELAY], now=NOW).tokens == []


def test_backoff_doubles_from_the_first_delay_up_to_the_cap():
    assert [backoff(n, first=0.5, cap=5.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert [backoff(n, first=1.0, cap=30.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff(10_000, first=1.0, cap=1e9) == 1024.0  # the exponent stops growing
