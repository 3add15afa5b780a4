"""How fast the chat UI is: start-up from process start, then, headless with the fake session
from tests/ui, the log and the keyboard.

    python benchmarks/ui.py [--messages N] [--starts N]

Prints: time from process start to the first frame of `p2pchat --port 0` on a pseudo-terminal,
next to a bare interpreter and a one-widget Textual app started the same way in the same run
(Textual's own floor); `p2pchat --version`; time from constructing the app to its first frame;
time to append N messages (directly, and as session events through the message queue);
keystroke-to-screen latency with 2N entries in the log; and peak RSS, beside the targets for
200,000 entries.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import resource
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))
os.environ.setdefault("P2PCHAT_HOME", tempfile.mkdtemp(prefix="p2pchat-bench-"))

from app_harness import Harness  # noqa: E402
from fake_session import FIXED_TIME  # noqa: E402
from textual import events  # noqa: E402

from p2pchat.session.events import ChatMessage, MessageReceived  # noqa: E402

SIZE = (100, 30)
# With 200,000 entries in the log (the default: --messages 100000, appended twice).
TARGET_KEYSTROKE_MS = 50
TARGET_RSS_MIB = 120
TRIVIAL_APP = """
from textual.app import App
from textual.widgets import Static
class Trivial(App):
    def compose(self):
        yield Static("p2pchat  floor")
Trivial().run()
"""


def until_output(command: list[str], marker: bytes | None, timeout: float = 20.0) -> float:
    """Seconds from starting `command` on a 100x30 pseudo-terminal until `marker` appears in
    what it writes (None: until it exits)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "P2PCHAT_RELAY": "", "P2PCHAT_RENDEZVOUS": ""}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               cwd=tempfile.gettempdir(), start_new_session=True)  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            if select.select([master], [], [], 0.01)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                seen += chunk
                if marker is not None and marker in seen:
                    return time.perf_counter() - started
                if not chunk:
                    break
            if marker is None and process.poll() is not None:
                return time.perf_counter() - started
        if marker is None and process.wait(timeout) is not None:
            return time.perf_counter() - started
        raise RuntimeError(f"{command}: no {marker!r} within {timeout} s; got {seen[-300:]!r}")
    finally:
        process.kill()
        process.wait()
        os.close(master)


def start_up(runs: int) -> dict[str, list[float]]:
    """First frame from process start, interleaved with the baselines so load hits all alike."""
    python = sys.executable
    commands = {
        "python -c pass": ([python, "-c", "pass"], None),
        "p2pchat --version": ([python, "-m", "p2pchat", "--version"], None),
        "Textual, one widget": ([python, "-c", TRIVIAL_APP], b"p2pchat  "),
        "p2pchat --port 0": ([python, "-m", "p2pchat", "--port", "0", "--bind", "127.0.0.1"],
                             b"p2pchat  "),  # fmt: skip
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, marker) in commands.items():
            times[name].append(until_output(command, marker))
    return times


async def first_frame() -> float:
    start = time.perf_counter()
    harness = Harness(None)
    frame = asyncio.get_running_loop().create_future()
    async with harness.app.run_test(size=SIZE) as pilot:
        harness.app.call_after_refresh(
            lambda: frame.done() or frame.set_result(time.perf_counter())
        )
        await frame
        elapsed = frame.result() - start
        await pilot.pause()
    return elapsed


async def appends_and_keystrokes(count: int, keystrokes: int = 50) -> dict[str, float]:
    harness = Harness(None, settings={"scrollback": 2 * count})  # all of them in memory: the worst case
    results: dict[str, float] = {}
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = harness.app.log_view
        empty = [await key_to_screen(harness.app, "x", "x") for _ in range(keystrokes)]
        results["keystroke_empty_median_ms"] = statistics.median(empty) * 1000

        start = time.perf_counter()
        for number in range(count):
            log.add_message(
                "bob",
                f"message number {number} with a little text",
                outgoing=False,
                timestamp=FIXED_TIME,
            )
        await pilot.pause()
        results["append_direct_s"] = time.perf_counter() - start

        start = time.perf_counter()
        for number in range(count):
            message = ChatMessage(f"e{number}", "bob", f"event {number}", FIXED_TIME, False)
            harness.fake.on_event(MessageReceived(message))
        await pilot.pause()
        results["append_events_s"] = time.perf_counter() - start
        results["entries"] = len(log.entries)

        typing = [await key_to_screen(harness.app, "x", "x") for _ in range(keystrokes)]
        results["keystroke_median_ms"] = statistics.median(typing) * 1000
        results["keystroke_max_ms"] = max(typing) * 1000
        paging = [await key_to_screen(harness.app, "pageup") for _ in range(20)]
        results["pageup_median_ms"] = statistics.median(paging) * 1000
        assert not log.following
    return results


async def key_to_screen(app, key: str, character: str | None = None) -> float:
    """Seconds from a key event arriving to the next screen update being composed."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    app.post_message(events.Key(key, character))
    painted = loop.create_future()
    app.call_after_refresh(lambda: painted.done() or painted.set_result(time.perf_counter()))
    await painted
    return painted.result() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=15, help="process starts of each kind")
    args = parser.parse_args()
    for name, times in start_up(args.starts).items():
        ms = sorted(t * 1000 for t in times)
        print(f"start to first frame, {name + ':':21} median {statistics.median(ms):6.0f} ms,"
              f" best {ms[0]:4.0f} ms, worst {ms[-1]:4.0f} ms")  # fmt: skip
    first = asyncio.run(first_frame())
    results = asyncio.run(appends_and_keystrokes(args.messages))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"app constructed to first frame:  {first * 1000:8.1f} ms")
    print(f"append {args.messages} messages (direct):  {results['append_direct_s']:8.2f} s")
    print(f"append {args.messages} messages (events):  {results['append_events_s']:8.2f} s")
    print(f"log entries:                     {results['entries']:8.0f}")
    print(
        f"keystroke to screen, empty log:  {results['keystroke_empty_median_ms']:8.1f} ms (median)"
    )
    print(f"keystroke to screen, median:     {results['keystroke_median_ms']:8.1f} ms")
    print(
        f"keystroke to screen, max:        {results['keystroke_max_ms']:8.1f} ms"
        f" (target < {TARGET_KEYSTROKE_MS} ms)"
    )
    print(f"PageUp to screen, median:        {results['pageup_median_ms']:8.1f} ms")
    print(f"peak RSS:                        {peak_kib / 1024:8.1f} MiB (target < {TARGET_RSS_MIB} MiB)")


if __name__ == "__main__":
    main()
