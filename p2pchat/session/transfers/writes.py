"""A download's chunks on their way to the disk: queued here, written in order by its lane.

Each chunk used to be its own executor call, and the event loop paid more for that than for
decrypting the chunk: a future on each side, chained, and a wake-up when each one finished.
Now the chunks wait in a queue, one lane call writes all that are there, and the loop hears
back at most once per turn of its own, however many chunks were written meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable
from concurrent.futures import Executor


class Writes:
    """`put(offset, data)` on the loop; `write(offset, data)` runs on `lane`, in order;
    `on_written(nbytes, error)` runs on the loop after some were written (`error`: the first
    exception a write raised since the last report, or None)."""

    def __init__(self, lane: Executor, write: Callable[[int, bytes | memoryview], None],
                 on_written: Callable[[int, BaseException | None], None]) -> None:
        self._lane = lane
        self._write = write
        self._on_written = on_written
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()  # the queue and the report, shared with the lane's thread
        self._queue: collections.deque[tuple[int, bytes | memoryview]] = collections.deque()
        self._draining = False  # a lane call is queued or running
        self._reporting = False  # a report is on its way to the loop
        self._done_bytes = self._done_chunks = 0
        self._error: BaseException | None = None
        # On the loop only:
        self.pending_bytes = 0  # put and not yet reported written
        self._pending_chunks = 0
        self._waiters: list[tuple[int, asyncio.Future]] = []

    def put(self, offset: int, data: bytes | memoryview) -> None:
        self.pending_bytes += len(data)
        self._pending_chunks += 1
        with self._lock:
            self._queue.append((offset, data))
            if self._draining:
                return
            self._draining = True
        try:
            self._lane.submit(self._drain)
        except RuntimeError:  # the lane was shut down: the transfer has ended, nothing to write
            with self._lock:
                self._queue.clear()
                self._draining = False
            self._report_later(len(data), 1, None)

    async def wait(self, backlog: int) -> None:
        """Until at most `backlog` bytes wait for the disk; a negative `backlog`: until every
        chunk put so far is written (empty ones too)."""
        while not self._settled(backlog):
            future = self._loop.create_future()
            self._waiters.append((backlog, future))
            await future

    def _settled(self, backlog: int) -> bool:
        return self._pending_chunks == 0 if backlog < 0 else self.pending_bytes <= backlog

    # -- on the lane's thread ------------------------------------------------------------
    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._draining = False
                    return
                offset, data = self._queue.popleft()
            error = None
            try:
                self._write(offset, data)
            except BaseException as exc:  # handed to the loop with the report
                error = exc
            self._report_later(len(data), 1, error)

    def _report_later(self, nbytes: int, chunks: int, error: BaseException | None) -> None:
        with self._lock:
            self._done_bytes += nbytes
            self._done_chunks += chunks
            if self._error is None:
                self._error = error
            if self._reporting:
                return
            self._reporting = True
        self._loop.call_soon_threadsafe(self._report)

    # -- on the loop -------------------------------------------------------------------------
    def _report(self) -> None:
        with self._lock:
            nbytes, chunks, error = self._done_bytes, self._done_chunks, self._error
            self._done_bytes = self._done_chunks = 0
            self._error = None
            self._reporting = False
        self.pending_bytes -= nbytes
        self._pending_chunks -= chunks
        waiting, self._waiters = self._waiters, []
        for backlog, future in waiting:
            if not self._settled(backlog):
                self._waiters.append((backlog, future))
            elif not future.done():
                future.set_result(None)
        self._on_written(nbytes, error)
