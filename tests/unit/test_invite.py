"""Invites and relay tokens: format and parse, typos caught, tokens both sides agree on."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pchat.protocol.invite import (
    PREFIX,
    Invite,
    InviteError,
    format_invite,
    looks_like_invite,
    new_secret,
    parse_invite,
    relay_token,
)
from p2pchat.protocol.transit import RelayAddress, derived_token, relay_host_problem


def fingerprint(seed: bytes) -> str:
    return base64.b32encode(hashlib.sha256(seed).digest()).decode("ascii").rstrip("=")


FP = fingerprint(b"inviter")
SAMPLE = Invite(
    FP, "00112233445566778899aabbccddeeff", 1_900_000_000,
    (("192.168.1.20", 8080), ("2001:db8::7", 8080)), (RelayAddress("relay.example.org", 4001),),
)


def test_round_trip():
    line = format_invite(SAMPLE)
    assert line.startswith(PREFIX) and line.isalnum() and line == line.lower()
    assert parse_invite(line) == SAMPLE


def test_whitespace_and_case_do_not_matter():
    line = format_invite(SAMPLE)
    wrapped = "  " + line[:40].upper() + "\n" + line[40:] + " \n"
    assert parse_invite(wrapped) == SAMPLE
    assert looks_like_invite(wrapped)


def test_every_single_character_typo_is_caught():
    line = format_invite(SAMPLE)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    for index in range(len(PREFIX), len(line)):
        for replacement in alphabet[:: 7]:
            if replacement == line[index]:
                continue
            typo = line[:index] + replacement + line[index + 1 :]
            with pytest.raises(InviteError):
                parse_invite(typo)


@pytest.mark.parametrize(
    "text, words",
    [
        ("hello", "starts with p2pchat1"),
        (PREFIX + "0189", "typo"),
        (PREFIX + "aa", "cut short"),
    ],
)
def test_garbage_is_one_clear_error(text, words):
    with pytest.raises(InviteError, match=words):
        parse_invite(text)


def test_truncated_invite_is_refused():
    line = format_invite(SAMPLE)
    with pytest.raises(InviteError):
        parse_invite(line[:-3])


hosts = st.one_of(
    st.ip_addresses(v=4), st.ip_addresses(v=6)
).filter(lambda a: not (a.is_unspecified or a.is_multicast or a.is_link_local)).map(str)
relay_hosts = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=40).filter(
    lambda host: relay_host_problem(host) is None
)
ports = st.integers(1, 65535)


@given(
    seed=st.binary(min_size=1, max_size=8),
    secret=st.binary(min_size=16, max_size=16).map(bytes.hex),
    expires=st.integers(0, 2**32 - 1),
    addresses=st.lists(st.tuples(hosts, ports), max_size=5),
    relays=st.lists(st.builds(RelayAddress, relay_hosts, ports), max_size=3),
)
def test_any_invite_survives_the_round_trip(seed, secret, expires, addresses, relays):
    invite = Invite(fingerprint(seed), secret, expires, tuple(addresses), tuple(relays))
    assert parse_invite(format_invite(invite)) == invite


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    try:
        parse_invite(PREFIX + text)
    except InviteError:
        pass


def test_relay_token_hides_the_secret_and_is_hex():
    secret = new_secret()
    token = relay_token(secret)
    assert len(token) == 64 and int(token, 16) >= 0
    assert secret not in token
    assert relay_token(secret) == token and relay_token(new_secret()) != token


def test_derived_token_is_the_same_from_both_sides():
    a, b = fingerprint(b"a"), fingerprint(b"b")
    assert derived_token(a, b) == derived_token(b, a)
    assert derived_token(a, b) != derived_token(a, fingerprint(b"c"))
    expected = hashlib.sha256(
        b"p2pchat relay token v1\n" + "\n".join(sorted((a, b))).encode() + b"\n"
    ).hexdigest()
    assert derived_token(a, b) == expected
