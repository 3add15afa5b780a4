"""What the session does with the LAN's announcements, on loopback: the announcements are put
where mDNS would put them (the multicast part runs in the NAT lab), the connections are real.

A known peer that appears on the LAN is dialed there at once, ahead of the relays, with its
fingerprint pinned; an announcement that names the peer's fingerprint at someone else's
address is refused by that fingerprint."""

from __future__ import annotations

import pytest
from helpers import start_session, wait_until

from p2pchat.net.discovery import LanService
from p2pchat.reach.lan import LanPeers
from p2pchat.session.events import Connected, Disconnected, Notice

pytestmark = pytest.mark.timeout(60)


def watch_lan(session) -> LanPeers:
    """Give a session a LAN view whose announcements the test writes (nothing is multicast)."""
    session.routes.lan = LanPeers(session.own_fingerprint, lambda fp: False, session.routes.lan_changed)
    return session.routes.lan


def announce(lan: LanPeers, nickname: str, fingerprint: str, port: int) -> None:
    lan._discovery.services[nickname] = LanService(nickname, nickname, fingerprint, ("127.0.0.1",), port)
    lan._discovery.on_change()


async def test_the_last_peer_seen_on_the_lan_is_dialed_there_at_once(tmp_path):
    async with start_session(tmp_path, "alice") as alice:
        fingerprint = alice.session.own_fingerprint
        async with start_session(tmp_path, "bob", reconnect=600) as bob:
            lan = watch_lan(bob.session)
            await bob.session.connect(alice.address)
            await bob.events.wait_for(Connected)
            await alice.session.quit()
            await bob.events.wait_for(Disconnected)
            # Alice comes back on another port; bob's retries go to the old one, and would wait
            # longer and longer (up to the 600 s cap) if the LAN did not say where she is now.
            async with start_session(tmp_path, "alice") as alice_again:
                assert alice_again.session.own_fingerprint == fingerprint
                announce(lan, "alice", fingerprint, alice_again.session.listening_port)
                back = await bob.events.wait_for(Connected, lambda e: e.resumed)
                assert back.peer.address == alice_again.address
                plan, pinned = bob.session.routes.plan(bob.session.dial_target)
                assert [str(a) for a in plan.direct][0] == alice_again.address  # the LAN comes first


async def test_an_announcement_with_the_peers_fingerprint_at_another_key_is_refused(tmp_path):
    async with start_session(tmp_path, "alice") as alice, start_session(tmp_path, "mallory") as mallory:
        async with start_session(tmp_path, "bob") as bob:
            lan = watch_lan(bob.session)
            announce(lan, "alice", alice.session.own_fingerprint, mallory.session.listening_port)
            [peer] = bob.session.lan_peers
            assert (peer.nickname, peer.known) == ("alice", False)
            await bob.session.connect(peer.address)
            refused = await bob.events.wait_for(Notice, lambda e: "IDENTITY MISMATCH" in e.text)
            assert mallory.address in refused.text
            await wait_until(lambda: bob.session.state == "listening")
            assert bob.events.find(Connected) is None and mallory.events.find(Connected) is None
