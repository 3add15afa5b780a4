"""File transfer over emulated internet paths: p2pchat TLS against socat OPENSSL and iperf3,
on the same path in the same run, with BBR and with CUBIC.

Each path is built in network namespaces (tests/fault/netns_link.py): a router whose `tc tbf`
is the bottleneck (its queue holds 100 ms), the delay added as packets arrive at each end,
loss dropped by nftables. For each path and congestion control (TCP_CONGESTION on every connection:
socat's setsockopt-string, iperf3's -C, and for p2pchat the sitecustomize in
benchmarks/congestion, so p2pchat itself never picks one) it moves the same file with socat OPENSSL, iperf3 (`-n`, memory to memory) and p2pchat TLS (two `--plain`
processes, the receiver's "received" notice ends the clock), and reports MB/s, the ratio to
socat, and the round trip `/ping` reports while idle and while the file moves (every 50 ms).

Needs root, iproute2, tc, nftables, iptables, socat, iperf3 and openssl.

    sudo python benchmarks/wan.py [--size 64MiB] [--paths 200/40,100/100,50/60/1] [--cc bbr,cubic] [--runs 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path[:0] = [str(Path(__file__).parents[1] / "tests" / "fault"), str(Path(__file__).parents[1])]
from netns_link import ADDRESS_A, ADDRESS_B, Link, LinkUnavailable  # noqa: E402
from transfer import make_source, parse_size, percentile, run_p2pchat, run_socat  # noqa: E402

PATHS = "200/40,100/100,50/60/1"  # Mbit/s / round trip ms [/ loss %]
IDLE_PINGS = 20
CONGESTION_HOOK = Path(__file__).with_name("congestion")
TOOLS = ("socat", "openssl", "iperf3", "ip", "tc", "nft", "iptables")


def parse_path(text: str) -> tuple[float, float, float]:
    rate, rtt, *loss = (float(part) for part in text.split("/"))
    return rate, rtt, loss[0] if loss else 0.0


def run_iperf3(link: Link, size: int, cc: str) -> float:
    server = subprocess.Popen(["ip", "netns", "exec", link.ns_b, "iperf3", "-s", "-1", "-B", ADDRESS_B],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # the server is listening once a client gets through
            client = subprocess.run(["ip", "netns", "exec", link.ns_a, "iperf3", "-c", ADDRESS_B, "-n", str(size),
                                     "-C", cc, "-J"],
                                    capture_output=True, text=True, timeout=600)
            if client.returncode == 0:
                end = json.loads(client.stdout)["end"]
                return end["sum_received"]["bits_per_second"] / 8 / 1e6
            if "connect" not in client.stdout + client.stderr:
                raise RuntimeError(f"iperf3 failed: {client.stdout[-300:]} {client.stderr[-300:]}")
        raise RuntimeError("the iperf3 server never listened")
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def measure(workdir: Path, source: Path, digest: str, size: int, path: tuple[float, float, float], cc: str) -> dict:
    link = Link("wan")
    try:
        link.create()
        link.shape(*path)
        ends = {"receiver_end": (ADDRESS_B, link.ns_b), "sender_end": (ADDRESS_A, link.ns_a)}
        socat = run_socat(workdir, source, size, True, options=f",setsockopt-string=6:13:{cc}", **ends)
        iperf = run_iperf3(link, size, cc)
        saved = os.environ.copy()
        os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, (str(CONGESTION_HOOK), os.environ.get("PYTHONPATH")))),
                          BENCH_TCP_CONGESTION=cc)
        try:
            result = run_p2pchat(workdir, source, size, True, idle_pings=IDLE_PINGS, **ends)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with open(result["path"], "rb") as received:
            identical = hashlib.file_digest(received, "sha256").hexdigest() == digest
        result["path"].unlink()
        return {"socat": socat, "iperf3": iperf, "p2pchat": result["rate"], "identical": identical,
                "idle": result["idle_rtts"], "busy": result["rtts"]}
    finally:
        link.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=64 << 20, help="file size (default 64MiB)")
    parser.add_argument("--paths", default=PATHS, help=f"RATE_MBIT/RTT_MS[/LOSS_PERCENT],... (default {PATHS})")
    parser.add_argument("--cc", default="bbr,cubic", help="congestion controls (default bbr,cubic)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each path and congestion control")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("wan.py builds network namespaces and needs root: run it with sudo", file=sys.stderr)
        return 2
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"wan.py needs {', '.join(missing)}", file=sys.stderr)
        return 2
    where = "/dev/shm" if os.path.isdir("/dev/shm") else None
    workdir = Path(tempfile.mkdtemp(prefix="p2pchat-wan-", dir=where))
    try:
        source = workdir / "payload.bin"
        digest = make_source(source, args.size)
        print(f"{args.size / 2**20:.0f} MiB, TLS; MB/s; /ping round trip in ms (median/p99), idle and during the transfer")
        for text in args.paths.split(","):
            path = parse_path(text)
            for cc in args.cc.split(","):
                for _ in range(args.runs):
                    try:
                        r = measure(workdir, source, digest, args.size, path, cc)
                    except LinkUnavailable as exc:
                        print(f"cannot build the emulated path: {exc}", file=sys.stderr)
                        return 2
                    idle, busy = r["idle"], r["busy"]
                    print(f"{path[0]:g} Mbit/s {path[1]:g} ms{f' {path[2]:g}% loss' if path[2] else ''} {cc:5} | "
                          f"socat {r['socat']:5.1f} | iperf3 {r['iperf3']:5.1f} | p2pchat {r['p2pchat']:5.1f} "
                          f"({r['p2pchat'] / r['socat']:.2f}x socat) | ping idle {statistics.median(idle):.0f}/"
                          f"{percentile(idle, 99):.0f}, during {statistics.median(busy):.0f}/{percentile(busy, 99):.0f}"
                          f" ({len(busy)} pings) | identical {r['identical']}", flush=True)
                    if not r["identical"]:
                        return 1
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
