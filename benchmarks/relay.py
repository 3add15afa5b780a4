"""File transfer through a magic-wormhole transit relay against the direct path, in the NAT lab.

It builds the lab of tests/nat (network namespaces: an internet, two homes behind masquerading
routers, a public host, a real `twist transitrelay`; needs root), then moves one file from a
`p2pchat --plain` in home 2 to one that invited it:

- direct: the inviter is on the public host, so the invited side dials it directly;
- relay: the inviter is in home 1, behind its router, so only the relay connects them.

Times run from `/send` to the receiver's "received" line (hashing, fsync and the hash check
included). Files live on /dev/shm when it exists.

    sudo python benchmarks/relay.py [--size 256MiB] [--runs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "nat"), str(ROOT / "tests" / "fault"), str(ROOT / "tests")]

from lab import NatLab, why_not  # noqa: E402
from plain_peer import PlainPeer  # noqa: E402
from transfer import make_source, parse_size  # noqa: E402  (benchmarks/transfer.py)


@contextlib.contextmanager
def invited_pair(lab: NatLab, inviter_ns: str, work: Path, env: dict[str, str] | None = None):
    """Alice (auto-accepting files) in `inviter_ns` invites bob in home 2; yields both and the
    path bob's connected line names. Both are stopped at the end."""
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
        path = bob.wait_line(r"^\* connected to alice (.*) \(encrypted", 30).group(1)
        yield alice, bob, path
    finally:
        for peer in (alice, bob):
            if peer is not None:
                peer.stop()


def send_speed(alice: PlainPeer, bob: PlainPeer, source: Path, size: int) -> float:
    """MB/s of one file from bob to alice, from `/send` to the receiver's "received" line."""
    started = time.perf_counter()
    bob.type(f"/send {source}")
    alice.wait_line(r"^\* #\d+ \S+ received to ", 600)
    return size / (time.perf_counter() - started) / 1e6


@contextlib.contextmanager
def lab_and_payload(size: int):
    """A started NAT lab (relay running) and a payload file of `size` bytes, both removed after."""
    scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch) as work_dir:
        work = Path(work_dir)
        source = work / "payload.bin"
        make_source(source, size)
        lab = NatLab().create()
        try:
            lab.relay.start()
            yield lab, source, work
        finally:
            lab.destroy()


def one_run(lab: NatLab, where: str, source: Path, size: int, work: Path) -> tuple[float, str]:
    inviter_ns = lab.public if where == "direct" else lab.homes[1]
    with invited_pair(lab, inviter_ns, work) as (alice, bob, path):
        return send_speed(alice, bob, source, size), path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256MiB", type=parse_size)
    parser.add_argument("--runs", default=2, type=int)
    args = parser.parse_args()
    reason = why_not()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    results: dict[str, list[float]] = {"direct": [], "relay": []}
    with lab_and_payload(args.size) as (lab, source, work):
        for _ in range(args.runs):
            for where in results:
                speed, path = one_run(lab, where, source, args.size, work)
                results[where].append(speed)
                print(f"{where:<6} {speed:7.1f} MB/s  ({path})", flush=True)
    for label, pick in (("best", max), ("median", statistics.median)):
        direct, relay = pick(results["direct"]), pick(results["relay"])
        print(f"{args.size / 2**20:.0f} MiB, {label} of {args.runs}: direct {direct:.1f} MB/s, "
              f"relay {relay:.1f} MB/s ({relay / direct:.2f}x of direct)")
    return 0


if __name__ == "__main__":
    os.environ.pop("P2PCHAT_HOME", None)
    sys.exit(main())
