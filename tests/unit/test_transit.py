"""The transit relay's client handshake, byte for byte, without sockets."""

from __future__ import annotations

import pytest

from p2pchat.protocol.transit import (
    RelayAddress,
    RelayRefused,
    parse_relay,
    parse_relays,
    read_answer,
    request_line,
    tls_client_over_relay,
)


def test_request_line_is_the_relays_format():
    token, side = "ab" * 32, "0123456789abcdef"
    assert request_line(token, side) == f"please relay {token} for side {side}\n".encode()
    with pytest.raises(ValueError):
        request_line("AB" * 32, side)
    with pytest.raises(ValueError):
        request_line(token, "short")


def test_ok_needs_the_whole_line():
    assert read_answer(b"") is False
    assert read_answer(b"o") is False
    assert read_answer(b"ok") is False
    assert read_answer(b"ok\n") is True


@pytest.mark.parametrize(
    "data, words",
    [
        (b"bad handshake\n", "did not understand"),
        (b"impatient\n", "before the peer arrived"),
        (b"HTTP/1.1 400 Bad Request\r\n", "instead of ok"),
        (b"\x16\x03\x01", "instead of ok"),
        (b"okay\n", "instead of ok"),
    ],
)
def test_anything_but_ok_is_refused_with_a_reason(data, words):
    with pytest.raises(RelayRefused, match=words):
        read_answer(data)


def test_garbage_is_refused_before_a_newline_arrives():
    with pytest.raises(RelayRefused):
        read_answer(b"SSH-2.0-OpenSSH")


def test_relay_settings():
    assert parse_relay("tcp:relay.example.org:4001") == RelayAddress("relay.example.org", 4001)
    assert parse_relay(" tcp:[2001:db8::1]:4001 ") == RelayAddress("2001:db8::1", 4001)
    assert str(RelayAddress("2001:db8::1", 4001)) == "[2001:db8::1]:4001"
    assert parse_relays("") == []
    assert parse_relays("tcp:a:1, tcp:b:2 tcp:c:3") == [
        RelayAddress("a", 1), RelayAddress("b", 2), RelayAddress("c", 3)
    ]


@pytest.mark.parametrize("text", ["relay.example.org:4001", "tcp:host", "tcp:host:0",
                                  "tcp:host:99999", "tcp::4001", "udp:h:1", "tcp:a b:1"])
def test_bad_relay_settings_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="tcp:|port"):
        parse_relay(text)


def test_tls_roles_are_complementary():
    a, b = "AAAA", "BBBB"
    assert tls_client_over_relay(a, b, invited=None) != tls_client_over_relay(b, a, invited=None)
    assert tls_client_over_relay(a, b, invited=True) and not tls_client_over_relay(b, a, invited=False)
