"""A long session between two real processes: does memory stay flat?

The full-screen app (Alice, in a tmux pane) and `p2pchat --plain` (Bob) chat over TLS
on loopback with their default timers. Bob types 20 lines a second and sends a fresh
10 MB file every 30 s (Alice accepts files automatically); Alice answers 2 lines a
second. Resident memory of both processes is sampled every few seconds. At the end:

- every line Bob typed appeared on Alice's screen, exactly once and in order (the pane is
  captured several times a second; a line shown twice or out of order fails the run),
  and Alice's history holds each exactly once;
- every line Alice typed was printed by Bob exactly once and in order;
- every file arrived identical;
- resident memory grew by at most `--limit` MB on either side from 60 s to the end.

    python benchmarks/soak.py [--duration 600] [--limit 2] [--scrollback N] [--tracemalloc] [--heap]

With --tracemalloc both processes trace their allocations (slower, more memory: the
RSS figures are then not the real ones) and the run ends with the allocation sites
that grew most between 60 s and the end, on each side. With --heap each process also
says, at every sample, where its memory is: glibc's heap (in use, free, its extent),
Python's small-object arenas and any extra heap glibc made for a thread; the run ends
with how each grew from 60 s to the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support
from transfer import free_port, make_source  # noqa: E402  (benchmarks/transfer.py)

from tests.support.plain_peer import PlainPeer  # noqa: E402

LINES_PER_S = 20
REPLIES_PER_S = 2
FILE_EVERY = 30.0
FILE_SIZE = 10 * 10**6
SAMPLE_EVERY = 5.0
BASELINE_AT = 60.0
PANE = (100, 80)  # columns, rows: a line stays on screen for a couple of seconds
DEFAULT_TIMERS = {  # PlainPeer's fast test timers back to the defaults a user has
    "P2PCHAT_HEARTBEAT_INTERVAL": "5", "P2PCHAT_HEARTBEAT_TIMEOUT": "15", "P2PCHAT_RECONNECT": "60",
}
SHOWN = re.compile(r"Bob: soak (\d{6})\b")
PADDING = "the quick brown fox jumps over the lazy dog"

# Loaded by each child through PYTHONPATH: SIGUSR1 writes a tracemalloc snapshot, SIGUSR2
# appends where the memory is (a signal handler on the main thread: a thread of its own
# would get a heap of its own from glibc before the program limits them).
SITECUSTOMIZE = r"""
import os, signal, sys
def _dump(signum, frame, _n=[0]):
    import tracemalloc
    _n[0] += 1
    tracemalloc.take_snapshot().dump(os.path.join(os.environ["SOAK_SNAPSHOTS"], f"{os.getpid()}-{_n[0]}"))
def _heap(signum, frame):
    import ctypes, json, re, tempfile, time
    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                    "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = Mallinfo2
    info = mallinfo2()
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    with tempfile.TemporaryFile("w+") as out:  # the arena count is printed on stderr
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        arenas = int(re.search(r"# arenas allocated current\s*=\s*([\d,]+)", out.read())[1].replace(",", ""))
    maps = [line.split() for line in open("/proc/self/maps")]
    anon = [(*(int(x, 16) for x in m[0].split("-")), m[1]) for m in maps if len(m) == 5]
    extra = sum(1 for (a, b, p), (c, d, q) in zip(anon, anon[1:]) if a % (64 << 20) == 0 and p == "rw-p"
                and c == b and q == "---p" and d == a + (64 << 20))
    sample = {"time": time.time(), "rss": int(status["VmRSS"].split()[0]), "anon": int(status["RssAnon"].split()[0]),
              "in_use": info.uordblks >> 10, "free": info.fordblks >> 10, "extent": info.arena >> 10,
              "mapped": info.hblkhd >> 10, "pyarenas": arenas, "thread_heaps": extra}
    with open(os.path.join(os.environ["SOAK_HEAP"], f"{os.getpid()}.jsonl"), "a") as f:
        f.write(json.dumps(sample) + "\n")
