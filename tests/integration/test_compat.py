"""Peers of other protocol versions: a different version is refused with a clear message on
both sides; frame types a newer peer may send are skipped without disturbing the chat."""

from __future__ import annotations

import asyncio
import struct

from helpers import start_session, wait_until
from test_hostile_transfer import RawPeer

from p2pchat.protocol import MAGIC, Decoder, Error, Hello, Ready, encode
from p2pchat.session.events import Dialing, Notice


async def test_newer_version_dialing_us_is_told_why_and_we_say_so(tmp_path):
    async with start_session(tmp_path, "bob", tls=False) as bob:
        reader, writer = await asyncio.open_connection("127.0.0.1", bob.session.listening_port)
        writer.write(MAGIC + encode(Hello(2, "future", "z" * 32, ("files",), None)))
        decoder = Decoder(expect_magic=True)
        error = None
        while error is None:
            data = await asyncio.wait_for(reader.read(65536), 5)
            assert data, "closed without an ERROR frame"
            decoder.receive_data(data)
            error = next((f for f in decoder if isinstance(f, Error)), None)
        assert error.code == "incompatible_version"
        assert "2" in error.message and "1" in error.message
        notice = await bob.events.wait_for(Notice, lambda e: "incompatible protocol version" in e.text)
        assert "peer speaks 2, we speak 1" in notice.text
        writer.close()


async def test_dialing_a_newer_version_stops_with_its_explanation(tmp_path):
    async def newer_listener(reader, writer):
        writer.write(MAGIC + encode(Error("incompatible_version", "peer speaks 1, we speak 2")))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(newer_listener, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, start_session(tmp_path, "bob", tls=False) as bob:
        await bob.session.connect(f"127.0.0.1:{port}")
        notice = await bob.events.wait_for(Notice, lambda e: "refused the connection" in e.text)
        assert "peer speaks 1, we speak 2" in notice.text
        await asyncio.sleep(1.5)  # a retry would have come after 0.5 s
        assert len([e for e in bob.events.of(Dialing) if e.retry_in is None]) == 1


async def test_unknown_frame_types_are_skipped(tmp_path):
    async with start_session(tmp_path, "bob", tls=False) as bob:
        peer = await RawPeer.connect(bob.session.listening_port)
        try:
            peer.send_raw(struct.pack(">IB", 5, 0x7E) + b"hello")  # a frame type of a newer version
            peer.send_raw(struct.pack(">IB", 0, 0x7F))  # and an empty one
            await peer.chat_still_works()
            await wait_until(lambda: bob.session.connected)
        finally:
            peer.close()


async def test_an_unknown_frame_before_hello_is_skipped(tmp_path):
    async with start_session(tmp_path, "bob", tls=False) as bob:
        reader, writer = await asyncio.open_connection("127.0.0.1", bob.session.listening_port)
        writer.write(MAGIC + struct.pack(">IB", 3, 0x7E) + b"new" + encode(Hello(1, "eve", "z" * 32, (), None)))
        peer = RawPeer(reader, writer)
        await peer.expect(Hello)
        await peer.expect(Ready)
        peer.send(Ready(None))
        await peer.chat_still_works()
        peer.close()


async def test_the_decider_ignores_a_session_in_the_other_sides_ready(tmp_path):
    async with start_session(tmp_path, "bob", tls=False) as bob:
        peer = await RawPeer.connect(bob.session.listening_port, ready=False)
        ready = await peer.expect(Ready)
        peer.send(Ready("f" * 32))  # the non-decider's READY names no session; this one is ignored
        await peer.chat_still_works()
        assert bob.session.presence.session_id == ready.session
        peer.close()
