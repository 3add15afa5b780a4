"""The sqlite3 message store, on real files in tmp_path."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from p2pchat.history import History, HistoryError, StoredMessage
from p2pchat.paths import get_paths

ALICE = "ALICEFINGERPRINT"
BOB = "BOBFINGERPRINT"


def msg(n: int, *, outgoing: bool = True, state: str = "sent", **extra) -> StoredMessage:
    fields = dict(
        id=f"{n:032x}",
        sender="me" if outgoing else "alice",
        body=f"message {n}",
        timestamp=1_700_000_000.0 + n,
        outgoing=outgoing,
        state=state,
    )
    fields.update(extra)
    return StoredMessage(**fields)


@pytest.fixture
def history(tmp_path):
    store = History.open(tmp_path / "history.sqlite3")
    yield store
    store.close()


def test_round_trip_keeps_every_field(history):
    original = StoredMessage(
        id="a1",
        sender="bob 🐱",
        body="line one\nline two\x00 [b]not markup[/b]",
        timestamp=1_700_000_123.25,
        outgoing=False,
        action=True,
        state="delivered",
    )
    assert history.add(ALICE, original)
    assert history.recent(ALICE) == [original]


def test_messages_are_kept_per_peer_identity(history):
    history.add(ALICE, msg(1))
    history.add(BOB, msg(2))
    history.add(ALICE, msg(3, outgoing=False))
    assert [m.id for m in history.recent(ALICE)] == [msg(1).id, msg(3).id]
    assert [m.id for m in history.recent(BOB)] == [msg(2).id]
    assert history.recent("nobody") == []


def test_recent_returns_the_last_messages_oldest_first(history):
    for n in range(10):
        history.add(ALICE, msg(n, outgoing=n % 2 == 0))
    assert [m.body for m in history.recent(ALICE, limit=3)] == [
        "message 7",
        "message 8",
        "message 9",
    ]
    assert len(history.recent(ALICE, limit=100)) == 10
    assert history.recent(ALICE, limit=0) == []


def test_order_is_insertion_order_not_timestamp(history):
    # The peer's clock may be wrong: what arrived later is shown later.
    history.add(ALICE, msg(1, timestamp=2_000_000_000.0))
    history.add(ALICE, msg(2, timestamp=1.0))
    assert [m.id for m in history.recent(ALICE)] == [msg(1).id, msg(2).id]


def test_duplicate_id_is_ignored(history):
    assert history.add(ALICE, msg(1, outgoing=False))
    assert not history.add(ALICE, msg(1, outgoing=False, body="changed"))
    assert [m.body for m in history.recent(ALICE)] == ["message 1"]
    # The same id from another peer, or in the other direction, is another message.
    assert history.add(BOB, msg(1, outgoing=False))
    assert history.add(ALICE, msg(1, outgoing=True))


def test_seen_incoming(history):
    history.add(ALICE, msg(1, outgoing=False))
    history.add(ALICE, msg(2, outgoing=True))
    assert history.seen_incoming(ALICE, msg(1).id)
    assert not history.seen_incoming(ALICE, msg(2).id)  # ours, not theirs
    assert not history.seen_incoming(BOB, msg(1).id)
    assert not history.seen_incoming(ALICE, "unknown")


def test_pending_lists_undelivered_outgoing_in_order(history):
    history.add(ALICE, msg(1, state="delivered"))
    history.add(ALICE, msg(2, state="sent"))
    history.add(ALICE, msg(3, outgoing=False))
    history.add(ALICE, msg(4, state="pending"))
    history.add(ALICE, msg(5, state="failed"))
    history.add(BOB, msg(6, state="pending"))
    assert [m.id for m in history.pending(ALICE)] == [msg(2).id, msg(4).id]

    assert history.set_state(ALICE, msg(2).id, "delivered")
    assert [m.id for m in history.pending(ALICE)] == [msg(4).id]
    assert history.recent(ALICE)[1].state == "delivered"


def test_set_state(history):
    history.add(ALICE, msg(1, state="pending"))
    history.add(ALICE, msg(2, outgoing=False))
    assert history.set_state(ALICE, msg(1).id, "sent")
    assert history.recent(ALICE)[0].state == "sent"
    assert not history.set_state(ALICE, "missing", "delivered")
    assert not history.set_state(BOB, msg(1).id, "delivered")
    assert not history.set_state(ALICE, msg(2).id, "failed")  # incoming: no state to change
    with pytest.raises(ValueError, match="bogus"):
        history.set_state(ALICE, msg(1).id, "bogus")
    assert history.recent(ALICE)[0].state == "sent"


def test_delivered_is_final(history):
    history.add(ALICE, msg(1, state="sent"))
    assert history.set_state(ALICE, msg(1).id, "delivered")
    assert not history.set_state(ALICE, msg(1).id, "sent")
    assert not history.set_state(ALICE, msg(1).id, "failed")
    assert history.recent(ALICE)[0].state == "delivered"


def test_bad_state_is_rejected_and_nothing_is_stored(history):
    with pytest.raises(ValueError, match="weird"):
        history.add(ALICE, msg(1, state="weird"))
    assert history.recent(ALICE) == []


def test_lone_surrogate_is_stored_readably(history):
    history.add(ALICE, msg(1, body="ok \ud800 ok"))
    assert history.recent(ALICE)[0].body == "ok ? ok"


def test_survives_reopen_and_pending_survives_restart(tmp_path):
    path = tmp_path / "history.sqlite3"
    with History.open(path) as first:
        first.add(ALICE, msg(1, state="delivered"))
        first.add(ALICE, msg(2, state="pending"))
        first.add(ALICE, msg(3, outgoing=False))
    with History.open(path) as second:
        assert [m.id for m in second.recent(ALICE)] == [msg(n).id for n in (1, 2, 3)]
        assert [m.id for m in second.pending(ALICE)] == [msg(2).id]
        assert second.seen_incoming(ALICE, msg(3).id)


def test_file_uses_wal_and_is_private(tmp_path):
    path = tmp_path / "sub" / "dir" / "history.sqlite3"  # parents are created
    with History.open(path) as history:
        history.add(ALICE, msg(1))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_default_location_is_under_the_test_home(p2pchat_home):
    path = get_paths().history_file
    with History.open(path) as history:
        history.add(ALICE, msg(1))
    assert path.is_file()
    assert str(path).startswith(str(p2pchat_home))


def test_memory_store_writes_nothing_to_disk(tmp_path, monkeypatch, p2pchat_home):
    monkeypatch.chdir(tmp_path)
    with History.memory() as history:
        history.add(ALICE, msg(1, state="pending"))
        assert [m.id for m in history.pending(ALICE)] == [msg(1).id]
        assert history.recent(ALICE)[0].body == "message 1"
    assert list(tmp_path.iterdir()) == []
    assert list(p2pchat_home.rglob("*.sqlite3")) == []


def test_corrupt_file_raises_history_error(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(HistoryError, match="history.sqlite3") as caught:
        History.open(path)
    assert "not a database" in str(caught.value)
    assert path.read_bytes().startswith(b"this is not a database")  # left as it was


def test_unreadable_path_raises_history_error(tmp_path):
    directory = tmp_path / "history.sqlite3"
    directory.mkdir()  # a folder where the file should be
    with pytest.raises(HistoryError, match="cannot open message history"):
        History.open(directory)


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ("PRAGMA user_version=99", "written by a newer p2pchat"),
        ("CREATE TABLE messages (something TEXT)", "no such column"),
    ],
)
def test_other_sqlite_databases_are_refused(tmp_path, setup, problem):
    path = tmp_path / "history.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(setup)
    raw.commit()
    raw.close()
    with pytest.raises(HistoryError, match=problem):
        History.open(path)


def test_ten_thousand_messages_each_way(tmp_path):
    with History.open(tmp_path / "history.sqlite3") as history:
        for n in range(10_000):
            history.add(ALICE, msg(n, outgoing=True, state="pending"))
            history.add(ALICE, msg(n, outgoing=False, state="delivered"))
        for n in range(10_000):
            history.set_state(ALICE, msg(n).id, "delivered")
        recent = history.recent(ALICE, limit=200)
        pending = history.pending(ALICE)
        seen = history.seen_incoming(ALICE, msg(9_999).id)
    assert len(recent) == 200 and recent[-1].id == msg(9_999).id and not recent[-1].outgoing
    assert pending == [] and seen


def test_an_insert_is_an_append_without_fsync(tmp_path):
    """What keeps a message cheap to store (timings: benchmarks/history.py)."""
    with History.open(tmp_path / "history.sqlite3") as history:
        history.add(ALICE, msg(1))
        db = history._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync per commit
