"""The one-line texts both front ends show for transfers: no repeated words, no empty figures."""

from __future__ import annotations

from pathlib import Path

from p2pchat.display import describe, invite_lines, offered_line, result_line
from p2pchat.session.events import CodeInvite, TransferInfo

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


def test_a_transfer_over_in_an_instant_names_no_rate():
    folder = info(name="tiny/", size=6, file_count=2, speed=555.0)  # 6 bytes "at 555 B/s"
    assert result_line(folder) == "#3 tiny/ sent (2 files, 6 B)"
    assert result_line(info(size=3 * MiB, speed=MiB)) == "#3 report.pdf sent (3.0 MiB, 1.0 MiB/s)"


def test_an_offer_made_with_nobody_connected_says_when_it_goes_out():
    assert offered_line([info(state="offered")]) == "offered #3 report.pdf (2.0 MiB)"
    assert offered_line([info(state="waiting")]) == (
        "offered #3 report.pdf (2.0 MiB); no peer is connected: it goes out once one is")


def test_an_invite_without_a_code_says_where_the_line_goes():
    lines = [text for text, _ in invite_lines(CodeInvite(None, "p2pchat1abc", "good for one peer", "no code: no mailbox"),
                                              "/connect")]
    assert lines[1] == "this invite line (good for one peer), which your peer pastes into /connect:"
    assert "same way" not in " ".join(lines)
    with_code = invite_lines(CodeInvite("7-crossover-clockwork", "p2pchat1abc", "good for one peer"), "/connect")
    assert with_code[1][0] == "or this invite line (good for one peer), pasted the same way:"
