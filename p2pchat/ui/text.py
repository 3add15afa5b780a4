"""Turning untrusted strings and numbers into safe, readable display text.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a widget, and is wrapped in `rich.text.Text`
so it is never parsed as markup.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional
# overrides that can make text display in a different order than it was sent.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _placeholder(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, single_line: bool = False) -> str:
    """Replace control characters and escape sequences with visible placeholders."""
    text = _UNSAFE.sub(_placeholder, text).replace("\t", "    ")
    if single_line:
        text = text.replace("\n", " ")
    return text


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # unreachable; keeps type checkers calm


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"


def group_fingerprint(fingerprint: str, size: int = 4) -> str:
    """`ABCDEFGH...` -> `ABCD EFGH ...`, easier to read aloud and compare."""
    compact = fingerprint.replace("-", "").replace(" ", "").replace(":", "")
    return " ".join(compact[i : i + size] for i in range(0, len(compact), size))
