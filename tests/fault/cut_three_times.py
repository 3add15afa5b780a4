"""Send numbered messages through a link that is cut three times; the receiver must end
with exactly 1..N in order. Run directly for timings:

    python -m tests.fault.cut_three_times [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.fault.cut_proxy import CutProxy
from tests.support.plain_peer import PlainPeer


def run(workdir: Path, count: int = 10_000, cuts: int = 3) -> dict[str, float]:
    """Returns timings; raises AssertionError if anything is lost, doubled or out of order."""
    peers: list[PlainPeer] = []
    try:
        receiver = PlainPeer("receiver", workdir / "receiver", "--port", "0", "--bind", "127.0.0.1")
        peers.append(receiver.start())
        with CutProxy(receiver.port()) as proxy:
            sender = PlainPeer("sender", workdir / "sender", "--port", "0", "--bind", "127.0.0.1",
                               "--connect", f"127.0.0.1:{proxy.port}")
            peers.append(sender.start())
            receiver.wait_line(r"^\* connected to sender", 20)
            started = time.perf_counter()
            sender.type(*(str(n) for n in range(1, count + 1)))
            for cut in range(1, cuts + 1):
                # Cut at evenly spaced points while messages are in flight.
                receiver.wait_received("sender", count * cut // (cuts + 1), 60)
                mark = len(receiver.lines)
                assert proxy.cut() >= 1, "nothing to cut"
                receiver.wait_line(r"^\* reconnected to sender", 30, start=mark)
            got = receiver.wait_received("sender", count, 120)
            elapsed = time.perf_counter() - started
            assert sender.finish() == 0, "the sender gave up on undelivered messages"
            got = receiver.received("sender")
            missing = sorted(set(range(1, count + 1)) - {int(b) for b in got})
            assert got == [str(n) for n in range(1, count + 1)], (
                f"{len(got)} received, {len(missing)} missing (first {missing[:5]}), "
                f"{len(got) - len(set(got))} doubled"
            )
            return {"messages": count, "cuts": cuts, "seconds": elapsed,
                    "per_second": count / elapsed, "connections": proxy.connections_seen}
    finally:
        for peer in peers:
            peer.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        result = run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(", ".join(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in result.items()))