if os.environ.get("SOAK_SNAPSHOTS"):
    signal.signal(signal.SIGUSR1, _dump)
if os.environ.get("SOAK_HEAP"):
    signal.signal(signal.SIGUSR2, _heap)
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class AppPane:
    """The full-screen app in a detached tmux session of its own."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.name = f"p2pchat-soak-{uuid.uuid4().hex[:6]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        shell = f"env {exports} " + " ".join(command)
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(PANE[0]), "-y", str(PANE[1]),
                        shell], check=True)  # fmt: skip
        found = subprocess.run(["tmux", "display", "-p", "-t", self.name, "#{pane_pid}"],
                               capture_output=True, text=True, check=True)  # fmt: skip
        self.pid = int(found.stdout)  # `env` execs python: the pane's process is the app

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout  # fmt: skip

    def type(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on the app's screen:\n{self.screen()}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


class ScreenWatch:
    """Captures the pane over and over: which of Bob's lines were shown, and any shown twice."""

    def __init__(self, pane: AppPane) -> None:
        self.pane = pane
        self.seen: set[int] = set()
        self.problems: list[str] = []
        self.captures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last: set[tuple[int, int]] = set()
        while not self._stop.is_set():
            numbers = [int(n) for n in SHOWN.findall(self.pane.screen())]
            self.captures += 1
            # On one screen Bob's lines are consecutive and rising: a repeat, a gap or a
            # step back means a line was shown twice, lost or out of order. A capture may
            # catch a screen half repainted: only what two captures in a row show counts.
            odd = {(before, after) for before, after in pairwise(numbers) if after != before + 1}
            for before, after in sorted(odd & last):
                if len(self.problems) < 10:
                    self.problems.append(f"line {after} shown after line {before}")
            last = odd
            self.seen.update(numbers)
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def grow_mib(samples: list[tuple[float, int]]) -> tuple[float, float, float]:
    """(RSS at the baseline, RSS at the end, most above the baseline), in MiB."""
    base = next(kib for t, kib in samples if t >= BASELINE_AT)
    after = [kib for t, kib in samples if t >= BASELINE_AT]
    return base / 1024, samples[-1][1] / 1024, (max(after) - base) / 1024


def print_growth(name: str, snapshots: Path, pid: int) -> None:
    first, last = (tracemalloc.Snapshot.load(str(snapshots / f"{pid}-{n}")) for n in (1, 2))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    stats = last.filter_traces(ignore).compare_to(first.filter_traces(ignore), "traceback")
    total = sum(stat.size_diff for stat in stats)
    print(f"\n{name}: Python allocations grew by {total / 1024:.0f} KiB; the sites that grew most:")
    for stat in stats[:12]:
        print(f"  {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+7d} blocks")
        for frame in stat.traceback.format(limit=4, most_recent_first=True):
            if frame.startswith("  File"):
                print("     " + frame.strip())


def print_heap(name: str, path: Path, start_wall: float) -> None:
    """Where the memory was at 60 s and at the end, and what grew."""
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    base = next(sample for sample in samples if sample["time"] - start_wall >= BASELINE_AT)
    end = samples[-1]
    print(f"\n{name}, KiB at {BASELINE_AT:.0f} s -> at the end (growth):")
    for key, what in (("rss", "resident"), ("anon", "resident, not from files"),
                      ("in_use", "glibc heap in use"), ("free", "glibc heap free"),
                      ("extent", "glibc heap extent"), ("mapped", "glibc mmapped blocks")):  # fmt: skip
        print(f"  {what:26} {base[key]:8d} -> {end[key]:8d} ({end[key] - base[key]:+d})")
    print(f"  {'Python arenas (1 MiB)':26} {base['pyarenas']:8d} -> {end['pyarenas']:8d}"
          f"  (high water {max(s['pyarenas'] for s in samples)})")  # fmt: skip
    print(f"  {'extra thread heaps':26} {end['thread_heaps']:8d}")


