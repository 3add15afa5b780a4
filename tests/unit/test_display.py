"""What both front ends show about transfers, and which transfer a command means."""

from __future__ import annotations

import pytest

from p2pchat.display import (
    LISTED_NAME_WIDTH,
    describe,
    files_line,
    nick_changed_line,
    pick_transfer,
    result_line,
    transfer_lines,
)
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


def test_a_batch_waiting_for_an_answer_lists_its_first_files_under_its_line():
    files = tuple((f"{n}.jpg", 1024) for n in range(10))
    batch = TransferInfo(7, "photos/", 42 * 1024, "receive", "offered", file_count=42, listing=files)
    assert transfer_lines([batch, info(8, "offered")]) == [
        "#7 <- photos/ (0/42 files) 0 B/42.0 KiB offered",
        "    0.jpg (1.0 KiB), 1.jpg (1.0 KiB), 2.jpg (1.0 KiB), 3.jpg (1.0 KiB), 4.jpg (1.0 KiB) and 37 more, "
        "42.0 KiB in all",
        "#8 <- file8.bin 0 B/2.0 KiB offered",  # a file on its own is its own name
    ]
    two = TransferInfo(9, "2 files", 3, "send", "offered", file_count=2, listing=(("a", 1), ("b", 2)))
    assert files_line(two) == "#9 2 files: a (1 B), b (2 B), 3 B in all"
    assert files_line(info(10, "offered")) == ""
    one = TransferInfo(11, "album/", 5, "receive", "offered", listing=(("big.iso", 5),))  # what is left of it
    assert files_line(one) == "#11 album/: big.iso (5 B)"


def test_listed_names_are_made_safe_and_shortened_in_the_middle():
    odd = TransferInfo(3, "x/", 5, "receive", "offered", file_count=2,
                       listing=(("[red]\x1b[2Jred", 1), ("n" * 4000 + ".iso", 4)))
    line = files_line(odd)
    assert line.startswith("#3 x/: [red]\\x1b[2Jred (1 B), nnn") and line.endswith("nnn.iso (4 B), 5 B in all")
    longest = line.split(", ")[1].removesuffix(" (4 B)")
    assert len(longest) == LISTED_NAME_WIDTH and "…" in longest


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


def test_a_long_peer_name_leaves_room_for_encryption_and_verification_at_60_columns():
    from p2pchat.ui.widgets.status import StatusSnapshot, status_text

    status = StatusSnapshot(state="connected", peer_nickname="ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", encrypted=True,
                            short_fingerprint="MFRG-GZDF", listening_port=9001)
    shown = status_text(status, width=60).plain
    assert "ENCRYPTED" in shown and "unverified" in shown
    assert "ABCDEFGHI" in shown and "…" in shown  # shortened in the middle, both ends kept
