"""The one way the session starts background work.

A task started here is kept until it ends (the event loop holds only a weak
reference), its failure is logged and reported instead of lost, and the whole
group is cancelled and awaited at quit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from loguru import logger


class Tasks:
    def __init__(self, on_failure: Callable[[str, BaseException], None]) -> None:
        self._running: set[asyncio.Task] = set()
        self._on_failure = on_failure  # (task name, exception): tell the user

    def spawn(self, coro: Coroutine, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        logger.opt(exception=exc).error("task {} failed", task.get_name())
        self._on_failure(task.get_name(), exc)

    async def cancel_all(self) -> None:
        """Cancel every task but the caller's own, and wait for them to end."""
        others = [task for task in self._running if task is not asyncio.current_task()]
        while others:
            for task in others:
                task.cancel()
            # Python 3.11's wait_for can swallow a cancellation that races its inner result:
            # cancel again until every task has ended.
            _, pending = await asyncio.wait(others, timeout=0.5)
            others = list(pending)
