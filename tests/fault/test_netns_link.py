"""Two peers in their own network namespaces over a veth pair: a lossy, slow link that is
cut and restored. Only TEST-NET-1 addresses inside namespaces this test creates are used.

The link drops 5% of packets and delays each one by 100 ms in each direction. With tc netem
that is one qdisc per end. Kernels without sch_netem get the same from netfilter, inside each
namespace: an nftables rule drops 5% of the packets arriving on the veth (numgen random), and
an iptables NFQUEUE rule hands every packet leaving on the veth to packet_delay.py, which
releases it 100 ms later, in order. Either way the test measures what the peers see: the round
trip /ping reports, and (for the fallback) the drop counters and the number of delayed packets.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_kill_restart import numbered

pytestmark = pytest.mark.fault

# TEST-NET-2 (RFC 5737), only ever configured inside the two namespaces this test creates;
# this machine's own interface already uses TEST-NET-1.
ADDRESS_A, ADDRESS_B = "198.51.100.1", "198.51.100.2"
LOSS_PERCENT, DELAY_MS = 5, 100
LOSS_TABLE = "p2pchat_loss"
DELAY_QUEUE = "1"
PACKET_DELAY = Path(__file__).with_name("packet_delay.py")


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=10)


def _in(netns: str, *command: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", netns, *command], input=stdin, capture_output=True,
                          text=True, check=check, timeout=10)


class Link:
    """Namespaces p2pc-a-*/p2pc-b-* joined by one veth pair, made lossy and slow by `shape`."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.ns_a, self.ns_b = f"p2pc-a-{tag}", f"p2pc-b-{tag}"
        self.dev_a, self.dev_b = f"p2pca{tag}", f"p2pcb{tag}"
        self.ends = ((self.ns_a, self.dev_a), (self.ns_b, self.dev_b))
        self.shaping = ""
        self.delayers: list[subprocess.Popen] = []

    def create(self) -> None:
        try:
            _ip("netns", "add", self.ns_a)
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot create network namespaces here: {exc.stderr.strip()}")
        _ip("netns", "add", self.ns_b)
        _ip("link", "add", self.dev_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.dev_b, "netns", self.ns_b)
        for (ns, dev), address in zip(self.ends, (ADDRESS_A, ADDRESS_B), strict=True):
            _ip("link", "set", "lo", "up", netns=ns)
            _ip("addr", "add", f"{address}/24", "dev", dev, netns=ns)
            _ip("link", "set", dev, "up", netns=ns)

    def shape(self) -> None:
        """5% loss and 100 ms delay each way: netem where the kernel has it, netfilter otherwise."""
        netem = ["tc", "qdisc", "add", "dev", self.dev_a, "root", "netem",
                 "loss", f"{LOSS_PERCENT}%", "delay", f"{DELAY_MS}ms"]
        tried = _in(self.ns_a, *netem, check=False) if shutil.which("tc") else None
        if tried is not None and tried.returncode == 0:
            netem[4] = self.dev_b
            _in(self.ns_b, *netem)
            self.shaping = f"tc netem: {LOSS_PERCENT}% loss, {DELAY_MS} ms each way"
            return
        why_not_netem = "tc is not installed" if tried is None else tried.stderr.strip().splitlines()[0]
        missing = [tool for tool in ("nft", "iptables") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"tc netem is unavailable ({why_not_netem}) and the netfilter fallback needs "
                        f"{' and '.join(missing)} (packages nftables, iptables)")
        for ns, dev in self.ends:
            self._drop_some(ns, dev)
            self._delay_all(ns, dev)
        self.shaping = (f"netfilter (no netem: {why_not_netem}): nft numgen drops {LOSS_PERCENT}% "
                        f"arriving, NFQUEUE holds each leaving packet {DELAY_MS} ms")

    def _drop_some(self, ns: str, dev: str) -> None:
        rules = (f"table inet {LOSS_TABLE} {{\n chain input {{\n type filter hook input priority 0; policy accept;\n"
                 f' iifname "{dev}" numgen random mod 100 < {LOSS_PERCENT} counter drop\n }}\n}}\n')
        done = _in(ns, "nft", "-f", "-", stdin=rules, check=False)
        if done.returncode != 0:
            pytest.skip(f"tc netem is unavailable and nft cannot add the loss rule: {done.stderr.strip()}")

    def _delay_all(self, ns: str, dev: str) -> None:
        delayer = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(PACKET_DELAY), DELAY_QUEUE,
                                    str(DELAY_MS / 1000)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.delayers.append(delayer)
        if delayer.stdout.readline().strip() != "ready":
            delayer.wait(5)
            pytest.skip(f"tc netem is unavailable and the NFQUEUE delayer did not start: {delayer.stderr.read().strip()}")
        # No --queue-bypass: were the delayer to die, the link would go dead rather than fast.
        done = _in(ns, "iptables", "-A", "OUTPUT", "-o", dev, "-j", "NFQUEUE", "--queue-num", DELAY_QUEUE, check=False)
        if done.returncode != 0:
            pytest.skip(f"tc netem is unavailable and iptables cannot add the NFQUEUE rule: {done.stderr.strip()}")

    def dropped(self) -> int:
        """Packets the nft loss rules dropped, both ends together."""
        total = 0
        for ns, _dev in self.ends:
            listing = _in(ns, "nft", "list", "table", "inet", LOSS_TABLE).stdout
            total += sum(int(n) for n in re.findall(r"counter packets (\d+)", listing))
        return total

    def delayed(self) -> int:
        """Packets the NFQUEUE rules handed to the delayers, both ends together."""
        total = 0
        for ns, _dev in self.ends:
            listing = _in(ns, "iptables", "-nvxL", "OUTPUT").stdout
            total += sum(int(line.split()[0]) for line in listing.splitlines() if "NFQUEUE" in line)
        return total

    def set_up(self, up: bool) -> None:
        _ip("link", "set", self.dev_a, "up" if up else "down", netns=self.ns_a)

    def remove(self) -> None:
        for delayer in self.delayers:
            if delayer.poll() is None:
                delayer.terminate()
            try:
                delayer.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                delayer.kill()
                delayer.communicate()
        for ns, _dev in self.ends:
            if self.delayers:
                _in(ns, "nft", "delete", "table", "inet", LOSS_TABLE, check=False)
                _in(ns, "iptables", "-F", "OUTPUT", check=False)
            _ip("netns", "del", ns, check=False)  # takes its end of the veth pair along


