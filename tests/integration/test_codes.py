"""Two sessions meet with a short code through a real mailbox server on loopback."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from test_cli import ROOT
from test_connection import assert_chat_works

from p2pchat.reach.codes import APPID, read_introduction
from p2pchat.reach.rendezvous import CodeMeeting
from p2pchat.session.events import Connected, IdentityPrompt, Notice
from tests.support.mailbox import MailboxServer
from tests.support.relay import twist_command
from tests.support.session import free_port, start_session, wait_until

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-mailbox-server not installed")


@pytest.fixture(scope="module")
def mailbox():
    server = MailboxServer("127.0.0.1", free_port()).start()
    yield server
    server.stop()


def noticed(peer, fragment: str):
    return peer.events.find(Notice, lambda e: fragment in e.text)


async def test_a_code_introduces_two_peers_that_refuse_strangers(tmp_path, mailbox):
    strict = dict(rendezvous=mailbox.url, accept_unknown="never")
    async with start_session(tmp_path, "alice", **strict) as a, start_session(tmp_path, "bob", **strict) as b:
        offer = await a.session.invite()
        assert offer.code and offer.line.startswith("p2pchat1") and not offer.no_code
        await b.session.connect(offer.code)
        await a.events.wait_for(Connected)
        await b.events.wait_for(Connected)
        assert b.session.peer.fingerprint == a.session.own_fingerprint
        assert a.session.peer.fingerprint == b.session.own_fingerprint
        assert a.events.find(IdentityPrompt) is None and b.events.find(IdentityPrompt) is None
        await assert_chat_works(a, b)
        await wait_until(lambda: noticed(a, f"the code {offer.code} was used"))
        assert a.session.invites.pending() == [] and b.session.invites.pending() == []


async def test_a_wrong_code_tells_both_and_pins_nothing(tmp_path, mailbox, monkeypatch):
    monkeypatch.setattr("p2pchat.reach.codes.WAIT_FOR_INVITER", 2.0)
    async with start_session(tmp_path, "alice", rendezvous=mailbox.url) as a, \
            start_session(tmp_path, "bob", rendezvous=mailbox.url) as b:
        offer = await a.session.invite()
        nameplate = offer.code.split("-")[0]
        with pytest.raises(ValueError, match="the code did not match"):
            await b.session.connect(f"{nameplate}-wrong-words")
        await wait_until(lambda: noticed(a, "with the wrong words: the code is spent"))
        assert b.session.invites.pending() == []  # the invite bob sent back is not kept
        known = b.session.paths.known_peers_file
        assert not known.exists() or a.session.own_fingerprint not in known.read_text()
        await asyncio.sleep(0.3)
        assert a.events.find(Connected) is None and b.events.find(Connected) is None
        # the spent code: the right words come too late
        with pytest.raises(ValueError, match="nobody is waiting on that code"):
            await asyncio.wait_for(b.session.connect(offer.code), 10)


async def test_without_a_rendezvous_server_the_invite_line_still_comes(tmp_path):
    with __import__("socket").socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{closed.getsockname()[1]}/v1"
        async with start_session(tmp_path, "alice", rendezvous=url) as a:
            loop = asyncio.get_running_loop()
            start = loop.time()
            offer = await a.session.invite()
            assert loop.time() - start < 5
            assert offer.code is None and offer.line.startswith("p2pchat1")
            assert "cannot be reached" in offer.no_code
    async with start_session(tmp_path, "carol") as c:  # the suite's default: no server at all
        offer = await c.session.invite()
        assert offer.code is None and "no rendezvous server is set" in offer.no_code


async def test_a_stranger_on_the_mailbox_with_a_non_p2pchat_message_is_refused(tmp_path, mailbox):
    async with start_session(tmp_path, "alice", rendezvous=mailbox.url) as a:
        offer = await a.session.invite()
        stranger = CodeMeeting(mailbox.url, APPID, b"not an introduction", code=offer.code)
        await stranger.open()
        await stranger.exchange()
        await wait_until(lambda: noticed(a, "not a p2pchat introduction"))


async def test_the_invite_command_prints_the_code_then_the_line_and_waits_for_its_use(tmp_path, mailbox):
    from p2pchat.paths import get_paths
    from p2pchat.protocol.invite import parse_invite
    from p2pchat.reach.codes import introduction
    from p2pchat.reach.invites import Invites

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "p2pchat", "--rendezvous", mailbox.url, "invite",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    code = (await asyncio.wait_for(process.stdout.readline(), 15)).decode().strip()
    line = (await process.stdout.readline()).decode().strip()
    assert code.split("-")[0].isdigit() and line.startswith("p2pchat1")
    async with start_session(tmp_path, "bob") as guest:
        own_line, _ = guest.session.create_invite()
        meeting = CodeMeeting(mailbox.url, APPID, introduction(own_line), code=code)
        await meeting.open()
        assert read_introduction(await meeting.exchange()) == parse_invite(line)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    assert "was used: identity" in (await process.stderr.read()).decode()
    invites = Invites(get_paths().invites_file)
    secret = parse_invite(line).secret
    assert invites.redeem(secret, "SOMEONE-ELSE") is False
    assert invites.redeem(secret, guest.session.own_fingerprint) is True


def test_plain_mode_invites_with_a_code_and_connects_with_it(tmp_path, mailbox):
    from test_plain import PlainProcess

    alice = PlainProcess(tmp_path / "alice", "--port", "0", "--nickname", "alice", "--rendezvous", mailbox.url)
    bob = None
    try:
        alice.wait_line(r"listening")
        alice.process.stdin.write(b"/invite\n")
        alice.process.stdin.flush()
        code = alice.wait_line(r"^\* code: (\d+-[a-z]+-[a-z]+)  \(your peer types it into").group(1)
        alice.wait_line(r"^\* or this invite line \(good for one peer")
        alice.wait_line(r"^p2pchat1[a-z0-9]+$")
        bob = PlainProcess(tmp_path / "bob", "--port", "0", "--nickname", "bob", "--rendezvous", mailbox.url,
                           "--connect", code)
        bob.wait_line(r"^\* connected to alice")
        alice.wait_line(r"^\* connected to bob")
        bob.process.stdin.write(b"hello by code\n")
        bob.process.stdin.flush()
        alice.wait_line(r"<bob> hello by code$")
    finally:
        for process in (alice, bob):
            if process is not None:
                process.stop()


async def test_quitting_with_a_code_still_waiting_lets_it_go_at_once(tmp_path, mailbox):
    loop = asyncio.get_running_loop()
    async with start_session(tmp_path, "alice", rendezvous=mailbox.url) as a:
        offer = await a.session.invite()
        assert offer.code
        start = loop.time()
    assert loop.time() - start < 3  # the mailbox closed (lonely) and the WebSocket with it
    third = CodeMeeting(mailbox.url, APPID, b"late", code=offer.code, peer_timeout=1.0)
    await third.open()
    with pytest.raises(ValueError, match="nobody is waiting on that code"):
        await third.exchange()
