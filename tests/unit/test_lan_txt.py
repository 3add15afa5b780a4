"""LAN announcements: the TXT record written, and any TXT record read safely."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.protocol.lan import Announcement, instance_name, parse_txt, txt_properties

FP = "A" * 52


def test_what_is_written_reads_back():
    written = {k.encode(): v.encode() for k, v in txt_properties("alice", FP).items()}
    assert parse_txt(written) == Announcement("alice", FP)
    assert instance_name(FP).endswith("._p2pchat._tcp.local.")


@pytest.mark.parametrize("properties, reason", [
    ({}, "no v"),
    ({b"v": b"2", b"nick": b"a", b"fp": FP.encode()}, "another format"),
    ({b"v": b"1", b"nick": b"a"}, "no fp"),
    ({b"v": b"1", b"nick": b"a", b"fp": b"short"}, "not a fingerprint"),
    ({b"v": b"1", b"nick": b"a", b"fp": FP.lower().encode()}, "not a fingerprint"),
    ({b"v": b"1", b"nick": None, b"fp": FP.encode()}, "no nick"),
    ({b"v": b"1", b"nick": b"\xff\xfe", b"fp": FP.encode()}, "not UTF-8"),
    ({b"v": b"1", b"nick": b"   ", b"fp": FP.encode()}, "empty"),
    ({b"v": b"1", b"nick": b"x" * 300, b"fp": FP.encode()}, "at most"),
    ({b"v": b"1", b"nick": b"a\x1b[31m", b"fp": FP.encode()}, "control"),
    ({b"v": 1, b"nick": b"a", b"fp": FP.encode()}, "not text"),
    ("not a dict", "no TXT"),
])
def test_a_malformed_record_is_refused_with_a_reason(properties, reason):
    with pytest.raises(ValueError, match=reason):
        parse_txt(properties)


@settings(deadline=None)  # a loaded machine must not fail it
@given(st.dictionaries(st.sampled_from([b"v", b"nick", b"fp", b"x", "v"]),
                       st.one_of(st.none(), st.binary(max_size=64), st.text(max_size=64))))
def test_any_record_parses_or_raises_value_error(properties):
    try:
        parse_txt(properties)
    except ValueError:
        pass
