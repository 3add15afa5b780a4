"""Saying a repeated warning without flooding: the first time, then at the 2nd, 4th, 8th...
repeat with the count. A squatter on a relay can make a refusal happen every second; the log
and the chat show a handful of lines, not one per attempt."""

from __future__ import annotations


class RepeatedWarnings:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def say(self, text: str) -> str | None:
        """The line to show for this occurrence of `text`, or None to stay quiet."""
        count = self._counts.get(text, 0) + 1
        self._counts[text] = count
        if count & (count - 1):  # not a power of two
            return None
        return text if count == 1 else f"{text} ({count} times so far)"

    def count(self, text: str) -> int:
        return self._counts.get(text, 0)
