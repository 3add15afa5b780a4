"""A redeemed invite is remembered as used, by whom, until it would have expired."""

from __future__ import annotations

import json

from p2pchat.protocol.invite import INVITE_LIFETIME
from p2pchat.reach.invites import Invites

FP = "A" * 52
BOB = "B" * 52


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_redeemed_invite_is_used_by_its_redeemer_until_it_expires(tmp_path):
    clock = Clock()
    invites = Invites(tmp_path / "invites.json", clock)
    invite = invites.create(FP, [], [])
    assert invites.used_by(invite.secret) is None  # pending, not used
    assert invites.redeem(invite.secret, BOB)
    assert invites.used_by(invite.secret) == BOB and invites.pending() == []
    assert invites.used_by("0" * 32) is None  # unknown
    other = invites.create(FP, [], [])  # a later change keeps the used record
    assert invites.used_by(invite.secret) == BOB and invites.pending() == [other.secret]
    clock.now += INVITE_LIFETIME
    assert invites.used_by(invite.secret) is None  # expired: forgotten


def test_a_file_without_used_invites_is_still_read(tmp_path):
    path = tmp_path / "invites.json"
    path.write_text(json.dumps({"invites": [{"secret": "ab" * 16, "expires": 1_900_000_000}]}))
    invites = Invites(path, Clock())
    assert invites.pending() == ["ab" * 16] and invites.used_by("ab" * 16) is None
    assert invites.redeem("ab" * 16, BOB) and invites.used_by("ab" * 16) == BOB
