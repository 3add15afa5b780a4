"""Sessions that meet through a real magic-wormhole transit relay on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import shutil

import pytest
from test_connection import assert_chat_works

from p2pchat.protocol.invite import format_invite, parse_invite
from p2pchat.session.events import Connected, Dialing, IdentityPrompt, Notice
from tests.support.relay import TransitRelay, twist_command
from tests.support.session import free_port, start_session, wait_until

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed")


@pytest.fixture
def relay():
    server = TransitRelay("127.0.0.1", free_port()).start()
    yield server
    server.stop()


def relay_only(invite_line: str) -> str:
    """The invite with its direct addresses removed: the relay is the only way in."""
    invite = parse_invite(invite_line)
    return format_invite(type(invite)(invite.fingerprint, invite.secret, invite.expires, (), invite.relays))


async def test_invite_through_the_relay_pins_the_peer_without_asking(tmp_path, relay):
    async with start_session(tmp_path, "alice", relay=relay.setting, accept_unknown="never") as a:
        line, summary = a.session.create_invite()
        assert "relay 127.0.0.1" in summary
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(relay_only(line))
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
            assert a.session.peer.route == b.session.peer.route == f"via relay {relay.host}:{relay.port}"
            assert b.session.peer.fingerprint == a.session.own_fingerprint
            assert a.session.peer.fingerprint == b.session.own_fingerprint
            assert a.events.find(IdentityPrompt) is None
            assert a.events.find(Notice, lambda e: "came with your invite" in e.text)
            assert a.session.info()["path"].startswith("via relay")
            await assert_chat_works(a, b)
        assert a.session.invites.pending() == []  # good for one peer only


async def test_direct_wins_when_it_works(tmp_path, relay):
    async with start_session(tmp_path, "alice", relay=relay.setting) as a:
        line, _ = a.session.create_invite()
        invite = parse_invite(line)
        local = format_invite(type(invite)(invite.fingerprint, invite.secret, invite.expires,
                                           (("127.0.0.1", a.session.listening_port),), invite.relays))
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(local)
            await b.events.wait_for(Connected)
            assert b.session.peer.route == "direct"
            await a.events.wait_for(Connected)


async def test_an_invite_is_good_for_one_peer(tmp_path, relay):
    async with start_session(tmp_path, "alice", relay=relay.setting, accept_unknown="never") as a:
        line, _ = a.session.create_invite()
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(relay_only(line))
            await a.events.wait_for(Connected)
            await b.session.quit()
        await wait_until(lambda: not a.session.connected)
        async with start_session(tmp_path, "carol", handshake_timeout=2.0) as c:
            await c.session.connect(relay_only(line))
            # The inviter still waits under a used invite's token: the second peer is told, and stops.
            await c.events.wait_for(Notice, lambda e: "already used" in e.text, timeout=15)
            await wait_until(lambda: c.session.state == "listening")
            await asyncio.sleep(2.5)  # past the next two retries, were there any
            assert not c.session.connected
            assert [e for e in c.events.of(Dialing) if e.retry_in is not None] == []
            assert len([e for e in c.events.of(Notice) if "already used" in e.text]) == 1
            warned = [e.text for e in a.events.of(Notice) if "already used" in e.text]
            assert len(warned) == 1 and "refused 'carol'" in warned[0], warned


async def test_a_relay_gluing_a_stranger_is_refused_by_fingerprint(tmp_path, relay):
    # Mallory holds alice's invite secret (a relay operator could learn the token, never the
    # key): the relay glues bob to mallory, and bob refuses before saying a word.
    async with start_session(tmp_path, "alice", relay=relay.setting) as a:
        line, _ = a.session.create_invite()
    async with start_session(tmp_path, "mallory", relay=relay.setting) as m:
        shutil.copy(a.session.invites.path, m.session.invites.path)
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(relay_only(line))
            refusal = await b.events.wait_for(Notice, lambda e: "IDENTITY MISMATCH" in e.text, timeout=15)
            assert f"through relay {relay.host}:{relay.port}" in refusal.text and "still trying the others" in refusal.text
            assert not b.session.connected and not m.session.connected


@contextlib.asynccontextmanager
async def fake_relay(answer: bytes | None):
    """A TCP server that answers every request with `answer` (None: never answers)."""
    async def handle(reader, writer):
        await reader.readline()
        if answer is not None:
            writer.write(answer)
        with contextlib.suppress(Exception):
            await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"tcp:127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@pytest.mark.parametrize("answer, words", [(b"HTTP/1.1 400 Bad Request\r\n", "instead of ok"),
                                           (None, "never answered"),
                                           (b"bad handshake\n", "did not understand")])
async def test_a_broken_relay_is_a_clear_reason_not_a_hang(tmp_path, answer, words):
    async with start_session(tmp_path, "alice") as a:
        line, _ = a.session.create_invite()
    invite = parse_invite(line)
    async with fake_relay(answer) as setting, start_session(tmp_path, "bob", relay=setting, handshake_timeout=1.0) as b:
        await b.session.connect(relay_only(format_invite(type(invite)(
            invite.fingerprint, invite.secret, invite.expires, (), ()))))
        failed = await b.events.wait_for(Dialing, lambda e: bool(e.reason), timeout=10)
        assert words in failed.reason and "relay 127.0.0.1" in failed.reason


async def test_the_waiting_side_reports_an_unreachable_relay(tmp_path):
    port = free_port()
    async with start_session(tmp_path, "alice", relay=f"tcp:127.0.0.1:{port}") as a:
        a.session.create_invite()
        notice = await a.events.wait_for(Notice, lambda e: f"relay 127.0.0.1:{port}" in e.text)
        assert "nobody is listening" in notice.text
        await wait_until(lambda: f"relay 127.0.0.1:{port}" in a.session.info())


async def test_an_invite_made_from_the_command_line_counts_in_a_running_session(tmp_path, relay):
    from p2pchat.protocol.transit import parse_relays
    from p2pchat.reach.invites import Invites, make_invite

    async with start_session(tmp_path, "alice", relay=relay.setting, accept_unknown="never") as a:
        # What `p2pchat invite` does in another process: the same file, another Invites object.
        elsewhere = Invites(a.session.invites.path)
        line, _ = make_invite(elsewhere, a.session.own_fingerprint, a.session.listening_port,
                              parse_relays(relay.setting))
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(relay_only(line))
            await b.events.wait_for(Connected, timeout=15)
            assert b.session.peer.route.startswith("via relay")


async def test_pasting_ones_own_invite_is_refused_clearly(tmp_path, relay):
    async with start_session(tmp_path, "alice", relay=relay.setting) as a:
        line, _ = a.session.create_invite()
        with pytest.raises(ValueError, match="your own address or invite"):
            await a.session.connect(line)
        assert a.session.state == "listening"


async def test_a_direct_path_that_wins_at_once_is_not_held_up_by_the_dialers_relay(tmp_path, relay):
    # Only bob has a relay, so nobody answers him there: the relay attempt, started only if the
    # direct one fails, must not keep the connection that won waiting until the peer drops it.
    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "bob", relay=relay.setting) as b:
        await b.session.connect(f"p2pchat://{a.address}/{a.session.own_fingerprint}")
        connected = await b.events.wait_for(Connected, timeout=3)
        assert connected.peer.route == "direct"
        assert b.events.find(Notice, lambda e: "internal error" in e.text) is None
