"""What a hostile invite line can hold: counts, relay names and addresses are bounded when the
line is read, not only when it is written, and whatever arrives parses or fails with InviteError."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.protocol.invite import CHECK_LABEL, MAX_ITEMS, PREFIX, InviteError, parse_invite
from p2pchat.protocol.transit import parse_relay, relay_host_problem

FP_RAW = hashlib.sha256(b"inviter").digest()


def line(addresses: list[bytes] = (), relays: list[bytes] = (), *, version: int = 1) -> str:
    """An invite with a valid check around whatever entries it is given, already encoded."""
    body = bytearray([version]) + FP_RAW + bytes(16) + struct.pack(">I", 1_900_000_000)
    body.append(len(addresses))
    for entry in addresses:
        body += entry
    body.append(len(relays))
    for entry in relays:
        body += entry
    body += hashlib.sha256(CHECK_LABEL + bytes(body)).digest()[:4]
    return PREFIX + base64.b32encode(bytes(body)).decode().rstrip("=").lower()


def v4(address: bytes, port: int = 8080) -> bytes:
    return bytes([4]) + address + struct.pack(">H", port)


def relay(host: bytes, port: int = 4001) -> bytes:
    return bytes([len(host)]) + host + struct.pack(">H", port)


def test_a_line_with_the_most_entries_parses():
    invite = parse_invite(line([v4(bytes([192, 0, 2, i])) for i in range(MAX_ITEMS)], [relay(b"relay.example.org")] * MAX_ITEMS))
    assert len(invite.addresses) == MAX_ITEMS and len(invite.relays) == MAX_ITEMS


def test_255_addresses_are_refused_when_read():
    with pytest.raises(InviteError, match="255 addresses; an invite holds at most 16"):
        parse_invite(line([v4(bytes([192, 0, 2, i])) for i in range(255)]))


def test_the_command_line_refuses_it_in_one_line_with_status_2(tmp_path):
    crafted = line([v4(bytes([192, 0, 2, i % 250])) for i in range(255)])
    env = {**os.environ, "P2PCHAT_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "p2pchat", "--plain", "--connect", crafted],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "255 addresses; an invite holds at most 16" in result.stderr


def test_one_past_the_limit_is_refused():
    with pytest.raises(InviteError, match="at most 16"):
        parse_invite(line([], [relay(b"relay.example.org")] * (MAX_ITEMS + 1)))


@pytest.mark.parametrize("host", [b"relay\x1b[31m.org", b"bell\x07", b"nul\x00x", b"a" * 64 + b".org", b"169.254.169.254", b"0.0.0.0", b"224.0.0.1", b"fe80::1"])
def test_relay_names_that_name_no_usable_relay_are_refused(host):
    with pytest.raises(InviteError, match="unusable relay name"):
        parse_invite(line([], [relay(host)]))


@pytest.mark.parametrize("address", [bytes([169, 254, 169, 254]), bytes(4), bytes([224, 0, 0, 251])])
def test_addresses_that_are_no_peer_are_refused(address):
    with pytest.raises(InviteError, match="no peer's address"):
        parse_invite(line([v4(address)]))


def test_a_version_2_line_with_a_valid_check_is_refused_by_its_version():
    with pytest.raises(InviteError, match="version 2"):
        parse_invite(line(version=2))


def test_relay_setting_uses_the_same_host_rules():
    assert relay_host_problem("relay.example.org") is None
    assert relay_host_problem("203.0.113.4") is None and relay_host_problem("::1") is None
    for text in ("tcp:169.254.169.254:4001", f"tcp:{'a' * 64}.org:4001", "tcp:[fe80::1]:4001"):
        with pytest.raises(ValueError, match="not a relay address"):
            parse_relay(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(min_size=7, max_size=19), max_size=20),
    st.lists(st.binary(min_size=0, max_size=70), max_size=20),
)
def test_any_entries_parse_or_fail_with_one_invite_error(addresses, relays):
    entries = [bytes([len(a) % 3 * 2 + 4 if len(a) % 3 else 4]) + a for a in addresses]
    try:
        invite = parse_invite(line(entries, [bytes([len(r)]) + r + b"\x0f\xa1" for r in relays]))
    except InviteError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 200
    else:
        assert len(invite.addresses) <= MAX_ITEMS and len(invite.relays) <= MAX_ITEMS
        for r in invite.relays:
            assert relay_host_problem(r.host) is None
