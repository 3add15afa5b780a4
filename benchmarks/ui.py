"""How fast the chat UI is, headless, with the fake session from tests/ui.

    python benchmarks/ui.py [--messages N]

Prints: time from constructing the app to its first frame, time to append N messages
(directly, and as session events through the message queue), keystroke-to-screen
latency with 2N entries in the log, and peak RSS, beside the targets for 200,000 entries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
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
    harness = Harness(None)
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
    args = parser.parse_args()
    first = asyncio.run(first_frame())
    results = asyncio.run(appends_and_keystrokes(args.messages))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"start to first frame:            {first * 1000:8.1f} ms")
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
