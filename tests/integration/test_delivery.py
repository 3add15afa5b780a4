"""Delivery receipts, messages pending while disconnected, history per identity, no history
on disk when it is off, and queued messages that survive a restart."""

from __future__ import annotations

import asyncio
import os
import sys

from p2pchat.history import History
from p2pchat.protocol import Ready, Text
from p2pchat.session.events import (
    Connected,
    Disconnected,
    HistoryLoaded,
    MessageDelivered,
    MessageReceived,
    MessageSent,
)
from tests.support.raw_peer import RawPeer
from tests.support.session import free_port, session_paths, start_session, two_sessions, wait_until


def bodies(peer) -> list[str]:
    return [e.message.body for e in peer.events.of(MessageReceived)]


def stored(root, nickname: str, peer_id: str) -> list[tuple[str, bool, str]]:
    with History.open(session_paths(root / nickname).history_file) as history:
        return [(m.body, m.outgoing, m.state) for m in history.recent(peer_id, 1000)]


async def test_a_message_is_sent_then_delivered_and_the_receipt_is_stored(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        message_id = a.session.send_text("hello")
        sent = a.events.find(MessageSent)
        assert (sent.message.id, sent.message.state) == (message_id, "sent")
        await a.events.wait_for(MessageDelivered, lambda e: e.id == message_id)
        assert bodies(b) == ["hello"]
        assert a.session.unacked_count == 0
        bob_id = b.session.own_fingerprint
    assert stored(tmp_path, "alice", bob_id) == [("hello", True, "delivered")]


async def test_messages_typed_while_disconnected_are_pending_then_delivered_in_order(tmp_path):
    async with two_sessions(tmp_path, reconnect=1) as (a, b):
        a.session.connection.abort()  # alice does not dial: bob must come back for these
        await a.events.wait_for(Disconnected)
        ids = [a.session.send_text(f"while away {n}") for n in range(5)]
        pending = [e.message for e in a.events.of(MessageSent) if e.message.id in ids]
        assert [m.state for m in pending] == ["pending"] * 5
        assert a.session.unacked_count == 5
        await b.events.wait_for(Connected, lambda e: e.resumed)
        for message_id in ids:
            await a.events.wait_for(MessageDelivered, lambda e, i=message_id: e.id == i)
        assert bodies(b) == [f"while away {n}" for n in range(5)]


async def test_history_is_kept_per_identity_and_shown_on_the_next_connect(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        a.session.send_text("for bob only")
        await b.events.wait_for(MessageReceived)
        b.session.send_text("bob answers")
        await a.events.wait_for(MessageReceived)
        await wait_until(lambda: a.session.unacked_count == 0 and b.session.unacked_count == 0)
        bob_id = b.session.own_fingerprint
    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "carol") as c:
        await c.session.connect(a.address)
        await a.events.wait_for(Connected)
        assert a.events.find(HistoryLoaded) is None  # nothing with carol yet, bob's stays apart
        c.session.send_text("carol here")
        await a.events.wait_for(MessageReceived)
    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "bob") as b:
        await b.session.connect(a.address)
        shown = await a.events.wait_for(HistoryLoaded)
        assert [(m.body, m.outgoing) for m in shown.messages] == [("for bob only", True), ("bob answers", False)]
        assert [m.body for m in (await b.events.wait_for(HistoryLoaded)).messages] == ["for bob only", "bob answers"]
    assert [body for body, _, _ in stored(tmp_path, "alice", bob_id)] == ["for bob only", "bob answers"]


async def test_history_off_writes_nothing_to_disk(tmp_path):
    async with two_sessions(tmp_path, save_history=False) as (a, b):
        a.session.send_text("not kept")
        await b.events.wait_for(MessageReceived)
        await wait_until(lambda: a.session.unacked_count == 0)
    assert not list(tmp_path.rglob("*.sqlite3*"))
    async with two_sessions(tmp_path / "again", save_history=False) as (a, b):
        assert a.events.find(HistoryLoaded) is None and b.events.find(HistoryLoaded) is None


async def test_no_history_option_of_the_plain_front_end_writes_nothing(tmp_path):
    home = tmp_path / "home"
    async with start_session(tmp_path, "alice") as a:
        env = {k: v for k, v in os.environ.items() if not k.startswith("P2PCHAT_")}
        env.update(P2PCHAT_HOME=str(home), P2PCHAT_ACCEPT_UNKNOWN="always", P2PCHAT_RELAY="", P2PCHAT_RENDEZVOUS="")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "p2pchat", "--plain", "--no-history", "--nickname", "dora",
            "--port", "0", "--bind", "127.0.0.1", "--connect", a.address,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )
        await a.events.wait_for(Connected, timeout=20)
        await asyncio.wait_for(process.communicate(b"one line\n"), 30)  # end of input: deliver, quit
        assert process.returncode == 0
        assert bodies(a) == ["one line"]
    assert (home / "data").exists()  # it did run with this home (its identity is there)
    assert not list(home.rglob("*.sqlite3*"))
    assert list(tmp_path.glob("alice/data/history.sqlite3"))  # alice keeps hers


