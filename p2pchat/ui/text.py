"""Turning untrusted strings and numbers into safe, readable display text.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a widget, and is wrapped in `rich.text.Text`
so it is never parsed as markup.
"""

from __future__ import annotations

from p2pchat.display import clean, human_duration, shorten_middle
from p2pchat.display import format_size as human_bytes

__all__ = ["clean", "group_fingerprint", "fold_groups", "human_bytes", "human_duration", "shorten_middle"]


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

