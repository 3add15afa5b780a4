"""What the kernel says about a TCP connection, on real sockets over loopback (Linux only)."""

from __future__ import annotations

import socket
import struct
import sys
import time

import pytest

from p2pchat.net import tcp_info

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO is Linux's")


def connected_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        ours = socket.create_connection(server.getsockname())
        theirs, _ = server.accept()
    return ours, theirs


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_peer_that_closed_behind_unread_data_is_seen_as_closed():
    ours, theirs = connected_pair()
    with ours:
        assert not tcp_info.peer_closed(ours)
        theirs.sendall(b"last words")
        theirs.close()
        assert wait_for(lambda: tcp_info.peer_closed(ours))
        assert ours.recv(100) == b"last words"  # still there to read


def test_a_reset_counts_as_closed_and_a_closed_socket_as_unknown():
    ours, theirs = connected_pair()
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.close()  # with a zero linger: a reset
    assert wait_for(lambda: tcp_info.peer_closed(ours))
    ours.close()
    assert not tcp_info.peer_closed(ours)
