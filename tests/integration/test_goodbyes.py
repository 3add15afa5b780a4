"""Connections that end in an unusual way, driven by a raw peer over plain TCP: the last
words a peer sent before closing are heard, and quitting says goodbye."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

from test_hostile_transfer import offer_accepted

from p2pchat.net import connection
from p2pchat.protocol import MAGIC, Busy, Bye, Decoder, FileChunk, Hello, Ping, Pong, Ready, encode
from p2pchat.session.events import Connected, Dialing, Disconnected, Notice
from p2pchat.session.transfers import runner
from p2pchat.transfer.lanes import DISK_THREADS, disk_lane
from tests.support.raw_peer import RawPeer
from tests.support.session import start_session, wait_until


@contextlib.contextmanager
def stuck_disk():
    """Every disk thread busy until the block ends: writes queue up behind them."""
    disk_free = threading.Event()
    stalls = [disk_lane().submit(disk_free.wait) for _ in range(DISK_THREADS)]
    try:
        yield
    finally:
        disk_free.set()
        assert all(stall.result(timeout=10) for stall in stalls)


async def _frames_until_closed(peer: RawPeer) -> list:
    while data := await asyncio.wait_for(peer.reader.read(65536), 10):
        peer.decoder.receive_data(data)
    return list(peer.decoder)


async def test_busy_sent_with_the_close_stops_the_dialer(tmp_path):
    accepted = 0

    async def busy_listener(reader, writer):
        nonlocal accepted
        accepted += 1
        decoder = Decoder(expect_magic=True)
        while not any(isinstance(f, Hello) for f in list(decoder)):
            decoder.receive_data(await reader.read(65536))
        # HELLO and BUSY in one write, then the close: the dialer's READY meets a closed socket.
        writer.write(MAGIC + encode(Hello(1, "carol", "z" * 32, ("files",), None)) + encode(Busy("already in a chat")))
        writer.close()

    server = await asyncio.start_server(busy_listener, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, start_session(tmp_path, "bob", tls=False) as bob:
        await bob.session.connect(f"127.0.0.1:{port}")
        notice = await bob.events.wait_for(Notice, lambda e: "already in a chat" in e.text)
        assert notice.level == "error"
        await wait_until(lambda: bob.session.caller._task.done())
        assert accepted == 1
        assert [e.retry_in for e in bob.events.of(Dialing)] == [None]
        assert bob.session.state == "listening"


async def test_connecting_while_another_handshake_is_half_done_retries_without_a_crash(tmp_path):
    async with start_session(tmp_path, "alice", tls=False) as alice, \
            start_session(tmp_path, "bob", tls=False) as bob:
        # mallory's handshake with alice waits for mallory's READY...
        mallory = await RawPeer.connect(alice.session.listening_port, ready=False)
        await mallory.expect(Ready)
        # ...while alice dials bob: bob is told alice is busy, and alice tries again later.
        await alice.session.connect(bob.address)
        await alice.events.wait_for(Dialing, lambda e: e.retry_in is not None)
        busy = await alice.events.wait_for(Notice, lambda e: "already in a chat" in e.text)
        assert busy.text.startswith("not connecting to bob")
        assert not any("internal error" in e.text for e in alice.events.of(Notice))
        assert not any("tried to connect" in e.text for e in alice.events.of(Notice))
        mallory.close()  # mallory gives up: the next attempt reaches bob
        await alice.events.wait_for(Connected, lambda e: e.peer.nickname == "bob")
        assert not any("internal error" in e.text for e in alice.events.of(Notice))


async def test_quitting_as_a_handshake_finishes_says_bye(tmp_path):
    async with start_session(tmp_path, "alice", tls=False) as alice:
        peer = await RawPeer.connect(alice.session.listening_port, ready=False)
        await peer.expect(Ready)
        peer.send(Ready(None))
        await alice.session.quit()
        frames = await _frames_until_closed(peer)
        assert Bye("quit") in frames



async def test_the_hello_deadline_runs_from_the_connect_not_from_the_first_bytes(tmp_path):
    async with start_session(tmp_path, "bob", tls=False, handshake_timeout=3.0) as bob:
        reader, writer = await asyncio.open_connection("127.0.0.1", bob.session.listening_port)
        await asyncio.sleep(1.8)
        writer.write(MAGIC)  # the listener says nothing until these 4 bytes arrive...
        decoder = Decoder(expect_magic=True)
        while not list(decoder):
            decoder.receive_data(await asyncio.wait_for(reader.read(65536), 10))
        await asyncio.sleep(1.8)  # ...and 3.6 s after the connect is too late for HELLO
        writer.write(encode(Hello(1, "slow", "z" * 32, ("files",), None)))
        frames = []
        with contextlib.suppress(ConnectionError):
            while not any(isinstance(f, Ready) for f in frames) and (data := await asyncio.wait_for(reader.read(65536), 10)):
                decoder.receive_data(data)
                frames += list(decoder)
        assert not any(isinstance(f, Ready) for f in frames)
        assert not bob.session.connected
        writer.close()


async def test_a_bye_behind_frames_we_could_not_answer_is_still_heard(tmp_path):
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True) as bob:
        peer = await RawPeer.connect(bob.session.listening_port)
        block = os.urandom(1020 * 1024)
        count = runner.WRITE_BACKLOG // len(block) + 4  # the last ones wait unread
        tid = await offer_accepted(peer, "big.bin", count * len(block))
        with stuck_disk():
            # Bob reads chunks until too much waits for the disk, then the PING, the BYE and our close.
            peer.send(*[FileChunk(tid, n * len(block), block) for n in range(count)], Ping(1.0), Bye("quit"))
            peer.writer.close()
            await wait_until(lambda: bob.session.connection is None or bob.session.connection.transport.is_closing())
        # Now bob's PONG cannot go out; the BYE behind it must still say why we left.
        left = await bob.events.wait_for(Disconnected)
        assert (left.reason, left.by_peer) == ("mallory left (quit)", True)


async def test_a_ping_received_while_the_disk_is_behind_is_answered_at_once(tmp_path):
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True) as bob:
        peer = await RawPeer.connect(bob.session.listening_port)
        block = os.urandom(1020 * 1024)
        count = runner.WRITE_BACKLOG // len(block) + 1  # one more than the disk may fall behind
        tid = await offer_accepted(peer, "big.bin", 4 * count * len(block))
        with stuck_disk():
            peer.send(*[FileChunk(tid, n * len(block), block) for n in range(count)])
            await asyncio.sleep(0.5)  # bob is behind now
            peer.send(Ping(7.0))
            assert await peer.expect(Pong, lambda f: f.ts == 7.0)  # not after the disk


async def test_a_bye_behind_more_file_data_than_the_receiver_reads_ahead_is_still_heard(tmp_path, monkeypatch):
    # Bob reads ahead of a stuck disk no more than these (small enough that the BYE below waits
    # in his kernel, large enough that the kernels on both ends hold what he does not read).
    monkeypatch.setattr(runner, "WRITE_BACKLOG", 2 * 1024 * 1024)
    monkeypatch.setattr(connection, "RECV_HIGH", 1024 * 1024)
    monkeypatch.setattr(connection, "RECV_LOW", 512 * 1024)
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True, heartbeat_interval=0.5) as bob:
        peer = await RawPeer.connect(bob.session.listening_port)
        block = os.urandom(1020 * 1024)
        tid = await offer_accepted(peer, "big.bin", 12 * len(block))
        with stuck_disk():
            # We close with most of this unread; bob's next heartbeat meets our reset. The BYE he
            # has not read yet must still say why we left, and not only once his disk is back.
            peer.send(*[FileChunk(tid, n * len(block), block) for n in range(6)], Bye("quit"))
            peer.writer.close()
            left = await bob.events.wait_for(Disconnected)
            assert (left.reason, left.by_peer) == ("mallory left (quit)", True)
