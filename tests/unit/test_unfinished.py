"""What one run leaves for the next: decided without I/O, kept in a small file."""

from __future__ import annotations

from pathlib import Path

from p2pchat.session.events import TransferInfo
from p2pchat.session.unfinished import Unfinished, load_unfinished, save_unfinished

PEER = "A" * 52


def send(state: str, done: int, path: str = "/tmp/x.bin") -> TransferInfo:
    return TransferInfo(1, "x.bin", 1000, "send", state, done=done, path=Path(path))


def test_a_send_is_kept_per_percent_and_dropped_when_it_ends():
    record = Unfinished()
    assert record.send_changed(send("active", 100), PEER)
    assert not record.send_changed(send("active", 105), PEER)  # the same percent: no write
    assert record.send_changed(send("interrupted", 330), PEER)
    assert record.sends["/tmp/x.bin"].percent == 33
    assert record.send_changed(send("done", 1000), PEER)
    assert record.sends == {}


def test_receives_and_sends_with_no_peer_are_not_kept():
    record = Unfinished()
    assert not record.send_changed(TransferInfo(1, "x.bin", 10, "receive", "active", path=Path("/p")), PEER)
    assert not record.send_changed(send("waiting", 0), None)


def test_a_call_is_called_again_pinned_until_a_goodbye(tmp_path):
    record = Unfinished()
    assert record.called(PEER, ["127.0.0.1:9001"])
    assert not record.called(PEER, ["127.0.0.1:9001"])
    target = record.redial_target()
    assert target is not None and target.fingerprint == PEER and str(target.direct[0]) == "127.0.0.1:9001"
    assert record.call_ended()
    assert record.redial_target() is None


def test_the_record_survives_a_restart_and_a_clean_one_leaves_no_file(tmp_path):
    path = tmp_path / "unfinished.json"
    record = Unfinished()
    record.called(PEER, ["[::1]:9001"])
    record.send_changed(send("active", 500), PEER)
    save_unfinished(path, record)
    again = load_unfinished(path)
    assert again.redial_target() is not None and str(again.redial_target().direct[0]) == "[::1]:9001"
    left = dict(again.sends)
    assert [s.percent for s in again.sends_for(PEER, left)] == [50]
    assert left == {} and again.sends_for(PEER, left) == []  # offered once
    save_unfinished(path, Unfinished())
    assert not path.exists()


def test_an_unreadable_record_is_an_empty_one(tmp_path):
    path = tmp_path / "unfinished.json"
    path.write_text("{not json")
    assert load_unfinished(path) == Unfinished()
    path.write_text('{"sends": [{"path": 1}]}')
    assert load_unfinished(path) == Unfinished()
