"""Relay first, then direct: two homes behind routers that forward nothing inward meet on the
relay, learn their public addresses from STUN on the lab's internet, and move the live session
onto a direct connection by TCP hole punching."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest
from homes import StunServer
from lab import INTERNET
from test_nat import VIA_RELAY, connect_through_nat, invite_of

pytestmark = [pytest.mark.nat, pytest.mark.timeout(180)]

LINES = 20
FILE_SIZE = 20 * 1024 * 1024
MOVED = r"^\* now connected directly to {} \(hole punched\); the relay no longer carries the chat$"
RELAY_RATE = "40mbit"  # a relay slower than the direct path: 20 MiB take it about 4 s
STUN_DELAY = 2.0  # slow servers: the file is well on its way over the relay when the session moves
PATH_DIRECT = r"^\* path: direct since \d\d:\d\d, hole punched$"


@pytest.fixture(scope="module")
def stun(lab):
    """Two STUN responders on the lab's internet: two answers tell how a router maps ports."""
    servers = [StunServer(lab, port, delay=STUN_DELAY) for port in (3480, 3481)]  # 3478: the UPnP router's
    yield {"P2PCHAT_STUN": ", ".join(server.address for server in servers), "P2PCHAT_LOG_LEVEL": "DEBUG"}
    for server in servers:
        server.stop()


def info_of(peer, pattern: str, timeout: float = 10):
    mark = len(peer.lines)
    peer.type("/info")
    return peer.wait_line(pattern, timeout, start=mark)


def type_slowly(peer, lines: list[str], every: float) -> threading.Thread:
    def run() -> None:
        for line in lines:
            peer.type(line)
            time.sleep(every)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_two_port_preserving_homes_move_from_the_relay_to_a_direct_connection(lab, spawn, stun, tmp_path):
    data = os.urandom(FILE_SIZE)
    source = tmp_path / "crossing.bin"
    source.write_bytes(data)
    lab.slow_relay(RELAY_RATE)
    try:
        alice, bob = connect_through_nat(lab, spawn, env=stun)
        bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30)
        started = time.monotonic()
        lines = [f"line {n} from home 2" for n in range(1, LINES + 1)]
        typing = type_slowly(bob, lines, 0.4)
        bob.type(f"/send {source}")

        alice.wait_line(MOVED.format("bob"), 30)
        bob.wait_line(MOVED.format("alice"), 30)
        moved_after = time.monotonic() - started
        info_of(alice, PATH_DIRECT)
        info_of(bob, PATH_DIRECT)

        typing.join()
        assert alice.wait_received("bob", LINES, 30) == lines  # once each, in order
        saved = alice.wait_line(r"^\* #\d+ crossing\.bin received to (.+) \(", 90).group(1)
        assert hashlib.sha256(open(saved, "rb").read()).digest() == hashlib.sha256(data).digest()
        resumed_at = int(bob.wait_line(r"^\* #\d+ crossing\.bin: resumed at (\d+)%", 5).group(1))
        assert 0 < resumed_at < 100  # the file was on its way over the relay when the session moved
        deadline = time.monotonic() + 15
        while lab.connections_to_relay() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lab.connections_to_relay() == []  # neither home goes through the relay any more
        assert alice.received("bob") == lines  # still once each: nothing came twice later
        assert alice.count(r"reconnect|connection lost") == bob.count(r"reconnect|connection lost") == 0
        print(f"direct {moved_after:.1f} s after the relayed connect; the file resumed at {resumed_at}%")
    finally:
        lab.slow_relay(None)


def test_a_symmetric_router_keeps_the_chat_on_the_relay_and_says_why(lab, spawn, stun):
    lab.randomise_ports(2)
    try:
        # Another port than the other tests: the router still maps their flows as it did then.
        alice, bob = connect_through_nat(lab, spawn, env=stun, port=7100)
        bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30)
        alice.wait_line(rf"^\* connected to bob {VIA_RELAY}", 30)
        time.sleep(30)
        bob.type("still here after 30 s")
        assert alice.wait_received("bob", 1, 20) == ["still here after 30 s"]
        info_of(alice, r"^\* direct: not possible, the other side's router changes ports \(symmetric NAT\)$")
        info_of(bob, r"^\* direct: not possible, your router changes ports \(symmetric NAT\)$")
        info_of(bob, r"^\* path: via relay")
        assert not any("directly" in line for line in alice.lines + bob.lines)
    finally:
        lab.randomise_ports(2, on=False)


def test_a_home_whose_router_forwards_the_port_is_simply_dialed(lab, upnp_home, spawn, stun):
    """Connection reversal: bob's router forwards his port (UPnP), alice's forwards nothing. Bob
    reaches alice only through the relay; then alice dials bob's forwarded port."""
    alice = spawn("alice", "--port", "7200", "--relay", lab.relay_setting, env=stun, netns=lab.homes[1])
    alice.port()
    invite = invite_of(alice)
    bob = spawn("bob", "--port", "7200", netns=upnp_home.machines[0], env={**stun, "P2PCHAT_PORT_MAPPING": "true"})
    bob.wait_line(rf"^\* reachable from the internet at {upnp_home.public_address}:7200 ", 30)
    bob.type(f"/connect {invite}")
    # A relay connection that failed earlier in the lab's life is retried with a backoff: allow for it.
    bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 60)
    alice.wait_line(r"^\* now connected directly to bob \(dialed the forwarded port\)", 30)
    bob.wait_line(r"^\* now connected directly to alice \(the other side dialed our forwarded port\)", 30)
    info_of(alice, r"^\* path: direct since \d\d:\d\d, dialed the forwarded port$")
    alice.type("over the forwarded port")
    assert bob.wait_received("alice", 1, 20) == ["over the forwarded port"]


def test_after_a_cut_the_pair_meets_on_the_relay_again_and_moves_back_to_direct(lab, spawn, stun):
    alice, bob = connect_through_nat(lab, spawn, env=stun, port=7300)
    alice.wait_line(MOVED.format("bob"), 30)
    bob.wait_line(MOVED.format("alice"), 30)
    lab.block(1, f"{INTERNET}.12")  # home 1's router drops home 2 (the relay still passes)
    try:
        mark = len(bob.lines)
        bob.wait_line(r"^\* connection lost", 20, start=mark)
    finally:
        lab.block(1, f"{INTERNET}.12", on=False)
    bob.wait_line(rf"^\* reconnected to alice {VIA_RELAY}", 60, start=mark)
    bob.wait_line(MOVED.format("alice"), 30, start=mark)
    bob.type("direct again")
    assert alice.wait_received("bob", 1, 20) == ["direct again"]
    info_of(bob, PATH_DIRECT)
