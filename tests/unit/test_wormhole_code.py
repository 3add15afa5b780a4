"""Codes: what counts as one, how it is normalized, how its words complete."""

from __future__ import annotations

import pytest

from p2pchat.protocol.wormhole.code import (
    CodeError,
    complete_code,
    looks_like_code,
    make_code,
    parse_code,
    unknown_words,
)
from p2pchat.protocol.wormhole.words import EVEN_WORDS, ODD_WORDS


def test_made_codes_alternate_odd_and_even_words():
    for _ in range(50):
        nameplate, first, second = make_code("7").split("-")
        assert nameplate == "7" and first in ODD_WORDS and second in EVEN_WORDS


@pytest.mark.parametrize(
    "typed, code",
    [("7-crossover-clockwork", "7-crossover-clockwork"), ("  7 Crossover  CLOCKWORK ", "7-crossover-clockwork"),
     ("12-a-b-c", "12-a-b-c")],
)
def test_codes_are_normalized(typed, code):
    assert parse_code(typed) == code


@pytest.mark.parametrize("typed", ["crossover-clockwork", "7", "7-", "-7-word", "7-cross_over", "x7-word", ""])
def test_malformed_codes_are_one_clear_error(typed):
    with pytest.raises(CodeError, match="is not a code: a code is a number and words"):
        parse_code(typed)


@pytest.mark.parametrize(
    "text, expected",
    [("7-crossover-clockwork", True), ("7 crossover", True), ("crossover-clockwork", True), ("7", True),
     ("10.0.0.1:4000", False), ("host:4000", False), ("[::1]:5000", False), ("p2pchat://h:1/x", False),
     ("example.org", False), ("localhost", False)],
)
def test_codes_are_told_from_addresses_and_invites(text, expected):
    assert looks_like_code(text) is expected


def test_completion_offers_odd_words_first_then_even_words():
    assert complete_code("7-crosso") == ["7-crossover-"]
    assert "7-crossover-clockwork" in complete_code("7-crossover-clo")
    assert all(c.endswith("-") for c in complete_code("7-a"))
    assert not any(c.endswith("-") for c in complete_code("7-crossover-a"))
    assert complete_code("7-crossover-clockwork-") == []
    assert complete_code("7-crossover-clockwork") == []
    assert complete_code("7-crossover") == ["7-crossover-"]
    assert complete_code("7") == [] and complete_code("cross") == []


def test_unknown_words_are_named():
    assert unknown_words("7-crossover-clockwork") == []
    assert unknown_words("7-crossover-clockwerk") == ["clockwerk"]
