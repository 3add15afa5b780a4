"""Turning untrusted strings and numbers into safe, readable display text.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a widget, and is wrapped in `rich.text.Text`
so it is never parsed as markup.
"""

from __future__ import annotations

from p2pchat.display import clean, human_duration

__all__ = ["clean", "group_fingerprint", "human_bytes", "human_duration", "shorten_middle"]


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # unreachable; keeps type checkers calm


def group_fingerprint(fingerprint: str, size: int = 4) -> str:
    """`ABCDEFGH...` -> `ABCD EFGH ...`, easier to read aloud and compare."""
    compact = fingerprint.replace("-", "").replace(" ", "").replace(":", "")
    return " ".join(compact[i : i + size] for i in range(0, len(compact), size))


def shorten_middle(text: str, width: int) -> str:
    """`holiday-pictures-2024.mkv` -> `holiday-p…2024.mkv`: both ends stay readable."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")