async def test_queued_messages_survive_a_restart_and_go_out_once_in_order(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        b.session.send_text("before")
        await a.events.wait_for(MessageReceived)
        await wait_until(lambda: b.session.unacked_count == 0)
        alice_id = a.session.own_fingerprint
        await a.session.quit()  # alice leaves; bob writes three more messages, then quits
        await b.events.wait_for(Disconnected)
        for n in range(3):
            b.session.send_text(f"queued {n}")
        assert [e.message.state for e in b.events.of(MessageSent)][-3:] == ["pending"] * 3
    assert [(m, s) for m, _, s in stored(tmp_path, "bob", alice_id)][-3:] == [(f"queued {n}", "pending") for n in range(3)]
    # Both start again: the queued messages go out first, once, in order.
    async with two_sessions(tmp_path) as (a, b):
        await wait_until(lambda: len(bodies(a)) >= 3)
        await wait_until(lambda: b.session.unacked_count == 0)
        assert bodies(a) == [f"queued {n}" for n in range(3)]
        b.session.send_text("after")
        await a.events.wait_for(MessageReceived, lambda e: e.message.body == "after")
        assert bodies(a) == [f"queued {n}" for n in range(3)] + ["after"]
        await wait_until(lambda: len(b.events.of(MessageDelivered)) == 4)
    assert [(m, s) for m, _, s in stored(tmp_path, "bob", alice_id)] == [
        ("before", "delivered"), *((f"queued {n}", "delivered") for n in range(3)), ("after", "delivered")]


async def test_messages_queued_for_one_peer_never_reach_another(tmp_path):
    async with start_session(tmp_path, "alice") as a:
        address = f"127.0.0.1:{a.session.listening_port}"
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(address)
            await wait_until(lambda: a.session.connected)
        await wait_until(lambda: not a.session.connected)  # bob said bye
        a.session.send_text("for bob only")
        async with start_session(tmp_path, "carol") as c:
            await c.session.connect(address)
            await wait_until(lambda: c.session.connected)
            c.session.send_text("hi alice")
            await a.events.wait_for(MessageReceived, lambda e: e.message.body == "hi alice")
            assert bodies(c) == []
        await wait_until(lambda: not a.session.connected)
        async with start_session(tmp_path, "bob") as b:  # same identity, same folder
            await b.session.connect(address)
            await b.events.wait_for(MessageReceived, lambda e: e.message.body == "for bob only")


async def test_a_line_typed_before_the_session_is_up_waits_until_it_is(tmp_path):
    async with start_session(tmp_path, "bob", tls=False) as bob:
        peer = await RawPeer.connect(bob.session.listening_port, ready=False)
        await peer.expect(Ready)  # bob has sent READY, but not received the peer's yet
        bob.session.send_text("typed during the handshake")
        assert bob.events.find(MessageSent).message.state == "pending"
        peer.send(Ready(None))
        text = await peer.expect(Text)
        assert text.body == "typed during the handshake"
        peer.close()


async def test_messages_written_before_the_first_connection_are_stored_then_go_to_the_first_peer(tmp_path):
    async with start_session(tmp_path, "alice") as a:
        await a.session.connect(f"127.0.0.1:{free_port()}")  # nobody there
        a.session.send_text("typed before anyone answered")
    # It is on disk, pending, before any peer was ever seen.
    with History.open(session_paths(tmp_path / "alice").history_file) as history:
        assert [(m.body, m.state) for m in history.pending("")] == [("typed before anyone answered", "pending")]
    async with two_sessions(tmp_path) as (a, b):
        await b.events.wait_for(MessageReceived, lambda e: e.message.body == "typed before anyone answered")
        await wait_until(lambda: a.session.unacked_count == 0)
        bob_id = b.session.own_fingerprint
    assert stored(tmp_path, "alice", bob_id) == [("typed before anyone answered", True, "delivered")]


async def test_lines_piped_into_plain_mode_before_the_first_connection_are_stored(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("P2PCHAT_")}
    env.update(P2PCHAT_HOME=str(home), P2PCHAT_ACCEPT_UNKNOWN="always", P2PCHAT_RELAY="", P2PCHAT_RENDEZVOUS="")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "p2pchat", "--plain", "--nickname", "dora", "--port", "0",
        "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{free_port()}",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
    )
    process.stdin.write(b"nobody is here yet\n/info\n")
    await process.stdin.drain()
    while b"* you: " not in await asyncio.wait_for(process.stdout.readline(), 30):
        pass  # lines are handled in order: once /info answered, the message was handled
    process.terminate()  # like ctrl+c before anyone connected
    await asyncio.wait_for(process.wait(), 30)
    [history_file] = home.rglob("history.sqlite3")
    with History.open(history_file) as history:
        assert [m.body for m in history.pending("")] == ["nobody is here yet"]
