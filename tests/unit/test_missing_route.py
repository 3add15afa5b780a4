"""What the dialing side is told when no path can ever reach the peer: a pure decision from the
target and how each path failed."""

from __future__ import annotations

from p2pchat.net.address import PeerAddress
from p2pchat.protocol.invite import Invite
from p2pchat.reach.missing import PathFailure, missing_route
from p2pchat.reach.target import DialTarget, invite_target

PEER = "B" * 52


def silent(host: str, port: int = 7000) -> PathFailure:
    return PathFailure(f"{host}:{port}", host, relayed=False, reached=False)


def relay(host: str, *, reached: bool) -> PathFailure:
    return PathFailure(f"relay {host}:4001", host, relayed=True, reached=reached)


INVITE = invite_target(Invite(PEER, "ab" * 16, expires=2_000_000_000, addresses=(("192.168.1.20", 7000),)))


def test_private_addresses_met_with_silence_and_no_relay_say_what_is_missing():
    line = missing_route(INVITE, [silent("192.168.1.20")])
    assert line == (
        "the inviter BBBBBBBB cannot be reached from this network: 192.168.1.20:7000 works only on the "
        "inviter's own network, and the invite names no relay. Ask for a new invite or code made with a "
        "relay set on their side (p2pchat config set relay tcp:HOST:PORT) or with their router mapping "
        "the port; still trying")


def test_a_relay_that_cannot_be_reached_is_named():
    line = missing_route(INVITE, [silent("10.0.0.5"), silent("fd00::5"), relay("203.0.113.1", reached=False)])
    assert "10.0.0.5:7000, fd00::5:7000 work only on the inviter's own network, and relay 203.0.113.1:4001 " \
           "cannot be reached from here. Ask whether that relay runs, or for a new invite or code made " \
           "with a relay this network can reach" in line
    known = DialTarget((PeerAddress("10.0.0.5", 7000, PEER),), PEER)
    line = missing_route(known, [silent("10.0.0.5"), relay("203.0.113.1", reached=False)])
    assert "cannot be reached from here. Check that the relay runs, or set another one on both sides" in line


def test_anything_that_answered_means_the_way_exists():
    refused = PathFailure("192.168.1.20:7000", "192.168.1.20", relayed=False, reached=True)
    assert missing_route(INVITE, [refused]) is None  # the host is there; its p2pchat is not, yet
    assert missing_route(INVITE, [silent("192.168.1.20"), relay("203.0.113.1", reached=True)]) is None
    assert missing_route(INVITE, []) is None


def test_public_addresses_that_stay_silent_are_said_as_such():
    line = missing_route(INVITE, [silent("203.0.113.11"), silent("192.168.1.20"), silent("10.1.1.1"),
                                  silent("10.1.1.2")])
    assert ("203.0.113.11:7000, 192.168.1.20:7000, 10.1.1.1:7000 and 1 more do not answer from here "
            "(a router or firewall between drops the connection), and the invite names no relay") in line


def test_a_known_peer_and_a_bare_address_get_advice_that_can_work_for_them():
    named = DialTarget((PeerAddress("192.168.1.20", 7000, PEER),), PEER, named=True)
    line = missing_route(named, [silent("192.168.1.20")])
    assert "works only on the peer's own network, and no relay is set. Set the same relay on both sides" in line
    bare = DialTarget((PeerAddress("192.168.1.20", 7000),))
    line = missing_route(bare, [silent("192.168.1.20")])
    assert line.startswith("192.168.1.20:7000 cannot be reached from this network")
    assert "a bare HOST:PORT asks no relay. Ask for an invite or code made with a relay set" in line
