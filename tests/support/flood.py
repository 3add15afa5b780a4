"""A flood of bare and garbage connections at a listener, and the chat round trip measured
through it (the fault suite and benchmarks/flood.py)."""

from __future__ import annotations

import asyncio
import os
import random
import time


async def _connect_and_close(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


async def _send_garbage(port: int, rng: random.Random) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(os.urandom(rng.randint(1, 4096)))
    if rng.random() < 0.5:
        writer.transport.abort()  # half of them vanish without a FIN
        return
    await writer.drain()
    writer.close()


async def connection_flood(port: int, count: int, rng: random.Random, parallel: int = 40) -> int:
    """`count` bare connections and `count` garbage ones, mixed; returns how many failed to open."""
    jobs = [_connect_and_close] * count + [_send_garbage] * count
    rng.shuffle(jobs)
    limit = asyncio.Semaphore(parallel)
    failures = 0

    async def one(job) -> None:
        nonlocal failures
        async with limit:
            try:
                await (job(port) if job is _connect_and_close else job(port, rng))
            except OSError:
                failures += 1

    await asyncio.gather(*(one(job) for job in jobs))
    return failures


def round_trip(sender, receiver, body: str, timeout: float = 30) -> float:
    """Type `body` and wait until the other side shows it; returns the seconds it took."""
    started = time.perf_counter()
    sender.type(body)
    receiver.wait_line(rf"> {body}$", timeout, start=max(0, len(receiver.lines) - 5))
    return time.perf_counter() - started
