"""Background tasks: kept while they run, failures reported, cancelled together."""

from __future__ import annotations

import asyncio

from p2pchat.session.tasks import Tasks


async def test_a_failing_task_is_reported_by_name():
    failures = []
    tasks = Tasks(lambda name, exc: failures.append((name, str(exc))))

    async def broken():
        raise OSError("disk on fire")

    task = tasks.spawn(broken(), "writer")
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # done-callbacks run on the next turn
    assert failures == [("writer", "disk on fire")]


async def test_cancel_all_ends_every_task_but_the_callers():
    tasks = Tasks(lambda name, exc: None)
    forever = tasks.spawn(asyncio.Event().wait(), "waiter")

    async def quitter():
        await tasks.cancel_all()
        return "finished"

    caller = tasks.spawn(quitter(), "quit")
    assert await caller == "finished"
    assert forever.cancelled()
