"""Two peers in their own network namespaces on a lossy, slow path that is cut and restored.

The path (netns_link.py) drops 5% of the packets arriving at each end and holds every one
100 ms, so a round trip takes at least 200 ms. The test measures what the peers see: the
round trip /ping reports, the drop counters and the number of delayed packets.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from netns_link import ADDRESS_A, ADDRESS_B
from test_kill_restart import numbered

pytestmark = pytest.mark.fault

LOSS_PERCENT, DELAY_MS = 5, 100


def _round_trip_ms(peer) -> float:
    start = len(peer.lines)
    peer.type("/ping")
    return float(peer.wait_line(r"round trip ([\d.]+) ms", 15, start)[1])


# The fault suite's 1 s heartbeat timeout is shorter than what this link can promise: a frame
# queued behind a 64 KiB chunk, or a retransmitted one, can take longer than that to arrive.
LINK_TIMERS = {"P2PCHAT_HEARTBEAT_TIMEOUT": "3"}


def test_lossy_link_cut_and_restored_delivers_everything_once(spawn, netns_path, tmp_path):
    link = netns_path(None, 2 * DELAY_MS, LOSS_PERCENT)
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

    dropped = link.dropped()
    assert dropped > 0, "the nft loss rules dropped nothing: the link was not lossy"
    assert all(delayer.poll() is None for delayer in link.delayers), "a packet delayer died"
    observed = (f"round trips {', '.join(f'{ms:.0f}' for ms in round_trips)} ms, "
                f"{dropped} packets dropped, {link.delayed()} delayed")
    print(f"{link.shaping}; {observed}; cut, restored and reconnected in {recovered:.1f} s")
