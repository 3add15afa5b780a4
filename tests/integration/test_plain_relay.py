"""Plain mode with an invite through a real transit relay: /invite, then --connect with it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_plain import PlainProcess, listening_port

from tests.support.relay import TransitRelay, twist_command
from tests.support.session import free_port

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed")


def test_invite_in_plain_mode_connects_through_the_relay(tmp_path):
    relay = TransitRelay("127.0.0.1", free_port()).start()
    alice = PlainProcess(tmp_path / "alice", "--port", "0", "--nickname", "alice",
                         "--relay", relay.setting)
    bob = None
    try:
        port = listening_port(alice)
        alice.process.stdin.write(b"/invite\n")
        alice.process.stdin.flush()
        # Bound to 127.0.0.1 (PlainProcess binds there), that is the address the invite names.
        alice.wait_line(r"^\* no code: no rendezvous server is set")
        alice.wait_line(rf"^\* this invite line \(good for one peer within 24 hours: 127\.0\.0\.1:{port};")
        # An invite naming a port where nothing listens (made beside the running alice, which
        # reads new invites from its folder): the direct attempt fails, the relay carries the chat.
        made = subprocess.run(
            [sys.executable, "-m", "p2pchat", "--bind", "127.0.0.1", "--port", str(free_port()),
             "--relay", relay.setting, "invite"],
            env={**os.environ, "P2PCHAT_HOME": str(tmp_path / "alice")},
            capture_output=True, text=True, timeout=60, check=True,
        )
        line = made.stdout.strip()
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
