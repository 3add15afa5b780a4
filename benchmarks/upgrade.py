"""Relay first, then direct, in the NAT lab: how soon the session moves, and how fast it is after.

It builds the lab of tests/nat (network namespaces: an internet with a real `twist transitrelay`
and two STUN responders, two homes behind masquerading routers that keep port numbers, a public
host; needs root) and runs `p2pchat --plain` peers in it:

- moved: alice in home 1 invites bob in home 2; they meet on the relay and hole-punch a direct
  connection. Measured: the time from bob's "connected ... via relay" line to his "now connected
  directly" line, then one file sent from bob to alice over the moved session;
- direct: alice on the public host, so bob dials her directly from the start; the same file;
- relay: as moved, but with STUN off, so the file crosses the relay.

File times run from `/send` to the receiver's "received" line (hashing, fsync and the hash check
included). Files live on /dev/shm when it exists.

    sudo python benchmarks/upgrade.py [--size 256MiB] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "nat"), str(ROOT / "tests" / "fault"), str(ROOT / "tests")]
from homes import StunServer  # noqa: E402  (tests/nat)
from lab import NatLab, why_not  # noqa: E402
from relay import invited_pair, lab_and_payload, send_speed  # noqa: E402  (benchmarks/relay.py)
from transfer import parse_size  # noqa: E402  (benchmarks/transfer.py)

MODES = ("moved", "direct", "relay")


def one_run(lab: NatLab, mode: str, stun: str, source: Path, size: int, work: Path) -> tuple[float | None, float]:
    """(seconds from the relayed connect to direct, or None; file MB/s)."""
    inviter_ns = lab.public if mode == "direct" else lab.homes[1]
    env = {"P2PCHAT_STUN": stun if mode == "moved" else ""}
    with invited_pair(lab, inviter_ns, work, env) as (alice, bob, _path):
        connected = time.perf_counter()
        moved_after = None
        if mode == "moved":
            bob.wait_line(r"^\* now connected directly to alice", 30)
            moved_after = time.perf_counter() - connected
            alice.wait_line(r"^\* now connected directly to bob", 30)
        return moved_after, send_speed(alice, bob, source, size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256MiB", type=parse_size)
    parser.add_argument("--runs", default=3, type=int)
    args = parser.parse_args()
    reason = why_not()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    speeds: dict[str, list[float]] = {mode: [] for mode in MODES}
    moves: list[float] = []
    with lab_and_payload(args.size) as (lab, source, work):
        servers = [StunServer(lab, port) for port in (3478, 3479)]
        try:
            stun = ", ".join(server.address for server in servers)
            for _ in range(args.runs):
                for mode in MODES:
                    moved_after, speed = one_run(lab, mode, stun, source, args.size, work)
                    speeds[mode].append(speed)
                    after = ""
                    if moved_after is not None:
                        moves.append(moved_after)
                        after = f"  (direct {moved_after * 1000:.0f} ms after the relayed connect)"
                    print(f"{mode:<6} {speed:7.1f} MB/s{after}", flush=True)
        finally:
            for server in servers:
                server.stop()
    print(f"relayed connect to direct: median {statistics.median(moves) * 1000:.0f} ms, "
          f"worst {max(moves) * 1000:.0f} ms of {len(moves)}")
    direct = statistics.median(speeds["direct"])
    for mode in MODES:
        median = statistics.median(speeds[mode])
        print(f"{args.size / 2**20:.0f} MiB {mode:<6} median {median:7.1f} MB/s ({median / direct:.2f}x of direct)")
    return 0


if __name__ == "__main__":
    os.environ.pop("P2PCHAT_HOME", None)
    sys.exit(main())
