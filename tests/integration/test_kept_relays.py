"""The relays an invite named are kept with the peer it introduced, and find it again after a
restart: a real transit relay on loopback, real sessions, real known-peers files."""

from __future__ import annotations

import pytest
from test_codes import mailbox  # noqa: F401 - a fixture
from test_relay import relay, relay_only  # noqa: F401 - `relay` is a fixture

from p2pchat.identity import KnownPeers
from p2pchat.session.events import Connected
from tests.support.relay import twist_command
from tests.support.session import session_paths, start_session

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed")


async def test_the_invited_side_without_a_relay_meets_the_inviter_again_after_a_restart(tmp_path, relay):  # noqa: F811
    async with start_session(tmp_path, "carol", relay=relay.setting) as carol:
        line, _ = carol.session.create_invite()
        async with start_session(tmp_path, "fred") as fred:  # no relay of his own
            await fred.session.connect(relay_only(line))
            await fred.events.wait_for(Connected)
        kept = KnownPeers.load(session_paths(tmp_path / "fred").known_peers_file).get(carol.session.own_fingerprint)
        assert [str(r) for r in kept.relays] == [f"{relay.host}:{relay.port}"]
        async with start_session(tmp_path, "fred") as again:  # nothing to dial: he waits where she waits
            connected = await again.events.wait_for(Connected, timeout=15)
            assert connected.peer.fingerprint == carol.session.own_fingerprint
            assert connected.peer.route == f"via relay {relay.host}:{relay.port}"
            assert again.session.info()[f"relay {relay.host}:{relay.port}"]


async def test_the_maker_of_a_code_keeps_the_relays_its_user_sent_back(tmp_path, relay, mailbox):  # noqa: F811
    where = f"{relay.host}:{relay.port}"
    async with start_session(tmp_path, "maker", rendezvous=mailbox.url) as maker:  # no relay of its own
        offer = await maker.session.invite()
        async with start_session(tmp_path, "guest", rendezvous=mailbox.url, relay=relay.setting) as guest:
            await guest.session.connect(offer.code)
            await maker.events.wait_for(Connected)
            guest_id = guest.session.own_fingerprint
        kept = KnownPeers.load(maker.session.paths.known_peers_file).get(guest_id)
        assert [str(r) for r in kept.relays] == [where]
    # Both start again with nothing to dial: they meet on the relay the guest's invite named.
    async with start_session(tmp_path, "maker") as maker, start_session(tmp_path, "guest", relay=relay.setting):
        connected = await maker.events.wait_for(Connected, timeout=15)
        assert connected.peer.fingerprint == guest_id and connected.peer.route == f"via relay {where}"
