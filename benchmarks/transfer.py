"""File transfer throughput between two real `p2pchat --plain` processes on loopback.

For each mode (plain TCP, TLS) it starts a receiver (`--auto-accept`, its own
P2PCHAT_HOME and download folder) and a sender that dials it, types `/send FILE`
into the sender and times until the receiver prints the "received" notice (the
receiver has then written, fsynced and hash-checked the whole file). While the file
moves, the sender is sent `/ping` every 50 ms; the benchmark reports

- `rtt p99`: the round trip the session measured (PING out, PONG back), and
- `e2e p99`: from writing `/ping` to the sender's stdin until its "round trip" line
  appears on stdout, so both processes' event loops are included.

The ceiling is `socat` moving the same file between two processes (file -> TCP ->
file), in plain TCP and with `OPENSSL` (a throwaway certificate from `openssl req`).
Peak RSS is each process's VmHWM, read from /proc just before it exits.

    python benchmarks/transfer.py [--size 1GiB] [--modes plain,tls] [--no-socat]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PING_EVERY = 0.05
UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_source(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        left = size
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
            block = block[1:] + block[:1]  # not the same MiB over and over
    return digest.hexdigest()


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


LOOPBACK = ("127.0.0.1", None)  # (address, network namespace or None) of one end


def in_netns(netns: str | None, command: list[str]) -> list[str]:
    return command if netns is None else ["ip", "netns", "exec", netns, *command]


class Peer:
    """A `python -m p2pchat --plain` child whose stdout lines arrive on a queue."""

    def __init__(self, home: Path, args: list[str], end: tuple[str, str | None] = LOOPBACK) -> None:
        env = dict(os.environ, P2PCHAT_HOME=str(home), PYTHONUNBUFFERED="1", P2PCHAT_RELAY="", P2PCHAT_RENDEZVOUS="")
        self.proc = subprocess.Popen(
            in_netns(end[1], [sys.executable, "-m", "p2pchat", "--plain", "--bind", end[0], *args]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))
        self.lines.put((time.perf_counter(), None))

    def type(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, needle: str, timeout: float) -> tuple[float, str]:
        deadline = time.perf_counter() + timeout
        while True:
            at, line = self.lines.get(timeout=max(0.01, deadline - time.perf_counter()))
            if line is None:
                raise RuntimeError(f"peer exited while waiting for {needle!r}")
            if needle in line:
                return at, line

    def stop(self) -> float:
        rss = peak_rss_mib(self.proc.pid)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return rss


def ping(sender: Peer) -> tuple[float, float] | None:
    """(round trip the session measured, end to end) of one /ping, in ms; None if none came."""
    typed = time.perf_counter()
    sender.type("/ping")
    try:
        at, line = sender.wait_for("round trip", 5)
    except queue.Empty:
        return None
    return float(line.split("round trip")[1].split()[0]), (at - typed) * 1000


def run_p2pchat(workdir: Path, source: Path, size: int, tls: bool, receiver_end=LOOPBACK, sender_end=LOOPBACK,
                idle_pings: int = 0) -> dict:
    """One transfer; `receiver_end`/`sender_end` say where each peer runs. With `idle_pings`,
    that many /ping round trips are measured before the transfer (`idle_rtts`)."""
    mode = "tls" if tls else "plain"
    root = Path(tempfile.mkdtemp(prefix=mode + "-", dir=workdir))
    download = root / "downloads"
    download.mkdir(parents=True)
    port = free_port()
    common = [] if tls else ["--no-tls"]
    receiver = Peer(root / "bob", ["--nickname", "bob", "--port", str(port), "--auto-accept",
                                   "--download-dir", str(download), "--no-history", *common], receiver_end)
    receiver.wait_for("listening on port", 20)
    sender = Peer(root / "alice", ["--nickname", "alice", "--port", str(free_port()),
                                   "--connect", f"{receiver_end[0]}:{port}", "--no-history", *common], sender_end)
    try:
        sender.wait_for("connected to bob", 20)
        receiver.wait_for("connected to alice", 20)
        idle = []
        for _ in range(idle_pings):
            idle += [measured[0]] if (measured := ping(sender)) else []
            time.sleep(PING_EVERY)
        start = time.perf_counter()
        sender.type(f"/send {source}")
        rtts, e2e = [], []
        finished = None
        while finished is None:
            typed = time.perf_counter()
            if measured := ping(sender):
                rtts.append(measured[0])
                e2e.append(measured[1])
            while finished is None and (time.perf_counter() - typed) < PING_EVERY:
                try:
                    at, line = receiver.lines.get(timeout=PING_EVERY / 5)
                except queue.Empty:
                    continue
                if line is None:
                    raise RuntimeError("the receiver exited")
                if " received to " in line or " failed" in line:
                    finished = (at, line)
            if time.perf_counter() - start > max(300, size / 20e6):
                raise RuntimeError("transfer timed out")
        at, line = finished
        if ": failed" in line:
            raise RuntimeError(line)
        seconds = at - start
        received = download / source.name
        return {
            "seconds": seconds,
            "rate": size / seconds / 1e6,
            "rtts": rtts,
            "idle_rtts": idle,
            "rtt_p99": percentile(rtts, 99),
            "e2e_p99": percentile(e2e, 99),
            "pings": len(rtts),
            "path": received,
            "rss_sender": sender.stop(),
            "rss_receiver": receiver.stop(),
        }
    finally:
        for peer in (sender, receiver):
            if peer.proc.poll() is None:
                peer.proc.kill()
                peer.proc.wait()


def run_socat(workdir: Path, source: Path, size: int, tls: bool, receiver_end=LOOPBACK,
              sender_end=LOOPBACK, options: str = "") -> float | None:
    """socat moving the file; `options` (",opt=value...") go on both ends' addresses."""
    out = workdir / ("socat-tls.bin" if tls else "socat.bin")
    port = free_port()
    host = receiver_end[0]
    if tls:
        key, cert = workdir / "key.pem", workdir / "cert.pem"
        if not cert.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=bench"],
                check=True, capture_output=True,
            )
        listen = f"OPENSSL-LISTEN:{port},bind={host},reuseaddr,cert={cert},key={key},verify=0{options}"
        connect = f"OPENSSL:{host}:{port},verify=0{options}"
    else:
        listen = f"TCP-LISTEN:{port},bind={host},reuseaddr{options}"
        connect = f"TCP:{host}:{port}{options}"
    server = subprocess.Popen(in_netns(receiver_end[1], ["socat", "-u", listen, f"CREATE:{out}"]))
    time.sleep(0.3)
    start = time.perf_counter()
    subprocess.run(in_netns(sender_end[1], ["socat", "-u", f"OPEN:{source}", connect]), check=True)
    server.wait(600)
    seconds = time.perf_counter() - start
    if out.stat().st_size != size:
        raise RuntimeError(f"socat moved {out.stat().st_size} of {size} bytes")
    out.unlink()
    return size / seconds / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="file size (default 1GiB)")
    parser.add_argument("--modes", default="plain,tls", help="plain,tls (default both)")
    parser.add_argument("--no-socat", action="store_true", help="skip the socat ceiling")
    parser.add_argument("--dir", help="where the files go (default /dev/shm if present, so the disk is not measured)")
    args = parser.parse_args()
    where = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    workdir = Path(tempfile.mkdtemp(prefix="p2pchat-bench-", dir=where))
    try:
        source = workdir / "payload.bin"
        print(f"making a {args.size / 2**20:.0f} MiB file in {workdir} ...", flush=True)
        digest = make_source(source, args.size)
        socat = shutil.which("socat") and not args.no_socat
        if not socat:
            print("socat: skipped (" + ("--no-socat" if args.no_socat else "not installed") + ")")
        for mode in args.modes.split(","):
            tls = mode == "tls"
            ceiling = run_socat(workdir, source, args.size, tls) if socat else None
            result = run_p2pchat(workdir, source, args.size, tls)
            with open(result["path"], "rb") as f:
                identical = hashlib.file_digest(f, "sha256").hexdigest() == digest
            result["path"].unlink()
            line = f"{mode:5} p2pchat {result['rate']:7.0f} MB/s ({result['seconds']:.2f} s)"
            if ceiling:
                line += f" | socat {ceiling:7.0f} MB/s | ratio {result['rate'] / ceiling:.2f}"
            line += (f" | peak RSS sender {result['rss_sender']:.0f} MiB, receiver {result['rss_receiver']:.0f} MiB"
                     f" | chat rtt p99 {result['rtt_p99']:.1f} ms, e2e p99 {result['e2e_p99']:.1f} ms"
                     f" ({result['pings']} pings) | identical {identical}")
            print(line, flush=True)
            if not identical:
                return 1
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
