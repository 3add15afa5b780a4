"""Dialing from the listening port: the listener keeps working and stays the only listener."""

from __future__ import annotations

import asyncio
import socket

import pytest

from p2pchat.net.bind import PortInUse, open_listening_socket
from p2pchat.net.punch import dial_from_port


async def test_a_dial_from_the_listening_port_leaves_the_listener_alone():
    listening = open_listening_socket("127.0.0.1", 0)
    port = listening.getsockname()[1]
    other = socket.create_server(("127.0.0.1", 0))
    try:
        sock = await dial_from_port("127.0.0.1", other.getsockname()[1], port, timeout=5)
        assert sock.getsockname() == ("127.0.0.1", port)  # the peer sees our listening port
        sock.close()
        # Still the one listener: a second one on the port is refused...
        with pytest.raises(PortInUse):
            open_listening_socket("127.0.0.1", port)
        # ...and the first still takes calls.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        loop = asyncio.get_running_loop()
        accepted, _ = await asyncio.wait_for(loop.sock_accept(listening), 5)
        accepted.close()
        writer.close()
    finally:
        listening.close()
        other.close()


async def test_a_dial_nobody_answers_ends_at_its_timeout():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: every SYN is refused
        port = unused.getsockname()[1]
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ConnectionRefusedError):
            await dial_from_port("127.0.0.1", port, 0, timeout=0.5)
        assert 0.4 < loop.time() - started < 3  # redialed until its time was up, then gave up
