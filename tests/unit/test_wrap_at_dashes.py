"""Long words with dashes (addresses, fingerprints) break after a dash in the log."""

from __future__ import annotations

from rich.text import Text

from p2pchat.ui.text import wrap_at_dashes


def test_a_long_grouped_word_breaks_after_a_dash_and_keeps_its_styles():
    text = Text("to: p2pchat://h:1/ABCD-EFGH-IJKL-MNOP-QRST-UVWX (F3)", style="bold")
    text.stylize("red", 4, 20)
    lines = wrap_at_dashes(text, 24)
    assert [line.plain for line in lines] == ["to:", "p2pchat://h:1/ABCD-EFGH-", "IJKL-MNOP-QRST-UVWX (F3)"]
    assert all(line.style == "bold" for line in lines) and lines[1].spans[0].end == 16


def test_no_dash_to_break_at_folds_at_the_width():
    lines = wrap_at_dashes(Text("x " + "a" * 9 + "-" + "b" * 12), 10)
    assert [line.plain for line in lines] == ["x", "aaaaaaaaa-", "bbbbbbbbbb", "bb"]


def test_rich_wraps_what_has_no_long_word_or_wide_characters():
    assert wrap_at_dashes(Text("short words that wrap as usual"), 10) is None
    assert wrap_at_dashes(Text("漢字-" * 10), 8) is None
    assert wrap_at_dashes(Text("one\ntwo-" + "x" * 20), 8) is None
