"""Background work waits for a quiet moment: the process's own CPU use decides."""

from __future__ import annotations

import asyncio

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

    # A CPU clock that runs with the wall clock until `busy_until` (a transfer hashing on a
    # core of its own), then stops: a scripted clock, so a loaded machine cannot starve it.
    def busy_clock(busy_until: float):
        return lambda: min(loop.time(), busy_until)

    start = loop.time()
    await quiet.until_quiet(0.05, cpu_time=busy_clock(start + 0.6))
    assert loop.time() - start >= 0.6  # not before the work ended

    start = loop.time()
    await quiet.until_quiet(0.05, max_wait=0.5, cpu_time=busy_clock(start + 60))
    assert loop.time() - start < 1.5  # busy for longer than allowed: it goes on anyway

