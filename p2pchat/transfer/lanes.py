"""Disk work for many transfers on a few threads.

Each transfer gets a `Lane`: its calls run one at a time and in order (chunk writes
must), on the threads of one small pool shared by all transfers. A lane runs one
call and then queues itself behind the other lanes again, so a busy transfer does
not hold a thread while others wait. A thousand transfers thus cost no thread
beyond the pool's.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor

DISK_THREADS = 4  # reads and writes block; hashing releases the GIL: two cores stay busy

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def disk_lane() -> Lane:
    """A new lane on the process's disk pool (made on first use; idle threads cost nothing)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=DISK_THREADS, thread_name_prefix="disk")
    return Lane(_pool)


class Lane(Executor):
    """An executor that runs its calls in order, one at a time, on `pool`'s threads."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._closed = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.append((future, fn, args, kwargs))
            if self._scheduled:
                return future
            self._scheduled = True
        self._pool.submit(self._run_one)
        return future

    def _run_one(self) -> None:
        with self._lock:
            future, fn, args, kwargs = self._queue.popleft()
        if future.set_running_or_notify_cancel():
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever awaits the call
                future.set_exception(exc)
            else:
                future.set_result(result)
        with self._lock:
            self._scheduled = bool(self._queue)
            if not self._scheduled:
                return
        self._pool.submit(self._run_one)  # behind the other lanes' calls

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; those already queued still run (the pool outlives the lane)."""
        with self._lock:
            self._closed = True
