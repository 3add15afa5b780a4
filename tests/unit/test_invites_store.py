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


def test_an_invite_a_code_delivered_is_for_the_introduced_identity_only(tmp_path):
    invites = Invites(tmp_path / "invites.json", Clock())
    invite = invites.create(FP, [], [])
    invites.expect(invite.secret, "GUEST")
    assert invites.redeem(invite.secret, "SOMEONE-ELSE") is False
    assert invites.redeem(invite.secret) is False
    assert invites.redeem(invite.secret, "GUEST") is True
    assert invites.pending() == []


def test_a_short_lived_invite_expires_on_time(tmp_path):
    clock = Clock()
    invites = Invites(tmp_path / "invites.json", clock)
    invite = invites.create(FP, [], [], lifetime=600)
    clock.now += 599
    assert invites.pending() == [invite.secret]
    clock.now += 1
    assert invites.pending() == []
RACER = """
import sys, time
from pathlib import Path
from p2pchat.reach.invites import Invites
store, role, count = Invites(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
start = float(sys.argv[4])
while time.time() < start:
    pass
if role == "create":
    for _ in range(count):
        store.create("A" * 52, [("192.0.2.7", 8080)], [])
else:
    redeemed = sum(store.redeem(secret) for secret in sys.argv[5:])
    print(redeemed)
"""


def _race(tmp_path, *commands):
    import subprocess
    import sys
    import time

    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path / "invites.json"), *c[:2], start, *c[2:]],
                         stdout=subprocess.PIPE, text=True)
        for c in commands
    ]  # fmt: skip
    return [p.communicate(timeout=60)[0] for p in procs]


def test_two_processes_creating_at_once_lose_no_invite(tmp_path):
    _race(tmp_path, ("create", "150"), ("create", "150"))
    assert len(Invites(tmp_path / "invites.json").pending()) == 300


def test_two_processes_redeem_one_secret_once(tmp_path):
    store = Invites(tmp_path / "invites.json")
    secrets_ = [store.create(FP, [], []).secret for _ in range(100)]
    outputs = _race(tmp_path, ("redeem", "0", *secrets_), ("redeem", "0", *secrets_), ("create", "100"))
    assert int(outputs[0]) + int(outputs[1]) == 100  # each secret redeemed by exactly one
    assert not set(secrets_) & set(store.pending())  # and none made pending again
    assert len(store.pending()) == 100  # while the third process's invites all stayed


def test_an_invite_only_a_home_network_can_use_says_so(tmp_path):
    from p2pchat.protocol.transit import RelayAddress
    from p2pchat.reach.invites import make_invite

    invites = Invites(tmp_path / "invites.json", Clock())
    _, lan_only = make_invite(invites, FP, 8080, [], bind="192.168.1.20")
    assert "WARNING: these addresses work only on your own network and no relay is set" in lan_only
    _, mapped = make_invite(invites, FP, 8080, [], public=("203.0.113.7", 8080), bind="192.168.1.20")
    assert "WARNING" not in mapped and "no relay set" in mapped
    _, relayed = make_invite(invites, FP, 8080, [RelayAddress("relay.example.org", 4001)], bind="192.168.1.20")
    assert "WARNING" not in relayed
