"""The message store: every chat line, per peer identity, in one sqlite3 file.

Messages are keyed by the peer's identity (fingerprint, or instance id without
TLS), never by address or nickname, so a conversation survives both changing.
Outgoing messages keep their delivery state: the ones not yet delivered are
re-sent, in order, after a reconnect or a restart. Incoming ids are kept so a
re-sent message is shown only once.

The session writes on its event loop: each commit must be done before a message
is sent or acknowledged. WAL with synchronous=NORMAL makes each insert a cheap
append (no fsync per message); `checkpoint()` folds the log back into the file on
a thread and a connection of its own. A crash can lose the last few messages but
never corrupts the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STATES = ("pending", "sent", "delivered", "failed")
SCHEMA_VERSION = 1
# With the history off, the store lives in memory and keeps only the latest messages
# (and every undelivered one), so a long session does not grow without end.
MEMORY_KEEPS = 10_000
PRUNE_EVERY = 1_000  # inserts between two prunings of the in-memory store
PAGE_CACHE_KIB = 512

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    peer_id TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    action INTEGER NOT NULL DEFAULT 0,
    timestamp REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered', 'failed')),
    UNIQUE (peer_id, direction, msg_id)
);
CREATE INDEX IF NOT EXISTS messages_by_peer ON messages (peer_id, seq);
CREATE INDEX IF NOT EXISTS undelivered_by_peer ON messages (peer_id, seq)
    WHERE direction = 'out' AND state IN ('pending', 'sent');
"""

_COLUMNS = "msg_id, sender, body, timestamp, direction, action, state"


class HistoryError(Exception):
    """The history database cannot be used; the message says why and where."""


@dataclass(frozen=True)
class StoredMessage:
    id: str
    sender: str  # nickname at the time
    body: str
    timestamp: float  # seconds since the epoch, the sender's clock
    outgoing: bool
    action: bool = False  # /me
    state: str = "sent"  # pending | sent | delivered | failed (meaningful for outgoing)


