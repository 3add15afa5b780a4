"""Plain mode with an invite through a real transit relay: /invite, then --connect with it."""

from __future__ import annotations

import pytest
from helpers import free_port
from test_plain import PlainProcess, listening_port
from transit_relay import TransitRelay, twist_command

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed")


def test_invite_in_plain_mode_connects_through_the_relay(tmp_path):
    relay = TransitRelay("127.0.0.1", free_port()).start()
    # The inviter listens on 127.0.0.1 only (PlainProcess binds there), while its invite names
    # this machine's other addresses: the direct attempts fail, the relay carries the chat.
    alice = PlainProcess(tmp_path / "alice", "--port", "0", "--nickname", "alice",
                         "--relay", relay.setting)
    bob = None
    try:
        listening_port(alice)
        alice.process.stdin.write(b"/invite\n")
        alice.process.stdin.flush()
        alice.wait_line(r"^\* invite \(good for one peer")
        line = alice.wait_line(r"^(p2pchat1[a-z2-7]+)$").group(1)
        bob = PlainProcess(tmp_path / "bob", "--port", "0", "--nickname", "bob", "--connect", line)
        connected = bob.wait_line(r"^\* connected to alice (.*)$").group(1)
        alice.wait_line(r"^\* bob came with your invite")
        alice.wait_line(r"^\* connected to bob")
        assert connected.startswith(f"via relay 127.0.0.1:{relay.port} (encrypted"), connected
        bob.process.stdin.write(b"hello through the relay\n")
        bob.process.stdin.flush()
        alice.wait_line(r"<bob> hello through the relay$")
    finally:
        for process in (alice, bob):
            if process is not None:
                process.stop()
        relay.stop()
