"""Turning untrusted strings into safe, readable text for any front end.

Everything a peer controls (message bodies, nicknames, file names, reasons) goes
through `clean()` before it reaches a terminal: control characters and escape
sequences become visible placeholders, so a peer cannot move the cursor, retitle
the window or hide text.
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


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"