class History:
    """Use `History.open(path)` or `History.memory()`, then `close()` when done."""

    def __init__(
        self, connection: sqlite3.Connection, where: str, path: Path | None = None, keeps: int | None = None
    ) -> None:
        self._db = connection
        self._where = where
        self._path = path  # None for the in-memory store
        self._keeps = keeps  # messages kept (the in-memory store); None: all of them

    # -- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str) -> History:
        """Open or create the history file; raise HistoryError if it is unusable."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open message history {path}: {exc}") from exc
        history = cls(connection, str(path), path)
        history._prepare(wal=True)
        return history

    @classmethod
    def memory(cls, keeps: int = MEMORY_KEEPS) -> History:
        """A store that lives only as long as this object: nothing touches the disk.

        It keeps the latest `keeps` messages and every undelivered one.
        """
        history = cls(
            sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False), "in memory",
            keeps=keeps,
        )
        history._prepare(wal=False)
        return history

    def _prepare(self, *, wal: bool) -> None:
        try:
            with self._errors("read"):
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"message history {self._where} was written by a newer p2pchat "
                        f"(format {version}, this version reads {SCHEMA_VERSION})"
                    )
                if wal:
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                # Appends touch few pages: a small page cache serves them, and a long
                # session's history does not fill the default 2 MiB of memory.
                self._db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
                # Checkpoints (which wait for the disk) run apart from writes: see checkpoint().
                self._db.execute("PRAGMA wal_autocheckpoint=0")
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._db.execute(f"SELECT {_COLUMNS} FROM messages LIMIT 0")
        except HistoryError:
            self._db.close()
            raise

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise HistoryError(
                f"cannot {doing} message history {self._where}: {exc}"
                " (move the file away to start a new one)"
            ) from exc

    # -- writing ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group many writes into one commit (one WAL append instead of one per write)."""
        with self._errors("write"):
            self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            with self._errors("write"):
                self._db.execute("ROLLBACK")
            raise
        with self._errors("write"):
            self._db.execute("COMMIT")

    def add(self, peer_id: str, message: StoredMessage) -> bool:
        """Store a message; False (and nothing changes) if this id is already stored."""
        if message.state not in STATES:
            raise ValueError(f"unknown message state {message.state!r}")
        row = (
            peer_id,
            message.id,
            "out" if message.outgoing else "in",
            _storable(message.sender),
            _storable(message.body),
            int(message.action),
            float(message.timestamp),
            message.state,
        )
        with self._errors("write"):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO messages (peer_id, msg_id, direction, sender, body,"
                " action, timestamp, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        if self._keeps is not None and cursor.rowcount == 1 and cursor.lastrowid % PRUNE_EVERY == 0:
            self._prune(cursor.lastrowid - self._keeps)
        return cursor.rowcount == 1

    def _prune(self, last_dropped: int) -> None:
        with self._errors("write"):
            self._db.execute(
                "DELETE FROM messages WHERE seq <= ?"
                " AND NOT (direction = 'out' AND state IN ('pending', 'sent'))",
                (last_dropped,),
            )

    def set_state(self, peer_id: str, msg_id: str, state: str) -> bool:
        """Change an outgoing message's state; False if there is no such message.

        "delivered" is final: a late "sent" or "failed" does not undo it.
        """
        if state not in STATES:
            raise ValueError(f"unknown message state {state!r}")
        with self._errors("write"):
            cursor = self._db.execute(
                "UPDATE messages SET state = ? WHERE peer_id = ? AND msg_id = ?"
                " AND direction = 'out' AND state != 'delivered'",
                (state, peer_id, msg_id),
            )
        return cursor.rowcount == 1

    def reassign(self, from_peer: str, to_peer: str) -> int:
        """File every message kept under `from_peer` under `to_peer`; how many moved."""
        with self._errors("write"):
            cursor = self._db.execute(
                "UPDATE messages SET peer_id = ? WHERE peer_id = ?", (to_peer, from_peer)
            )
        return cursor.rowcount

    # -- reading ---------------------------------------------------------------------
    def recent(self, peer_id: str, limit: int = 50) -> list[StoredMessage]:
        """The last `limit` messages with this peer, oldest first."""
        if limit <= 0:
            return []
        with self._errors("read"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE peer_id = ? ORDER BY seq DESC LIMIT ?",
                (peer_id, limit),
            ).fetchall()
        return [_message(row) for row in reversed(rows)]

    def before(
        self, peer_id: str, msg_id: str, outgoing: bool, including: bool = False, limit: int = 50
    ) -> list[StoredMessage]:
        """Up to `limit` messages with this peer written before the given one (and that
        one too when `including`), oldest first; none if it is not stored."""
        if limit <= 0:
            return []
        compare = "<=" if including else "<"
        with self._errors("read"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE peer_id = ? AND seq {compare}"
                " (SELECT seq FROM messages WHERE peer_id = ? AND direction = ? AND msg_id = ?)"
                " ORDER BY seq DESC LIMIT ?",
                (peer_id, peer_id, "out" if outgoing else "in", msg_id, limit),
            ).fetchall()
        return [_message(row) for row in reversed(rows)]

    def pending(self, peer_id: str) -> list[StoredMessage]:
        """Outgoing messages not yet delivered (pending or sent), in the order written."""
        with self._errors("read"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE peer_id = ? AND direction = 'out'"
                " AND state IN ('pending', 'sent') ORDER BY seq",
                (peer_id,),
            ).fetchall()
        return [_message(row) for row in rows]

    def seen_incoming(self, peer_id: str, msg_id: str) -> bool:
        """Whether a message with this id from this peer is already stored."""
        with self._errors("read"):
            row = self._db.execute(
                "SELECT 1 FROM messages WHERE peer_id = ? AND direction = 'in' AND msg_id = ?",
                (peer_id, msg_id),
            ).fetchone()
        return row is not None

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database, on a connection of its own.

        Safe from another thread while writes go on (a PASSIVE checkpoint never blocks
        a writer); the session runs it every few seconds so commits never wait for it.
        """
        if self._path is None:
            return
        try:
            with contextlib.closing(sqlite3.connect(self._path, timeout=1.0)) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next run catches up

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _create_private(path: Path) -> None:
    """Create the file readable by its owner only; sqlite gives its WAL the same mode."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _storable(text: str) -> str:
    # A lone surrogate (JSON allows "\ud800") cannot be stored as UTF-8: keep the rest.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _message(row: tuple) -> StoredMessage:
    msg_id, sender, body, timestamp, direction, action, state = row
    return StoredMessage(
        id=msg_id,
        sender=sender,
        body=body,
        timestamp=timestamp,
        outgoing=direction == "out",
        action=bool(action),
        state=state,
    )
