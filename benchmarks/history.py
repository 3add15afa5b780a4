"""The message history's write cost: 20,000 inserts (10,000 each way) and 10,000 receipts,
against plain sqlite3 with its defaults (rollback journal, fsync on every commit) doing the
same one-commit-per-message work on the same disk in the same run.

    python benchmarks/history.py [--count 10000] [--dir PATH]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from p2pchat.history import History, StoredMessage

PEER = "a" * 32


def message(n: int, outgoing: bool) -> StoredMessage:
    return StoredMessage(f"{n:032x}", "alice", f"message {n}", 1_700_000_000.0 + n, outgoing,
                         False, "pending" if outgoing else "delivered")  # fmt: skip


def p2pchat_history(path: Path, count: int) -> tuple[float, float]:
    with History.open(path) as history:
        started = time.perf_counter()
        for n in range(count):
            history.add(PEER, message(n, True))
            history.add(PEER, message(n, False))
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(count):
            history.set_state(PEER, message(n, True).id, "delivered")
        return inserted, time.perf_counter() - started


def sqlite_defaults(path: Path, count: int) -> tuple[float, float]:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE m (peer TEXT, id TEXT, dir TEXT, body TEXT, state TEXT, "
               "UNIQUE (peer, id, dir))")  # fmt: skip
    started = time.perf_counter()
    for n in range(count):
        for direction in ("out", "in"):
            with db:
                db.execute("INSERT OR IGNORE INTO m VALUES (?, ?, ?, ?, ?)",
                           (PEER, f"{n:032x}", direction, f"message {n}", "pending"))  # fmt: skip
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(count):
        with db:
            db.execute("UPDATE m SET state = 'delivered' WHERE peer = ? AND id = ? AND dir = 'out'",
                       (PEER, f"{n:032x}"))  # fmt: skip
    acked = time.perf_counter() - started
    db.close()
    return inserted, acked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages each way")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ours = p2pchat_history(Path(tmp) / "history.sqlite3", args.count)
        theirs = sqlite_defaults(Path(tmp) / "defaults.sqlite3", args.count)
    for name, (inserted, acked) in (("p2pchat history", ours), ("sqlite3 defaults", theirs)):
        print(f"{name:17} {2 * args.count:,} inserts {inserted:.3f} s "
              f"({inserted / (2 * args.count) * 1e6:.1f} us each), "
              f"{args.count:,} receipts {acked:.3f} s")  # fmt: skip
    print(f"inserts: p2pchat takes {ours[0] / theirs[0]:.2f}x the time of sqlite3's defaults")


if __name__ == "__main__":
    main()
