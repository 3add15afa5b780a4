"""The message history as the session uses it.

Writes are synchronous and each one commits before the caller goes on, so a
message is on disk before it is sent or acknowledged: a crash at any moment means
a re-send, never a loss. A commit in WAL mode is an append without fsync (tens of
microseconds); what does wait for the disk is the checkpoint that folds the log
back into the database, so that runs every few seconds on a thread and a
connection of its own, where it never holds up a message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from p2pchat.history import History, HistoryError, StoredMessage

CHECKPOINT_EVERY = 2.0  # seconds between moving the write-ahead log into the database


class HistoryStore:
    def __init__(self, history: History) -> None:
        self._history = history
        self._stopped = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoints, name="history-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoints(self) -> None:
        while not self._stopped.wait(CHECKPOINT_EVERY):
            self._history.checkpoint()

    def add(self, peer_id: str, message: StoredMessage) -> bool:
        """Store a message; False if this id is stored already (a re-sent one)."""
        return self._history.add(peer_id, message)

    def set_state(self, peer_id: str, msg_id: str, state: str) -> None:
        self._history.set_state(peer_id, msg_id, state)

    def reassign(self, from_peer: str, to_peer: str) -> int:
        return self._history.reassign(from_peer, to_peer)

    def recent(self, peer_id: str, limit: int = 50) -> list[StoredMessage]:
        return self._history.recent(peer_id, limit)

    def before(self, peer_id: str, msg_id: str, outgoing: bool, including: bool, limit: int) -> list[StoredMessage]:
        return self._history.before(peer_id, msg_id, outgoing, including, limit)

    def pending(self, peer_id: str) -> list[StoredMessage]:
        return self._history.pending(peer_id)

    def close(self) -> None:
        self._stopped.set()
        self._checkpointer.join(timeout=5)
        self._history.close()


def open_history(path: Path | None, notice: Callable[[str, str], None]) -> HistoryStore:
    """The history in `path`, or in memory if there is none (history off) or it cannot be used."""
    if path is None:
        return HistoryStore(History.memory())
    try:
        return HistoryStore(History.open(path))
    except HistoryError as exc:
        notice(f"history is off for this run: {exc}", "warning")
        return HistoryStore(History.memory())
