"""The NAT-PMP codec: requests as RFC 6886 lays them out, answers checked before use."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.protocol import natpmp


def test_requests_are_laid_out_as_the_rfc_says():
    assert natpmp.external_address_request() == b"\x00\x00"
    assert natpmp.map_request(7000, 7000, 3600) == struct.pack("!BBHHHI", 0, 2, 0, 7000, 7000, 3600)
    assert natpmp.map_request(7000, 0, 0)[-6:] == b"\x00\x00\x00\x00\x00\x00"  # delete


def test_answers_are_read():
    address = natpmp.parse_external_address(struct.pack("!BBHI", 0, 128, 0, 42) + bytes([203, 0, 113, 11]))
    assert address == natpmp.ExternalAddress(42, "203.0.113.11")
    mapped = natpmp.parse_port_mapped(struct.pack("!BBHIHHI", 0, 130, 0, 42, 7000, 7001, 1800))
    assert mapped == natpmp.PortMapped(42, 7000, 7001, 1800)


@pytest.mark.parametrize("data, reason", [
    (b"", "too short"),
    (b"\x00\x80\x00", "too short"),
    (struct.pack("!BBHI", 0, 128, 0, 1), "too short"),  # no address
    (struct.pack("!BBHI", 1, 128, 0, 1) + bytes(4), "not an answer"),  # another version
    (struct.pack("!BBHI", 0, 130, 0, 1) + bytes(4), "not an answer"),  # another opcode
    (struct.pack("!BBHI", 0, 128, 2, 1) + bytes(4), "refused"),
    (struct.pack("!BBHI", 0, 128, 999, 1) + bytes(4), "error 999"),
])
def test_a_bad_answer_is_a_clear_error(data, reason):
    with pytest.raises(natpmp.NatPmpError, match=reason):
        natpmp.parse_external_address(data)


@settings(deadline=None)  # a loaded machine must not fail it
@given(st.binary(max_size=40))
def test_any_bytes_either_parse_or_raise_the_codec_error(data):
    for parse in (natpmp.parse_external_address, natpmp.parse_port_mapped):
        try:
            parse(data)
        except natpmp.NatPmpError:
            pass
