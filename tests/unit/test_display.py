"""What both front ends show about transfers, and which transfer a command means."""

from __future__ import annotations

import pytest

from p2pchat.display import describe, nick_changed_line, pick_transfer, result_line, transfer_lines
from p2pchat.session.events import TransferInfo


def info(id: int, state: str, direction: str = "receive", **more) -> TransferInfo:
    return TransferInfo(id, f"file{id}.bin", 2048, direction, state, **more)


def test_transfers_are_listed_with_speed_and_time_left_while_moving():
    lines = transfer_lines([info(1, "active", done=1024, speed=512.0, eta=2.0), info(2, "done", "send")])
    assert lines == [
        "#1 <- file1.bin 1.0 KiB/2.0 KiB active, 512 B/s, 00:02 left",
        "#2 -> file2.bin 0 B/2.0 KiB done",
    ]
    assert transfer_lines([]) == ["no transfers"]


def test_a_finished_transfer_is_one_line():
    assert result_line(info(3, "failed", reason="disk full")) == "#3 file3.bin failed: disk full"
    assert describe(info(4, "waiting", "send", reason="offered when the peer is back")).endswith(
        "waiting (offered when the peer is back)"
    )
    assert describe(info(5, "cancelled", reason="cancelled by bob")).endswith("0 B/2.0 KiB cancelled by bob")


def test_a_nickname_change_says_whose_it_was():
    assert nick_changed_line("bob", "robert", by_peer=True) == "bob is now known as robert"
    assert nick_changed_line("alice", "alicia", by_peer=False) == "you are now known as alicia (was alice)"


def test_a_command_without_an_id_means_the_only_transfer_it_fits():
    transfers = [info(1, "offered"), info(2, "done"), info(3, "active", "send")]
    assert pick_transfer(transfers, "accept", None) == 1
    assert pick_transfer(transfers, "decline", "#7") == 7
    with pytest.raises(ValueError, match="which one"):
        pick_transfer(transfers, "cancel", None)
    with pytest.raises(ValueError, match="not a transfer id"):
        pick_transfer(transfers, "accept", "x")
