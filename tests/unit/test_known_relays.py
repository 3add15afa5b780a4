"""Relays kept with a known peer: learnt from the invite (or code) that introduced it, bounded,
checked as an invite's are, and used to find that peer again."""

from __future__ import annotations

import pytest

from p2pchat.identity import IdentityError, KnownPeers
from p2pchat.identity.known import KEPT_RELAYS
from p2pchat.net.address import PeerAddress
from p2pchat.protocol.invite import Invite
from p2pchat.protocol.transit import RelayAddress, derived_token
from p2pchat.reach.plan import plan
from p2pchat.reach.target import DialTarget, invite_target

OWN = "A" * 52
PEER = "B" * 52
OLD_ENTRY = (f"[peers.{PEER}]\nnickname = 'carol'\naddress = ''\nfirst_seen = 2026-01-02T03:04:05Z\n"
             "last_seen = 2026-01-02T03:04:05Z\nverified = false\n")


def relay(n: int) -> RelayAddress:
    return RelayAddress(f"relay{n}.example.org", 4001)


def test_an_entry_written_before_relays_were_kept_still_loads(tmp_path):
    path = tmp_path / "known_peers.toml"
    path.write_text(OLD_ENTRY)
    peers = KnownPeers.load(path)
    assert peers.get(PEER).relays == ()
    peers.remember(PEER, "carol", "", relays=[relay(1)])
    assert KnownPeers.load(path).get(PEER).relays == (relay(1),)
    assert 'relays = ["tcp:relay1.example.org:4001"]' in path.read_text()


def test_newest_relays_come_first_each_once_and_a_few_are_kept(tmp_path):
    peers = KnownPeers.load(tmp_path / "known_peers.toml")
    peers.remember(PEER, "carol", "", relays=[relay(1), relay(2)])
    peers.remember(PEER, "carol", "")  # a reconnect without an invite keeps them
    assert peers.get(PEER).relays == (relay(1), relay(2))
    peers.remember(PEER, "carol", "", relays=[relay(3), relay(2)])
    assert peers.get(PEER).relays == (relay(3), relay(2), relay(1))
    peers.remember(PEER, "carol", "", relays=[relay(n) for n in range(10, 26)])  # an invite's 16
    assert peers.get(PEER).relays == tuple(relay(n) for n in range(10, 10 + KEPT_RELAYS))


@pytest.mark.parametrize("line", [
    "relays = 'tcp:relay.example.org:4001'",  # not a list
    "relays = ['relay.example.org:4001']",  # not tcp:HOST:PORT
    "relays = ['tcp:169.254.169.254:80']",  # an address no relay has (cloud metadata)
    "relays = [\"tcp:bad\\u001bname:4001\"]",
    "relays = [" + ", ".join(f"'tcp:r{n}.example.org:1'" for n in range(KEPT_RELAYS + 1)) + "]",
])
def test_a_relay_an_invite_could_not_hold_is_refused_with_the_entry_named(tmp_path, line):
    path = tmp_path / "known_peers.toml"
    path.write_text(OLD_ENTRY + line + "\n")
    with pytest.raises(IdentityError, match=rf"\[peers\.{PEER}\] needs relays as a list"):
        KnownPeers.load(path)


def test_an_invite_says_which_relays_its_inviter_waits_on():
    invite = Invite(PEER, "ab" * 16, expires=2_000_000_000, relays=(relay(1),))
    target = invite_target(invite)
    assert target.relays_of(PEER) == (relay(1),)
    assert target.relays_of(OWN) == ()  # someone else answered: nothing learnt about them
    assert DialTarget((PeerAddress("10.0.0.2", 7000, PEER),), PEER).relays_of(PEER) == ()


def test_a_known_peer_is_looked_for_on_its_kept_relays_too():
    target = DialTarget((PeerAddress("10.0.0.2", 7000, PEER),), PEER)
    routes = plan(target, own_id=OWN, tls=True, last_peer=None, lan=lambda fp: [], relays=[relay(1)],
                  kept_relays=lambda fp: (relay(2), relay(1)) if fp == PEER else (), now=0.0)
    assert routes.relays == [relay(1), relay(2)]
    assert [t.token for t in routes.tokens] == [derived_token(OWN, PEER)]
