"""A peer frozen (SIGSTOP) past the heartbeat timeout, then resumed: the chat recovers."""

from __future__ import annotations

import time

import pytest
from test_kill_restart import numbered

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("frozen", ["listener", "dialer"])
def test_frozen_peer_recovers_and_messages_flow_again(spawn, frozen):
    alice = spawn("alice", "--port", "0", "--bind", "127.0.0.1")
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{alice.port()}")
    alice.wait_line(r"^\* connected to bob")
    bob.type(*numbered("b", 1, 10))
    alice.type(*numbered("a", 1, 10))
    alice.wait_received("bob", 10, 10)
    bob.wait_received("alice", 10, 10)

    sleeper, awake = (alice, bob) if frozen == "listener" else (bob, alice)
    sleeper.freeze()
    try:
        awake.wait_line(r"no heartbeat for 1 s", 10)
        awake.type(*numbered(awake.name[0], 11, 20))  # typed while the peer sleeps
        sleeper.type(*numbered(sleeper.name[0], 11, 20))  # waits in its input pipe
        time.sleep(0.5)
    finally:
        sleeper.thaw()

    reconnects = r"^\* reconnected to"
    alice.wait_line(reconnects, 20)
    bob.wait_line(reconnects, 20)
    bob.type(*numbered("b", 21, 30))
    alice.type(*numbered("a", 21, 30))
    assert alice.wait_received("bob", 30, 20) == numbered("b", 1, 30)
    assert bob.wait_received("alice", 30, 20) == numbered("a", 1, 30)
    assert alice.finish() == 0
    assert bob.finish() == 0
    assert alice.received("bob") == numbered("b", 1, 30)
    assert bob.received("alice") == numbered("a", 1, 30)
