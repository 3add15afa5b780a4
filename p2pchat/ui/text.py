"""Turning untrusted strings and numbers into safe, readable display text.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a widget, and is wrapped in `rich.text.Text`
so it is never parsed as markup.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from p2pchat.display import clean, human_duration, shorten_middle
from p2pchat.display import format_size as human_bytes

__all__ = [
    "clean", "group_fingerprint", "fold_groups", "human_bytes", "human_duration", "shorten_middle", "wrap_at_dashes",
]


def group_fingerprint(fingerprint: str) -> str:
    """With dashes, as /info and the command line show it. The identity package (and its
    cryptography) is imported on first use, after the first frame."""
    from p2pchat.identity import group_fingerprint as grouped

    return grouped(fingerprint)


def fold_groups(grouped: str, width: int, indent: str = "  ") -> str:
    """A grouped fingerprint on lines of at most `width` columns, broken after a dash only,
    never inside a group (read aloud, a split group is misread)."""
    lines: list[str] = []
    line = ""
    for group in grouped.split("-"):
        piece = f"{line}-{group}" if line else group
        if line and len(indent) + len(piece) > width:
            lines.append(line + "-")
            piece = group
        line = piece
    return ("\n" + indent).join([*lines, line])


def wrap_at_dashes(text: Text, width: int) -> list[Text] | None:
    """`text` on lines of at most `width` cells, broken at spaces and, inside a word longer
    than a line (an address with a fingerprint), after a dash rather than inside a group.
    None when there is no such word, or where cells and characters differ (wide characters,
    several lines): Rich's own wrapping is then used."""
    plain = text.plain
    if width < 2 or "\n" in plain or cell_len(plain) != len(plain):
        return None
    if not any(len(word) > width and "-" in word for word in plain.split()):
        return None
    lines: list[Text] = []
    start, end_of_text = 0, len(plain)
    while start < end_of_text:
        if end_of_text - start <= width:
            end = end_of_text
        elif (space := plain.rfind(" ", start + 1, start + width + 1)) > 0:
            end = space
        else:
            dash = plain.rfind("-", start + 1, start + width)
            end = dash + 1 if dash > 0 else start + width
        line = text[start:end]
        line.rstrip()
        lines.append(line)
        start = end
        while start < end_of_text and plain[start] == " ":
            start += 1
    return lines
