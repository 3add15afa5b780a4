"""The HELLO `invite` key: absent unless set, so peers that predate it read every HELLO."""

from __future__ import annotations

import json

import pytest

from p2pchat.protocol import MAGIC, Decoder, Hello, ProtocolError, encode


def decode_one(data: bytes):
    decoder = Decoder(expect_magic=True)
    decoder.receive_data(MAGIC + data)
    return decoder.next_frame()


def test_hello_without_invite_has_no_key_on_the_wire():
    hello = Hello(1, "alice", "ID", ["acks"], None)
    body = json.loads(encode(hello)[5:])
    assert "invite" not in body
    assert decode_one(encode(hello)) == hello


def test_hello_with_invite_round_trips():
    hello = Hello(1, "alice", "ID", ["acks"], None, "0123456789abcdef" * 2)
    assert json.loads(encode(hello)[5:])["invite"] == "0123456789abcdef" * 2
    assert decode_one(encode(hello)) == hello


def test_invite_of_the_wrong_length_is_a_bad_frame():
    with pytest.raises(ProtocolError):
        encode(Hello(1, "alice", "ID", [], None, "short"))
