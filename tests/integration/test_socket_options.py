"""The kernel options a live connection sets, read back from its sockets: the bound on unsent
bytes (TCP_NOTSENT_LOWAT) on both ends, and the receive window clamp that follows a slow
reader down (TCP_WINDOW_CLAMP). Linux only: elsewhere neither is set."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys

import pytest

from p2pchat.net.connection import UNSENT_LIMIT, Connection
from p2pchat.net.pacing import MIN_RECEIVE_WINDOW
from p2pchat.protocol import FileChunk
from tests.support.pair import connected_pair

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="TCP_NOTSENT_LOWAT and TCP_WINDOW_CLAMP are Linux's")

TCP_NOTSENT_LOWAT = 25  # <netinet/tcp.h>; not in Python's socket module
CHUNK = 64 * 1024


def tcp_option(conn: Connection, option: int) -> int:
    return conn.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, option)


async def test_both_ends_bound_their_unsent_bytes():
    async with connected_pair() as (dialer, listener):
        assert tcp_option(dialer, TCP_NOTSENT_LOWAT) == UNSENT_LIMIT
        assert tcp_option(listener, TCP_NOTSENT_LOWAT) == UNSENT_LIMIT


async def test_the_window_a_reader_advertises_follows_its_pace_down():
    """Read back after every frame: the kernel's own autotuning raises the clamp again when a
    burst is read, until the next round trip's update lowers it, so the smallest value seen
    while reading slowly is the one this connection set."""
    async with connected_pair() as (sender, reader):

        async def send_forever():
            offset = 0
            while True:
                await sender.send_chunk(1, offset, bytes(CHUNK))
                offset += CHUNK

        async def clamps_while_reading(seconds: float, pause: float) -> list[int]:
            loop = asyncio.get_running_loop()
            until, seen = loop.time() + seconds, []
            while loop.time() < until:
                assert isinstance(await reader.recv(), FileChunk)
                seen.append(tcp_option(reader, socket.TCP_WINDOW_CLAMP))
                await asyncio.sleep(pause)
            return seen

        sending = asyncio.ensure_future(send_forever())
        try:
            fast = await clamps_while_reading(0.3, 0)
            slow = await clamps_while_reading(1.5, 0.005)  # at most 13 MB/s: far below loopback's pace
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sending
    assert max(fast) > 4 * MIN_RECEIVE_WINDOW, max(fast)
    assert min(slow) <= 2 * MIN_RECEIVE_WINDOW, (max(fast), min(slow))
