"""A share address carries a check on its fingerprint, so a typo is named as one."""

from __future__ import annotations

import pytest

from p2pchat.identity import group_fingerprint, share_address
from p2pchat.net.address import parse_address
from p2pchat.reach.target import parse_target

FP = "K7Q2M3XD" + "B" * 44


def _typo(address: str, index: int) -> str:
    """One character of the fingerprint changed, as a person copying it by hand might."""
    head, _, fp = address.rpartition("/")
    position = [i for i, c in enumerate(fp) if c != "-"][index]
    changed = "C" if fp[position] != "C" else "D"
    return f"{head}/{fp[:position]}{changed}{fp[position + 1:]}"


def test_the_share_address_groups_the_fingerprint_and_its_check():
    address = share_address("192.168.1.20", 8080, FP)
    assert address.startswith(f"p2pchat://192.168.1.20:8080/{group_fingerprint(FP)}-")
    assert len(address.rpartition("/")[2].replace("-", "")) == 56
    assert parse_address(address).fingerprint == FP


@pytest.mark.parametrize("index", [0, 17, 51, 53])
def test_a_one_character_typo_is_named_as_a_typo(index):
    with pytest.raises(ValueError, match="has a typo"):
        parse_target(_typo(share_address("192.168.1.20", 8080, FP), index))


def test_a_missing_character_is_named():
    address = share_address("192.168.1.20", 8080, FP)
    with pytest.raises(ValueError, match="55 characters, not 56: a character is missing or extra"):
        parse_address(address[:-1])


def test_an_address_written_before_the_check_is_still_read():
    old = f"p2pchat://192.168.1.20:8080/{group_fingerprint(FP)}"
    assert parse_address(old).fingerprint == FP
    assert parse_address(old.lower()).fingerprint == FP


def test_the_host_may_be_changed_without_breaking_the_check():
    address = share_address("192.168.1.20", 8080, FP).replace("192.168.1.20:8080", "203.0.113.5:4001")
    assert parse_address(address).fingerprint == FP
