"""The STUN codec against RFC 5769's test vectors, and against broken answers."""

from __future__ import annotations

import struct

import pytest

from p2pchat.protocol.stun import (
    BINDING_REQUEST,
    BINDING_SUCCESS,
    MAGIC_COOKIE,
    StunError,
    answer_to,
    binding_request,
    mapped_address,
    parse,
)

TRANSACTION = bytes.fromhex("b7e7a701bc34d686fa87dfae")

# RFC 5769 section 2.1: a request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
# MESSAGE-INTEGRITY and FINGERPRINT.
SAMPLE_REQUEST = bytes.fromhex(
    "00010058" "2112a442" "b7e7a701bc34d686fa87dfae"
    "80220010" "5354554e20746573742063" "6c69656e74"
    "00240004" "6e0001ff"
    "80290008" "932ff9b151263b36"
    "00060009" "6576746a3a68367659202020"
    "00080014" "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004" "e57a3bcf"
)
# Section 2.2: a success response naming 192.0.2.1 port 32853.
SAMPLE_IPV4_RESPONSE = bytes.fromhex(
    "0101003c" "2112a442" "b7e7a701bc34d686fa87dfae"
    "8022000b" "7465737420766563746f7220"
    "00200008" "0001a147e112a643"
    "00080014" "2b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004" "c07d4c96"
)
# Section 2.3: a success response naming 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
SAMPLE_IPV6_RESPONSE = bytes.fromhex(
    "01010048" "2112a442" "b7e7a701bc34d686fa87dfae"
    "8022000b" "7465737420766563746f7220"
    "00200014" "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014" "a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004" "c8fb0b4c"
)


def test_the_rfc_5769_request_parses_with_its_fingerprint_checked():
    message = parse(SAMPLE_REQUEST)
    assert message.kind == BINDING_REQUEST
    assert message.transaction == TRANSACTION
    assert message.attribute(0x8022) == b"STUN test client"
    assert message.attribute(0x0006) == b"evtj:h6vY"  # the padding is not part of the value


def test_the_rfc_5769_ipv4_response_names_its_mapped_address():
    message = parse(SAMPLE_IPV4_RESPONSE)
    assert message.kind == BINDING_SUCCESS
    assert mapped_address(message) == ("192.0.2.1", 32853)
    assert answer_to(SAMPLE_IPV4_RESPONSE, TRANSACTION) == ("192.0.2.1", 32853)


def test_the_rfc_5769_ipv6_response_names_its_mapped_address():
    assert answer_to(SAMPLE_IPV6_RESPONSE, TRANSACTION) == ("2001:db8:1234:5678:11:2233:4455:6677", 32853)


@pytest.mark.parametrize("sample", [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE])
def test_a_changed_byte_fails_the_fingerprint(sample):
    changed = bytearray(sample)
    changed[30] ^= 0x01  # inside the first attribute's value
    with pytest.raises(StunError, match="FINGERPRINT"):
        parse(bytes(changed))


def test_a_binding_request_is_a_bare_header():
    request = binding_request(TRANSACTION)
    assert request == struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC_COOKIE) + TRANSACTION
    assert parse(request).attributes == ()


def test_a_plain_mapped_address_serves_when_there_is_no_xor_one():
    value = struct.pack("!BBH", 0, 1, 7000) + bytes([203, 0, 113, 11])
    answer = struct.pack("!HHI", BINDING_SUCCESS, 12, MAGIC_COOKIE) + TRANSACTION + struct.pack("!HH", 1, 8) + value
    assert answer_to(answer, TRANSACTION) == ("203.0.113.11", 7000)


def test_an_answer_to_another_request_or_a_stray_datagram_is_not_ours():
    assert answer_to(SAMPLE_IPV4_RESPONSE, bytes(12)) is None
    assert answer_to(b"hello", TRANSACTION) is None
    assert answer_to(SAMPLE_REQUEST, TRANSACTION) is None  # a request is no answer


@pytest.mark.parametrize(
    "broken",
    [
        SAMPLE_IPV4_RESPONSE[:-1],  # shorter than its length says
        SAMPLE_IPV4_RESPONSE[:2] + b"\x00\x40" + SAMPLE_IPV4_RESPONSE[4:],  # longer than sent
        b"\x41" + SAMPLE_IPV4_RESPONSE[1:],  # top bits set: not STUN
        SAMPLE_IPV4_RESPONSE[:4] + b"\x21\x12\xa4\x43" + SAMPLE_IPV4_RESPONSE[8:],  # another cookie
    ],
)
def test_broken_messages_are_refused(broken):
    with pytest.raises(StunError):
        parse(broken)


def test_an_attribute_past_the_end_is_refused():
    answer = struct.pack("!HHI", BINDING_SUCCESS, 8, MAGIC_COOKIE) + TRANSACTION + struct.pack("!HH", 0x20, 200) + bytes(4)
    with pytest.raises(StunError, match="past the message"):
        parse(answer)


def test_a_success_without_an_address_is_an_error_for_our_request():
    answer = struct.pack("!HHI", BINDING_SUCCESS, 0, MAGIC_COOKIE) + TRANSACTION
    with pytest.raises(StunError, match="no mapped address"):
        answer_to(answer, TRANSACTION)


def test_an_address_of_an_unknown_family_is_refused():
    value = struct.pack("!BBH", 0, 3, 1) + bytes(4)
    answer = struct.pack("!HHI", BINDING_SUCCESS, 12, MAGIC_COOKIE) + TRANSACTION + struct.pack("!HH", 0x20, 8) + value
    with pytest.raises(StunError, match="family"):
        answer_to(answer, TRANSACTION)
