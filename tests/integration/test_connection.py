"""The connection core over real loopback sockets: dialing, the decider, busy, bad
input on the listener, heartbeat, bye, ping, nick and message limits."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from p2pchat.identity import Identity
from p2pchat.net.tls import client_context
from p2pchat.protocol import MAGIC, MAX_FRAME, MAX_TEXT_BYTES, Decoder, Error, Hello
from p2pchat.session import StartError
from p2pchat.session.events import (
    Connected,
    Dialing,
    Disconnected,
    IdentityPrompt,
    Listening,
    MessageDelivered,
    MessageReceived,
    NickChanged,
    Notice,
    RttMeasured,
)
from tests.support import session as helpers
from tests.support.session import free_port, make_session, start_session, two_sessions, wait_until


async def assert_chat_works(a, b, text: str = "still here") -> None:
    """A message each way arrives and is acknowledged."""
    for sender, receiver in ((a, b), (b, a)):
        body = f"{text} from {sender.session.nickname}"
        message_id = sender.session.send_text(body)
        await receiver.events.wait_for(MessageReceived, lambda e, body=body: e.message.body == body)
        await sender.events.wait_for(MessageDelivered, lambda e, i=message_id: e.id == i)


# -- dialing ------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_listener_first_then_chat(tmp_path, tls):
    async with two_sessions(tmp_path, tls=tls) as (a, b):
        assert a.session.state == b.session.state == "connected"
        assert a.session.peer.nickname == "bob" and b.session.peer.nickname == "alice"
        assert a.session.peer.encrypted is tls and b.session.peer.encrypted is tls
        if tls:
            assert a.session.peer.fingerprint == b.session.own_fingerprint
            assert b.session.peer.fingerprint == a.session.own_fingerprint
        await assert_chat_works(a, b)


async def test_dialer_first_retries_until_the_listener_appears(tmp_path):
    port = free_port()
    async with start_session(tmp_path, "bob") as b:
        await b.session.connect(f"127.0.0.1:{port}")
        await b.events.wait_for(
            Dialing,
            lambda e: e.retry_in is not None and "nobody is listening" in e.reason,
        )
        assert b.session.state == "dialing"
        async with start_session(tmp_path, "alice", port=port, port_explicit=True) as a:
            assert a.session.listening_port == port
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
            await assert_chat_works(a, b)


async def test_both_dial_at_once_keep_exactly_one_session(tmp_path):
    for round_number in range(20):
        root = tmp_path / "shared"  # keys are made once and reused by every round
        async with start_session(root, "alice") as a, start_session(root, "bob") as b:
            await asyncio.gather(a.session.connect(b.address), b.session.connect(a.address))
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
            await asyncio.sleep(0.3)  # time for a losing connection to do damage
            context = f"round {round_number}"
            assert a.session.connected and b.session.connected, context
            assert a.session.presence.session_id == b.session.presence.session_id is not None, context
            assert len(a.events.of(Connected)) == len(b.events.of(Connected)) == 1, context
            assert not a.events.of(Disconnected) and not b.events.of(Disconnected), context
            await assert_chat_works(a, b, f"round {round_number}")


async def test_third_peer_is_refused_while_the_chat_goes_on(tmp_path):
    async with two_sessions(tmp_path) as (a, b), start_session(tmp_path, "carol") as c:
        await c.session.connect(a.address)
        refused = await c.events.wait_for(Notice, lambda e: "already in a chat" in e.text)
        assert refused.level == "error"
        await a.events.wait_for(Notice, lambda e: "carol" in e.text and "already in a chat" in e.text)
        assert not c.session.connected and c.session.state == "listening"  # it stopped dialing
        assert a.session.peer.nickname == "bob" and len(a.events.of(Connected)) == 1
        assert not a.events.of(Disconnected) and not b.events.of(Disconnected)
        await assert_chat_works(a, b)


async def test_dialing_itself_says_so_once_and_a_real_peer_can_still_connect(tmp_path):
    async with start_session(tmp_path, "alice") as a:
        await a.session.connect(a.address)
        said = await a.events.wait_for(Notice, lambda e: "is this p2pchat itself" in e.text)
        assert f"listens on port {a.session.listening_port}" in said.text
        await wait_until(lambda: a.session.state == "listening")
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(a.address)
            await a.events.wait_for(Connected)
            await assert_chat_works(a, b)
        assert [e.text for e in a.events.of(Notice) if e.level == "error"] == [said.text]


async def test_another_instance_with_the_same_identity_is_named_on_both_sides(tmp_path):
    async with start_session(tmp_path, "alice") as first, start_session(tmp_path, "alice") as second:
        await second.session.connect(first.address)
        for side in (first, second):
            await side.events.wait_for(Notice, lambda e: "same identity" in e.text and "P2PCHAT_HOME" in e.text)
        await wait_until(lambda: second.session.state == "listening")


async def test_connect_while_connected_says_what_will_happen_and_redials_the_new_address(tmp_path):
    async with two_sessions(tmp_path, reconnect=1) as (a, b):
        other = f"127.0.0.1:{free_port()}"
        await b.session.connect(other)
        said = await b.events.wait_for(Notice, lambda e: "already connected to alice" in e.text)
        assert f"will call {other} instead of {a.address}" in said.text
        assert b.session.connected and b.session.peer.nickname == "alice"  # the chat goes on
        await assert_chat_works(a, b)
        b.session.connection.abort()  # the link drops: bob calls the address he gave last
        await b.events.wait_for(Dialing, lambda e: e.address == other)
        assert not [e for e in b.events.of(Dialing) if e.address == a.address and e.attempt > 1]


async def test_connect_while_connected_to_our_own_address_is_refused_at_once(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        for own in (b.address, f"localhost:{b.session.listening_port}"):
            with pytest.raises(ValueError, match="is this p2pchat itself"):
                await b.session.connect(own)
        await assert_chat_works(a, b)  # and bob still calls alice if the link drops
        assert not [e for e in b.events.of(Notice) if "will call" in e.text]


async def test_an_address_with_the_peers_key_that_leads_back_to_us_is_named_as_ourselves(tmp_path):
    from p2pchat.identity.fingerprints import share_address

    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "bob") as b:
        # bob's key, alice's own port: not an interception, a wrong port
        await a.session.connect(share_address("127.0.0.1", a.session.listening_port, b.session.own_fingerprint))
        said = await a.events.wait_for(Notice, lambda e: e.level == "error")
        assert "is this p2pchat itself" in said.text and "MISMATCH" not in said.text


async def test_the_accepted_side_says_it_waits_while_the_peer_is_asked(tmp_path):
    async with start_session(tmp_path, "alice", accept_unknown="ask") as a, start_session(tmp_path, "bob") as b:
        a.session.interactive = True  # alice is asked about bob's key, and takes her time
        await b.session.connect(a.address)
        await a.events.wait_for(IdentityPrompt)
        await b.events.wait_for(Notice, lambda e: e.text == "waiting for alice to accept your key")
        a.session.answer_identity(True)
        await b.events.wait_for(Connected)
        assert len([e for e in b.events.of(Notice) if "waiting for" in e.text]) == 1


async def test_a_reset_connection_is_reported_in_one_plain_sentence(tmp_path):
    async with two_sessions(tmp_path, reconnect=1) as (a, b):
        sock = a.session.connection.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        a.session.connection.transport.abort()
        lost = await b.events.wait_for(Disconnected)
        assert lost.reason.startswith("connection lost: ") and lost.reason.count("connection lost") == 1


async def test_explicit_port_in_use_is_an_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        peer = make_session(tmp_path, "alice", port=port, port_explicit=True)
        with pytest.raises(StartError, match="already in use"):
            await peer.session.start()


async def test_default_port_in_use_listens_elsewhere_with_a_note(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with start_session(tmp_path, "alice", port=port) as a:
            listening = a.events.find(Listening)
            assert listening.port == a.session.listening_port != port
            assert f"port {port} is in use" in listening.note
            assert not a.events.find(Notice, lambda e: f"port {port} is in use" in e.text)  # said once


# -- bad input on the listener --------------------------------------------------------


@pytest.fixture
def short_handshake(monkeypatch):
    monkeypatch.setitem(helpers.SESSION_DEFAULTS, "handshake_timeout", 1.0)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the listener sends before it closes; fails if it does not close in time."""
    data = bytearray()
    async def drain():
        while True:
            try:
                chunk = await reader.read(65536)
            except (ConnectionError, ssl.SSLError):
                return
            if not chunk:
                return
            data.extend(chunk)
    await asyncio.wait_for(drain(), timeout)
    return bytes(data)


