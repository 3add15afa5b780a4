"""Background work waits for a quiet moment: the process's own CPU use decides."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

from p2pchat.net import quiet


def test_busy_means_more_than_half_a_core():
    assert quiet.is_busy(0.4, 0.5)
    assert not quiet.is_busy(0.2, 0.5)
    assert not quiet.is_busy(0.0, 0.0)


async def test_it_waits_while_the_process_is_busy_and_not_past_its_limit(monkeypatch):
    monkeypatch.setattr(quiet, "LOOK_EVERY", 0.1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await quiet.until_quiet(0.05)
    assert loop.time() - start < 0.5  # idle: one look

    stop = time.monotonic() + 0.6

    def work() -> None:  # a transfer's hashing, as far as the CPU clock can tell
        data = b"x" * (1 << 20)
        while time.monotonic() < stop:
            hashlib.sha256(data).digest()

    worker = threading.Thread(target=work)
    worker.start()
    start = loop.time()
    await quiet.until_quiet(0.05)
    waited = loop.time() - start
    worker.join()
    assert waited >= 0.6  # not before the work ended

    stop = time.monotonic() + 5
    worker = threading.Thread(target=work)
    worker.start()
    start = loop.time()
    await quiet.until_quiet(0.05, max_wait=0.5)
    waited = loop.time() - start
    stop = 0
    worker.join()
    assert waited < 1.5  # busy for longer than allowed: it goes on anyway
