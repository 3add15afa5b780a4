"""Chat latency while the listener is flooded with empty and garbage connections, against the
same two `p2pchat --plain` processes chatting with no flood, in the same run.

    python benchmarks/flood.py [--connections 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support
from tests.support.flood import connection_flood, round_trip  # noqa: E402
from tests.support.plain_peer import PlainPeer  # noqa: E402


async def chat_while(flood: asyncio.Task | None, alice, bob, first: int, least: int) -> list[float]:
    latencies, n = [], first
    while (flood is not None and not flood.done()) or n - first < least:
        n += 1
        latencies.append(await asyncio.to_thread(round_trip, bob, alice, f"from-bob-{n}"))
        latencies.append(await asyncio.to_thread(round_trip, alice, bob, f"from-alice-{n}"))
        await asyncio.sleep(0.05)
    if flood is not None:
        await flood
    return latencies


def summary(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    return (f"{name:12} {len(ms):4} messages: median {statistics.median(ms):.1f} ms, "
            f"p95 {ms[int(len(ms) * 0.95)]:.1f} ms, max {ms[-1]:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000, help="empty and garbage each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        alice = PlainPeer("alice", Path(tmp) / "alice", "--port", "0", "--bind", "127.0.0.1").start()
        port = alice.port()
        bob = PlainPeer("bob", Path(tmp) / "bob", "--port", "0", "--bind", "127.0.0.1",
                        "--connect", f"127.0.0.1:{port}").start()  # fmt: skip
        try:
            alice.wait_line(r"^\* connected to bob")
            quiet = asyncio.run(chat_while(None, alice, bob, 0, 50))

            async def flooded() -> list[float]:
                flood = asyncio.create_task(connection_flood(port, args.connections, random.Random(1234)))
                return await chat_while(flood, alice, bob, 1000, 10)

            busy = asyncio.run(flooded())
        finally:
            alice.stop()
            bob.stop()
    print(summary("no flood", quiet))
    print(summary("flood", busy))
    print(f"median during the flood: {statistics.median(busy) / statistics.median(quiet):.2f}x the quiet one")


if __name__ == "__main__":
    main()
