"""Two homes behind masquerading routers, no port forward: the chat goes through a real
magic-wormhole transit relay on the lab's internet, TLS-verified end to end."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from lab import HOMES, PUBLIC_ADDRESS, RELAY_ADDRESS, RELAY_PORT

from tests.support.netns import run

pytestmark = [pytest.mark.nat, pytest.mark.timeout(120)]

VIA_RELAY = rf"via relay {RELAY_ADDRESS}:{RELAY_PORT} \(encrypted, fingerprint (\S+)\)"
FILE_SIZE = 20 * 1024 * 1024


def invite_of(peer) -> str:
    peer.type("/invite")
    return peer.wait_line(r"^(p2pchat1[a-z2-7]+)$").group(1)


def fingerprint_of(peer) -> str:
    peer.type("/info")
    return peer.wait_line(r"^\* you: .* \(fingerprint (\S+)\)$").group(1)


def connect_through_nat(lab, spawn, env: dict | None = None, port: int = 7000):
    alice = spawn("alice", "--port", str(port), "--relay", lab.relay_setting, "--auto-accept",
                  env={"P2PCHAT_ACCEPT_UNKNOWN": "never", **(env or {})}, netns=lab.homes[1])
    alice.port()
    invite = invite_of(alice)
    bob = spawn("bob", "--port", str(port), "--connect", invite, env=env, netns=lab.homes[2])
    return alice, bob


def test_behind_two_nats_the_relay_carries_chat_and_a_file(lab, spawn, tmp_path):
    # The lab really is two NATs: neither home can open a connection to the other.
    assert not lab.reachable(lab.homes[2], HOMES[1][1], 7000)
    alice, bob = connect_through_nat(lab, spawn)
    seen_by_bob = bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30).group(1)
    alice.wait_line(r"^\* bob came with your invite")  # no question despite accept_unknown=never
    alice.wait_line(rf"^\* connected to bob {VIA_RELAY}", 30)
    assert seen_by_bob.replace("-", "") in fingerprint_of(alice).replace("-", "")

    alice.type("hello from home 1")
    bob.type("hello from home 2")
    bob.wait_received("alice", 1, 20)
    alice.wait_received("bob", 1, 20)

    data = os.urandom(FILE_SIZE)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    bob.type(f"/send {source}")
    saved = alice.wait_line(r"^\* #\d+ big\.bin received to (.+) \(", 90).group(1)
    assert hashlib.sha256(open(saved, "rb").read()).digest() == hashlib.sha256(data).digest()

    # The relay dies mid-chat and comes back: the session resumes, nothing is lost.
    lab.relay.stop()
    bob.wait_line(r"^\* connection lost", 20)
    alice.type("written while the relay was down")
    bob.type("also written while it was down")
    lab.relay.start()
    bob.wait_line(rf"^\* reconnected to alice {VIA_RELAY}", 60)
    assert bob.wait_received("alice", 2, 30) == ["hello from home 1", "written while the relay was down"]
    assert alice.wait_received("bob", 2, 30) == ["hello from home 2", "also written while it was down"]


def test_a_peer_on_a_new_address_is_found_again_through_the_derived_token(lab, spawn):
    alice, bob = connect_through_nat(lab, spawn)
    bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30)
    alice.wait_line(r"^\* connected to bob", 30)
    mark = len(bob.lines)
    lab.readdress(2, "198.51.100.77")  # bob's home gives him a new address
    # The invite is spent; only the token both derive from their fingerprints can bring them
    # together on the relay again.
    bob.wait_line(rf"^\* reconnected to alice {VIA_RELAY}", 60, start=mark)
    bob.type("from my new address")
    assert alice.wait_received("bob", 1, 20) == ["from my new address"]


def test_direct_wins_when_the_inviter_is_public(lab, spawn):
    alice = spawn("alice", "--port", "7000", "--relay", lab.relay_setting, netns=lab.public)
    alice.port()
    invite = invite_of(alice)
    bob = spawn("bob", "--port", "7000", "--connect", invite, netns=lab.homes[2])
    bob.wait_line(rf"^\* connected to alice at {PUBLIC_ADDRESS}:7000, direct \(encrypted", 30)


def test_a_relay_that_glues_a_stranger_is_refused_by_fingerprint(lab, spawn):
    alice = spawn("alice", "--port", "7000", "--relay", lab.relay_setting, netns=lab.homes[1])
    alice.port()
    invite = invite_of(alice)
    alice.finish()
    # Mallory, on the internet, waits on the relay with the invite's token (as the relay's
    # operator could), but with her own key.
    mallory = spawn("mallory", "--port", "7000", "--relay", lab.relay_setting, netns=lab.public)
    mallory.home.joinpath("data").mkdir(parents=True, exist_ok=True)
    shutil.copy(alice.home / "data" / "invites.json", mallory.home / "data" / "invites.json")
    mallory.wait_line(r"relay .*: waiting for the peer", 20)
    bob = spawn("bob", "--port", "7000", "--connect", invite, netns=lab.homes[2])
    bob.wait_line(r"IDENTITY MISMATCH through relay 203\.0\.113\.1:4001: expected", 30)
    assert not any("connected to" in line for line in bob.lines + mallory.lines)


def test_a_relay_that_never_answers_is_a_clear_status(lab, spawn):
    silent = lab.silent_server(RELAY_PORT + 1)
    try:
        bob = spawn("bob", "--port", "7000", "--relay", f"tcp:{RELAY_ADDRESS}:{RELAY_PORT + 1}",
                    "--connect", f"p2pchat://{HOMES[1][1]}:7000/{'A' * 52}",
                    env={"P2PCHAT_HANDSHAKE_TIMEOUT": "2"}, netns=lab.homes[2])
        bob.wait_line(r"relay 203\.0\.113\.1:4002: the peer did not arrive in time "
                      r"\(or the relay never answered\); retrying", 30)
    finally:
        silent.kill()
        silent.wait(10)


def test_after_a_restart_the_invited_side_finds_the_inviter_on_the_relay_of_the_invite(lab, spawn):
    # Bob has no relay of his own: only alice's invite named one.
    alice, bob = connect_through_nat(lab, spawn)
    bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30)
    alice.wait_line(r"^\* connected to bob", 30)
    bob.kill9()
    alice.wait_line(r"^\* connection lost", 30)
    # Started again with nothing to dial, bob waits for alice where her invite said she is.
    again = spawn("bob", "--port", "7000", home=bob.home, netns=lab.homes[2])
    again.wait_line(rf"^\* connected to alice {VIA_RELAY}", 60)
    again.type("back after a restart")
    assert alice.wait_received("bob", 1, 20) == ["back after a restart"]


@pytest.mark.parametrize("relay, missing", [
    ("", "the invite names no relay"),
    (f"tcp:{RELAY_ADDRESS}:{RELAY_PORT + 8}", rf"relay {RELAY_ADDRESS}:{RELAY_PORT + 8} cannot be reached from here"),
])
def test_an_invite_no_path_can_carry_is_said_once_on_the_dialing_side(lab, spawn, relay, missing):
    # Carol listens on a private address only (her home's own network), with no relay or a relay
    # that is turned off: nothing bob can do from his home will ever reach her.
    device = f"nh1{lab.tag}"
    lab.namespaces.address(lab.homes[1], device, "10.1.0.2/24")
    try:
        carol = spawn("carol", "--port", "7000", "--bind", "10.1.0.2", "--relay", relay, netns=lab.homes[1])
        carol.port()
        invite = invite_of(carol)
        bob = spawn("bob", "--port", "7000", "--connect", invite, env={"P2PCHAT_HANDSHAKE_TIMEOUT": "2"},
                    netns=lab.homes[2])
        bob.wait_line(r"the inviter \S+ cannot be reached from this network: 10\.1\.0\.2:7000 works "
                      rf"only on the inviter's own network, and {missing}\. Ask .* relay .*"
                      r"\(p2pchat config set relay tcp:HOST:PORT", 30)
        bob.wait_for(lambda lines: sum("retrying" in line for line in lines) >= 3, 40, "three retries")
        assert bob.count("cannot be reached from this network") == 1  # dialing goes on, said once
    finally:
        run("ip", "addr", "del", "10.1.0.2/24", "dev", device, netns=lab.homes[1], check=False)
