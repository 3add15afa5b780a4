"""Two peers in their own network namespaces over a veth pair: a lossy, slow link that is
cut and restored. Only TEST-NET-1 addresses inside namespaces this test creates are used."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import time
import warnings

import pytest
from test_kill_restart import numbered

pytestmark = pytest.mark.fault

ADDRESS_A, ADDRESS_B = "192.0.2.1", "192.0.2.2"


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=10)


class Link:
    """Namespaces p2pc-a-*/p2pc-b-* joined by one veth pair; `shaping` says what tc managed."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.ns_a, self.ns_b = f"p2pc-a-{tag}", f"p2pc-b-{tag}"
        self.dev_a, self.dev_b = f"p2pca{tag}", f"p2pcb{tag}"
        self.shaping = ""

    def create(self) -> None:
        try:
            _ip("netns", "add", self.ns_a)
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot create network namespaces here: {exc.stderr.strip()}")
        _ip("netns", "add", self.ns_b)
        _ip("link", "add", self.dev_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.dev_b, "netns", self.ns_b)
        for ns, dev, address in ((self.ns_a, self.dev_a, ADDRESS_A), (self.ns_b, self.dev_b, ADDRESS_B)):
            _ip("link", "set", "lo", "up", netns=ns)
            _ip("addr", "add", f"{address}/24", "dev", dev, netns=ns)
            _ip("link", "set", dev, "up", netns=ns)

    def shape(self) -> None:
        """5% loss and 100 ms delay each way with netem; a 2 Mbit/s limit where netem is missing."""
        reasons = []
        for ns, dev in ((self.ns_a, self.dev_a), (self.ns_b, self.dev_b)):
            done = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
                                   "netem", "loss", "5%", "delay", "100ms"], capture_output=True, text=True)
            if done.returncode != 0:
                reasons.append(done.stderr.strip())
                subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
                                "tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms"], check=True)
        if reasons:
            self.shaping = "2 Mbit/s only"
            warnings.warn(f"netem part skipped: tc netem is unavailable here ({reasons[0]}); "
                          "the link is limited to 2 Mbit/s instead", stacklevel=1)
        else:
            self.shaping = "netem 5% loss, 100 ms"

    def set_up(self, up: bool) -> None:
        _ip("link", "set", self.dev_a, "up" if up else "down", netns=self.ns_a)

    def remove(self) -> None:
        for ns in (self.ns_a, self.ns_b):
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


def test_lossy_link_cut_and_restored_delivers_everything_once(spawn, link, tmp_path):
    downloads = tmp_path / "downloads"
    alice = spawn("alice", "--port", "0", "--bind", ADDRESS_A, netns=link.ns_a)
    port = alice.port()
    bob = spawn("bob", "--port", "0", "--bind", ADDRESS_B, "--connect", f"{ADDRESS_A}:{port}",
                "--auto-accept", "--download-dir", str(downloads), netns=link.ns_b)
    alice.wait_line(r"^\* connected to bob", 30)
    bob.type(*numbered("b", 1, 30))
    alice.type(*numbered("a", 1, 30))
    alice.wait_received("bob", 30, 30)

    started = time.monotonic()
    link.set_up(False)
    try:
        bob.wait_line(r"no heartbeat for 1 s", 15)
        bob.type(*numbered("b", 31, 60))
        alice.type(*numbered("a", 31, 60))
        time.sleep(1.0)
    finally:
        link.set_up(True)
    alice.wait_line(r"^\* reconnected to bob", 40)
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
    print(f"{link.shaping}: cut, restored and reconnected in {recovered:.1f} s")
