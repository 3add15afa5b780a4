"""Turning untrusted strings and numbers into safe, readable display text.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a widget, and is wrapped in `rich.text.Text`
so it is never parsed as markup.
"""

from __future__ import annotations

from p2pchat.display import clean, human_duration, shorten_middle
from p2pchat.display import format_size as human_bytes

__all__ = ["clean", "group_fingerprint", "human_bytes", "human_duration", "shorten_middle"]


def group_fingerprint(fingerprint: str) -> str:
    """With dashes, as /info and the command line show it. The identity package (and its
    cryptography) is imported on first use, after the first frame."""
    from p2pchat.identity import group_fingerprint as grouped

    return grouped(fingerprint)

