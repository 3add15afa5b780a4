"""The message history, kept off the event loop.

sqlite writes cost tens of microseconds each, and now and then a WAL checkpoint
waits for the disk; on the event loop that would show as chat latency. So one
worker thread owns the database: writes are queued and return at once, and the
thread commits whatever has queued up in one transaction. Reads (made only when
a peer connects) queue behind the writes, so they see every one of them.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from loguru import logger

from p2pchat.history import History, StoredMessage

CHECKPOINT_EVERY = 2.0  # seconds between moving the write-ahead log into the database
SEEN_IDS_LOADED = 10_000  # incoming ids remembered across restarts, for dropping re-sent duplicates
_STOP = object()


class _AfterCommit:
    """A callback run (on the worker thread) once every write queued before it is committed."""

    def __init__(self, callback) -> None:
        self.callback = callback


class BackgroundHistory:
    def __init__(self, history: History) -> None:
        self._history = history
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="history", daemon=True)
        self._thread.start()
        self._stopped = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoints, name="history-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoints(self) -> None:
        while not self._stopped.wait(CHECKPOINT_EVERY):
            self._history.checkpoint()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            writes = [item for item in batch
                      if item is not _STOP and not isinstance(item, _AfterCommit) and not isinstance(item[0], Future)]
            try:
                with self._history.transaction():
                    for fn, args in writes:
                        fn(*args)
            except Exception:
                logger.exception("history write failed")
            for item in batch:
                if item is _STOP:
                    self._history.close()
                    return
                if isinstance(item, _AfterCommit):
                    try:
                        item.callback()
                    except Exception:  # e.g. the event loop is already closed
                        logger.opt(exception=True).debug("after-commit callback failed")
                    continue
                if isinstance(item[0], Future):
                    future, fn, args = item
                    try:
                        future.set_result(fn(*args))
                    except Exception as exc:
                        future.set_exception(exc)

    def _read(self, fn, *args):
        future: Future = Future()
        self._queue.put((future, fn, args))
        return future.result()

    def add(self, peer_id: str, message: StoredMessage) -> None:
        self._queue.put((self._history.add, (peer_id, message)))

    def set_state(self, peer_id: str, msg_id: str, state: str) -> None:
        self._queue.put((self._history.set_state, (peer_id, msg_id, state)))

    def after_writes(self, callback) -> None:
        """Call `callback` from the worker thread once the writes queued so far are committed."""
        self._queue.put(_AfterCommit(callback))

    def recent(self, peer_id: str, limit: int = 50) -> list[StoredMessage]:
        return self._read(self._history.recent, peer_id, limit)

    def pending(self, peer_id: str) -> list[StoredMessage]:
        return self._read(self._history.pending, peer_id)

    def incoming_ids(self, peer_id: str) -> set[str]:
        return {m.id for m in self.recent(peer_id, SEEN_IDS_LOADED) if not m.outgoing}

    def close(self) -> None:
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout=5)
        self._checkpointer.join(timeout=5)
