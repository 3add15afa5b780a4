"""Chat round trips while a file arrives at the full-screen app, against a plain-mode receiver.

    python benchmarks/ui_transfer.py [--size 256MiB] [--runs 3] [--dir /var/tmp] [--window 80x24]

The sender is `p2pchat --plain` (as in transfer.py); it sends the file and types `/ping`
every 50 ms while it moves. The receiver is, in turn, another `--plain` process and the real
app in a tmux window (its own terminal, as a user runs it, with `--auto-accept`). A PING is
answered by the receiver's event loop, so the round trip shows how long a chat frame waits
there while the window redraws the transfer's progress. Both over TLS on loopback, runs
interleaved; reported: idle round trip, p50/p99 during the transfer, and the rate.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer import PING_EVERY, Peer, free_port, make_source, parse_size, percentile, ping  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WINDOW = ("80", "24")


class WindowReceiver:
    """The full-screen app in a tmux window of its own (a server of its own too)."""

    def __init__(self, home: Path, port: int, download: Path) -> None:
        self.server = f"p2pchat-uibench-{os.getpid()}"
        args = ["--nickname", "bob", "--port", str(port), "--bind", "127.0.0.1", "--auto-accept",
                "--download-dir", str(download), "--no-history", "--no-port-mapping", "--no-discovery"]
        command = (f"exec env P2PCHAT_HOME={shlex.quote(str(home))} P2PCHAT_RELAY= P2PCHAT_RENDEZVOUS= "
                   f"PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m p2pchat "
                   + " ".join(shlex.quote(a) for a in args))
        self.tmux = ["tmux", "-L", self.server]
        subprocess.run([*self.tmux, "-f", "/dev/null", "new-session", "-d", "-x", WINDOW[0], "-y", WINDOW[1],
                        command], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while text not in self.screen():
            if time.time() > deadline:
                raise RuntimeError(f"{text!r} never appeared:\n{self.screen()}")
            time.sleep(0.05)

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", *keys], check=True)

    def stop(self) -> None:
        self.keys("C-q")
        time.sleep(0.5)
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def one_run(workdir: Path, source: Path, size: int, window: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix="ui-" if window else "plain-", dir=workdir))
    download = root / "downloads"
    download.mkdir(parents=True)
    port = free_port()
    if window:
        receiver = WindowReceiver(root / "bob", port, download)
        receiver.wait_for("listening on port")
    else:
        receiver = Peer(root / "bob", ["--nickname", "bob", "--port", str(port), "--auto-accept",
                                       "--download-dir", str(download), "--no-history"])
        receiver.wait_for("listening on port", 20)
    sender = Peer(root / "alice", ["--nickname", "alice", "--port", str(free_port()),
                                   "--connect", f"127.0.0.1:{port}", "--no-history"])
    try:
        if window:  # a new peer: the window asks whether to trust its key
            receiver.wait_for("New peer")
            receiver.keys("Tab")
            time.sleep(0.3)
            receiver.keys("a")
        sender.wait_for("connected to bob", 20)
        idle = [m[0] for _ in range(20) if (m := ping(sender)) and not time.sleep(PING_EVERY)]
        start = time.perf_counter()
        sender.type(f"/send {source}")
        rtts = []
        while True:
            typed = time.perf_counter()
            if measured := ping(sender):
                rtts.append(measured[0])
            done = None
            while (time.perf_counter() - typed) < PING_EVERY:
                try:
                    at, line = sender.lines.get(timeout=PING_EVERY / 5)
                except Exception:
                    continue
                if line is None:
                    raise RuntimeError("the sender exited")
                if " sent (" in line or " failed" in line:
                    done = at
                    break
            if done:
                break
        return {"idle": statistics.median(idle), "p50": percentile(rtts, 50), "p99": percentile(rtts, 99),
                "rate": size / (done - start) / 1e6}
    finally:
        sender.stop()
        receiver.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=256 << 20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the file and the downloads go (default /dev/shm)")
    parser.add_argument("--window", default="80x24")
    args = parser.parse_args()
    global WINDOW
    WINDOW = tuple(args.window.split("x"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as a pip install leaves the modules: compiled
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "p2pchat")], check=True,
                   stdout=subprocess.DEVNULL)
    base = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    workdir = Path(tempfile.mkdtemp(prefix="p2pchat-uibench-", dir=base))
    try:
        source = workdir / "file.bin"
        make_source(source, args.size)
        results: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.runs):
            for window in (False, True):
                results[window].append(one_run(workdir, source, args.size, window))
        for window in (False, True):
            runs = results[window]

            def median(key: str, runs=runs) -> float:
                return statistics.median(run[key] for run in runs)

            label = "the app in tmux" if window else "plain mode     "
            p99s = ", ".join(f"{run['p99']:.0f}" for run in runs)
            print(f"receiver {label}: idle rtt {median('idle'):.1f} ms | during the transfer "
                  f"p50 {median('p50'):.1f} ms, p99 {median('p99'):.1f} ms "
                  f"(p99s {p99s}) | {median('rate'):.0f} MB/s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
