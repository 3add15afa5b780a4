"""A flood of empty and garbage connections at the listener leaves the chat alone."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.support.flood import connection_flood, round_trip

pytestmark = pytest.mark.fault

RSS_MARGIN_KIB = 20 * 1024


@pytest.mark.alone  # measures round trips and memory during the flood
def test_connection_flood_does_not_disturb_the_chat_or_grow_memory(spawn):
    alice = spawn("alice", "--port", "0", "--bind", "127.0.0.1")
    port = alice.port()
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", "--connect", f"127.0.0.1:{port}")
    alice.wait_line(r"^\* connected to bob")
    rng = random.Random(1234)
    asyncio.run(connection_flood(port, 300, rng))  # let the allocator reach its working size first
    time.sleep(0.5)
    rss_before = alice.rss_kib()

    async def flood_while_chatting() -> tuple[int, int]:
        """Messages go both ways, one at a time, until the flood is over; how fast is for
        benchmarks/flood.py. Returns (connections that failed to open, messages each way)."""
        flood = asyncio.create_task(connection_flood(port, 1000, rng))
        n = 0
        while not flood.done() or n < 10:
            n += 1
            await asyncio.to_thread(round_trip, bob, alice, f"from-bob-{n}")
            await asyncio.to_thread(round_trip, alice, bob, f"from-alice-{n}")
            await asyncio.sleep(0.05)  # a brisk conversation, not a benchmark
        return await flood, n

    failures, sent = asyncio.run(flood_while_chatting())
    time.sleep(1.0)  # let the listener finish with the last connections
    rss_after = alice.rss_kib()

    assert failures < 20, f"{failures} of 2,000 connections could not even open"
    assert alice.received("bob") == [f"from-bob-{n}" for n in range(1, sent + 1)]
    assert bob.received("alice") == [f"from-alice-{n}" for n in range(1, sent + 1)]
    assert rss_after - rss_before < RSS_MARGIN_KIB, f"listener RSS grew {rss_before} -> {rss_after} KiB"
    assert alice.count(r"^\* (reconnected|connection lost|.* left)") == 0  # the session never dropped
    assert alice.finish() == 0 and bob.finish() == 0
