"""The inviter's pending invites: one peer each, gone when expired, private on disk."""

from __future__ import annotations

import base64
import hashlib
import stat

from p2pchat.protocol.invite import INVITE_LIFETIME
from p2pchat.reach.invites import Invites

FP = base64.b32encode(hashlib.sha256(b"me").digest()).decode().rstrip("=")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_invite_is_redeemed_once(tmp_path):
    invites = Invites(tmp_path / "invites.json", Clock())
    invite = invites.create(FP, [("192.0.2.7", 8080)], [])
    assert invites.pending() == [invite.secret]
    assert invites.redeem(invite.secret) is True
    assert invites.redeem(invite.secret) is False
    assert invites.pending() == []


def test_an_invite_expires_after_its_lifetime(tmp_path):
    clock = Clock()
    invites = Invites(tmp_path / "invites.json", clock)
    invite = invites.create(FP, [], [])
    assert invite.expires == int(clock.now) + INVITE_LIFETIME
    clock.now += INVITE_LIFETIME - 1
    assert invites.pending() == [invite.secret]
    clock.now += 1
    assert invites.pending() == [] and invites.redeem(invite.secret) is False


def test_unknown_secrets_and_a_broken_file_redeem_nothing(tmp_path):
    path = tmp_path / "invites.json"
    invites = Invites(path, Clock())
    invites.create(FP, [], [])
    assert invites.redeem("00" * 16) is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("{not json")
    assert invites.pending() == [] and invites.redeem("00" * 16) is False
