"""The one-line texts both front ends show for transfers: no repeated words, no empty figures."""

from __future__ import annotations

from pathlib import Path

from p2pchat.display import describe, result_line
from p2pchat.session.events import TransferInfo

MiB = 1024 * 1024


def info(**changes) -> TransferInfo:
    values = dict(id=3, name="report.pdf", size=2 * MiB, direction="send", state="done")
    values.update(changes)
    return TransferInfo(**values)


def test_a_declined_offer_says_declined_once():
    assert result_line(info(state="declined", reason="declined")) == "#3 report.pdf declined"


def test_a_cancel_names_who_cancelled_once():
    assert result_line(info(state="cancelled", reason="cancelled by Robert")) == "#3 report.pdf cancelled by Robert"
    assert result_line(info(state="failed", reason="disk full")) == "#3 report.pdf failed: disk full"


def test_a_file_too_quick_to_time_shows_no_speed():
    assert result_line(info(size=10, speed=0.0)) == "#3 report.pdf sent (10 B)"


def test_a_resumed_file_says_how_much_crossed_this_time():
    line = result_line(info(direction="receive", path=Path("/d/report.pdf"), resumed_from=MiB, speed=MiB))
    assert line == "#3 report.pdf received to /d/report.pdf (2.0 MiB, 1.0 MiB of it this time, 1.0 MiB/s)"


def test_a_batch_line_counts_its_files():
    line = describe(info(name="album/", state="active", done=MiB, speed=MiB, eta=1.0, file_count=8, files_done=3))
    assert line == "#3 -> album/ (3/8 files) 1.0 MiB/2.0 MiB active, 1.0 MiB/s, 00:01 left"
    assert result_line(info(name="album/", file_count=8, speed=MiB)) == "#3 album/ sent (8 files, 2.0 MiB, 1.0 MiB/s)"


def test_transfers_lists_speed_and_time_left_while_a_file_moves():
    line = describe(info(state="active", done=MiB, speed=MiB / 2, eta=2.0))
    assert line == "#3 -> report.pdf 1.0 MiB/2.0 MiB active, 512.0 KiB/s, 00:02 left"
