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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "nat"), str(ROOT / "tests" / "fault"), str(ROOT / "tests")]

from homes import StunServer  # noqa: E402
from lab import NatLab, why_not  # noqa: E402
from plain_peer import PlainPeer  # noqa: E402
from transfer import make_source, parse_size  # noqa: E402  (benchmarks/transfer.py)

MODES = ("moved", "direct", "relay")


def one_run(lab: NatLab, mode: str, stun: str, source: Path, size: int, work: Path) -> tuple[float | None, float]:
    """(seconds from the relayed connect to direct, or None; file MB/s)."""
    inviter_ns = lab.public if mode == "direct" else lab.homes[1]
    env = {"P2PCHAT_STUN": stun if mode == "moved" else ""}
    home = Path(tempfile.mkdtemp(dir=work))
    alice = PlainPeer("alice", home / "alice", "--port", "7000", "--relay", lab.relay_setting,
                      "--auto-accept", "--download-dir", str(home / "in"), netns=inviter_ns, env=env).start()
    bob = None
    try:
        alice.port()
        alice.type("/invite")
        invite = alice.wait_line(r"^(p2pchat1[a-z2-7]+)$").group(1)
        bob = PlainPeer("bob", home / "bob", "--port", "7000", "--connect", invite,
                        netns=lab.homes[2], env=env).start()
        bob.wait_line(r"^\* connected to alice ", 30)
        connected = time.perf_counter()
        moved_after = None
        if mode == "moved":
            bob.wait_line(r"^\* now connected directly to alice", 30)
            moved_after = time.perf_counter() - connected
            alice.wait_line(r"^\* now connected directly to bob", 30)
        started = time.perf_counter()
        bob.type(f"/send {source}")
        alice.wait_line(r"^\* #\d+ \S+ received to ", 600)
        return moved_after, size / (time.perf_counter() - started) / 1e6
    finally:
        for peer in (alice, bob):
            if peer is not None:
                peer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256MiB", type=parse_size)
    parser.add_argument("--runs", default=3, type=int)
    args = parser.parse_args()
    reason = why_not()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    speeds: dict[str, list[float]] = {mode: [] for mode in MODES}
    moves: list[float] = []
    with tempfile.TemporaryDirectory(dir=scratch) as work_dir:
        work = Path(work_dir)
        source = work / "payload.bin"
        make_source(source, args.size)
        lab = NatLab().create()
        servers = []
        try:
            lab.relay.start()
            servers = [StunServer(lab, port) for port in (3478, 3479)]
            stun = ", ".join(server.address for server in servers)
            for _ in range(args.runs):
                for mode in MODES:
                    moved_after, speed = one_run(lab, mode, stun, source, args.size, work)
                    speeds[mode].append(speed)
                    if moved_after is not None:
                        moves.append(moved_after)
                    after = f"  (direct {moved_after * 1000:.0f} ms after the relayed connect)" if moved_after else ""
                    print(f"{mode:<6} {speed:7.1f} MB/s{after}", flush=True)
        finally:
            for server in servers:
                server.stop()
            lab.destroy()
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
