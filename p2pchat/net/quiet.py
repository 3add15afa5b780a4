"""Waiting for a quiet moment before background work that costs CPU (importing and starting
zeroconf, asking the router), so that it does not compete with a transfer started at the same
time: the process's own CPU use says whether it is busy, whatever else the machine runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

LOOK_EVERY = 0.5  # seconds between two looks at the process's CPU time
BUSY_SHARE = 0.5  # of one core: above it, the process is busy (a transfer moves)
MAX_WAIT = 30.0  # seconds: past them the work starts anyway (a long transfer pays a little)


def is_busy(cpu_seconds: float, wall_seconds: float, share: float = BUSY_SHARE) -> bool:
    """Did the process use more than `share` of a core over `wall_seconds`?"""
    return wall_seconds > 0 and cpu_seconds / wall_seconds > share


async def until_quiet(
    delay: float,
    max_wait: float = MAX_WAIT,
    cpu_time: Callable[[], float] = time.process_time,
) -> None:
    """Sleep `delay`, then until the process has spent a `LOOK_EVERY` without being busy, or
    until `max_wait` more seconds have passed. A `delay` of 0 returns at once (tests).
    `cpu_time` is the process's CPU clock (a test gives a scripted one)."""
    if delay <= 0:
        return
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + max_wait
    while loop.time() < give_up:
        cpu, wall = cpu_time(), loop.time()
        await asyncio.sleep(LOOK_EVERY)
        if not is_busy(cpu_time() - cpu, loop.time() - wall):
            return