def main() -> int:  # noqa: C901 - one straight run, start to finish
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--limit", type=float, default=2.0, help="MB of RSS growth allowed after 60 s")
    parser.add_argument("--file-every", type=float, default=FILE_EVERY, help="seconds between files (0: none)")
    parser.add_argument("--scrollback", type=int, help="the app's scrollback setting (default: its own)")
    parser.add_argument("--tracemalloc", action="store_true", help="report the allocation sites that grew")
    parser.add_argument("--heap", action="store_true", help="report glibc's and Python's view of the memory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="p2pchat-soak-"))
    env = {k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "MALLOC_"))}
    snapshots = work / "snapshots"
    heaps = work / "heap"
    if args.tracemalloc or args.heap:
        (work / "site").mkdir()
        (work / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env["PYTHONPATH"] = f"{work / 'site'}:{env.get('PYTHONPATH', '')}"
    if args.tracemalloc:
        snapshots.mkdir()
        env.update(PYTHONTRACEMALLOC="4", SOAK_SNAPSHOTS=str(snapshots))
    if args.heap:
        heaps.mkdir()
        env["SOAK_HEAP"] = str(heaps)
    if args.scrollback:
        env["P2PCHAT_SCROLLBACK"] = str(args.scrollback)
    port = free_port()
    alice_home = work / "alice"
    app_env = {**env, **DEFAULT_TIMERS, "P2PCHAT_HOME": str(alice_home), "P2PCHAT_ACCEPT_UNKNOWN": "always",
               "P2PCHAT_PORT_MAPPING": "false", "P2PCHAT_DISCOVERABLE": "false", "TERM": "xterm-256color"}  # fmt: skip
    alice = AppPane([sys.executable, "-m", "p2pchat", "--nickname", "Alice", "--bind", "127.0.0.1",
                     "--port", str(port), "--auto-accept"], app_env)  # fmt: skip
    bob = None
    try:
        alice.wait_for(f"{port}", 120)
        bob = PlainPeer("Bob", work / "bob", "--bind", "127.0.0.1", "--port", "0",
                        "--connect", f"127.0.0.1:{port}", env={**env, **DEFAULT_TIMERS}).start()  # fmt: skip
        bob.wait_line(r"^\* connected to Alice", 120)
        alice.wait_for("connected to Bob", 120)
        watch = ScreenWatch(alice)
        samples: dict[str, list[tuple[float, int]]] = {"alice": [], "bob": []}
        sources: dict[str, str] = {}
        start = time.monotonic()
        start_wall = time.time()
        lines = replies = files = 0
        next_sample = 0.0
        baseline_taken = False
        print(f"soak for {args.duration:.0f} s in {work} (app pid {alice.pid}, plain pid {bob.pid})")
        while (elapsed := time.monotonic() - start) < args.duration:
            due = int(elapsed * LINES_PER_S) + 1
            if due > lines:
                bob.type(*(f"soak {n:06d} {PADDING}" for n in range(lines + 1, due + 1)))
                lines = due
            due = int(elapsed * REPLIES_PER_S) + 1
            if due > replies:
                keys = []
                for n in range(replies + 1, due + 1):
                    keys += [f"alice {n:06d}", "Enter"]
                alice.type(*keys)
                replies = due
            if args.file_every and elapsed >= files * args.file_every:
                files += 1
                path = work / f"soak-{files:03d}.bin"
                sources[path.name] = make_source(path, FILE_SIZE)
                bob.type(f"/send {path}")
            if elapsed >= next_sample:
                samples["alice"].append((elapsed, rss_kib(alice.pid)))
                samples["bob"].append((elapsed, rss_kib(bob.pid)))
                next_sample += SAMPLE_EVERY
                if args.heap:
                    os.kill(alice.pid, signal.SIGUSR2)
                    os.kill(bob.pid, signal.SIGUSR2)
                if int(elapsed) // 60 != int(elapsed - SAMPLE_EVERY) // 60:
                    print(f"{elapsed:5.0f} s  RSS app {samples['alice'][-1][1] / 1024:6.1f} MiB"
                          f"  plain {samples['bob'][-1][1] / 1024:6.1f} MiB  ({lines} lines, {files} files)")  # fmt: skip
            if args.tracemalloc and not baseline_taken and elapsed >= BASELINE_AT:
                baseline_taken = True
                os.kill(alice.pid, signal.SIGUSR1)
                os.kill(bob.pid, signal.SIGUSR1)
            time.sleep(0.01)
        # Everything typed arrives, every file lands; then the final figures.
        bob.wait_received("Alice", replies, 120)
        alice.wait_for(f"Bob: soak {lines:06d}", 120)
        time.sleep(3 * 0.2)  # a few more captures of the last screen
        watch.stop()
        bob.wait_for(lambda out: sum("sent (" in line for line in out) >= files, 300, f"{files} files sent")
        samples["alice"].append((time.monotonic() - start, rss_kib(alice.pid)))
        samples["bob"].append((time.monotonic() - start, rss_kib(bob.pid)))
        if args.heap:
            os.kill(alice.pid, signal.SIGUSR2)
            os.kill(bob.pid, signal.SIGUSR2)
            time.sleep(1)
        if args.tracemalloc:
            for pid in (alice.pid, bob.pid):
                os.kill(pid, signal.SIGUSR1)
            for pid in (alice.pid, bob.pid):  # the dumps take a while with tracing on
                dump = snapshots / f"{pid}-2"
                while not dump.exists() or time.time() - dump.stat().st_mtime < 2:
                    time.sleep(0.5)
    finally:
        if bob is not None:
            bob.stop()
        alice.close()

    failures = []
    received = bob.received("Alice")
    expected = [f"alice {n:06d}" for n in range(1, replies + 1)]
    if received != expected:
        failures.append(f"Bob printed {len(received)} of Alice's {replies} lines, not each once in order")
    missing = set(range(1, lines + 1)) - watch.seen
    if missing:
        failures.append(f"{len(missing)} of Bob's lines never appeared on Alice's screen (e.g. {min(missing)})")
    failures += watch.problems
    with sqlite3.connect(alice_home / "data" / "history.sqlite3") as db:
        stored = db.execute("SELECT body FROM messages WHERE direction = 'in' ORDER BY seq").fetchall()
    if [body.split()[1] for (body,) in stored] != [f"{n:06d}" for n in range(1, lines + 1)]:
        failures.append(f"Alice's history holds {len(stored)} lines from Bob, not each of {lines} once in order")
    for name, digest in sources.items():
        got = alice_home / "downloads" / name
        if not got.exists() or hashlib.sha256(got.read_bytes()).hexdigest() != digest:
            failures.append(f"{name} did not arrive identical")

    print(f"\n{lines} lines from Bob ({watch.captures} screen captures), {replies} from Alice, {files} files of "
          f"{FILE_SIZE / 10**6:.0f} MB, {time.monotonic() - start:.0f} s")  # fmt: skip
    for name, side in (("app  ", "alice"), ("plain", "bob")):
        base, end, most = grow_mib(samples[side])
        print(f"{name} RSS {base:6.1f} MiB at {BASELINE_AT:.0f} s -> {end:6.1f} MiB at the end: "
              f"{end - base:+.2f} MiB (at most {most:+.2f})")  # fmt: skip
        if (end - base) * 1.048576 > args.limit:
            failures.append(f"{name.strip()} grew by {(end - base) * 1.048576:.2f} MB after {BASELINE_AT:.0f} s")
    if args.heap:
        print_heap("app", heaps / f"{alice.pid}.jsonl", start_wall)
        print_heap("plain", heaps / f"{bob.pid}.jsonl", start_wall)
    if args.tracemalloc:
        print_growth("app", snapshots, alice.pid)
        print_growth("plain", snapshots, bob.pid)
    for failure in failures:
        print("FAIL:", failure)
    print("OK" if not failures else f"{len(failures)} failure(s); files kept in {work}")
    if not failures:
        subprocess.run(["rm", "-rf", str(work)])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
