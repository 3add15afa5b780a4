"""The race between paths: the first success wins, every other success is closed."""

from __future__ import annotations

import asyncio
import socket

from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach.race import RelayToken, _first_success


async def test_one_success_wins_and_the_other_is_closed():
    pairs = [socket.socketpair() for _ in range(2)]
    token = RelayToken("00" * 32, True)

    async def succeed(sock):
        return sock, token

    async def fail():
        raise OSError("refused")

    # Both succeed in the same turn of the loop: exactly one is kept, the other closed.
    tasks = [asyncio.ensure_future(fail())] + [asyncio.ensure_future(succeed(a)) for a, _ in pairs]
    winner, _ = await _first_success(tasks)
    ours = [a for a, _ in pairs]
    assert winner in ours and winner.fileno() != -1
    assert [s.fileno() for s in ours if s is not winner] == [-1]
    for a, b in pairs:
        a.close()
        b.close()


async def test_a_success_cancels_the_slower_attempts():
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(3600)

    async def fast():
        await started.wait()
        return "direct"

    tasks = [asyncio.ensure_future(slow()), asyncio.ensure_future(fast())]
    assert await _first_success(tasks) == "direct"
    assert tasks[0].cancelled()


async def test_every_failure_is_reported_when_nothing_succeeds():
    async def failing(text):
        raise OSError(text)

    reasons = await _first_success([asyncio.ensure_future(failing(t)) for t in ("a", "b")])
    assert sorted(str(r) for r in reasons) == ["a", "b"]
    assert str(RelayAddress("h", 1)) == "h:1"