def frames_in(data: bytes) -> list:
    decoder = Decoder(expect_magic=True)
    decoder.receive_data(data)
    return list(decoder)


async def open_raw(port: int, tls_identity: Identity | None):
    context = client_context(tls_identity) if tls_identity else None
    return await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="p2pchat" if context else None
    )


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_silent_connection_is_dropped_after_the_timeout(tmp_path, tls, short_handshake):
    async with two_sessions(tmp_path, tls=tls) as (a, b):
        reader, writer = await asyncio.open_connection("127.0.0.1", a.session.listening_port)
        await assert_chat_works(a, b)  # meanwhile the silent one waits for its timeout...
        assert not reader.at_eof()
        assert await read_until_closed(reader, 10) == b""  # ...and then it is dropped
        writer.close()
        await assert_chat_works(a, b)


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_silent_peer_after_tls_and_magic_is_dropped(tmp_path, tls, short_handshake):
    identity = Identity.load_or_create(tmp_path / "raw-identity") if tls else None
    async with two_sessions(tmp_path, tls=tls) as (a, b):
        reader, writer = await open_raw(a.session.listening_port, identity)
        writer.write(MAGIC)  # then nothing: no HELLO
        await assert_chat_works(a, b)  # meanwhile the silent one waits for its timeout...
        assert not reader.at_eof()
        received = frames_in(await read_until_closed(reader, 10))  # ...and then it is dropped
        assert isinstance(received[0], Hello)  # the listener spoke first, then gave up on us
        writer.close()
        await assert_chat_works(a, b)


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_garbage_bytes_are_refused(tmp_path, tls, short_handshake):
    async with two_sessions(tmp_path, tls=tls) as (a, b):
        reader, writer = await asyncio.open_connection("127.0.0.1", a.session.listening_port)
        writer.write(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        answer = await read_until_closed(reader, 3)
        assert b"HTTP" not in answer  # nothing is echoed or interpreted
        if not tls:  # a plain listener says why; a TLS one fails the TLS handshake
            assert frames_in(answer)[-1] == Error("bad_magic", frames_in(answer)[-1].message)
        writer.close()
        await assert_chat_works(a, b)
        assert a.session.peer.nickname == "bob" and not a.events.of(Disconnected)


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_oversized_length_prefix_is_refused_before_reading_it(tmp_path, tls):
    identity = Identity.load_or_create(tmp_path / "raw-identity") if tls else None
    # The handshake timeout is far longer than we wait: only an immediate refusal is seen.
    async with two_sessions(tmp_path, tls=tls, handshake_timeout=300.0) as (a, b):
        reader, writer = await open_raw(a.session.listening_port, identity)
        writer.write(MAGIC + struct.pack(">IB", MAX_FRAME + 1, 0x01))  # and no body at all
        data = await read_until_closed(reader, 10)
        received = frames_in(data)
        assert isinstance(received[0], Hello)
        assert isinstance(received[-1], Error) and received[-1].code == "frame_too_large"
        writer.close()
        await assert_chat_works(a, b)


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
async def test_truncated_frame_then_close(tmp_path, tls, short_handshake):
    identity = Identity.load_or_create(tmp_path / "raw-identity") if tls else None
    async with two_sessions(tmp_path, tls=tls) as (a, b):
        reader, writer = await open_raw(a.session.listening_port, identity)
        writer.write(MAGIC + struct.pack(">IB", 200, 0x01) + b'{"version": 1')
        await writer.drain()
        writer.close()
        await read_until_closed(reader, 3)
        await asyncio.sleep(0.2)
        await assert_chat_works(a, b)
        assert not a.events.of(Disconnected) and len(a.events.of(Connected)) == 1


async def test_protocol_violation_in_the_handshake_gets_an_error_frame(tmp_path, short_handshake):
    async with two_sessions(tmp_path, tls=False) as (a, b):
        reader, writer = await open_raw(a.session.listening_port, None)
        await asyncio.sleep(0.1)  # let the listener send its HELLO first
        writer.write(MAGIC + b"\x00\x00\x00\x02\x10{}")  # a TEXT before any HELLO
        received = frames_in(await read_until_closed(reader, 3))
        writer.close()
        errors = [f for f in received if isinstance(f, Error)]
        assert errors, received
        assert errors[0].code == "bad_frame" and "TEXT.id" in errors[0].message
        await assert_chat_works(a, b)


async def test_listener_still_accepts_after_bad_clients(tmp_path, short_handshake):
    async with start_session(tmp_path, "alice") as a:
        for payload in (b"", b"\x16\x03\x01garbage", b"P2PC", b"junkjunkjunk"):
            reader, writer = await asyncio.open_connection("127.0.0.1", a.session.listening_port)
            writer.write(payload)
            writer.close()
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(a.address)
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
            await assert_chat_works(a, b)


# -- liveness and leaving ---------------------------------------------------------------


def plain_peer_process(home: Path, *args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "P2PCHAT_HOME": str(home), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "p2pchat", "--plain", "--nickname", "frozen", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
    )


async def test_an_idle_healthy_link_outlives_many_heartbeat_timeouts(tmp_path):
    timers = dict(heartbeat_interval=0.1, heartbeat_timeout=0.5)
    async with two_sessions(tmp_path, **timers) as (a, b):
        await asyncio.sleep(2.5)  # five timeouts with nothing typed: only heartbeats flow
        assert not a.events.of(Disconnected) and not b.events.of(Disconnected)
        assert a.events.of(RttMeasured) and b.events.of(RttMeasured)  # pings were answered
        await assert_chat_works(a, b)
        assert len(a.events.of(Connected)) == len(b.events.of(Connected)) == 1


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
async def test_frozen_peer_is_detected_by_the_heartbeat(tmp_path):
    async with start_session(
        tmp_path, "alice", heartbeat_interval=0.2, heartbeat_timeout=1.0
    ) as a:
        process = plain_peer_process(
            tmp_path / "frozen-home", "--connect", a.address, "--port", "0", "--bind", "127.0.0.1",
            P2PCHAT_HEARTBEAT_INTERVAL="0.2", P2PCHAT_HEARTBEAT_TIMEOUT="1",
            P2PCHAT_ACCEPT_UNKNOWN="always",
        )
        try:
            await a.events.wait_for(Connected, timeout=20)
            await asyncio.sleep(3.0)  # three heartbeat timeouts of an idle, healthy link...
            assert a.session.connected and not a.events.of(Disconnected)  # ...and no false alarm
            process.send_signal(signal.SIGSTOP)
            lost = await a.events.wait_for(Disconnected, timeout=20)
            assert "no heartbeat" in lost.reason and not lost.by_peer
            assert not a.session.connected
        finally:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.communicate(timeout=10)


async def test_bye_tells_the_peer_who_left(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        await a.session.quit()
        left = await b.events.wait_for(Disconnected)
        assert left.by_peer and left.reason == "alice left (quit)"
        assert b.session.state == "listening" and not b.session.connected


async def test_bye_to_the_dialer_stops_its_reconnects(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        await a.session.quit()
        left = await b.events.wait_for(Disconnected)
        assert left.reason == "alice left (quit)" and not left.will_reconnect
        await asyncio.sleep(0.5)
        assert b.session.state == "listening"


async def test_ping_measures_the_round_trip(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        b.session.ping()
        measured = await b.events.wait_for(RttMeasured)
        assert measured.rtt_ms >= 0  # how small it is: benchmarks/messages.py
        assert b.session.rtt_ms == measured.rtt_ms
        assert "round trip" in b.session.info()


async def test_ping_without_a_peer_is_a_notice(tmp_path):
    async with start_session(tmp_path, "alice") as a:
        a.session.ping()
        assert a.events.find(Notice, lambda e: e.text == "not connected")


# -- chat --------------------------------------------------------------------------------


async def test_nick_change_reaches_the_peer(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        a.session.change_nick("alicia")
        changed = await b.events.wait_for(NickChanged)
        assert (changed.old, changed.new, changed.by_peer) == ("alice", "alicia", True)
        assert b.session.peer.nickname == "alicia"
        assert a.events.find(NickChanged, lambda e: not e.by_peer and e.new == "alicia")
        a.session.send_text("new name")
        received = await b.events.wait_for(MessageReceived)
        assert received.message.sender == "alicia"


async def test_bad_nick_is_refused_locally(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        with pytest.raises(ValueError):
            a.session.change_nick("bad\nname")
        assert a.session.nickname == "alice"
        await assert_chat_works(a, b)
        assert not b.events.of(NickChanged)


async def test_largest_message_works_and_one_byte_more_is_refused(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        largest = "é" * (MAX_TEXT_BYTES // 2)  # multi-byte characters: the limit is in bytes
        assert len(largest.encode()) == MAX_TEXT_BYTES == 65536
        a.session.send_text(largest)
        received = await b.events.wait_for(MessageReceived)
        assert received.message.body == largest
        with pytest.raises(ValueError, match="too long .*65,537 bytes.*65,536"):
            a.session.send_text(largest + "x")
        assert a.session.unacked_count == 0 or await a.session.wait_delivered(5)
        await assert_chat_works(a, b)
        assert len(b.events.of(MessageReceived)) == 2


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_ipv6_loopback_dialing(tmp_path):
    async with start_session(tmp_path, "alice", bind="::1") as a, start_session(tmp_path, "bob") as b:
        await b.session.connect(f"[::1]:{a.session.listening_port}")
        await a.events.wait_for(Connected)
        connected = await b.events.wait_for(Connected)
        assert connected.peer.address == f"[::1]:{a.session.listening_port}"
        await assert_chat_works(a, b)


async def test_messages_arrive_once_and_in_order(tmp_path):
    async with two_sessions(tmp_path) as (a, b):
        sent = [f"message {i}" for i in range(200)]
        for body in sent:
            a.session.send_text(body)
        await wait_until(lambda: len(b.events.of(MessageReceived)) == len(sent))
        assert [e.message.body for e in b.events.of(MessageReceived)] == sent
        assert await a.session.wait_delivered(5)



async def test_reconnect_while_the_decider_still_holds_the_old_connection(tmp_path):
    """The side that lost the link comes back with the same session id; the decider, which did
    not notice the loss, moves the session to the new connection at once."""
    from p2pchat.protocol import is_decider

    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "bob") as b:
        decider, other = (a, b) if is_decider(a.session.own_fingerprint, b.session.own_fingerprint) else (b, a)
        await other.session.connect(f"127.0.0.1:{decider.session.listening_port}")
        await wait_until(lambda: a.session.connected and b.session.connected)
        stale = other.session.connection
        stale.abort = lambda: None  # only this side believes the link is gone
        other.session._lost(stale, "connection lost: simulated", False)
        await other.events.wait_for(Connected, lambda e: e.resumed, timeout=5)
        assert decider.session.connected and decider.session.connection is not stale
        assert not decider.events.of(Disconnected)
        await assert_chat_works(a, b, "after the move")
        stale.transport.abort()


async def test_last_seen_is_when_the_chat_ended_not_when_it_began(tmp_path):
    from p2pchat.identity import KnownPeers

    async with start_session(tmp_path, "alice") as a:
        async with start_session(tmp_path, "bob") as b:
            await b.session.connect(a.address)
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
            began = KnownPeers.load(a.session.paths.known_peers_file).get(b.session.own_fingerprint).last_seen
            await asyncio.sleep(1.1)  # last_seen counts whole seconds
            await b.session.quit()
            await a.events.wait_for(Disconnected)
        ended = KnownPeers.load(a.session.paths.known_peers_file).get(b.session.own_fingerprint).last_seen
        assert ended > began  # the side that was left
    mine = KnownPeers.load(b.session.paths.known_peers_file).get(a.session.own_fingerprint)
    assert mine.last_seen > began  # the side that quit
