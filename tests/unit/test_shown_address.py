"""Addresses as people read them: an IPv4 peer on a dual-stack listener is plain IPv4."""

from __future__ import annotations

import pytest

from p2pchat.net.address import PeerAddress, host_port


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1:4000"),
        ("::FFFF:192.0.2.7", "192.0.2.7:4000"),
        ("::ffff:7f00:1", "[::ffff:7f00:1]:4000"),  # not written as IPv4: left as it is
        ("fd00::2", "[fd00::2]:4000"),
        ("10.0.0.1", "10.0.0.1:4000"),
    ],
)
def test_host_port(host, shown):
    assert host_port(host, 4000) == shown
    assert str(PeerAddress(host, 4000)) == shown
