"""A file over an emulated internet path (50 Mbit/s, 40 ms round trip, netns_link.py) arrives
identical, and chat typed on both sides while it moves is delivered in order, ahead of the
file's end: the file never holds the chat back."""

from __future__ import annotations

import hashlib
import os

import pytest
from netns_link import ADDRESS_A, ADDRESS_B
from test_kill_restart import numbered

pytestmark = pytest.mark.fault

SIZE = 32 * 1024 * 1024
LINES = 20
LINK_TIMERS = {"P2PCHAT_HEARTBEAT_TIMEOUT": "3"}  # a 40 ms path: more than the fault suite's 1 s


def test_a_file_over_a_slow_long_path_arrives_identical_and_chat_overtakes_it(spawn, netns_path, tmp_path):
    link = netns_path(50, 40)
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(SIZE))
    downloads = tmp_path / "downloads"
    alice = spawn("alice", "--port", "0", "--bind", ADDRESS_A, netns=link.ns_a, env=LINK_TIMERS)
    port = alice.port()
    bob = spawn("bob", "--port", "0", "--bind", ADDRESS_B, "--connect", f"{ADDRESS_A}:{port}",
                "--auto-accept", "--download-dir", str(downloads), netns=link.ns_b, env=LINK_TIMERS)
    alice.wait_line(r"^\* connected to bob", 30)

    alice.type(f"/send {source}")
    part = downloads / "payload.bin.part"
    bob.wait_for(lambda _: part.exists() and part.stat().st_size > 0, 30, "the first bytes of the file")
    alice.type(*numbered("a", 1, LINES))
    bob.type(*numbered("b", 1, LINES))
    assert bob.wait_received("alice", LINES, 60) == numbered("a", 1, LINES)
    assert alice.wait_received("bob", LINES, 60) == numbered("b", 1, LINES)
    chat_done = len(bob.lines)
    bob.wait_line(r"payload\.bin .*(received|saved)", 120)

    # The chat came out while the file was still on its way, not queued behind it.
    assert not any("payload.bin" in line and ("received" in line or "saved" in line) for line in bob.lines[:chat_done])
    received = downloads / "payload.bin"
    assert hashlib.sha256(received.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert alice.finish() == 0 and bob.finish() == 0
    assert all(delayer.poll() is None for delayer in link.delayers), "a packet delayer died"
