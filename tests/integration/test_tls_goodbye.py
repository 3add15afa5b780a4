"""Leaving a TLS connection while the peer is still sending file data: the goodbye is heard,
and the connection ends with a TLS close on both sides, not in an error and a reset."""

from __future__ import annotations

import asyncio
import contextlib

from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import Bye
from tests.support.pair import connected_pair


async def send_until_closed(conn: Connection) -> None:
    block = bytes(1 << 20)
    offset = 0
    with contextlib.suppress(ConnectionClosed, OSError):
        while True:
            await conn.send_chunk(1, offset, block)
            offset += len(block)


async def read_until_goodbye(conn: Connection):
    while not isinstance(frame := await conn.recv(), Bye):
        pass
    conn.close()  # what a session does on hearing BYE
    return frame


async def test_leaving_while_the_peer_sends_file_data_ends_with_a_tls_close(tmp_path):
    async with connected_pair(tmp_path) as (sender, leaver):
        sending = asyncio.create_task(send_until_closed(sender))
        heard = asyncio.create_task(read_until_goodbye(sender))
        # the leaver's kernel and read-ahead fill up: file data is on its way when it leaves
        while leaver.protocol._queued_bytes < 2 << 20:
            await asyncio.sleep(0.01)
        leaver.discard_incoming()
        leaver.send(Bye("quit"))
        await leaver.close_after_goodbye()
        assert (await asyncio.wait_for(heard, 5)).reason == "quit"
        await asyncio.wait_for(sending, 5)
        # Closed by the peer's TLS close, not by a TLS error (data after our close_notify)
        # that would have reset the connection under the peer's feet.
        assert str(leaver.protocol.error) == "the peer closed the connection"
        await asyncio.wait_for(asyncio.shield(sender.protocol.closed), 5)
        assert "reset" not in str(sender.protocol.error)