@pytest.fixture
def link():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (`ip`)")
    created = Link()
    try:
        created.create()
        created.shape()
        yield created
    finally:
        created.remove()


def _round_trip_ms(peer) -> float:
    start = len(peer.lines)
    peer.type("/ping")
    return float(peer.wait_line(r"round trip ([\d.]+) ms", 15, start)[1])


# The fault suite's 1 s heartbeat timeout is shorter than what this link can promise: a frame
# queued behind a 64 KiB chunk, or a retransmitted one, can take longer than that to arrive.
LINK_TIMERS = {"P2PCHAT_HEARTBEAT_TIMEOUT": "3"}


def test_lossy_link_cut_and_restored_delivers_everything_once(spawn, link, tmp_path):
    downloads = tmp_path / "downloads"
    alice = spawn("alice", "--port", "0", "--bind", ADDRESS_A, netns=link.ns_a, env=LINK_TIMERS)
    port = alice.port()
    bob = spawn("bob", "--port", "0", "--bind", ADDRESS_B, "--connect", f"{ADDRESS_A}:{port}",
                "--auto-accept", "--download-dir", str(downloads), netns=link.ns_b, env=LINK_TIMERS)
    alice.wait_line(r"^\* connected to bob", 30)
    round_trips = [_round_trip_ms(alice) for _ in range(3)]
    # 100 ms each way: no round trip can be shorter than 200 ms (a lost packet only adds to it).
    assert min(round_trips) >= 2 * DELAY_MS, round_trips
    bob.type(*numbered("b", 1, 30))
    alice.type(*numbered("a", 1, 30))
    alice.wait_received("bob", 30, 30)

    started = time.monotonic()
    bob_before_cut, alice_before_cut = len(bob.lines), len(alice.lines)
    link.set_up(False)
    try:
        bob.wait_line(r"no heartbeat for 3 s", 15, bob_before_cut)
        bob.type(*numbered("b", 31, 60))
        alice.type(*numbered("a", 31, 60))
        time.sleep(1.0)
    finally:
        link.set_up(True)
    alice.wait_line(r"^\* reconnected to bob", 40, alice_before_cut)
    recovered = time.monotonic() - started

    source = tmp_path / "small.bin"
    source.write_bytes(os.urandom(64 * 1024))
    alice.type(f"/send {source}")
    assert alice.wait_received("bob", 60, 40) == numbered("b", 1, 60)
    assert bob.wait_received("alice", 60, 40) == numbered("a", 1, 60)
    bob.wait_line(r"small\.bin .*(received|saved)", 40)
    assert hashlib.sha256((downloads / "small.bin").read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert alice.finish() == 0 and bob.finish() == 0
    assert alice.received("bob") == numbered("b", 1, 60)
    assert bob.received("alice") == numbered("a", 1, 60)

    observed = f"round trips {', '.join(f'{ms:.0f}' for ms in round_trips)} ms"
    if link.delayers:
        dropped = link.dropped()
        assert dropped > 0, "the nft loss rules dropped nothing: the link was not lossy"
        assert all(delayer.poll() is None for delayer in link.delayers), "a packet delayer died"
        observed += f", {dropped} packets dropped, {link.delayed()} delayed"
    print(f"{link.shaping}; {observed}; cut, restored and reconnected in {recovered:.1f} s")
