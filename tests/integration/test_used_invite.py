"""An invite someone already redeemed, used again: both sides are told it may have leaked."""

from __future__ import annotations

import asyncio

import pytest

from p2pchat.protocol.invite import format_invite, parse_invite
from p2pchat.reach.lan_peer import LanPeer
from p2pchat.session.events import Connected, Dialing, IdentityPrompt, Notice
from tests.support.session import start_session, wait_until


def direct_only(line: str, port: int, hosts: tuple[str, ...] = ("127.0.0.1",)) -> str:
    invite = parse_invite(line)
    return format_invite(type(invite)(invite.fingerprint, invite.secret, invite.expires,
                                      tuple((host, port) for host in hosts), ()))


@pytest.mark.parametrize("hosts", [("127.0.0.1",), ("::1", "127.0.0.1")], ids=["one-address", "two"])
async def test_a_second_peer_with_a_used_invite_is_told_and_the_inviter_warned(tmp_path, hosts):
    async with start_session(tmp_path, "alice", bind="::" if len(hosts) > 1 else "127.0.0.1") as a:
        port = a.session.listening_port
        line, _ = a.session.create_invite()
        line = direct_only(line, port, hosts)
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(line)
            await b.events.wait_for(Connected)
            await a.events.wait_for(Connected)
            await b.session.quit()
        await wait_until(lambda: not a.session.connected)
        async with start_session(tmp_path, "carol") as c:
            await c.session.connect(line)
            told = await c.events.wait_for(Notice, lambda e: "already used" in e.text, timeout=15)
            assert "may have leaked" in told.text and "ask for a new invite" in told.text
            warned = await a.events.wait_for(Notice, lambda e: "already used" in e.text)
            assert "refused 'carol'" in warned.text and "by 'bob'" in warned.text, warned.text
            await wait_until(lambda: c.session.state == "listening")  # stopped dialing
            alice_on_lan = LanPeer("alice", a.session.own_fingerprint, "", "127.0.0.1", port, known=False)
            c.session.routes.lan_changed([alice_on_lan])  # the LAN shows the inviter: not dialed again
            await asyncio.sleep(2.5)  # past the next two retries, were there any
            assert [e for e in c.events.of(Dialing) if e.retry_in is not None] == []
            assert len([e for e in c.events.of(Notice) if "already used" in e.text]) == 1  # once,
            assert len([e for e in a.events.of(Notice) if "already used" in e.text]) == 1  # each side
            assert not c.session.connected and a.events.find(IdentityPrompt) is None
            assert len(a.events.of(Connected)) == 1  # bob's only


async def test_the_peer_who_redeemed_it_may_come_back_with_it(tmp_path):
    async with start_session(tmp_path, "alice", accept_unknown="never") as a:
        line, _ = a.session.create_invite()
        line = direct_only(line, a.session.listening_port)
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(line)
            await b.events.wait_for(Connected)
            await b.session.quit()
        await wait_until(lambda: not a.session.connected)
        async with start_session(tmp_path, "bob") as b:  # the same home: the same key, now known
            await b.session.connect(line)
            await b.events.wait_for(Connected)
            assert not a.events.find(Notice, lambda e: "already used" in e.text)

