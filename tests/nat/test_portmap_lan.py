"""Opening the way without a relay: a real miniupnpd router forwards the port, and machines
on one LAN find each other over mDNS, each dial checked by fingerprint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab import RELAY_ADDRESS, RELAY_PORT
from test_nat import fingerprint_of, invite_of

pytestmark = [pytest.mark.nat, pytest.mark.timeout(120)]

MAPPING_ON = {"P2PCHAT_PORT_MAPPING": "true"}
DISCOVERABLE = {"P2PCHAT_DISCOVERABLE": "true"}


def ask_until(peer, command: str, pattern: str, timeout: float = 20) -> re.Match:
    """Type `command` every half second until a line it prints matches `pattern`."""
    deadline = time.monotonic() + timeout
    while True:
        mark = len(peer.lines)
        peer.type(command)
        try:
            return peer.wait_line(pattern, 0.5, start=mark)
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def info_line(peer, key: str, pattern: str, timeout: float = 20) -> re.Match:
    return ask_until(peer, "/info", rf"^\* {key}: .*{pattern}", timeout)


def peers_line(peer, pattern: str, timeout: float = 20) -> re.Match:
    return ask_until(peer, "/peers", pattern, timeout)


def test_behind_a_upnp_router_a_peer_on_the_internet_dials_in_directly(lab, upnp_home, spawn):
    public = upnp_home.public_address
    assert not lab.reachable(lab.public, public, 7000)  # nothing is forwarded yet
    alice = spawn("alice", "--port", "7000", env=MAPPING_ON, netns=upnp_home.machines[0])
    alice.wait_line(rf"^\* reachable from the internet at {public}:7000 \(port forwarded by the router, UPnP\)", 30)
    info_line(alice, "port mapping", rf"{public}:7000 forwarded by UPnP \(renewed every 30 min\)")
    assert "dport 7000" in upnp_home.forwarded_ports()
    invite = invite_of(alice)
    assert alice.wait_line(r"invite line \(good for one peer within 24 hours: (\S+),").group(1) == f"{public}:7000"

    bob = spawn("bob", "--port", "7000", "--connect", invite, netns=lab.public)  # no relay anywhere
    bob.wait_line(rf"^\* connected to alice at {public}:7000, direct \(encrypted", 30)
    alice.wait_line(r"^\* connected to bob at 203\.0\.113\.20:\d+, direct", 30)
    bob.type("through the router's forward")
    assert alice.wait_received("bob", 1, 20) == ["through the router's forward"]

    alice.type("/quit")
    assert alice.finish() == 0
    assert "dport 7000" not in upnp_home.forwarded_ports()  # removed at quit


def test_with_port_mapping_off_nothing_is_asked(lab, upnp_home, spawn):
    alice = spawn("alice", "--port", "7001", "--no-port-mapping", env=MAPPING_ON, netns=upnp_home.machines[0])
    alice.port()
    alice.type("/info")
    alice.wait_line(r"^\* log file: ")
    assert not any(line.startswith("* port mapping") for line in alice.lines)
    assert "dport 7001" not in upnp_home.forwarded_ports()


def test_a_router_without_upnp_leaves_the_chat_to_the_relay(lab, spawn):
    alice = spawn("alice", "--port", "7000", "--relay", lab.relay_setting, env=MAPPING_ON, netns=lab.homes[1])
    alice.port()
    invite = invite_of(alice)
    bob = spawn("bob", "--port", "7000", "--connect", invite, env=MAPPING_ON, netns=lab.homes[2])
    bob.wait_line(rf"^\* connected to alice via relay {RELAY_ADDRESS}:{RELAY_PORT}", 30)
    info_line(alice, "port mapping",
              r"not mapped \(no UPnP router answered; no NAT-PMP router answered\)$")
    assert not any("reachable from the internet" in line or "error" in line for line in alice.lines)
    assert not lab.reachable(lab.public, "203.0.113.11", 7000)


def test_two_machines_on_one_lan_find_each_other_and_connect_checked(lab, lan_home, spawn):
    (a, b, _), (address_a, _, _) = lan_home.machines, lan_home.addresses
    alice = spawn("alice", "--port", "7000", env=DISCOVERABLE, netns=a)
    bob = spawn("bob", "--port", "7000", env=DISCOVERABLE, netns=b)
    alice.port(), bob.port()
    fingerprint = fingerprint_of(alice)
    short = fingerprint[:9]
    peers_line(bob, rf"^\* 1\. alice \({short}, new\) at {address_a}:7000$")
    info_line(bob, "local network", r"announced and looking \(1 other p2pchat seen; /peers\)")
    bob.type("/peers 1")
    seen = bob.wait_line(rf"^\* connected to alice at {address_a}:7000, direct \(encrypted, fingerprint (\S+)\)", 30)
    assert seen.group(1).replace("-", "") in fingerprint.replace("-", "")
    alice.wait_line(r"^\* connected to bob at ", 30)
    peers_line(bob, rf"^\* 1\. alice \({short}, known\) at {address_a}:7000$")
    alice.type("/nick alicia")  # the announcement follows the nickname
    peers_line(bob, rf"^\* 1\. alicia \({short}, known\) at {address_a}:7000$")


def test_the_connect_screen_lists_a_lan_peer_and_enter_connects_to_it(lab, lan_home, spawn, tmp_path):
    (a, b, _), (address_a, _, _) = lan_home.machines, lan_home.addresses
    alice = spawn("alice", "--port", "7000", env=DISCOVERABLE, netns=a)
    alice.port()
    fingerprint = fingerprint_of(alice).replace("-", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("P2PCHAT_")}
    env.update(P2PCHAT_HOME=str(tmp_path / "bob"), P2PCHAT_RELAY="", P2PCHAT_RENDEZVOUS="")
    probe = subprocess.run(
        ["ip", "netns", "exec", b, sys.executable, str(Path(__file__).with_name("connect_screen_probe.py"))],
        capture_output=True, text=True, timeout=90, env=env)
    reports = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    assert reports, probe.stderr[-2000:]
    assert reports[0]["listed"] == [f"alice  {fingerprint[:4]}-{fingerprint[4:8]}  new  {address_a}:7000"]
    assert reports[1] == {"connected": "alice", "fingerprint": fingerprint}
    alice.wait_line(r"^\* connected to bob at ", 30)


def test_a_spoofed_announcement_is_refused_by_fingerprint(lab, lan_home, spawn, tmp_path):
    (a, b, c), (_, _, address_c) = lan_home.machines, lan_home.addresses
    alice = spawn("alice", "--port", "7000", netns=a)  # not discoverable: only her fingerprint is used
    alice.port()
    fingerprint = fingerprint_of(alice).replace("-", "")
    alice.finish()
    mallory = spawn("mallory", "--port", "7000", netns=c)  # her own key, answering on 7000
    mallory.port()
    spoof = subprocess.Popen(
        ["ip", "netns", "exec", c, sys.executable, str(Path(__file__).with_name("spoof_announcer.py")),
         address_c, "7000", "alice", fingerprint], stdout=subprocess.PIPE, text=True)
    try:
        spoof.stdout.readline()
        bob = spawn("bob", "--port", "7000", env=DISCOVERABLE, netns=b)
        peers_line(bob, rf"^\* 1\. alice \({fingerprint[:4]}-{fingerprint[4:8]}, new\) at {address_c}:7000$")
        bob.type("/peers")
        bob.wait_line(r"^\* /peers N connects")
        assert bob.count(r"^\* \d\. ") >= 1 and not bob.count(r"^\* 2\. ")  # the malformed ones are skipped
        bob.type("/peers 1")
        bob.wait_line(rf"IDENTITY MISMATCH through {address_c}:7000: expected", 30)
        assert not any("connected to" in line for line in bob.lines + mallory.lines)
        assert bob.proc.poll() is None
    finally:
        spoof.kill()
        spoof.wait(5)
