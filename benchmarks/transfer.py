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

The first setting is the one the figures have always been: files on /dev/shm (the disk is not
measured), port mapping and LAN discovery off (both peers bound to 127.0.0.1). Beside it:

- `--disk DIR`: files (source, socat's copy, the download) on a real file system, e.g. under
  /var/tmp; socat's copy is in the page cache when it ends, p2pchat's is fsynced.
- `--defaults`: port mapping and discovery on, as a user runs it: both peers (and socat) in a
  network namespace whose default route leads to a router namespace where nothing answers UPnP,
  NAT-PMP or mDNS (needs root), bound to that namespace's address, so nothing counts them off.
  With both options, also the two together.

Each setting runs `--runs` interleaved pairs (socat, then p2pchat) and reports the medians.

    python benchmarks/transfer.py [--size 1GiB] [--modes plain,tls] [--no-socat] [--runs N]
                                  [--disk DIR] [--defaults] [--only "/var/tmp, defaults"]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
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
        out.flush()
        os.fsync(out.fileno())  # on a disk, a file to send is old and clean, not still dirty
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


@dataclass(frozen=True)
class Setting:
    label: str
    directory: str | None  # None: the default temporary folder
    end: tuple[str, str | None] = LOOPBACK


def settings_to_run(disk: str | None, defaults: tuple[str, str] | None) -> list[Setting]:
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    found = [Setting(f"{shm or 'tmp'}, mapping+discovery off", shm)]
    if disk:
        found.append(Setting(f"{disk}, mapping+discovery off", disk))
    if defaults:
        found.append(Setting(f"{shm or 'tmp'}, defaults", shm, defaults))
        if disk:
            found.append(Setting(f"{disk}, defaults", disk, defaults))
    return found


@contextlib.contextmanager
def quiet_network(wanted: bool):
    """(address, namespace) of an end in a namespace with a router that answers nothing."""
    if not wanted:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "fault"))
    from netns_link import ADDRESS_A, Link

    link = Link("p2pb")
    try:
        link.create()
        yield ADDRESS_A, link.ns_a
    finally:
        link.remove()


def one_pair(workdir: Path, source: Path, digest: str, size: int, tls: bool, socat: bool,
             setting: Setting) -> dict:
    ceiling = run_socat(workdir, source, size, tls, setting.end, setting.end) if socat else None
    result = run_p2pchat(workdir, source, size, tls, setting.end, setting.end)
    with open(result["path"], "rb") as f:
        result["identical"] = hashlib.file_digest(f, "sha256").hexdigest() == digest
    result["path"].unlink()
    result["socat"] = ceiling
    return result


def report(mode: str, setting: Setting, runs: list[dict]) -> str:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    rate = median("rate")
    line = f"{mode:5} {setting.label:40} p2pchat {rate:5.0f} MB/s ({median('seconds'):.2f} s)"
    if runs[0]["socat"]:
        ratios = [run["rate"] / run["socat"] for run in runs]
        line += (f" | socat {statistics.median(run['socat'] for run in runs):5.0f} MB/s"
                 f" | ratio {statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    line += (f" | peak RSS sender {median('rss_sender'):.0f} MiB, receiver {median('rss_receiver'):.0f} MiB"
             f" (max {max(run['rss_receiver'] for run in runs):.0f})"
             f" | chat rtt p99 {median('rtt_p99'):.1f} ms, e2e p99 {median('e2e_p99'):.1f} ms"
             f" | identical {all(run['identical'] for run in runs)}")
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="file size (default 1GiB)")
    parser.add_argument("--modes", default="plain,tls", help="plain,tls (default both)")
    parser.add_argument("--no-socat", action="store_true", help="skip the socat ceiling")
    parser.add_argument("--runs", type=int, default=1, help="interleaved pairs per setting (default 1)")
    parser.add_argument("--disk", metavar="DIR", help="also with the files on this (real) file system")
    parser.add_argument("--defaults", action="store_true",
                        help="also with port mapping and discovery on (needs root: a network namespace)")
    parser.add_argument("--only", metavar="TEXT", default="", help="only the settings whose label contains TEXT")
    args = parser.parse_args()
    socat = shutil.which("socat") and not args.no_socat
    if not socat:
        print("socat: skipped (" + ("--no-socat" if args.no_socat else "not installed") + ")")
    with quiet_network(args.defaults) as defaults, contextlib.ExitStack() as cleanup:
        workdirs: dict[str | None, tuple[Path, Path, str]] = {}
        settings = [s for s in settings_to_run(args.disk, defaults) if args.only in s.label]
        for setting in settings:
            if setting.directory not in workdirs:
                workdir = Path(tempfile.mkdtemp(prefix="p2pchat-bench-", dir=setting.directory))
                cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
                source = workdir / "payload.bin"
                print(f"making a {args.size / 2**20:.0f} MiB file in {workdir} ...", flush=True)
                workdirs[setting.directory] = workdir, source, make_source(source, args.size)
        results: dict[tuple[str, str], list[dict]] = {}
        for _ in range(args.runs):  # round after round, so machine load hits every setting alike
            for mode in args.modes.split(","):
                for setting in settings:
                    workdir, source, digest = workdirs[setting.directory]
                    run = one_pair(workdir, source, digest, args.size, mode == "tls", socat, setting)
                    results.setdefault((mode, setting.label), []).append(run)
                    if not run["identical"]:
                        print(f"{mode} {setting.label}: the received file differs")
                        return 1
        for mode in args.modes.split(","):
            for setting in settings:
                print(report(mode, setting, results[(mode, setting.label)]), flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
