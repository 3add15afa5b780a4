"""A message too long to send as one, saved to a file that `/send` can offer instead."""

from __future__ import annotations

import time
from pathlib import Path


def message_limit() -> int:
    """The most bytes one message may have."""
    from p2pchat.protocol.frames import MAX_TEXT_BYTES  # not before the app's first frame

    return MAX_TEXT_BYTES


def too_long(body: str) -> int:
    """The message's size in bytes if it is over the limit for one message, else 0."""
    size = len(body.encode("utf-8"))
    return size if size > message_limit() else 0


def save_paste(text: str, folder: Path, now: float) -> Path:
    """Write `text` to a new `paste-YYYYMMDD-HHMMSS.txt` in `folder` (never over another)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("paste-%Y%m%d-%H%M%S", time.localtime(now))
    for number in range(1, 1000):
        path = folder / (f"{stem}.txt" if number == 1 else f"{stem}-{number}.txt")
        try:
            with path.open("x", encoding="utf-8", newline="") as file:
                file.write(text)
        except FileExistsError:
            continue
        return path
    raise OSError(f"too many pastes named {stem} in {folder}")
