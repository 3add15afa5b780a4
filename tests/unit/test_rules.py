"""Shared protocol rules: nickname checks, the decider, ids."""

from __future__ import annotations

import re

import pytest

from p2pchat.protocol import (
    is_decider,
    new_message_id,
    new_session_id,
    new_transfer_id,
    validate_nickname,
)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("bob", "bob"),
        ("  bob  ", "bob"),
        ("a" * 32, "a" * 32),
        ("Zoë 🐍", "Zoë 🐍"),
        ("李\u3000雷", "李\u3000雷"),
    ],
)
def test_valid_nicknames(given, kept):
    assert validate_nickname(given) == kept


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("a" * 33, "at most 32"),
        ("bo\x07b", "control"),
        ("bo\x1b[31mb", "control"),
        ("evil\u202eesrever", "control"),  # right-to-left override
        ("zero\u200bwidth", "control"),
        ("line\u2028break", "control"),
        ("private\ue000", "control"),
    ],
)
def test_invalid_nicknames_say_why(name, message):
    with pytest.raises(ValueError, match=message):
        validate_nickname(name)


def test_decider_is_the_lower_id_on_both_sides():
    assert is_decider("AAAA", "BBBB")
    assert not is_decider("BBBB", "AAAA")
    assert is_decider("AB", "ABC")  # a prefix sorts first
    assert is_decider("Z", "a")  # byte-wise, so upper case sorts before lower case


def test_decider_refuses_equal_ids():
    with pytest.raises(ValueError):
        is_decider("same", "same")


def test_fresh_ids():
    for make in (new_session_id, new_message_id):
        first, second = make(), make()
        assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    tids = {new_transfer_id() for _ in range(1000)}
    assert len(tids) == 1000
    assert all(1 <= tid < 1 << 64 for tid in tids)
