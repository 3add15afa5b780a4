"""10,000 messages each way, typed as fast as the pipes take them: all arrive once, in order."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.fault

COUNT = 10_000


@pytest.mark.alone  # 10,000 messages each way as fast as the CPU allows
def test_ten_thousand_messages_each_way(spawn):
    alice = spawn("alice", "--port", "0", "--bind", "127.0.0.1")
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{alice.port()}")
    alice.wait_line(r"^\* connected to bob")
    bob.wait_line(r"^\* connected to alice")
    started = time.perf_counter()
    alice.type(*(f"a{n}" for n in range(1, COUNT + 1)))
    bob.type(*(f"b{n}" for n in range(1, COUNT + 1)))
    alice.wait_received("bob", COUNT, 60)
    bob.wait_received("alice", COUNT, 60)
    elapsed = time.perf_counter() - started
    assert alice.finish() == 0 and bob.finish() == 0  # every message acknowledged
    assert alice.received("bob") == [f"b{n}" for n in range(1, COUNT + 1)]
    assert bob.received("alice") == [f"a{n}" for n in range(1, COUNT + 1)]
    print(f"{COUNT:,} messages each way in {elapsed:.1f} s ({2 * COUNT / elapsed:,.0f} messages/s)")
